"""Where hostd keeps things, and how it creates them so no other user can read them.

hostd does not change its umask: the agent inherits hostd's environment and
must create project files with the person's usual permissions. Privacy
comes from the folders instead: the state folder and every runtime folder are
0700, and files are created 0600 from the start (never chmod-ed afterwards,
which would leave a window).
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107


def default_state_dir() -> Path:
    env = os.environ.get("HOSTD_STATE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "claude-sandbox"


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make sure the leaf is 0700 and ours."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user (uid {st.st_uid})")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def create_private_file(path: Path, data: bytes = b"", *, exclusive: bool = False) -> None:
    """Write ``data`` to a file created 0600 (truncating unless ``exclusive``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Remove ``path`` and all in it; links are removed, never followed.

    What an agent left in a folder it may write may be folders without
    write or search permission; they are opened up first so that an
    ordinary user can remove them too.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        path.unlink()
        return
    for _root, dirs, _files, root_fd in os.fwalk(path, follow_symlinks=False):
        for d in dirs:
            _open_up(root_fd, d)
    shutil.rmtree(path, ignore_errors=True)


def _open_up(parent_fd: int, name: str) -> None:
    """Give a folder its owner's rwx, by the folder itself: an agent still
    running cannot swap a link in between the look and the chmod (a path
    chmod would follow it), so nothing outside changes mode."""
    try:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode) and st.st_mode & 0o700 != 0o700:
            # An O_PATH descriptor cannot be fchmod-ed; its /proc name is that inode.
            os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(st.st_mode) | 0o700)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class StatePaths:
    """The layout of the state folder; docs/protocol.md, "Files", lists it for people."""

    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def lock_file(self) -> Path:
        # A separate, never-renamed file: an flock on state.json itself would be
        # lost each time the file is replaced by rename.
        return self.root / "state.lock"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def locks_dir(self) -> Path:
        return self.root / "locks"

    @property
    def claude_dir(self) -> Path:
        return self.root / "claude"

    def claude_config(self, sandbox_id: str) -> Path:
        """The sandbox's own Claude config folder (CLAUDE_CONFIG_DIR inside it)."""
        return self.claude_dir / sandbox_id

    def log_file(self, sandbox_id: str) -> Path:
        return self.logs_dir / f"{sandbox_id}.log"

    def runtime_dir(self, sandbox_id: str) -> Path:
        return self.run_dir / sandbox_id

    def op_lock(self, sandbox_id: str) -> Path:
        return self.locks_dir / f"{sandbox_id}.lock"

    def ensure(self) -> None:
        for d in (self.root, self.logs_dir, self.run_dir, self.locks_dir, self.claude_dir):
            make_private_dir(d)

    def socket_room(self) -> int:
        """Bytes left for a socket name inside a runtime folder (may be negative)."""
        sample = self.runtime_dir("00000000-0000-0000-0000-000000000000") / "tmux.sock"
        return MAX_SOCKET_PATH - len(os.fsencode(sample))
