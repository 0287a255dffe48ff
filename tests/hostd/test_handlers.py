"""The handlers in-process: services, subscriptions and handlers built on a
temp state folder and called directly, with no hostd process and no wire.

The sandboxes are real (backend ``none``: real tmux and Xvfb); notifications
go to a sink that keeps them, as the outbox would write them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hostd.protocol import spec
from hostd.protocol.errors import InvalidParams, MethodNotFound
from hostd.sandbox.lifecycle import Manager
from hostd.sandbox.paths import StatePaths
from hostd.server.handlers import Handlers
from hostd.server.services import Services
from hostd.server.subscriptions import Subscriptions
from tests.helpers import DEADLINE_S, assert_nothing_left

SLEEPER = "sleep 600"


@dataclass
class KeepingSink:
    """A :class:`hostd.server.subscriptions.Sink` that keeps what it is given."""

    lines: list[bytes] = field(default_factory=list)
    latest: dict[Hashable, bytes] = field(default_factory=dict)

    def put(self, data: bytes) -> None:
        self.lines.append(data)

    def put_latest(self, key: Hashable, data: bytes) -> None:
        self.latest[key] = data

    def pending_latest(self, key: Hashable) -> bool:
        return False  # written at once

    @property
    def queued_bytes(self) -> int:
        return 0

    def notifications(self, method: str) -> list[dict[str, Any]]:
        msgs = [json.loads(line) for line in self.lines]
        return [msg["params"] for msg in msgs if msg.get("method") == method]


@dataclass
class Parts:
    services: Services
    subscriptions: Subscriptions
    handlers: Handlers
    sink: KeepingSink


@contextlib.asynccontextmanager
async def running(state_dir: Path) -> AsyncIterator[Parts]:
    """The parts as hostd's main wires them, started; every sandbox deleted at the end."""
    services = Services(Manager(StatePaths(state_dir)))
    sink = KeepingSink()
    subscriptions = Subscriptions(services, sink)
    handlers = Handlers(services, subscriptions)
    await services.start()
    try:
        yield Parts(services, subscriptions, handlers, sink)
    finally:
        try:
            for sb in await handlers.call("sandbox.list", {}):
                await handlers.call("sandbox.delete", {"id": sb["id"]})
        finally:
            subscriptions.close()
            await services.stop()


async def until(cond: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    """Wait, on the loop, until ``cond()`` is truthy; return it."""
    end = time.monotonic() + timeout
    while not (value := cond()):
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)
    return value


def run(state_dir: Path, body: Callable[[Parts], Any]) -> None:
    async def main() -> None:
        async with running(state_dir) as parts:
            await body(parts)

    try:
        asyncio.run(main())
    finally:
        assert_nothing_left(state_dir)


def test_list_and_hello_on_an_empty_state(state_dir: Path) -> None:
    async def body(p: Parts) -> None:
        assert await p.handlers.call("sandbox.list", {}) == []
        hello = await p.handlers.call("hello", {"client": "pytest"})
        assert hello["capabilities"] == spec.CAPABILITIES
        assert hello["state_dir"] == str(state_dir)
        assert "none" in [b["name"] for b in hello["backends"]]

    run(state_dir, body)


def test_create_stop_delete_a_none_sandbox(state_dir: Path, project: Path) -> None:
    async def body(p: Parts) -> None:
        params = {"name": "inproc", "backend": "none", "project_dir": str(project)}
        sb = await p.handlers.call("sandbox.create", {**params, "agent": SLEEPER})
        assert sb["status"] == "running" and sb["name"] == "inproc"
        assert sb["geometry"] == spec.DEFAULT_GEOMETRY and "activity" in sb
        listed = await p.handlers.call("sandbox.list", {})
        assert [s["id"] for s in listed] == [sb["id"]]
        stopped = await p.handlers.call("sandbox.stop", {"id": "inproc"})
        assert stopped["status"] == "stopped" and stopped["display"] is None
        assert await p.handlers.call("sandbox.delete", {"id": sb["id"]}) == {"id": sb["id"]}
        assert await p.handlers.call("sandbox.list", {}) == []

    run(state_dir, body)


def test_an_unknown_method_is_method_not_found(state_dir: Path) -> None:
    async def body(p: Parts) -> None:
        with pytest.raises(MethodNotFound) as err:
            await p.handlers.call("sandbox.explode", {})
        assert err.value.code == -32601 and err.value.data == {"method": "sandbox.explode"}

    run(state_dir, body)


def test_bad_params_are_invalid_params_naming_the_field(state_dir: Path) -> None:
    async def body(p: Parts) -> None:
        bad = {"name": "ok", "backend": "none", "project_dir": 5}
        with pytest.raises(InvalidParams) as err:
            await p.handlers.call("sandbox.create", bad)
        assert err.value.code == -32602 and err.value.data == {"field": "project_dir"}
        with pytest.raises(InvalidParams) as err:
            await p.handlers.call("sandbox.list", {"verbose": True})
        assert err.value.data == {"field": "verbose"}

    run(state_dir, body)


def test_subscribe_to_an_unknown_topic_is_invalid_params(state_dir: Path) -> None:
    async def body(p: Parts) -> None:
        with pytest.raises(InvalidParams) as err:
            await p.handlers.call("subscribe", {"topics": ["sandboxes", "weather"]})
        assert err.value.data == {"field": "topics"} and "weather" in err.value.message
        # All or nothing: the good topic did not take effect either.
        assert p.subscriptions.topics == set()

    run(state_dir, body)


def test_a_sandboxes_subscriber_hears_of_a_create(state_dir: Path, project: Path) -> None:
    async def body(p: Parts) -> None:
        assert await p.handlers.call("subscribe", {"topics": ["sandboxes"]}) == {}
        params = {"name": "heard", "backend": "none", "project_dir": str(project)}
        sb = await p.handlers.call("sandbox.create", {**params, "agent": SLEEPER})

        def changed() -> list[dict[str, Any]]:
            return [
                n["sandbox"]
                for n in p.sink.notifications("sandbox.changed")
                if n["sandbox"]["id"] == sb["id"]
            ]

        heard = await until(changed, "sandbox.changed of the new sandbox")
        assert heard[-1]["name"] == "heard" and heard[-1]["status"] == "running"
        assert await p.handlers.call("unsubscribe", {"topics": ["sandboxes"]}) == {}
        assert p.subscriptions.topics == set()

    run(state_dir, body)
