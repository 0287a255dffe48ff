"""One sandbox's log as a viewer reads it: the live stream, the history before
it on demand, and what was missed while the connection was down.

hostd says where every piece lies in the log file (``subscribe``'s reply has
the offset a ``logs:<id>`` stream starts at; each ``log`` push its ``offset``
and ``end``; ``sandbox.logs`` takes ``after``/``before``). The feed keeps two
offsets, the oldest byte it has handed over and the newest, so history meets
the stream with nothing lost and nothing twice, and a gap (a reconnection,
when hostd's new stream starts at the log's end then) is fetched and put in
its place before anything after it.

Text goes to two callbacks: ``on_append`` (newer output, in order) and
``on_prepend`` (older output fetched with :meth:`LogFeed.earlier`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from hostd.protocol import Notification, RpcError
from hostd.protocol import methods as m

from .api import HostApi
from .client import Client, ConnectionState
from .errors import RemoteError

log = logging.getLogger(__name__)

TextCallback = Callable[[str], None]


class LogFeed:
    def __init__(
        self,
        client: Client,
        sandbox_id: str,
        on_append: TextCallback,
        on_prepend: TextCallback | None = None,
    ) -> None:
        self.client = client
        self.api = HostApi(client)
        self.sandbox_id = sandbox_id
        self.topic = f"{m.TOPIC_LOGS_PREFIX}{sandbox_id}"
        self._append = on_append
        self._prepend = on_prepend or (lambda _text: None)
        self.oldest: int | None = None  # byte offset of the oldest text handed over
        self.newest: int | None = None  # byte offset just after the newest
        self._held: list[dict[str, Any]] = []  # pushes waiting behind a fetch
        self._fetching = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._removers: list[Callable[[], None]] = []
        self._stopped = False
        self._dropped = False  # the connection went down since the last look
        self._legacy = False  # an older hostd, whose log streams carry no offsets

    @property
    def has_earlier(self) -> bool:
        """Whether the log holds older output than what was handed over (an
        older hostd cannot say where it is, so none is offered)."""
        return not self._legacy and self.oldest is not None and self.oldest > 0

    async def start(self, tail: int | None) -> None:
        """Subscribe, then hand over the last ``tail`` lines before the stream
        (all of it, up to its last 4 MiB, for None)."""
        self._removers = [
            self.client.add_listener(m.LOG, self._on_log),
            self.client.add_state_listener(self._on_state),
        ]
        self._fetching = True  # pushes wait until the history is in
        try:
            reply = await self.client.subscribe([self.topic])
            if self._stopped:  # stopped meanwhile: its unsubscribe may have come first
                await self._unsubscribe()
                return
            start = (reply.get("logs") or {}).get(self.sandbox_id)
            if not isinstance(start, int):  # an older hostd: no offsets
                # Output pushed while the history is read may show twice, and
                # what is written during a drop is not fetched: hostd can't say.
                result = await self.api.logs(self.sandbox_id, tail)
                self._legacy = True
                if not self._stopped:
                    self._append(str(result.get("text", "")))
                return
            result = await self.api.logs(self.sandbox_id, tail, before=start)
            if self._stopped:
                return
            self.oldest = int(result.get("start", 0))
            self.newest = int(result.get("end", start))
            if result["text"]:
                self._append(result["text"])
        finally:
            self._fetching = False
            self._release()

    async def earlier(self, lines: int) -> bool:
        """Hand over up to ``lines`` more lines from before the oldest; False when
        there is nothing older."""
        if self.oldest is None or self.oldest <= 0:
            return False
        result = await self.api.logs(self.sandbox_id, lines, before=self.oldest)
        if self._stopped:
            return False
        if result["text"]:
            self._prepend(result["text"])
        self.oldest = int(result.get("start", 0))
        return True

    async def stop(self) -> None:
        self._stopped = True
        for remove in self._removers:
            with contextlib.suppress(ValueError):
                remove()
        self._removers = []
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._unsubscribe()

    async def _unsubscribe(self) -> None:
        # Also while disconnected: the client must not subscribe again on reconnecting.
        with contextlib.suppress(RemoteError, RpcError):
            await self.client.unsubscribe([self.topic])

    # -- internals -----------------------------------------------------------------------

    def _on_log(self, note: Notification) -> None:
        if note.params.get("id") != self.sandbox_id or self._stopped:
            return
        self._held.append(note.params)
        if not self._fetching:
            self._release()

    def _on_state(self, state: ConnectionState) -> None:
        if state.phase in ("reconnecting", "failed"):
            self._dropped = True
        elif state.phase == "connected" and self._dropped and not self._stopped:
            self._dropped = False
            # The client subscribed again, and hostd's new stream starts at the
            # log's end now: ask where, and fetch what came meanwhile.
            self._spawn(self._catch_up())

    async def _catch_up(self) -> None:
        try:
            reply = await self.client.subscribe([self.topic])
        except (RemoteError, RpcError) as exc:
            log.debug("subscribing to %s again: %s", self.topic, exc)
            return
        start = (reply.get("logs") or {}).get(self.sandbox_id)
        if isinstance(start, int) and self.newest is not None and start > self.newest:
            self._held.insert(0, {"offset": start, "end": start, "data": ""})
        if not self._fetching:
            self._release()

    def _release(self) -> None:
        """Hand over held pushes in order, stopping at a gap to fetch it first."""
        if self._stopped:
            self._held.clear()
            return
        while self._held and not self._fetching:
            push = self._held[0]
            offset, end = push.get("offset"), push.get("end")
            if self._legacy or not isinstance(offset, int) or not isinstance(end, int):
                self._held.pop(0)
                self._append(str(push.get("data", "")))
                continue
            if self.newest is None or offset == self.newest:
                self._held.pop(0)
                self.newest = end
                if push["data"]:
                    self._append(push["data"])
            elif offset == 0:
                # The log starts again from its beginning (it was truncated or replaced).
                self._held.pop(0)
                self.newest = end
                self._append("\r\n[… the log started again …]\r\n" + push["data"])
            elif offset < self.newest:
                self._held.pop(0)
                if end <= self.newest:
                    continue  # handed over already
                self.newest = end  # an overlap hostd does not make; shown whole
                self._append(push["data"])
            else:
                self._fetching = True
                self._spawn(self._fill(self.newest, offset))

    async def _fill(self, after: int, before: int) -> None:
        try:
            result = await self.api.logs(self.sandbox_id, after=after, before=before)
            if self._stopped:
                return
            if int(result.get("start", after)) > after:
                skipped = int(result["start"]) - after
                self._append(f"\r\n[… {skipped} bytes of output not shown …]\r\n")
            if result["text"]:
                self._append(result["text"])
            self.newest = before
        except (RemoteError, RpcError) as exc:
            log.debug(
                "fetching the log of %s between %d and %d: %s", self.topic, after, before, exc
            )
            self._append(f"\r\n[… output missed while disconnected: {exc} …]\r\n")
            self.newest = before
        finally:
            self._fetching = False
            self._release()

    def _spawn(self, coro: Any) -> None:
        if self._stopped:
            coro.close()
            return
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
