"""The RPC client: calls, notifications, and keeping the connection up.

One :class:`Client` speaks to one hostd on one :class:`Host`. Calls wait for
their reply by id (hostd answers in whatever order requests finish); every
call still waiting when the stream ends fails at once with
:class:`ConnectionLost` saying why. When the connection drops the client
reconnects with backoff, says hello again and re-subscribes to its topics;
``state`` and the state listeners tell a person what is going on. Which
call waits for which reply is kept by :mod:`.calls`; the typed calls of
each method are :mod:`.api`.

The client does not own the host: several clients and terminals may share
one SSH connection, and the caller closes the host when done with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from hostd.protocol import Notification, RpcError
from hostd.protocol import methods as m

from .calls import Calls
from .errors import (
    CallTimeout,
    ConnectionLost,
    HostdUnavailable,
    NotConnected,
    RemoteError,
)
from .launch import describe_exit, startup_error
from .streams import Host, HostdStream

log = logging.getLogger(__name__)

# hostd answers reads in milliseconds; 30 s covers a loaded host on a slow link.
DEFAULT_TIMEOUT_S = 30.0
# Lifecycle calls wait on processes; hostd gives requests under way up to
# 5 minutes when its input ends (hostd/server/loop.py DRAIN_TIMEOUT_S), a VM create
# can take a minute. A call is not abandoned before hostd would abandon it.
LIFECYCLE_TIMEOUT_S = 300.0
# Starting hostd: a cold Python start plus the login shell's profile, over a
# slow link: seconds. Past this something is wrong and the error says what.
HELLO_TIMEOUT_S = 60.0

# Which subscribe settings go with which topic (docs/protocol.md, subscribe).
_SETTINGS_OF = {m.TOPIC_SCREENSHOTS: "screenshot", m.TOPIC_METRICS: "metrics"}

Phase = Literal["idle", "connecting", "connected", "reconnecting", "failed", "closed"]


@dataclass(frozen=True)
class ConnectionState:
    """What the client is doing about its connection, for a person to see."""

    phase: Phase
    reason: str | None = None  # why it is reconnecting or failed
    retry_in: float | None = None  # reconnecting: seconds until the next try
    attempt: int = 0

    def __str__(self) -> str:
        if self.phase == "reconnecting":
            why = f" ({self.reason})" if self.reason else ""
            wait = self.retry_in or 0.0
            return (
                f"reconnecting in {wait:.1f} s{why}"
                if wait < 1
                else (f"reconnecting in {wait:.0f} s{why}")
            )
        if self.phase == "failed":
            return f"failed: {self.reason}"
        return self.phase


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnection attempts: doubling from ``first`` up to ``cap``.

    Half a second first, because most drops are a moment's trouble; capped at
    30 s so a host that comes back is found within half a minute.
    """

    first: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.first * (2 ** min(attempt, 16))))


StateListener = Callable[[ConnectionState], None]
NotificationListener = Callable[[Notification], None]


