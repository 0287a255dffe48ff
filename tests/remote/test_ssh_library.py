"""The client library over a real SSH connection to a real hostd."""

from __future__ import annotations

import asyncio
from typing import Any

from app.remote.api import HostApi
from app.remote.client import Client
from hostd.protocol import Notification
from hostd.protocol.errors import NoSuchSandbox
from tests.helpers import DEADLINE_S
from tests.remote.conftest import Remote


def test_whole_lifecycle_over_one_ssh_connection(remote: Remote) -> None:
    async def main() -> None:
        host = remote.host()
        client = Client(host)
        seen: list[Notification] = []
        client.add_listener(None, seen.append)
        try:
            hello = await client.connect()
            assert hello["protocol"] == 1
            assert hello["state_dir"] == str(remote.state_dir)
            assert str(client.state) == "connected"
            await client.subscribe(["sandboxes"])
            sb = await HostApi(client).create(
                "demo", "none", str(remote.project), agent="sleep 600"
            )
            assert sb["status"] == "running"
            listed = await client.call("sandbox.list")
            assert [s["name"] for s in listed] == ["demo"]
            stopped = await client.call("sandbox.stop", {"id": sb["id"][:6]})
            assert stopped["status"] == "stopped"
            started = await client.call("sandbox.start", {"id": "demo"})
            assert started["status"] == "running"
            argv = (await client.call("sandbox.attach_command", {"id": "demo"}))["argv"]
            # A terminal on the same connection: the PTY sees tmux's screen.
            pty = await host.open_pty([*argv[:3], "list-sessions"], 100, 30)
            out = bytearray()
            pty.start(out.extend)
            assert await asyncio.wait_for(pty.wait(), DEADLINE_S) == 0
            await pty.close()
            assert b"demo" in out
            await client.call("sandbox.delete", {"id": "demo"})
            try:
                await client.call("sandbox.get", {"id": "demo"})
                raise AssertionError("deleted sandbox still there")
            except NoSuchSandbox as exc:
                assert "no sandbox" in exc.message
            methods = [n.method for n in seen]
            assert "sandbox.changed" in methods and "sandbox.removed" in methods
        finally:
            await client.close()
            await host.close()

    asyncio.run(main())
    # hostd, the PTY and the create all went over one login.
    assert remote.sshd.log.count("Accepted publickey") == 1


def test_create_retried_with_the_same_token_is_done_once(remote: Remote) -> None:
    async def main() -> list[Any]:
        host = remote.host()
        client = Client(host)
        try:
            await client.connect()
            first = await HostApi(client).create(
                "once", "none", str(remote.project), agent="sleep 600", client_token="tok-1"
            )
            again = await HostApi(client).create(
                "once", "none", str(remote.project), agent="sleep 600", client_token="tok-1"
            )
            assert again["id"] == first["id"]
            result: list[Any] = await client.call("sandbox.list")
            return result
        finally:
            await client.close()
            await host.close()

    assert [s["name"] for s in asyncio.run(main())] == ["once"]
