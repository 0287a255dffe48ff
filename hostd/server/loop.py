"""The server loop: one client on a pair of file descriptors, asyncio inside.

A reader thread feeds bytes to the sans-IO :class:`ServerConnection`; each
request runs as its own task, so requests are answered concurrently and in
whatever order they finish; the :class:`Outbox` thread writes. At end of
input (or SIGTERM, SIGHUP, SIGINT) hostd stops reading, lets requests already
under way finish (a create half done would otherwise leave a reservation for
the next reconcile to clean), sends their answers and exits.

The loop knows no method: each request goes to ``dispatch(method, params)``,
whose result is the answer and whose :class:`RpcError` is the error.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Executor
from typing import Any

from ..protocol.connection import Batch, ServerConnection
from ..protocol.errors import InternalError, RpcError
from ..protocol.framing import MAX_LINE_BYTES, encode
from ..protocol.messages import BadMessage, Incoming, Notification, Request, error_obj, result_obj
from .outbox import Outbox

log = logging.getLogger(__name__)

# Requests still running at end of input get this long to finish. A VM create
# can take a minute; anything longer is stuck, and its reservation is cleaned
# by the next hostd's reconcile.
DRAIN_TIMEOUT_S = 300.0
READ_CHUNK = 1 << 20

Dispatch = Callable[[str, dict[str, Any]], Awaitable[Any]]
Hook = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


class ServerLoop:
    """Reads requests from ``in_fd`` and writes answers to ``out_fd``.

    :attr:`outbox` is the writer, also for notifications. ``encode_pool``
    runs the encoding of answers, which for a screenshot or a log takes
    milliseconds: never on the loop.
    """

    def __init__(self, in_fd: int, out_fd: int, encode_pool: Executor) -> None:
        self._in_fd = in_fd
        self._encode_pool = encode_pool
        self.conn = ServerConnection()
        self._closing = asyncio.Event()
        self.outbox = Outbox(out_fd, on_broken=self._broken_from_thread)
        self._dispatch: Dispatch | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- running -----------------------------------------------------------------

    async def run(
        self, dispatch: Dispatch, on_start: Hook = _nothing, on_stop: Hook = _nothing
    ) -> int:
        """Serve until end of input or a signal; 0 when all was answered.

        ``on_start`` runs before the first request is read, ``on_stop`` after
        the last is answered and before the writer sends what is queued.
        """
        self._dispatch = dispatch
        loop = self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        await on_start()
        reader = threading.Thread(target=self._read_loop, name="hostd-reader", daemon=True)
        reader.start()
        await self._closing.wait()
        await self._drain(on_stop)
        return 0

    async def _drain(self, on_stop: Hook) -> None:
        if self._tasks:
            log.info("waiting for %d request(s) under way", len(self._tasks))
            _done, pending = await asyncio.wait(set(self._tasks), timeout=DRAIN_TIMEOUT_S)
            for task in pending:
                task.cancel()
        await on_stop()
        await asyncio.get_running_loop().run_in_executor(None, self.outbox.close)

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self._closing.is_set():
            # A second signal: the person wants out now. The state file is safe
            # (every write is atomic); a create cut short is cleaned up by the
            # next reconcile, which finds its reservation's owner gone.
            log.warning("got %s again; exiting without waiting", name)
            os._exit(128 + sig)
        log.info("got %s; finishing", name)
        self._closing.set()

    def _broken_from_thread(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._closing.set)

    def _read_loop(self) -> None:
        """Reader thread: blocking reads, handed to the loop thread."""
        assert self._loop is not None
        while True:
            try:
                data = os.read(self._in_fd, READ_CHUNK)
            except OSError as exc:
                log.error("reading the client failed: %s", exc)
                data = b""
            try:
                self._loop.call_soon_threadsafe(self._on_data, data)
            except RuntimeError:
                return  # loop closed
            if not data:
                return

    def _on_data(self, data: bytes) -> None:
        if self._closing.is_set():
            return
        if not data:
            log.info("end of input; finishing")
            self._closing.set()
            return
        for event in self.conn.receive_data(data):
            if isinstance(event, Batch):
                self._spawn(self._answer_batch(event.items))
            elif isinstance(event, Notification):
                log.info("ignoring notification %r: hostd takes none", event.method)
            else:
                self._spawn(self._answer_one(event))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- answering ---------------------------------------------------------------

    async def _answer_one(self, msg: Request | BadMessage) -> None:
        obj = await self._answer(msg)
        if obj is not None:
            loop = asyncio.get_running_loop()
            data = await loop.run_in_executor(self._encode_pool, encode, obj)
            self.outbox.put(self._fit(obj, data))

    async def _answer_batch(self, items: list[Incoming]) -> None:
        answers = await asyncio.gather(*(self._answer(item) for item in items))
        self.outbox.put(self._fit(None, self.conn.batch([a for a in answers if a is not None])))

    def _fit(self, obj: dict[str, Any] | None, data: bytes) -> bytes:
        """The reply, or an error in its place when it is over the line cap
        (a client would drop the line and wait for an answer that never comes)."""
        if len(data) <= MAX_LINE_BYTES:
            return data
        rid = obj.get("id") if obj is not None else None
        err = InternalError(
            f"the answer is {len(data)} bytes, over the {MAX_LINE_BYTES} byte line cap; "
            "ask for less (a smaller max_width, a tail, a narrower folder)",
            {"size": len(data), "max": MAX_LINE_BYTES},
        )
        return encode(error_obj(rid, err))

    async def _answer(self, msg: Incoming) -> dict[str, Any] | None:
        if isinstance(msg, Notification):
            return None
        if isinstance(msg, BadMessage):
            return error_obj(msg.id, msg.error)
        assert self._dispatch is not None
        try:
            result = await self._dispatch(msg.method, msg.params)
        except RpcError as exc:
            return error_obj(msg.id, exc)
        except Exception as exc:
            log.exception("%s failed", msg.method)
            err = InternalError(
                f"internal error in {msg.method}: {type(exc).__name__}: {exc}",
                {"traceback": traceback.format_exc(limit=20)},
            )
            return error_obj(msg.id, err)
        return result_obj(msg.id, result)
