"""Fixtures for the client side: a real sshd, a private client HOME, real hostd.

The person in these tests is root on this machine (sshd logs them in as root
with a throwaway key); their HOME is a temp folder whose ``~/.ssh/config``
names the test host ``testhost`` and whose host profile runs this worktree's
hostd on a short private state folder. At the end every sandbox is deleted,
sshd is stopped, and no process that mentions the state folder may remain.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.remote.client import Client
from app.remote.profiles import Profile, Profiles, open_host
from app.remote.prompts import Prompts
from app.remote.ssh.config import SshConfig
from app.remote.ssh.host import SshHost
from tests.helpers import REPO, assert_nothing_left, delete_all_sandboxes
from tests.remote.sshd import (
    Sshd,
    client_env,
    hostd_command,
    keygen,
    start_sshd,
    write_client_home,
)


@dataclass
class Remote:
    """One test's world: the server (sshd + hostd's state) and the person's HOME."""

    root: Path
    home: Path
    sshd: Sshd
    state_dir: Path
    user_key: Path
    project: Path
    stub_env: dict[str, str]

    @property
    def env(self) -> dict[str, str]:
        return client_env(self.home)

    @property
    def known_hosts(self) -> Path:
        return self.home / ".ssh" / "known_hosts"

    def ssh_config(self) -> SshConfig:
        return SshConfig(self.home)

    def host(self, name: str = "testhost", prompts: Prompts | None = None) -> SshHost:
        host = open_host(name, home=self.home, prompts=prompts).host
        assert isinstance(host, SshHost)
        return host

    @contextlib.asynccontextmanager
    async def connected(
        self, name: str = "testhost", prompts: Prompts | None = None
    ) -> AsyncIterator[Client]:
        """A client connected to ``name`` as the app connects; closed, with its
        SSH connection, on the way out (also when connecting fails)."""
        host = self.host(name, prompts)
        client = Client(host)
        try:
            await client.connect()
            yield client
        finally:
            await client.close()
            await host.close()

    def add_profile(self, name: str, destination: str, command: str | None = None) -> None:
        Profiles.default(self.home, {}).add(
            Profile(name, destination, command or hostd_command(self.state_dir, self.stub_env))
        )

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """claude-remote as the person runs it: no terminal (its own session)."""
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            cwd=str(REPO),
            timeout=timeout,
            start_new_session=True,  # no controlling terminal: nobody to ask
        )


def start_jump_host(remote: Remote, extra: str = "") -> Sshd:
    """A second sshd, known, and ``jumphost`` in the test ~/.ssh/config
    (with ``extra`` lines in its block). The caller stops it."""
    # DEBUG1: sshd logs the direct-tcpip requests it serves.
    jump = start_sshd(remote.root / "jump", [remote.user_key], extra="LogLevel DEBUG1")
    with remote.known_hosts.open("a") as f:
        f.write(jump.known_hosts_line())
    config = remote.home / ".ssh" / "config"
    block = f"""Host jumphost
    HostName 127.0.0.1
    Port {jump.port}
    User root
    IdentityFile {remote.user_key}
    IdentitiesOnly yes
"""
    config.write_text(block + (extra + "\n" if extra else "") + config.read_text())
    return jump


@pytest.fixture
def remote(
    short_tmp: Path, stub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Remote]:
    user_key = keygen(short_tmp / "id_user")
    sshd = start_sshd(short_tmp / "sshd", [user_key])
    home = short_tmp / "home"
    write_client_home(home, sshd, user_key)
    state_dir = short_tmp / "state"
    project = short_tmp / "proj"
    project.mkdir()
    world = Remote(short_tmp, home, sshd, state_dir, user_key, project, stub_env)
    world.add_profile("testhost", "testhost")
    # The library in this process reads ~ (paramiko expands it from $HOME).
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "SSH_AUTH_SOCK", "CLAUDE_REMOTE_HOST"):
        monkeypatch.delenv(var, raising=False)
    try:
        yield world
    finally:
        _teardown(world)


def _teardown(world: Remote) -> None:
    world.sshd.stop()
    delete_all_sandboxes(world.state_dir, world.stub_env)
    # hostd processes of ended SSH sessions finish on their own (end of input).
    assert_nothing_left(world.state_dir)
