"""The server loop: one client on a pair of file descriptors, asyncio inside.

A reader thread feeds bytes to the sans-IO :class:`ServerConnection`; each
request runs as its own task, so requests are answered concurrently and in
whatever order they finish; the :class:`Outbox` thread writes. At end of
input (or SIGTERM, SIGHUP, SIGINT) hostd stops reading, lets requests already
under way finish (a create half done would otherwise leave a reservation for
the next reconcile to clean), sends their answers and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import traceback
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..capture.screens import Screens, ScreenshotStream, StreamSettings
from ..fs.methods import root_of
from ..fs.watch import TreeWatch, WatchError
from ..observe.logfollow import LogFollower
from ..observe.metrics import MetricsService, MetricsStream, parse_interval
from ..observe.monitor import Monitor
from ..protocol import methods as m
from ..protocol.connection import Batch, ServerConnection
from ..protocol.errors import InternalError, InvalidParams, ProcessFailed, RpcError
from ..protocol.framing import MAX_LINE_BYTES, encode
from ..protocol.messages import BadMessage, Incoming, Notification, Request, error_obj, result_obj
from ..sandbox.lifecycle import Manager
from .handlers import Handlers
from .outbox import Outbox

log = logging.getLogger(__name__)

# Requests still running at end of input get this long to finish. A VM create
# can take a minute; anything longer is stuck, and its reservation is cleaned
# by the next hostd's reconcile.
DRAIN_TIMEOUT_S = 300.0
READ_CHUNK = 1 << 20


class Server:
    def __init__(self, manager: Manager, in_fd: int, out_fd: int) -> None:
        self.manager = manager
        self._in_fd = in_fd
        self.conn = ServerConnection()
        self._closing = asyncio.Event()
        self.outbox = Outbox(out_fd, on_broken=self._broken_from_thread)
        # Lifecycle steps wait on processes; reads are quick. Separate pools keep
        # a burst of creates from queueing in front of a list.
        self.slow_pool = ThreadPoolExecutor(8, thread_name_prefix="hostd-slow")
        self.fast_pool = ThreadPoolExecutor(4, thread_name_prefix="hostd-fast")
        self._reconcile_pool = ThreadPoolExecutor(1, thread_name_prefix="hostd-reconcile")
        # Grabs, scaling and encoding: two workers bound hostd's CPU however
        # many sandboxes there are (issue 3: 10 sandboxes at 1 fps < 15% of a core).
        self.capture_pool = ThreadPoolExecutor(2, thread_name_prefix="hostd-capture")
        self.screens = Screens(manager, self.capture_pool)
        self._stream: ScreenshotStream | None = None
        # One worker: session readers and activity trackers are single-threaded.
        self.metrics_pool = ThreadPoolExecutor(1, thread_name_prefix="hostd-metrics")
        self.metrics = MetricsService(manager, self.metrics_pool)
        self._metrics_stream: MetricsStream | None = None
        self.monitor = Monitor(
            manager,
            self._reconcile_pool,
            self.fast_pool,
            self._push_sandboxes,
            decorate=self.decorate,
        )
        self.handlers = Handlers(self)
        self.topics: set[str] = set()
        # (state, reason) of each sandbox's activity as last pushed: a client
        # of "metrics" alone gets sandbox.changed only when that changes.
        self._activity_seen: dict[str, tuple[Any, Any]] = {}
        self._followers: dict[str, LogFollower] = {}
        self._fswatches: dict[str, TreeWatch] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- running -----------------------------------------------------------------

    async def run(self) -> int:
        loop = self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        # DESIGN.md: "On start, hostd reconciles before it answers."
        await loop.run_in_executor(self._reconcile_pool, self.manager.reconcile)
        self.monitor.start()
        reader = threading.Thread(target=self._read_loop, name="hostd-reader", daemon=True)
        reader.start()
        await self._closing.wait()
        await self._drain()
        return 0

    async def _drain(self) -> None:
        if self._tasks:
            log.info("waiting for %d request(s) under way", len(self._tasks))
            _done, pending = await asyncio.wait(set(self._tasks), timeout=DRAIN_TIMEOUT_S)
            for task in pending:
                task.cancel()
        await self.monitor.stop()
        for follower in self._followers.values():
            follower.stop()
        for watch in self._fswatches.values():
            watch.stop()
        if self._stream is not None:
            self._stream.stop()
        if self._metrics_stream is not None:
            self._metrics_stream.stop()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.outbox.close)
        pools = (self.slow_pool, self.fast_pool, self._reconcile_pool, self.capture_pool)
        for pool in (*pools, self.metrics_pool):
            pool.shutdown(wait=False, cancel_futures=True)

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

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- answering ---------------------------------------------------------------

    async def _answer_one(self, msg: Request | BadMessage) -> None:
        obj = await self._answer(msg)
        if obj is not None:
            # Encoding a reply of megabytes (a screenshot, a log) takes
            # milliseconds: not on the loop.
            data = await asyncio.get_running_loop().run_in_executor(self.fast_pool, encode, obj)
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
        try:
            result = await self.handlers.call(msg.method, msg.params)
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

    # -- subscriptions -------------------------------------------------------------

    def push(self, method: str, params: dict[str, Any]) -> None:
        self.outbox.put(self.conn.notification(method, params))

    def decorate(self, view: dict[str, Any]) -> dict[str, Any]:
        """A Sandbox object with what this hostd knows beyond the record."""
        view["activity"] = self.metrics.activity_of(view["id"])
        return view

    def push_latest(self, key: Hashable, method: str, params: dict[str, Any]) -> None:
        """A notification that a newer one of the same ``key`` replaces if unsent."""
        self.outbox.put_latest(key, self.conn.notification(method, params))

    def _push_sandboxes(self, method: str, params: dict[str, Any]) -> None:
        send = m.TOPIC_SANDBOXES in self.topics
        if method == m.SANDBOX_CHANGED:
            view = params["sandbox"]
            act = view.get("activity") or {}
            now = (act.get("state"), act.get("reason"))
            before = self._activity_seen.get(view["id"], (None, None))
            self._activity_seen[view["id"]] = now
            # Issue 4: "metrics" alone still hears at once that a sandbox
            # started or stopped waiting for the person.
            metrics = self._metrics_stream is not None
            send = send or (metrics and now != before and (any(now) or any(before)))
        else:
            self._activity_seen.pop(params.get("id", ""), None)
        if send:
            self.push(method, params)

    async def subscribe(
        self,
        topics: list[str],
        screenshot: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """All or nothing: every topic is checked before any takes effect.

        The reply is ``{}``, or ``{"note": ...}`` when a setting was capped.
        """
        new_logs: dict[str, str] = {}
        new_fs: dict[str, str] = {}
        settings = StreamSettings.parse(screenshot)
        if screenshot is not None and m.TOPIC_SCREENSHOTS not in topics:
            raise InvalidParams(
                "screenshot settings given without the 'screenshots' topic", "screenshot"
            )
        interval = parse_interval(metrics)
        if metrics is not None and m.TOPIC_METRICS not in topics:
            raise InvalidParams("metrics settings given without the 'metrics' topic", "metrics")
        for topic in topics:
            if topic in (m.TOPIC_SANDBOXES, m.TOPIC_SCREENSHOTS, m.TOPIC_METRICS):
                continue
            if topic.startswith(m.TOPIC_LOGS_PREFIX):
                ref = topic[len(m.TOPIC_LOGS_PREFIX) :]
                if not ref:
                    raise InvalidParams("topic 'logs:' needs a sandbox id", "topics")
                rec = await asyncio.get_running_loop().run_in_executor(
                    self.fast_pool, self.manager.record, ref
                )
                new_logs[topic] = rec["id"]
                continue
            if topic.startswith(m.TOPIC_FS_PREFIX):
                try:
                    new_fs[topic] = root_of(topic[len(m.TOPIC_FS_PREFIX) :])
                except InvalidParams as exc:
                    raise InvalidParams(f"topic {topic!r}: {exc.message}", "topics") from exc
                continue
            raise InvalidParams(
                f"unknown topic {topic!r} "
                "(topics: sandboxes, screenshots, metrics, logs:<id>, fs:<path>)",
                "topics",
            )
        await self._start_fswatches(new_fs)
        for topic in topics:
            if topic == m.TOPIC_SANDBOXES:
                self.topics.add(topic)
            elif topic == m.TOPIC_SCREENSHOTS:
                if self._stream is None:
                    self._stream = ScreenshotStream(
                        self.screens, settings, self.push_latest, self.outbox.pending_latest
                    )
                    self._stream.start()
                else:
                    self._stream.update(settings)
            elif topic == m.TOPIC_METRICS:
                if self._metrics_stream is None:
                    self._metrics_stream = MetricsStream(
                        self.metrics, interval, self.push_latest, self.monitor.poke
                    )
                    self._metrics_stream.start()
                else:
                    self._metrics_stream.update(interval)
        for sid in new_logs.values():
            if sid not in self._followers:
                follower = LogFollower(
                    sid,
                    self.manager.paths.log_file(sid),
                    self.fast_pool,
                    self.push,
                    lambda: self.outbox.queued_bytes,
                )
                self._followers[sid] = follower
                await follower.start()
        return {"note": settings.note} if settings.note else {}

    async def _start_fswatches(self, new: dict[str, str]) -> None:
        """Watch every new ``fs:`` root, or none of them (subscribe is all or nothing)."""
        started: list[tuple[str, TreeWatch]] = []
        loop = asyncio.get_running_loop()
        try:
            for topic, real in new.items():
                if topic in self._fswatches:
                    continue
                watch = TreeWatch(topic[len(m.TOPIC_FS_PREFIX) :], real, self.push)
                # Taken before the await: a second subscribe to the same
                # topic meanwhile must not start a second watch.
                self._fswatches[topic] = watch
                started.append((topic, watch))
                await loop.run_in_executor(self.slow_pool, watch.start)
        except WatchError as exc:
            for topic, watch in started:
                self._fswatches.pop(topic, None)
                watch.stop()
            raise ProcessFailed(str(exc)) from exc

    async def unsubscribe(self, topics: list[str]) -> None:
        for topic in topics:
            if topic.startswith(m.TOPIC_FS_PREFIX):
                watch = self._fswatches.pop(topic, None)
                if watch is not None:
                    watch.stop()
            elif topic == m.TOPIC_SANDBOXES:
                self.topics.discard(topic)
            elif topic == m.TOPIC_SCREENSHOTS:
                if self._stream is not None:
                    self._stream.stop()
                    self._stream = None
            elif topic == m.TOPIC_METRICS:
                if self._metrics_stream is not None:
                    self._metrics_stream.stop()
                    self._metrics_stream = None
            elif topic.startswith(m.TOPIC_LOGS_PREFIX):
                ref = topic[len(m.TOPIC_LOGS_PREFIX) :]
                sid = self._follower_for(ref)
                if sid is not None:
                    self.drop_log_follower(sid)

    def _follower_for(self, ref: str) -> str | None:
        if ref in self._followers:
            return ref
        with contextlib.suppress(RpcError):
            sid: str = self.manager.record(ref)["id"]
            return sid if sid in self._followers else None
        hits = [sid for sid in self._followers if ref and sid.startswith(ref)]
        return hits[0] if len(hits) == 1 else None

    def drop_log_follower(self, sid: str) -> None:
        follower = self._followers.pop(sid, None)
        if follower is not None:
            follower.stop()
