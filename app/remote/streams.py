"""The byte stream to one running hostd, whatever carries it.

A transport (a local child process, an SSH channel) hands bytes to the RPC
client on the event loop thread and takes bytes to write without blocking it.
When the stream ends, ``on_end`` is called once, after every ``on_data``, with
the exit status and the stderr tail already known, so the error a person
sees can say why hostd went away.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

# Enough for a Python traceback or a shell's "command not found" with the
# profile's chatter before it; small enough that a chatty hostd that logs for
# days does not grow the client. Older output is dropped from the front.
STDERR_TAIL_BYTES = 8192

DataCallback = Callable[[bytes], None]
EndCallback = Callable[[], None]


class StderrTail:
    """The last few KB a process wrote to stderr. Thread-safe."""

    def __init__(self, limit: int = STDERR_TAIL_BYTES) -> None:
        self.limit = limit
        self._buf = bytearray()
        self._lock = threading.Lock()

    def add(self, data: bytes) -> None:
        with self._lock:
            self._buf += data
            if len(self._buf) > self.limit:
                del self._buf[: len(self._buf) - self.limit]

    def text(self) -> str:
        with self._lock:
            return self._buf.decode("utf-8", "replace")

    def last_lines(self, count: int = 10) -> str:
        """The last ``count`` non-empty lines, for an error message."""
        lines = [line for line in self.text().splitlines() if line.strip()]
        return "\n".join(lines[-count:])


class HostdStream(ABC):
    """Bytes to and from one running hostd.

    ``start`` is called once, on the loop thread; from then on ``on_data`` and
    ``on_end`` are called on the loop thread only.
    """

    def __init__(self, label: str) -> None:
        self.label = label  # "hostd on lab", for messages
        self.stderr = StderrTail()
        self.exit_status: int | None = None
        # Why it ended, when the exit status alone does not say (a transport
        # that knows the link dropped says so here).
        self.end_reason: str | None = None
        self.ended = False

    @abstractmethod
    def start(self, on_data: DataCallback, on_end: EndCallback) -> None:
        """Begin delivering what hostd writes."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Queue bytes for hostd; never blocks. Dropped once the stream ended."""

    @abstractmethod
    async def close(self) -> None:
        """End input (hostd then finishes what is under way and exits) and
        release the stream. Safe to call more than once."""


class Host(Protocol):
    """Somewhere hostd runs: this machine, or a server over SSH."""

    kind: str  # "local" or "ssh"
    name: str  # what the person called it: a profile, an alias, "local"

    def describe(self) -> str:
        """For messages: 'lab (ann@lab.example.com:22)'."""
        ...

    async def open_hostd(self) -> HostdStream:
        """Start a hostd and return its stream; connect first if needed."""
        ...

    async def close(self) -> None:
        """Release the connection (not the sandboxes: they keep running)."""
        ...
