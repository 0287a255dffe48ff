"""The terminal the app attaches to a sandbox: a real tmux, in a local pty or a
PTY channel over the test sshd, driven through ``app.remote.terminal``."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import pyte
import pytest

from app.remote.api import HostApi
from app.remote.client import Client
from app.remote.local import LocalHost
from app.remote.terminal import LocalPty, Terminal, open_attach
from tests.helpers import DEADLINE_S, Hostd, pane_tty_size
from tests.remote.conftest import Remote

SHELL = "bash --norc --noprofile -i"


class Screen:
    """What the person would see: the terminal's bytes rendered by pyte."""

    def __init__(self, term: Terminal, cols: int, rows: int) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.term = term
        self.ended = asyncio.Event()
        term.start(self.stream.feed, self.ended.set)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    async def shows(self, needle: str, count: int = 1) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE_S
        while self.text().count(needle) < count:
            if loop.time() > end:
                raise AssertionError(f"{needle!r} not on the screen:\n{self.text()}")
            await asyncio.sleep(0.02)


async def until(cond: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def has_session(socket: str, name: str) -> bool:
    return subprocess.run(["tmux", "-S", socket, "has-session", "-t", f"={name}"]).returncode == 0


async def drive(client: Client) -> None:
    api = HostApi(client)
    sandbox = await api.get("term")
    term = await open_attach(client, "term", 90, 20, features=["RGB"])
    screen = Screen(term, 90, 20)
    await screen.shows("[term]")  # tmux's status line: attached
    term.write(b"echo hi-$((6*7))\r")
    await screen.shows("hi-42")
    term.write(b"printf '\\e[38;2;1;2;3mRGB\\e[0m\\n'\r")
    await screen.shows("RGB", 2)
    # True colour reached the terminal as it was written: tmux was told it may.
    row = next(r for r, line in enumerate(screen.screen.display) if line.startswith("RGB"))
    assert screen.screen.buffer[row][0].fg == "010203"

    screen.screen.resize(30, 120)
    term.resize(120, 30)
    # tmux resizes the pane's own terminal a moment after its window.
    await until(lambda: pane_tty_size(sandbox["tmux_socket"], "term") == "29 120", "tmux to resize")
    term.write(b"clear; tput cols lines\r")
    await screen.shows("120\n29")  # tmux's status line takes a row

    await term.close()  # closing detaches: the sandbox's tmux is still there
    await asyncio.wait_for(screen.ended.wait(), DEADLINE_S)
    assert has_session(sandbox["tmux_socket"], "term")
    assert (await api.get("term"))["status"] == "running"


@pytest.fixture
def local(
    state_dir: Path, stub_env: dict[str, str], hostd_factory: Callable[..., Hostd]
) -> LocalHost:
    # hostd_factory's teardown deletes every sandbox and checks for leftovers.
    return LocalHost(env={**stub_env, "HOSTD_STATE_DIR": str(state_dir)})


def test_a_local_terminal_types_resizes_and_detaches(local: LocalHost, project: Path) -> None:
    async def main() -> None:
        client = Client(local)
        await client.connect()
        try:
            await HostApi(client).create("term", "none", str(project), agent=SHELL)
            await drive(client)
        finally:
            await client.close()

    asyncio.run(main())


def test_the_same_over_ssh_on_the_hosts_one_connection(remote: Remote) -> None:
    async def main() -> None:
        async with remote.connected() as client:
            await HostApi(client).create("term", "none", str(remote.project), agent=SHELL)
            await drive(client)

    asyncio.run(main())
    assert remote.sshd.log.count("Accepted publickey") == 1  # hostd and the PTY shared it


def test_a_local_pty_whose_program_exits_ends_with_its_status() -> None:
    async def main() -> None:
        term = LocalPty(["sh", "-c", "tty; exit 3"], 80, 24)
        got = bytearray()
        term.start(got.extend)
        assert await asyncio.wait_for(term.wait(), DEADLINE_S) == 3
        assert b"/dev/pts/" in got  # it ran in a terminal of its own
        term.write(b"too late\r")  # after the end: ignored, no error

    asyncio.run(main())
