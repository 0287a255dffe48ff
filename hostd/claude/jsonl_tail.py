"""Follow one append-only JSON Lines file: each read returns only what was appended.

Pure file reading, no knowledge of what the lines mean. A reader remembers its
offset and the partial last line, so a poll costs what was appended since the
previous one, not the file's size. It starts over (and says so) when the file
shrinks, is replaced (another inode) or was rewritten in place (the last bytes
it read are no longer there). A line longer than ``max_line_bytes`` is skipped without buffering it
and counted as malformed, so one 50 MB line cannot make hostd hold 50 MB.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# The longest line kept. Lines that carry what we count are small: an
# assistant line holds one content block of a response of at most 128k output
# tokens (the largest max_tokens Claude accepts), about 0.5 MB of text, 1 MB
# with JSON escaping. Only user lines with pasted images or documents get
# bigger (the Messages API takes requests of up to 32 MB). 8 MiB keeps every
# usage-bearing line with 8x headroom and bounds memory per file.
MAX_LINE_BYTES = 8 * 1024 * 1024

# Read size: large enough that a 50 MB first parse is a few dozen syscalls,
# small enough not to matter next to MAX_LINE_BYTES.
READ_CHUNK = 1024 * 1024

# How many of the last bytes read identify the content read so far. Every
# Claude Code line ends with its uuid and timestamp, so the last 64 bytes
# differ when the file was rewritten in place (same inode, not shorter). The
# first bytes would not do: every transcript starts with the same
# '{"parentUuid":null,"isSidechain":false,...'.
MARK_BYTES = 64


@dataclass
class ReadResult:
    """What one :meth:`JsonlTail.read` found."""

    restarted: bool = False  # the file was replaced or shrank: forget what it gave before
    gone: bool = False  # the file does not exist (any more)
    oversized: int = 0  # lines over the size cap, skipped
    bytes_read: int = 0


class JsonlTail:
    """Incremental reader of one JSON Lines file.

    ``read(on_line)`` calls ``on_line(raw_line)`` for every complete line appended
    since the previous call (without its newline; blank lines skipped). The
    caller parses; this class only frames lines and tracks the file's identity.
    Not thread-safe: one reader per file, used from one thread at a time.
    """

    def __init__(self, path: str, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self._ident: tuple[int, int] | None = None  # (st_dev, st_ino)
        self._offset = 0  # file position up to which bytes were consumed
        self._partial = b""  # an incomplete last line, completed by a later read
        self._skipping = False  # inside an oversized line: drop bytes up to the next newline
        self._mark = b""  # the last MARK_BYTES bytes read, ending at _offset
        self._seen: tuple[int, int] | None = None  # (size, mtime_ns) at the last read

    @property
    def offset(self) -> int:
        return self._offset

    def reset(self) -> None:
        """Forget everything; the next read starts at byte 0."""
        self._ident = None
        self._offset = 0
        self._partial = b""
        self._skipping = False
        self._mark = b""
        self._seen = None

    def read(
        self, on_line: Callable[[bytes], None], on_restart: Callable[[], None] | None = None
    ) -> ReadResult:
        """Feed the lines appended since the last read to ``on_line``.

        When the file was replaced, shrank or vanished, ``on_restart`` is
        called first (before any line of the new content), so the caller can
        forget what the old content gave.
        """
        result = ReadResult()
        try:
            # Non-blocking: a FIFO in a transcript's place must not hang the
            # poll waiting for a writer.
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            if self._ident is not None:
                result.restarted = True
                if on_restart is not None:
                    on_restart()
            self.reset()
            result.gone = True
            return result
        except OSError as exc:
            # Unreadable (permissions, a directory in its place): report it as
            # gone rather than fail the whole poll.
            logger.warning("cannot open %s: %s", self.path, exc)
            self.reset()
            result.gone = True
            return result
        try:
            # fstat after open: the identity is the one of the file we hold,
            # even if it is replaced or deleted while we read.
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                logger.warning("%s is not a regular file; skipping it", self.path)
                self.reset()
                result.gone = True
                return result
            ident = (st.st_dev, st.st_ino)
            if self._seen == (st.st_size, st.st_mtime_ns) and ident == self._ident:
                return result  # nothing new: the common, cheapest poll
            if self._ident is not None and (
                ident != self._ident or st.st_size < self._offset or not self._same_mark(fd)
            ):
                logger.info("%s was replaced or truncated; reading it again", self.path)
                self.reset()
                result.restarted = True
                if on_restart is not None:
                    on_restart()
            self._ident = ident
            try:
                self._read_from(fd, on_line, result)
            except OSError as exc:
                logger.warning("cannot read %s: %s", self.path, exc)
                self.reset()
                result.gone = True
                return result
            self._seen = (st.st_size, st.st_mtime_ns)
            if self._offset > st.st_size:
                # Appended to while we read: the next poll must look again.
                self._seen = None
        finally:
            os.close(fd)
        return result

    # -- internals ---------------------------------------------------------

    def _same_mark(self, fd: int) -> bool:
        if not self._mark:
            return True
        return os.pread(fd, len(self._mark), self._offset - len(self._mark)) == self._mark

    def _read_from(self, fd: int, on_line: Callable[[bytes], None], result: ReadResult) -> None:
        os.lseek(fd, self._offset, os.SEEK_SET)
        cap = self.max_line_bytes
        while True:
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                break
            if len(chunk) >= MARK_BYTES:
                self._mark = chunk[-MARK_BYTES:]
            else:
                self._mark = (self._mark + chunk)[-MARK_BYTES:]
            self._offset += len(chunk)
            result.bytes_read += len(chunk)
            start = 0
            if self._skipping:
                nl = chunk.find(b"\n")
                if nl < 0:
                    continue
                self._skipping = False
                start = nl + 1
            last_nl = chunk.rfind(b"\n")
            if last_nl < start:
                # No line ends in this chunk: it all belongs to the partial line.
                self._partial += chunk[start:]
                if len(self._partial) > cap:
                    self._drop_oversized(result)
                continue
            body = self._partial + chunk[start:last_nl] if self._partial else chunk[start:last_nl]
            self._partial = chunk[last_nl + 1 :]
            for line in body.split(b"\n"):
                if len(line) > cap:
                    result.oversized += 1
                    logger.warning(
                        "%s: skipped a line of %d bytes (cap %d)", self.path, len(line), cap
                    )
                elif line and not line.isspace():
                    on_line(line)
            if len(self._partial) > cap:
                self._drop_oversized(result)

    def _drop_oversized(self, result: ReadResult) -> None:
        logger.warning("%s: skipping a line longer than %d bytes", self.path, self.max_line_bytes)
        result.oversized += 1
        self._partial = b""
        self._skipping = True
