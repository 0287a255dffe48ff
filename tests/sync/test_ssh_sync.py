from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app.remote.client import Client
from app.remote.sync import Syncer
from tests.remote.conftest import Remote
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
