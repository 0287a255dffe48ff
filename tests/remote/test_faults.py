"""What a person sees when something on the way to hostd goes wrong."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import Callable
from typing import Any

import psutil
import pytest

from app.remote.api import HostApi
from app.remote.client import Client, ConnectionState
from app.remote.errors import AuthFailed, ConnectionLost
from app.remote.prompts import Prompts
from app.remote.ssh.host import SshHost
from app.remote.streams import DataCallback, EndCallback, HostdStream
from hostd.protocol import Notification
from tests.helpers import DEADLINE_S, processes_mentioning, wait_for
from tests.remote.conftest import Remote
from tests.remote.sshd import free_port, keygen, start_sshd


def add_alias(remote: Remote, alias: str, body: str) -> None:
    config = remote.home / ".ssh" / "config"
    config.write_text(f"Host {alias}\n{body}\n" + config.read_text())


def test_unknown_host_name_is_reported_as_unresolvable(remote: Remote) -> None:
    res = remote.cli("--host", "nosuch.invalid", "list")
    assert res.returncode == 255
    assert "could not resolve host name 'nosuch.invalid'" in res.stderr
    assert "not a host profile or an ~/.ssh/config alias" in res.stderr


def test_connection_refused_names_host_and_port(remote: Remote) -> None:
    port = free_port()
    res = remote.cli("--host", f"root@127.0.0.1:{port}", "list")
    assert res.returncode == 255
    assert f"connection refused by 127.0.0.1 port {port}" in res.stderr


def test_auth_failure_says_what_was_tried(remote: Remote) -> None:
    stranger = keygen(remote.root / "id_stranger")
    add_alias(
        remote,
        "stranger",
        f"    HostName 127.0.0.1\n    Port {remote.sshd.port}\n    User root\n"
        f"    IdentityFile {stranger}\n    IdentitiesOnly yes",
    )
    res = remote.cli("--host", "stranger", "list")
    assert res.returncode == 255
    assert f"Permission denied (publickey) for root@127.0.0.1:{remote.sshd.port}" in res.stderr
    assert f"key {stranger} (refused)" in res.stderr
    assert "agent (none running" in res.stderr


def test_encrypted_key_is_used_with_the_passphrase_callback(remote: Remote) -> None:
    locked = keygen(remote.root / "id_locked", passphrase="open sesame")
    # Authorise it too, and use it alone.
    auth = remote.sshd.root / "authorized_keys"
    auth.write_text(auth.read_text() + locked.with_suffix(".pub").read_text())
    add_alias(
        remote,
        "locked",
        f"    HostName 127.0.0.1\n    Port {remote.sshd.port}\n    User root\n"
        f"    IdentityFile {locked}\n    IdentitiesOnly yes",
    )
    remote.add_profile("locked", "locked")
    prompts_seen: list[str] = []

    async def passphrase(prompt: str) -> str | None:
        prompts_seen.append(prompt)
        return "open sesame"

    async def main(prompts: Prompts) -> None:
        async with remote.connected("locked", prompts):
            pass

    asyncio.run(main(Prompts(passphrase=passphrase)))
    assert prompts_seen == [f"Enter passphrase for key '{locked}': "]
    with pytest.raises(AuthFailed, match="encrypted, and there is nobody to ask"):
        asyncio.run(main(Prompts()))


def test_missing_hostd_says_so_and_how_to_install(remote: Remote) -> None:
    add_alias(
        remote,
        "bare",
        f"    HostName 127.0.0.1\n    Port {remote.sshd.port}\n    User root\n"
        f"    IdentityFile {remote.user_key}",
    )
    res = remote.cli("--host", "bare", "list")
    assert res.returncode == 255
    assert "hostd is not installed on bare" in res.stderr
    assert "could not find `claude-sandbox-hostd` (exit status 127)" in res.stderr
    assert "pip install --user claude-sandbox" in res.stderr


def test_hostd_under_a_broken_python_says_so(remote: Remote) -> None:
    remote.add_profile("oldpy", "testhost", "python3 -m hostd_is_not_installed_here")
    res = remote.cli("--host", "oldpy", "list")
    assert res.returncode == 255
    assert "could not start under its Python" in res.stderr
    assert "No module named hostd_is_not_installed_here" in res.stderr


def server_hostd(remote: Remote) -> list[psutil.Process]:
    return [
        p
        for p in processes_mentioning(str(remote.state_dir))
        if "hostd" in " ".join(p.info["cmdline"] or [])
    ]


def test_hostd_dying_mid_call_fails_the_pending_call_clearly(remote: Remote) -> None:
    async def main() -> None:
        host = remote.host()
        client = Client(host, reconnect=False)
        try:
            await client.connect()
            (proc,) = server_hostd(remote)
            proc.send_signal(signal.SIGSTOP)  # it cannot answer now
            call = asyncio.ensure_future(client.call("sandbox.list"))
            await asyncio.sleep(0.2)
            assert not call.done()
            proc.kill()
            with pytest.raises(ConnectionLost) as err:
                await asyncio.wait_for(call, DEADLINE_S)
            text = str(err.value)
            assert "while waiting for the answer to sandbox.list" in text
            assert "killed by a signal" in text
            assert client.state.phase == "failed"
        finally:
            await client.close()
            await host.close()

    asyncio.run(main())


def test_dropped_connection_reconnects_and_sandboxes_are_still_there(remote: Remote) -> None:
    async def main() -> None:
        host = remote.host()
        client = Client(host)
        states: list[ConnectionState] = []
        client.add_state_listener(states.append)
        changes: list[Notification] = []
        client.add_listener("sandbox.changed", changes.append)
        try:
            await client.connect()
            await client.subscribe(["sandboxes"])
            sb = await HostApi(client).create(
                "keeps", "none", str(remote.project), agent="sleep 600"
            )
            assert remote.sshd.kill_connections() > 0
            await wait_async(lambda: client.state.phase == "reconnecting", "reconnecting")
            await wait_async(lambda: client.state.phase == "connected", "reconnected")
            shown = [str(s) for s in states]
            assert any(s.startswith("reconnecting in ") and "dropped" in s for s in shown), shown
            listed = await client.call("sandbox.list")
            assert [(s["id"], s["status"]) for s in listed] == [(sb["id"], "running")]
            # Subscribed again: a change made now is pushed to us.
            changes.clear()
            await client.call("sandbox.stop", {"id": "keeps"})
            await wait_async(
                lambda: any(n.params["sandbox"]["status"] == "stopped" for n in changes),
                "sandbox.changed after the reconnection",
            )
        finally:
            await client.close()
            await host.close()

    asyncio.run(main())
    assert remote.sshd.log.count("Accepted publickey") == 2


async def wait_async(cond: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class LosesFirstCreateReply(HostdStream):
    """A fake at the byte stream: a real hostd stream whose link "drops" right
    after hostd answered the first ``sandbox.create``, before we read it.

    Why a fake: a real drop (killing sshd) cannot be timed to fall between
    hostd's write of the answer and our read of it; this is that moment,
    exactly, and everything else (SSH, hostd, the retry) is real.
    """

    def __init__(self, inner: HostdStream, log: list[dict[str, Any]], drop: bool) -> None:
        super().__init__(inner.label)
        self.inner = inner
        self.log = log
        self.drop = drop
        self.create_id: int | None = None
        self.buf = b""

    def start(self, on_data: DataCallback, on_end: EndCallback) -> None:
        def data(chunk: bytes) -> None:
            if self.ended:
                return
            self.buf += chunk
            *lines, self.buf = self.buf.split(b"\n")
            for line in lines:
                if self.create_id is not None and json.loads(line).get("id") == self.create_id:
                    self.ended = True
                    self.end_reason = "the link dropped (simulated)"
                    asyncio.get_running_loop().create_task(self._drop(on_end))
                    return
                on_data(line + b"\n")

        self.inner.start(data, lambda: None if self.ended else on_end())

    async def _drop(self, on_end: EndCallback) -> None:
        await self.inner.close()
        on_end()

    def write(self, data: bytes) -> None:
        msg = json.loads(data)
        if msg.get("method") == "sandbox.create":
            self.log.append(msg)
            if self.drop:
                self.create_id = msg["id"]
        self.inner.write(data)

    async def close(self) -> None:
        await self.inner.close()


def test_create_whose_reply_was_lost_is_not_done_twice(remote: Remote) -> None:
    creates: list[dict[str, Any]] = []

    class FlakyHost(SshHost):
        first = True

        async def open_hostd(self) -> HostdStream:
            stream = LosesFirstCreateReply(await super().open_hostd(), creates, self.first)
            self.first = False
            return stream

    async def main() -> list[Any]:
        real = remote.host()
        host = FlakyHost(real.name, real.target, real.config, real.prompts, real.hostd_command)
        client = Client(host)
        try:
            await client.connect()
            sb = await HostApi(client).create(
                "only-one", "none", str(remote.project), agent="sleep 600"
            )
            assert sb["name"] == "only-one"
            result: list[Any] = await client.call("sandbox.list")
            return result
        finally:
            await client.close()
            await host.close()

    listed = asyncio.run(main())
    assert [s["name"] for s in listed] == ["only-one"]
    assert len(creates) == 2
    assert creates[0]["params"]["client_token"] == creates[1]["params"]["client_token"]
    wait_for(lambda: len(server_hostd(remote)) == 0, what="hostd processes to end")
    assert os.path.exists(remote.state_dir / "state.json")


def test_agent_keys_are_used_and_named(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    sock = remote.root / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(sock.exists, what="ssh-agent's socket")
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(remote.user_key)], env=env, check=True)
        # No IdentityFile: only the agent holds the key.
        add_alias(
            remote,
            "viaagent",
            f"    HostName 127.0.0.1\n    Port {remote.sshd.port}\n    User root",
        )
        remote.add_profile("viaagent", "viaagent")
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))

        async def main() -> None:
            async with remote.connected("viaagent"):
                pass

        asyncio.run(main())
        res = remote.cli("--host", "viaagent", "list", env={"SSH_AUTH_SOCK": str(sock)})
        assert res.returncode == 0, res.stderr
        subprocess.run(["ssh-add", "-q", "-D"], env=env, check=True, capture_output=True)
        res = remote.cli("--host", "viaagent", "list", env={"SSH_AUTH_SOCK": str(sock)})
        assert res.returncode == 255 and "agent (it holds no keys)" in res.stderr
    finally:
        agent.terminate()
        agent.wait()


def test_password_callback_is_asked_and_its_refusal_reported(remote: Remote) -> None:
    # sshd offers passwords here but refuses them for root (prohibit-password):
    # the callback is asked, as many times as OpenSSH would ask.
    other = start_sshd(remote.root / "pw", [remote.user_key], extra="PasswordAuthentication yes")
    try:
        with remote.known_hosts.open("a") as f:
            f.write(other.known_hosts_line())
        remote.add_profile("pw", f"root@127.0.0.1:{other.port}")
        asked: list[str] = []

        async def password(prompt: str) -> str | None:
            asked.append(prompt)
            return "not-the-password"

        async def main() -> None:
            async with remote.connected("pw", Prompts(password=password)):
                pass

        with pytest.raises(AuthFailed) as err:
            asyncio.run(main())
        assert asked == ["root@127.0.0.1's password: "] * 3
        assert "Permission denied (publickey,password)" in str(err.value)
        assert "password (refused 3 times)" in str(err.value)
    finally:
        other.stop()
