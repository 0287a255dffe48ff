from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from app.remote.client import Client
from app.remote.profiles import Profile, Profiles
from app.remote.sync.state import SyncError
from app.remote.sync.syncer import Syncer
from tests.remote.conftest import Remote, start_jump_host
from tests.remote.sshd import Sshd, hostd_command
from tests.sync.conftest import tree


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_push_then_pull_over_ssh_with_awkward_names(remote: Remote, short_tmp: Path) -> None:
    local = short_tmp / "local dir"
    local.mkdir()
    (local / "a file with spaces.txt").write_text("spaces")
    (local / "ünïcødé ✓").mkdir()
    (local / "ünïcødé ✓" / "naïve 'quote\" $x.md").write_text("unicode")
    os.symlink("a file with spaces.txt", local / "link to it")
    (local / ".gitignore").write_text("*.o\n")
    (local / "build.o").write_text("local object")
    (local / ".git").mkdir()
    (local / ".git" / "HEAD").write_text("local head")
    dest = remote.project / "the project"
    state = short_tmp / "syncstate"

    async def go() -> None:
        host = remote.host()
        client = Client(host)
        await client.connect()
        try:
            async with Syncer(client, local, str(dest), state_dir=state, create_remote=True) as s:
                res = await s.push()
                assert sorted(res.sent) == sorted(
                    [
                        ".gitignore",
                        "a file with spaces.txt",
                        "link to it",
                        "ünïcødé ✓/naïve 'quote\" $x.md",
                    ]
                )
                (dest / "from the agent.txt").write_text("agent")
                res = await s.pull()
                assert res.received == ["from the agent.txt"]
        finally:
            await client.close()
            await host.close()

    run(go())
    assert tree(dest) == {
        ".gitignore": "*.o\n",
        "a file with spaces.txt": "spaces",
        "link to it": "-> a file with spaces.txt",
        "ünïcødé ✓/naïve 'quote\" $x.md": "unicode",
        "from the agent.txt": "agent",
    }
    assert (local / "from the agent.txt").read_text() == "agent"
    assert (local / "build.o").read_text() == "local object"


async def with_syncer(
    remote: Remote,
    local: Path,
    dest: Path,
    state: Path,
    body: Callable[[Syncer], Awaitable[None]],
    host_name: str = "testhost",
    before_sync: Callable[[], None] | None = None,
) -> None:
    """Connect as the app does, then run ``body`` in one sync session."""
    host = remote.host(host_name)
    client = Client(host)
    await client.connect()
    try:
        if before_sync is not None:
            before_sync()
        async with Syncer(client, local, str(dest), state_dir=state, create_remote=True) as s:
            await body(s)
    finally:
        await client.close()
        await host.close()


def test_pull_brings_awkward_names_back_over_ssh(remote: Remote, short_tmp: Path) -> None:
    local = short_tmp / "local dir"
    local.mkdir()
    dest = remote.project / "the project"
    dest.mkdir()
    (dest / "a file with spaces.txt").write_text("spaces")
    (dest / "ünïcødé ✓").mkdir()
    (dest / "ünïcødé ✓" / "naïve 'quote\" $x.md").write_text("unicode")
    (dest / "back\\slash -dash *star?.txt").write_text("odd")
    os.symlink("ünïcødé ✓/naïve 'quote\" $x.md", dest / "link 'to' it")

    async def body(s: Syncer) -> None:
        res = await s.pull()
        assert sorted(res.received) == sorted(
            [
                "a file with spaces.txt",
                "back\\slash -dash *star?.txt",
                "link 'to' it",
                "ünïcødé ✓/naïve 'quote\" $x.md",
            ]
        )

    run(with_syncer(remote, local, dest, short_tmp / "syncstate", body))
    expected = {
        "a file with spaces.txt": "spaces",
        "back\\slash -dash *star?.txt": "odd",
        "link 'to' it": "-> ünïcødé ✓/naïve 'quote\" $x.md",
        "ünïcødé ✓/naïve 'quote\" $x.md": "unicode",
    }
    assert tree(local) == expected
    assert os.path.islink(local / "link 'to' it")
    assert tree(dest) == expected


