"""Host keys: unknown ones are the person's call, changed ones are refused."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from app.remote.errors import HostKeyRejected
from app.remote.prompts import Prompts
from app.remote.ssh.known_hosts import Decision, HostKeyQuestion
from tests.remote.conftest import Remote
from tests.remote.sshd import keygen, start_sshd


def ssh_keygen_fingerprint(pub: str) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", pub], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]


def connect(remote: Remote, answer: Decision | None) -> list[HostKeyQuestion]:
    """Connect once; ``answer`` is what the person says (None: nobody asked)."""
    asked: list[HostKeyQuestion] = []

    async def decide(question: HostKeyQuestion) -> Decision:
        asked.append(question)
        assert answer is not None
        return answer

    async def main() -> None:
        async with remote.connected(prompts=Prompts(host_key=decide if answer else None)) as c:
            await c.call("sandbox.list")

    asyncio.run(main())
    return asked


def test_unknown_key_accepted_once_is_not_saved(remote: Remote) -> None:
    remote.known_hosts.write_text("")
    asked = connect(remote, Decision.ACCEPT_ONCE)
    assert len(asked) == 1
    q = asked[0]
    assert q.host == f"[127.0.0.1]:{remote.sshd.port}"
    assert q.key_type == "ED25519"
    assert q.fingerprint == ssh_keygen_fingerprint(f"{remote.sshd.host_key}.pub")
    assert "can't be established" in q.text() and q.fingerprint in q.text()
    assert remote.known_hosts.read_text() == ""
    assert len(connect(remote, Decision.ACCEPT_ONCE)) == 1  # asked again next time


def test_unknown_key_accepted_and_saved_is_not_asked_again(remote: Remote) -> None:
    remote.known_hosts.unlink()
    assert len(connect(remote, Decision.ACCEPT_AND_SAVE)) == 1
    # OpenSSH itself now knows the host from the file we wrote.
    found = subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{remote.sshd.port}", "-f", str(remote.known_hosts)],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stdout + found.stderr
    assert remote.known_hosts.stat().st_mode & 0o777 == 0o600
    assert connect(remote, Decision.REFUSE) == []  # known now: nobody is asked


def test_refused_unknown_key_does_not_connect(remote: Remote) -> None:
    remote.known_hosts.write_text("")
    with pytest.raises(HostKeyRejected, match="refused"):
        connect(remote, Decision.REFUSE)
    assert remote.known_hosts.read_text() == ""
    assert "Accepted publickey" not in remote.sshd.log  # never logged in


def test_changed_key_is_refused_with_openssh_warning(remote: Remote) -> None:
    other = keygen(remote.root / "other_host_key")
    line = f"[127.0.0.1]:{remote.sshd.port} " + " ".join(
        other.with_suffix(".pub").read_text().split()[:2]
    )
    remote.known_hosts.write_text("# a comment\n" + line + "\n")
    with pytest.raises(HostKeyRejected) as err:
        connect(remote, Decision.ACCEPT_AND_SAVE)  # even a yes-sayer is not asked
    text = str(err.value)
    assert "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!" in text
    assert ssh_keygen_fingerprint(f"{remote.sshd.host_key}.pub") in text
    assert f"Offending ED25519 key in {remote.known_hosts}:2" in text
    assert "Host key verification failed." in text
    assert "Accepted publickey" not in remote.sshd.log


def test_cli_without_terminal_refuses_unknown_key_and_says_how_to_accept(remote: Remote) -> None:
    remote.known_hosts.write_text("")
    res = remote.cli("--host", "testhost", "list")
    assert res.returncode == 255
    assert "can't be established" in res.stderr
    assert ssh_keygen_fingerprint(f"{remote.sshd.host_key}.pub") in res.stderr
    assert "not an interactive terminal" in res.stderr
    assert "claude-remote --host testhost doctor" in res.stderr
    assert remote.known_hosts.read_text() == ""


def test_hashed_known_hosts_entry_is_recognised(remote: Remote) -> None:
    subprocess.run(
        ["ssh-keygen", "-H", "-f", str(remote.known_hosts)], check=True, capture_output=True
    )
    assert remote.known_hosts.read_text().startswith("|1|")
    assert connect(remote, None) == []


def test_new_host_key_on_another_server_is_not_confused(remote: Remote) -> None:
    """A second server on another port is another host: unknown, not changed."""
    other = start_sshd(remote.root / "sshd2", [remote.user_key])
    try:
        remote.add_profile("second", f"root@127.0.0.1:{other.port}")
        asked: list[HostKeyQuestion] = []

        async def decide(q: HostKeyQuestion) -> Decision:
            asked.append(q)
            return Decision.ACCEPT_ONCE

        async def main() -> None:
            async with remote.connected("second", Prompts(host_key=decide)):
                pass

        # The key file is not offered by default for a bare address; give it.
        (remote.home / ".ssh" / "config").write_text(
            (remote.home / ".ssh" / "config").read_text()
            + f"\nHost 127.0.0.1\n    IdentityFile {remote.user_key}\n"
        )
        asyncio.run(main())
        assert [q.host for q in asked] == [f"[127.0.0.1]:{other.port}"]
    finally:
        other.stop()
