"""The single writer of the protocol stream.

A dedicated thread does the blocking writes, so a client that reads slowly
never stalls the event loop. Responses and ordinary notifications are sent in
order and never dropped. Notifications that only matter in their latest form
(a screenshot of sandbox X, a metrics sample) are queued under a key: a newer
one replaces an unsent older one, so a slow reader gets the latest frame, not
a growing queue.
"""

from __future__ import annotations

import collections
import errno
import logging
import os
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, fd: int, on_broken: Callable[[], None] | None = None) -> None:
        self._fd = fd
        self._on_broken = on_broken
        self._cond = threading.Condition()
        self._ordered: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._latest: dict[Hashable, bytes] = {}
        self._closing = False
        self._broken = False
        self._thread = threading.Thread(target=self._run, name="hostd-writer", daemon=True)
        self._thread.start()

    def put(self, data: bytes) -> None:
        if not data:
            return
        with self._cond:
            if self._broken or self._closing:
                return
            self._ordered.append(data)
            self._queued += len(data)
            self._cond.notify()

    def put_latest(self, key: Hashable, data: bytes) -> None:
        with self._cond:
            if self._broken or self._closing:
                return
            self._latest.pop(key, None)  # re-insert: keeps the queue in arrival order
            self._latest[key] = data
            self._cond.notify()

    @property
    def queued_bytes(self) -> int:
        """Bytes of ordered messages not yet written (a slow reader's backlog)."""
        with self._cond:
            return self._queued

    def pending_latest(self, key: Hashable) -> bool:
        with self._cond:
            return key in self._latest

    @property
    def broken(self) -> bool:
        return self._broken

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for up to ``timeout`` s), then stop the writer."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)

    # -- writer thread -------------------------------------------------------------

    def _next(self) -> bytes | None:
        with self._cond:
            while not self._ordered and not self._latest:
                if self._closing:
                    return None
                self._cond.wait()
            if self._ordered:
                data = self._ordered.popleft()
                self._queued -= len(data)
                return data
            key = next(iter(self._latest))
            return self._latest.pop(key)

    def _run(self) -> None:
        while (data := self._next()) is not None:
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                if exc.errno not in (errno.EPIPE, errno.EBADF, errno.ECONNRESET):
                    log.error("writing to the client failed: %s", exc)
                with self._cond:
                    self._broken = True
                    self._ordered.clear()
                    self._queued = 0
                    self._latest.clear()
                if self._on_broken is not None:
                    self._on_broken()
                return