def test_git_and_gitignored_files_on_the_host_are_left_alone(
    remote: Remote, short_tmp: Path
) -> None:
    local = short_tmp / "local dir"
    dest = remote.project / "the project"
    for side, word in ((local, "here"), (dest, "there")):
        (side / ".git").mkdir(parents=True)
        (side / ".git" / "HEAD").write_text(word)
        (side / "node_modules").mkdir()
        (side / "node_modules" / "dep.js").write_text(word)
        (side / "debug.log").write_text(word)
    # Only the host has rules: they keep its ignored files from coming here,
    # and this side's versions of them from going there.
    (dest / ".gitignore").write_text("node_modules/\n*.log\n")
    (dest / "only there.log").write_text("the agent's log")
    (local / "src.py").write_text("code")
    (dest / "agent.py").write_text("agent code")

    async def body(s: Syncer) -> None:
        assert sorted((await s.push()).sent) == ["src.py"]
        assert sorted((await s.pull()).received) == [".gitignore", "agent.py"]
        res = await s.sync()
        assert res.sent == [] and res.received == []

    run(with_syncer(remote, local, dest, short_tmp / "syncstate", body))
    for side, word in ((local, "here"), (dest, "there")):
        assert (side / ".git" / "HEAD").read_text() == word, side
        assert sorted(os.listdir(side / ".git")) == ["HEAD"], side
        assert (side / "node_modules" / "dep.js").read_text() == word, side
        assert (side / "debug.log").read_text() == word, side
    assert not (local / "only there.log").exists()
    assert (dest / "only there.log").read_text() == "the agent's log"
    assert (dest / "src.py").read_text() == "code"
    assert (local / "agent.py").read_text() == "agent code"


def add_jump_host(remote: Remote, extra: str = "") -> Sshd:
    """A second sshd, ``jumphost`` in ~/.ssh/config and known, and a profile
    ``viajump`` for the test host through it. Nothing in the config tells
    ssh how to behave on the hop (batch mode, which known_hosts): that must
    come from the app."""
    jump = start_jump_host(remote, extra)
    Profiles.default(remote.home, {}).add(
        Profile(
            "viajump",
            "testhost",
            hostd_command(remote.state_dir, remote.stub_env),
            proxy_jump="jumphost",
        )
    )
    return jump


def test_push_and_pull_through_a_jump_host(remote: Remote, short_tmp: Path) -> None:
    jump = add_jump_host(remote)
    local = short_tmp / "local dir"
    local.mkdir()
    (local / "pushed file.txt").write_text("from here")
    dest = remote.project / "the project"

    async def body(s: Syncer) -> None:
        assert (await s.push()).sent == ["pushed file.txt"]
        (dest / "from the agent.txt").write_text("agent")
        assert (await s.pull()).received == ["from the agent.txt"]

    try:
        run(with_syncer(remote, local, dest, short_tmp / "syncstate", body, "viajump"))
    finally:
        jump.stop()
    assert (dest / "pushed file.txt").read_text() == "from here"
    assert (local / "from the agent.txt").read_text() == "agent"
    # Through the jump host: the app's connection, then rsync's (one, shared).
    assert jump.log.count("Accepted publickey") == 2, jump.log
    assert jump.log.count(f"port {remote.sshd.port}") >= 2, jump.log


def test_a_jump_host_key_the_app_has_not_saved_stops_rsync(remote: Remote, short_tmp: Path) -> None:
    # The person's config would take a new key for the jump host; rsync's
    # ssh must not, on the hop as on the host itself.
    jump = add_jump_host(remote, "    StrictHostKeyChecking accept-new")
    local = short_tmp / "local dir"
    local.mkdir()
    (local / "file.txt").write_text("from here")
    dest = remote.project / "the project"
    known = remote.known_hosts.read_text()

    def forget_jump_host() -> None:
        remote.known_hosts.write_text(known.replace(jump.known_hosts_line(), ""))

    async def body(s: Syncer) -> None:
        with pytest.raises(SyncError, match=r"through the jump host.*known_hosts"):
            await s.push()

    try:
        run(
            with_syncer(
                remote, local, dest, short_tmp / "syncstate", body, "viajump", forget_jump_host
            )
        )
    finally:
        jump.stop()
    # Not accepted: nothing written to known_hosts, no login on the hop.
    assert remote.known_hosts.read_text() == known.replace(jump.known_hosts_line(), "")
    assert jump.log.count("Accepted publickey") == 1, jump.log  # the app's
    assert not (dest / "file.txt").exists()
