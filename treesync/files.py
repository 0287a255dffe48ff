"""The two ways this project keeps a file whole: an atomic write and a flock.

hostd's state file and the client's sync state both use these, so a fix to
one is a fix to both.

- :func:`write_atomic` writes a temp file of a name no other writer can
  take (pid and random), fsyncs it, renames it over the target and fsyncs
  the folder: a kill at any moment leaves the old file or the new one,
  never a torn one, and a failure leaves no temp file behind.
- :class:`FileLock` is an exclusive flock on a lock file (created 0600).
  flock locks belong to the open file description, so two threads of one
  process that each open the file exclude each other just as two processes
  do; closing the file releases the lock, so a process that dies releases
  it too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` all at once (see the module docstring)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class FileLock:
    """An exclusive flock on ``path``, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def fd(self) -> int:
        """The open lock file (to write who holds it, or read it when busy)."""
        if self._fd is None:
            raise ValueError(f"the lock {self.path} is not open")
        return self._fd

    def acquire(self, *, blocking: bool = True) -> bool:
        """Take the lock; False (the file left open for :attr:`fd`) when it is
        busy and ``blocking`` is False. Call :meth:`release` either way."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        except BaseException:
            self.release()
            raise
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


@contextlib.contextmanager
def flocked(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive flock on ``path`` for the block; yields False if busy."""
    lock = FileLock(path)
    try:
        yield lock.acquire(blocking=blocking)
    finally:
        lock.release()
