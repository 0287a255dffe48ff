"""The client's subscriptions: which topics it hears, and the streams,
followers and watches that serve them.

``subscribe`` is all or nothing: every topic and setting is checked before
any takes effect. Notifications go to a :class:`Sink` (the writer), encoded
here; the registry knows nothing of the loop that reads requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable
from typing import Any, Protocol

from ..capture.screens import ScreenshotStream, StreamSettings
from ..fs.methods import root_of
from ..fs.watch import TreeWatch, WatchError
from ..observe.logfollow import LogFollower
from ..observe.metrics import MetricsStream, parse_interval
from ..protocol import methods as m
from ..protocol.connection import ServerConnection
from ..protocol.errors import InvalidParams, ProcessFailed, RpcError
from .services import Services


class Sink(Protocol):
    """Where encoded notifications go: :class:`~hostd.server.outbox.Outbox` is one."""

    def put(self, data: bytes) -> None: ...

    def put_latest(self, key: Hashable, data: bytes) -> None: ...

    def pending_latest(self, key: Hashable) -> bool: ...

    @property
    def queued_bytes(self) -> int: ...


class Subscriptions:
    def __init__(self, services: Services, sink: Sink) -> None:
        self.services = services
        self.sink = sink
        self.topics: set[str] = set()
        # (state, reason, request id) of each sandbox's activity as last
        # pushed: a client of "metrics" alone gets sandbox.changed only when
        # that changes.
        self._activity_seen: dict[str, tuple[Any, Any, Any]] = {}
        self._followers: dict[str, LogFollower] = {}
        self._fswatches: dict[str, TreeWatch] = {}
        self._stream: ScreenshotStream | None = None
        self._metrics_stream: MetricsStream | None = None
        services.listen(self._push_sandboxes)

    # -- pushing -------------------------------------------------------------------

    def push(self, method: str, params: dict[str, Any]) -> None:
        self.sink.put(ServerConnection.notification(method, params))

    def push_latest(self, key: Hashable, method: str, params: dict[str, Any]) -> None:
        """A notification that a newer one of the same ``key`` replaces if unsent."""
        self.sink.put_latest(key, ServerConnection.notification(method, params))

    def _push_sandboxes(self, method: str, params: dict[str, Any]) -> None:
        send = m.TOPIC_SANDBOXES in self.topics
        if method == m.SANDBOX_CHANGED:
            view = params["sandbox"]
            act = view.get("activity") or {}
            now = (act.get("state"), act.get("reason"), (act.get("request") or {}).get("id"))
            before = self._activity_seen.get(view["id"], (None, None, None))
            self._activity_seen[view["id"]] = now
            # A client of "metrics" alone (a grid of tiles) must still hear at
            # once that a sandbox started or stopped waiting for the person,
            # not only at the next metrics tick, seconds later.
            metrics = self._metrics_stream is not None
            send = send or (metrics and now != before and (any(now) or any(before)))
        else:
            self._activity_seen.pop(params.get("id", ""), None)
        if send:
            self.push(method, params)

    # -- subscribe and unsubscribe ---------------------------------------------------

    async def subscribe(
        self,
        topics: list[str],
        screenshot: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """All or nothing: every topic is checked before any takes effect.

        The reply is ``{}``, or ``{"note": ...}`` when a setting was capped.
        """
        services = self.services
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
                    services.fast_pool, services.manager.record, ref
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
                        services.screens, settings, self.push_latest, self.sink.pending_latest
                    )
                    self._stream.start()
                else:
                    self._stream.update(settings)
            elif topic == m.TOPIC_METRICS:
                if self._metrics_stream is None:
                    self._metrics_stream = MetricsStream(
                        services.metrics, interval, self.push_latest, services.monitor.poke
                    )
                    self._metrics_stream.start()
                else:
                    self._metrics_stream.update(interval)
        self._watch_hooks()
        starts: dict[str, int] = {}
        for sid in new_logs.values():
            if sid not in self._followers:
                follower = LogFollower(
                    sid,
                    services.manager.paths.log_file(sid),
                    services.fast_pool,
                    self.push,
                    lambda: self.sink.queued_bytes,
                )
                self._followers[sid] = follower
                starts[sid] = await follower.start()
            else:
                follower = self._followers[sid]
                await follower.started.wait()  # another subscribe is starting it
                starts[sid] = follower.position
        result: dict[str, Any] = {"note": settings.note} if settings.note else {}
        if starts:
            result["logs"] = starts
        return result

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
                await loop.run_in_executor(self.services.slow_pool, watch.start)
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
        self._watch_hooks()

    def _watch_hooks(self) -> None:
        """Hook events are watched while this client hears of activity changes."""
        hears = m.TOPIC_SANDBOXES in self.topics or self._metrics_stream is not None
        self.services.watch_hooks(hears)

    def _follower_for(self, ref: str) -> str | None:
        if ref in self._followers:
            return ref
        with contextlib.suppress(RpcError):
            sid: str = self.services.manager.record(ref)["id"]
            return sid if sid in self._followers else None
        hits = [sid for sid in self._followers if ref and sid.startswith(ref)]
        return hits[0] if len(hits) == 1 else None

    def drop_log_follower(self, sid: str) -> None:
        follower = self._followers.pop(sid, None)
        if follower is not None:
            follower.stop()

    def close(self) -> None:
        """Stop every stream, follower and watch (at the end of the session)."""
        for follower in self._followers.values():
            follower.stop()
        for watch in self._fswatches.values():
            watch.stop()
        if self._stream is not None:
            self._stream.stop()
        if self._metrics_stream is not None:
            self._metrics_stream.stop()
        self.services.watch_hooks(False)
