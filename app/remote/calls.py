"""The calls under way on one client: which request waits for which reply.

The bookkeeping half of :class:`~app.remote.client.Client`, with no I/O:
requests are framed here and remembered by id, and the bytes that come back
are turned into replies (each completing its call's future), notifications
(handed back to the client to dispatch) and lines that are not JSON-RPC
(kept, the last few, for an error message about a login script's echo).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hostd.protocol import ClientConnection, Garbage, Notification, Reply

log = logging.getLogger(__name__)

# Lines on hostd's stdout that are not JSON-RPC (a login script's echo) are
# kept for the error message, the last few only.
MAX_NOISE_LINES = 20


class Calls:
    def __init__(self) -> None:
        self._conn = ClientConnection()
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self.noise: list[str] = []  # what was not JSON-RPC on this stream, oldest first

    def new_stream(self) -> None:
        """Start reading a new stream: fresh framing and no noise. Calls still
        waiting are kept (the client fails them when their stream ends)."""
        self._conn = ClientConnection()
        self.noise = []

    def request(self, method: str, params: dict[str, Any] | None) -> tuple[int, bytes]:
        """The bytes to write for a call, and its id; :meth:`future` is its answer."""
        rid, data = self._conn.request(method, params)
        self._pending[rid] = (method, asyncio.get_running_loop().create_future())
        return rid, data

    def future(self, rid: int) -> asyncio.Future[Any]:
        """The answer of call ``rid``: its result, or hostd's error raised."""
        return self._pending[rid][1]

    def forget(self, rid: int) -> None:
        """Stop waiting for ``rid`` (answered, timed out, or abandoned); a
        reply that still comes for it is ignored."""
        self._pending.pop(rid, None)

    def receive(self, data: bytes, on_notification: Callable[[Notification], None]) -> None:
        """Complete the calls that ``data`` answers; each notification in it
        goes to ``on_notification``, in the order they came."""
        for event in self._conn.receive_data(data):
            if isinstance(event, Reply):
                entry = self._pending.get(event.id) if isinstance(event.id, int) else None
                if entry is None:
                    log.debug("reply to unknown or abandoned request %r", event.id)
                    continue
                fut = entry[1]
                if fut.done():
                    continue
                if event.error is not None:
                    fut.set_exception(event.error)
                else:
                    fut.set_result(event.result)
            elif isinstance(event, Notification):
                on_notification(event)
            elif isinstance(event, Garbage):
                log.warning("not JSON-RPC on hostd's output: %s", event.text[:200])
                self.noise = [*self.noise[-(MAX_NOISE_LINES - 1) :], event.text[:200]]

    def fail_all(self, error: Callable[[str], Exception]) -> None:
        """Fail every call still waiting with ``error(method)``, and forget them."""
        for method, fut in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(error(method))
        self._pending.clear()
