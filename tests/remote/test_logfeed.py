"""A sandbox's log as the log viewer reads it (``app.remote.logfeed``), against a
real local hostd and an agent that counts: every line once, in order, through
the history, the live stream, older output fetched later, and a hostd killed
and restarted in the middle."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.remote.api import HostApi
from app.remote.client import Backoff, Client
from app.remote.local import LocalHost
from app.remote.logfeed import LogFeed
from tests.helpers import DEADLINE_S, Hostd

# A hundred lines, a breath, a hundred more: about 2,000 lines a second.
COUNTER = "sh -c 'i=0; while :; do i=$((i+1)); echo n$i; [ $((i % 100)) = 0 ] && sleep 0.05; done'"


@pytest.fixture
def local(
    state_dir: Path, stub_env: dict[str, str], hostd_factory: Callable[..., Hostd]
) -> LocalHost:
    # hostd_factory's teardown deletes every sandbox and checks for leftovers.
    return LocalHost(env={**stub_env, "HOSTD_STATE_DIR": str(state_dir)})


async def until(cond: Callable[[], Any], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def counted(text: str) -> list[int]:
    """The numbers of the whole lines in ``text``."""
    return [int(line[1:]) for line in text[: text.rindex("\n")].split()]


def consecutive(numbers: list[int]) -> bool:
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_history_stream_earlier_and_a_restart_of_hostd(local: LocalHost, project: Path) -> None:
    async def main() -> None:
        client = Client(local, backoff=Backoff(first=0.2))
        await client.connect()
        sb = await HostApi(client).create("counter", "none", str(project), agent=COUNTER)
        shown: list[str] = []
        older: list[str] = []
        feed = LogFeed(client, sb["id"], shown.append, older.append)
        try:
            log = HostApi(client)
            await until_async(
                lambda: log.logs(sb["id"], 1), lambda r: r["text"].startswith("n"), "output"
            )
            await feed.start(tail=50)
            await until(lambda: len("".join(shown)) > 5000, "live output")
            numbers = counted("".join(shown))
            assert consecutive(numbers) and numbers[0] > 1  # the last 50 lines, then live

            assert await feed.earlier(lines=200)
            assert counted("".join(older))[-1] == numbers[0] - 1  # just before what was shown
            while await feed.earlier(lines=100_000):
                pass
            assert not feed.has_earlier
            everything = "".join(reversed(older)) + "".join(shown)
            assert counted(everything)[0] == 1

            os.kill(local_hostd_pid(client), signal.SIGKILL)
            await until(lambda: client.state.phase != "connected", "the drop to be noticed")
            size = len("".join(shown))
            await until(lambda: client.state.phase == "connected", "the reconnection")
            await until(lambda: len("".join(shown)) > size + 20_000, "output after it")
            everything = "".join(reversed(older)) + "".join(shown)
            numbers = counted(everything)
            assert numbers[0] == 1 and consecutive(numbers)  # nothing lost, nothing twice
        finally:
            await feed.stop()
            await client.close()

    asyncio.run(main())


async def until_async(call: Callable[[], Any], ok: Callable[[Any], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while not ok(await call()):
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def local_hostd_pid(client: Client) -> int:
    stream: Any = client._stream  # the test reaches for the child it must kill
    return int(stream.proc.pid)