class Client:
    def __init__(
        self,
        host: Host,
        *,
        client_name: str = "claude-sandbox",
        reconnect: bool = True,
        backoff: Backoff | None = None,
    ) -> None:
        self.host = host
        self.client_name = client_name
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.hello: dict[str, Any] | None = None
        self.state = ConnectionState("idle")
        self._stream: HostdStream | None = None
        self._calls = Calls()
        self._topics: list[str] = []
        self._settings: dict[str, Any] = {}  # subscribe settings, by key ("screenshot")
        self._listeners: dict[str | None, list[NotificationListener]] = {}
        self._state_listeners: list[StateListener] = []
        self._changed = asyncio.Event()  # set whenever the state changes
        self._reconnector: asyncio.Task[None] | None = None
        self._closing = False

    # -- public API ------------------------------------------------------------------

    async def connect(self) -> dict[str, Any]:
        """Connect and say hello; returns hostd's hello. A failure is raised as is
        (no retry: the first connection is the person's to judge)."""
        self._set_state(ConnectionState("connecting"))
        try:
            await self._establish()
        except RemoteError as exc:
            self._set_state(ConnectionState("failed", reason=str(exc)))
            raise
        assert self.hello is not None
        return self.hello

    async def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT_S
    ) -> Any:
        """Call ``method`` and return its result. hostd's refusal is raised as
        :class:`RpcError`; a dropped connection as :class:`ConnectionLost`.
        While reconnecting, the call waits (within its timeout) for the link."""
        deadline = asyncio.get_running_loop().time() + timeout
        await self._wait_connected(method, timeout, deadline)
        return await self._send(method, params, timeout, deadline)

    def has_capability(self, name: str) -> bool:
        return bool(self.hello) and name in (self.hello or {}).get("capabilities", [])

    async def subscribe(
        self,
        topics: list[str],
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Subscribe now, and again after every reconnection; hostd's reply
        (``{"logs": {id: offset}}`` says where each new log stream starts).

        ``settings`` go with the topics they belong to (``screenshot`` with
        ``screenshots``, ``metrics`` with ``metrics``) and are sent again with
        them after a reconnection; subscribing again replaces them.
        """
        result = await self.call(m.SUBSCRIBE, {"topics": topics, **(settings or {})}, timeout)
        self._topics.extend(t for t in topics if t not in self._topics)
        self._settings.update(settings or {})
        return result if isinstance(result, dict) else {}

    def keep_settings(self, settings: dict[str, Any]) -> None:
        """Settings to send with their topics at the next (re)subscription, for
        a change made while the connection is down."""
        self._settings.update(settings)

    async def unsubscribe(self, topics: list[str], timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self._topics = [t for t in self._topics if t not in topics]
        if self.state.phase == "connected":
            await self.call(m.UNSUBSCRIBE, {"topics": topics}, timeout)

    def add_listener(
        self, method: str | None, listener: NotificationListener
    ) -> Callable[[], None]:
        """Call ``listener`` for each notification named ``method`` (None: all).
        Returns a function that removes it."""
        self._listeners.setdefault(method, []).append(listener)
        return lambda: self._listeners.get(method, []).remove(listener)

    def add_state_listener(self, listener: StateListener) -> Callable[[], None]:
        self._state_listeners.append(listener)
        return lambda: self._state_listeners.remove(listener)

    @property
    def closing(self) -> bool:
        """Whether :meth:`close` was called: no reconnection will come."""
        return self._closing

    async def close(self) -> None:
        """End hostd's input and stop reconnecting. The host stays open."""
        self._closing = True
        if self._reconnector is not None:
            self._reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnector
        stream, self._stream = self._stream, None
        self._calls.fail_all(lambda _method: NotConnected("the client was closed"))
        if stream is not None:
            await stream.close()
        self._set_state(ConnectionState("closed"))

    # -- connecting ------------------------------------------------------------------

    async def _establish(self) -> None:
        stream = await self.host.open_hostd()
        self._attach(stream)
        loop = asyncio.get_running_loop()
        try:
            hello = await self._send(
                m.HELLO,
                {"client": self.client_name},
                HELLO_TIMEOUT_S,
                loop.time() + HELLO_TIMEOUT_S,
            )
        except ConnectionLost:
            raise self._startup_error(stream) from None
        except CallTimeout:
            await stream.close()
            raise HostdUnavailable(
                f"hostd on {self.host.describe()} did not answer within "
                f"{HELLO_TIMEOUT_S:.0f} s{self._stderr_note(stream)}",
                retryable=True,
            ) from None
        except RpcError as exc:
            await stream.close()
            raise HostdUnavailable(
                f"hostd on {self.host.describe()} refused hello: {exc.message}"
            ) from exc
        if not isinstance(hello, dict) or hello.get("protocol") != m.PROTOCOL_VERSION:
            await stream.close()
            got = hello.get("protocol") if isinstance(hello, dict) else hello
            raise HostdUnavailable(
                f"hostd on {self.host.describe()} speaks protocol {got!r}; this client "
                f"speaks {m.PROTOCOL_VERSION}. Install the same claude-sandbox version on both."
            )
        self.hello = hello
        try:
            await self._resubscribe(loop.time() + DEFAULT_TIMEOUT_S)
        except RemoteError as exc:
            await stream.close()
            raise ConnectionLost(f"subscribing again failed: {exc}") from exc
        self._set_state(ConnectionState("connected"))

    async def _resubscribe(self, deadline: float) -> None:
        """Topics one by one: subscribe is all or nothing, and one sandbox deleted
        while we were away must not cost the others their subscription."""
        for topic in list(self._topics):
            params: dict[str, Any] = {"topics": [topic]}
            key = _SETTINGS_OF.get(topic)
            if key in self._settings:
                params[key] = self._settings[key]
            try:
                await self._send(m.SUBSCRIBE, params, DEFAULT_TIMEOUT_S, deadline)
            except RpcError as exc:
                log.warning("could not subscribe to %s again: %s", topic, exc.message)
                self._topics.remove(topic)
                self._dispatch(
                    Notification("subscription.lost", {"topic": topic, "reason": exc.message})
                )

    def _attach(self, stream: HostdStream) -> None:
        self._stream = stream
        self._calls.new_stream()
        stream.start(lambda data: self._on_data(stream, data), lambda: self._on_end(stream))

    def _startup_error(self, stream: HostdStream) -> RemoteError:
        command = getattr(self.host, "hostd_command", "hostd")
        return startup_error(
            self.host.describe(),
            command,
            stream.exit_status,
            stream.stderr.text(),
            self._calls.noise,
            stream.end_reason,
        )

    @staticmethod
    def _stderr_note(stream: HostdStream) -> str:
        tail = stream.stderr.last_lines(5)
        return f"; its stderr:\n  {tail.replace(chr(10), chr(10) + '  ')}" if tail else ""

    async def _reconnect(self, reason: str) -> None:
        attempt = 0
        while not self._closing:
            delay = self.backoff.delay(attempt)
            attempt += 1
            self._set_state(
                ConnectionState("reconnecting", reason=reason, retry_in=delay, attempt=attempt)
            )
            await asyncio.sleep(delay)
            self._set_state(ConnectionState("connecting", reason=reason, attempt=attempt))
            try:
                await self._establish()
                log.info("reconnected to %s", self.host.describe())
                return
            except RemoteError as exc:
                reason = str(exc)
                if not exc.retryable:
                    self._set_state(ConnectionState("failed", reason=reason))
                    return
            except Exception as exc:  # a bug below must not end reconnecting quietly
                log.exception("reconnecting to %s failed", self.host.describe())
                reason = f"{type(exc).__name__}: {exc}"

    async def _wait_connected(self, method: str, timeout: float, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while self.state.phase != "connected":
            if self.state.phase in ("failed", "closed", "idle"):
                why = self.state.reason or (
                    "not connected" if self.state.phase == "idle" else "closed"
                )
                raise NotConnected(f"cannot call {method} on {self.host.describe()}: {why}")
            self._changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise CallTimeout(
                    f"{method}: no connection to {self.host.describe()} within {timeout:.0f} s "
                    f"({self.state})"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    # -- calls and replies -------------------------------------------------------------

    async def _send(
        self, method: str, params: dict[str, Any] | None, timeout: float, deadline: float
    ) -> Any:
        stream = self._stream
        if stream is None or stream.ended:
            raise ConnectionLost(f"no connection to {self.host.describe()} for {method}")
        loop = asyncio.get_running_loop()
        rid, data = self._calls.request(method, params)
        stream.write(data)
        try:
            return await asyncio.wait_for(self._calls.future(rid), max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise CallTimeout(
                f"no answer to {method} from {self.host.describe()} within {timeout:.0f} s "
                "(it may still be carried out there)"
            ) from None
        finally:
            self._calls.forget(rid)

    def _on_data(self, stream: HostdStream, data: bytes) -> None:
        if stream is not self._stream:
            return
        self._calls.receive(data, self._dispatch)

    def _dispatch(self, note: Notification) -> None:
        for listener in [*self._listeners.get(note.method, []), *self._listeners.get(None, [])]:
            try:
                listener(note)
            except Exception:
                log.exception("notification listener for %s failed", note.method)

    def _on_end(self, stream: HostdStream) -> None:
        if stream is not self._stream:
            return
        self._stream = None
        why = stream.end_reason or describe_exit(stream.exit_status)
        tail = stream.stderr.last_lines(3)
        detail = f"{why}" + (
            f"; its last words:\n  {tail.replace(chr(10), chr(10) + '  ')}" if tail else ""
        )
        was_connected = self.state.phase == "connected" and not self._closing
        if was_connected:
            # The state changes before the pending calls fail: a call retried
            # at once (HostApi.create does) then waits for the link instead
            # of failing again without ever yielding to the loop.
            log.warning("lost hostd on %s: %s", self.host.describe(), why)
            if self.reconnect:
                self._set_state(ConnectionState("reconnecting", reason=why, retry_in=0.0))
                self._reconnector = asyncio.get_running_loop().create_task(self._reconnect(why))
            else:
                self._set_state(ConnectionState("failed", reason=f"connection lost: {why}"))
        self._calls.fail_all(
            lambda method: ConnectionLost(
                f"lost hostd on {self.host.describe()} while waiting for the answer "
                f"to {method}: {detail}"
            )
        )

    def _set_state(self, state: ConnectionState) -> None:
        if state == self.state:
            return
        self.state = state
        self._changed.set()
        log.debug("%s: %s", self.host.describe(), state)
        for listener in list(self._state_listeners):
            try:
                listener(state)
            except Exception:
                log.exception("state listener failed")
