"""The RPC client over local pipes: calls, failures, and reconnection."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.remote.api import HostApi
from app.remote.client import Backoff, Client, ConnectionState
from app.remote.errors import CallTimeout, ConnectionLost, HostdUnavailable
from app.remote.local import LocalHost
from hostd.protocol import methods as m
from hostd.protocol.errors import InvalidParams
from hostd.protocol.spec import DEFAULT_AGENT, DEFAULT_GEOMETRY, DEFAULT_NETWORK
from tests.helpers import DEADLINE_S, Hostd


@pytest.fixture
def local(
    state_dir: Path, stub_env: dict[str, str], hostd_factory: Callable[..., Hostd]
) -> LocalHost:
    # hostd_factory's teardown deletes every sandbox and checks for leftovers.
    return LocalHost(env={**stub_env, "HOSTD_STATE_DIR": str(state_dir)})


def hostd_pid(client: Client) -> int:
    stream: Any = client._stream  # the test reaches for the child it must kill
    return int(stream.proc.pid)


async def until(cond: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_pending_call_fails_when_hostd_is_killed(local: LocalHost) -> None:
    async def main() -> None:
        client = Client(local, reconnect=False)
        await client.connect()
        pid = hostd_pid(client)
        try:
            os.kill(pid, signal.SIGSTOP)
            call = asyncio.ensure_future(client.call("sandbox.list"))
            await asyncio.sleep(0.2)
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(
                ConnectionLost, match=r"sandbox\.list: hostd was killed by signal 9"
            ):
                await call
            assert str(client.state) == "failed: connection lost: hostd was killed by signal 9"
        finally:
            await client.close()

    asyncio.run(main())


def test_slow_answer_times_out_with_a_clear_message(local: LocalHost) -> None:
    async def main() -> None:
        client = Client(local, reconnect=False)
        await client.connect()
        pid = hostd_pid(client)
        os.kill(pid, signal.SIGSTOP)
        try:
            with pytest.raises(CallTimeout, match=r"no answer to sandbox\.list .* within 1 s"):
                await client.call("sandbox.list", timeout=1.0)
        finally:
            os.kill(pid, signal.SIGCONT)
            await client.close()

    asyncio.run(main())


def test_client_restarts_hostd_and_calls_wait_for_it(local: LocalHost, project: Path) -> None:
    async def main() -> None:
        client = Client(local, backoff=Backoff(first=0.2))
        states: list[ConnectionState] = []
        client.add_state_listener(states.append)
        await client.connect()
        sb = await HostApi(client).create("stays", "none", str(project), agent="sleep 600")
        os.kill(hostd_pid(client), signal.SIGKILL)
        await until(lambda: client.state.phase != "connected", "the drop to be noticed")
        listed = await client.call("sandbox.list")  # waits for the reconnection
        assert [s["id"] for s in listed] == [sb["id"]]
        phases = [s.phase for s in states]
        assert phases[:2] == ["connecting", "connected"]
        assert "reconnecting" in phases and phases[-1] == "connected"
        await client.close()
        assert client.state.phase == "closed"

    asyncio.run(main())


def test_hostd_that_cannot_start_is_explained(state_dir: Path) -> None:
    async def attempt(command: list[str]) -> str:
        client = Client(LocalHost(command), reconnect=False)
        with pytest.raises(HostdUnavailable) as err:
            await client.connect()
        await client.close()
        return str(err.value)

    missing = asyncio.run(attempt(["/nonexistent/claude-sandbox-hostd"]))
    assert "/nonexistent/claude-sandbox-hostd was not found" in missing
    crashed = asyncio.run(attempt([sys.executable, "-c", "import sys; sys.exit('boom')"]))
    assert "ended before it answered: hostd exited with status 1" in crashed
    assert "boom" in crashed


def test_api_refuses_a_wrong_call_here_in_hostds_words(local: LocalHost, project: Path) -> None:
    """A call the spec does not allow fails before it is sent, with the
    message hostd gives for the same call; what is left out takes the
    spec's default there."""

    async def main() -> None:
        client = Client(local, reconnect=False)
        await client.connect()
        api = HostApi(client)
        try:
            wrong = {"id": "demo", "tail": "10"}
            with pytest.raises(InvalidParams) as by_hostd:
                await client.call(m.SANDBOX_LOGS, wrong)
            sent: list[bytes] = []
            stream: Any = client._stream  # the test watches what goes out
            write = stream.write
            stream.write = lambda data: (sent.append(data), write(data))
            with pytest.raises(InvalidParams) as here:
                await api.call(m.SANDBOX_LOGS, wrong)
            assert here.value.message == by_hostd.value.message
            assert sent == []  # refused here: nothing went to hostd
            sb = await api.create("plain", "none", str(project))
            assert (sb["agent"], sb["network"]) == (DEFAULT_AGENT, DEFAULT_NETWORK)
            assert sb["geometry"] == DEFAULT_GEOMETRY
            assert [s["id"] for s in await api.list()] == [sb["id"]]
            assert (await api.get("plain"))["id"] == sb["id"]
            assert (await api.stop("plain"))["status"] == "stopped"
            assert (await api.delete("plain"))["id"] == sb["id"]
        finally:
            await client.close()

    asyncio.run(main())
