"""Reaching a host through another: ProxyJump and ProxyCommand, as configured."""

from __future__ import annotations

import asyncio

import pytest

from app.remote.errors import ConnectFailed
from tests.remote.conftest import Remote, start_jump_host
from tests.remote.sshd import Sshd


@pytest.fixture
def jump(remote: Remote) -> Sshd:
    sshd = start_jump_host(
        remote, f"    UserKnownHostsFile {remote.known_hosts}\n    BatchMode yes"
    )
    yield sshd
    sshd.stop()


def list_names(remote: Remote, name: str) -> list[str]:
    async def main() -> list[str]:
        async with remote.connected(name) as client:
            return [s["name"] for s in await client.call("sandbox.list")]

    return asyncio.run(main())


def prepend_alias(remote: Remote, text: str) -> None:
    config = remote.home / ".ssh" / "config"
    config.write_text(text + config.read_text())


def target_alias(remote: Remote, alias: str, extra: str) -> None:
    prepend_alias(
        remote,
        f"""Host {alias}
    HostName 127.0.0.1
    Port {remote.sshd.port}
    User root
    IdentityFile {remote.user_key}
    IdentitiesOnly yes
{extra}
""",
    )
    remote.add_profile(alias, alias)


def test_proxyjump_goes_through_the_jump_hosts_connection(remote: Remote, jump: Sshd) -> None:
    target_alias(remote, "behind", "    ProxyJump jumphost")
    assert list_names(remote, "behind") == []
    # The jump host opened the tunnel to the target's port for us.
    assert "Accepted publickey" in jump.log
    assert "direct-tcpip" in jump.log and f"port {remote.sshd.port}" in jump.log, jump.log
    assert "Accepted publickey" in remote.sshd.log


def test_proxyjump_with_the_jump_host_down_names_it(remote: Remote, jump: Sshd) -> None:
    target_alias(remote, "behind", "    ProxyJump jumphost")
    jump.stop()
    with pytest.raises(ConnectFailed, match=f"connection refused by 127.0.0.1 port {jump.port}"):
        list_names(remote, "behind")


def test_proxycommand_carries_the_connection(remote: Remote, jump: Sshd) -> None:
    config = remote.home / ".ssh" / "config"
    target_alias(remote, "viacmd", f"    ProxyCommand ssh -F {config} -W %h:%p jumphost")
    assert list_names(remote, "viacmd") == []
    assert "Accepted publickey" in jump.log


def test_failing_proxycommand_shows_what_it_said(remote: Remote) -> None:
    target_alias(remote, "badproxy", "    ProxyCommand sh -c 'echo proxy says no >&2; exit 3'")
    with pytest.raises(ConnectFailed) as err:
        list_names(remote, "badproxy")
    assert "proxy says no" in str(err.value)
