"""The ssh command rsync runs: what the system ssh makes of it (``ssh -G``
prints the configuration it resolved for a host, and connects nowhere)."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from pathlib import Path

import pytest

from app.remote.ssh.config import SshTarget
from app.remote.sync.rsync import Ssh


def resolved(argv: list[str], host: str) -> dict[str, list[str]]:
    """``ssh -G``: each keyword's values, as ssh would use them for ``host``."""
    out = subprocess.run(
        [*argv, "-G", host], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=True
    ).stdout
    got: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        got.setdefault(key, []).append(value)
    return got


def target(home: Path, **kw: object) -> SshTarget:
    fields: dict[str, object] = {
        "name": "behind",
        "hostname": "10.1.2.3",
        "port": 2222,
        "user": "alice",
        "identity_files": (),
        "user_known_hosts": (home / ".ssh" / "known_hosts",),
        "global_known_hosts": (),
        "connect_timeout_s": 7.0,
        "keepalive_s": 9,
    }
    fields.update(kw)
    return SshTarget(**fields)  # type: ignore[arg-type]


def write_config(home: Path, text: str) -> None:
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".ssh" / "config").write_text(text)


# The person's config says the opposite of what rsync's ssh must do.
JUMP_CONFIG = """Host jumphost
    HostName 127.0.0.9
    Port 2200
    User hopper
    BatchMode no
    StrictHostKeyChecking no
    UserKnownHostsFile /elsewhere/known_hosts
    ConnectTimeout 99
"""


@pytest.fixture
def home(short_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = short_tmp / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_the_jump_hop_gets_every_hop_setting_from_the_generated_config(home: Path) -> None:
    write_config(home, JUMP_CONFIG)
    ssh = Ssh(target(home, proxy_jump=("jumphost",)))
    try:
        argv = ssh.argv()
        assert argv[1:3] == ["-F", ssh.config_file]
        assert argv[-2:] == ["-J", "jumphost"]
        # For -J, ssh runs "ssh [-l user] [-p port] -F <file> -W host:port
        # jumphost": only -F reaches the hop.
        hop = resolved([ssh.program, "-F", ssh.config_file], "jumphost")
        # From $HOME/.ssh/config (as the app reads it), through Include...
        assert hop["hostname"] == ["127.0.0.9"] and hop["port"] == ["2200"]
        assert hop["user"] == ["hopper"]
        # ...but what every hop needs comes first, so it wins.
        assert hop["batchmode"] == ["yes"]
        assert hop["stricthostkeychecking"] == ["true"]
        assert hop["userknownhostsfile"] == [str(home / ".ssh" / "known_hosts")]
        assert hop["connecttimeout"] == ["7"]
        assert hop["serveraliveinterval"] == ["9"]
        # The target itself: host-specific settings from the command line.
        main = resolved(argv, "10.1.2.3")
        assert main["proxyjump"] == ["jumphost"]
        assert main["port"] == ["2222"] and main["user"] == ["alice"]
        assert main["batchmode"] == ["yes"]
        assert main["stricthostkeychecking"] == ["true"]
        assert main["controlpath"][0].startswith(os.path.dirname(ssh.config_file) + "/")
    finally:
        asyncio.run(ssh.close())


def test_the_config_is_private_and_goes_with_the_session(home: Path) -> None:
    # A name a person typed never goes into the file: only on the command line.
    odd = "10.1.2.3\nHost *\n    LocalCommand touch /tmp/owned"
    ssh = Ssh(target(home, hostname=odd, user="x\ny", proxy_jump=("jumper\nBatchMode no",)))
    folder = os.path.dirname(ssh.config_file)
    try:
        text = Path(ssh.config_file).read_text()
        assert "LocalCommand" not in text and "jumper" not in text and "x\ny" not in text
        assert stat.S_IMODE(os.stat(ssh.config_file).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    finally:
        asyncio.run(ssh.close())
    assert not os.path.exists(folder)


def test_config_files_are_included_in_order_user_first(home: Path, short_tmp: Path) -> None:
    write_config(home, "Host jumphost\n    User fromuser\n")
    system = short_tmp / "ssh_config"
    system.write_text("Host *\n    User fromsystem\n    Port 2201\n")
    missing = short_tmp / "no such config"
    ssh = Ssh(target(home), config_files=[home / ".ssh" / "config", missing, system])
    try:
        hop = resolved([ssh.program, "-F", ssh.config_file], "jumphost")
        assert hop["user"] == ["fromuser"] and hop["port"] == ["2201"]
        assert "no such config" not in Path(ssh.config_file).read_text()
    finally:
        asyncio.run(ssh.close())


def test_paths_ssh_would_misread_are_reached_through_links(short_tmp: Path) -> None:
    # ssh expands %-tokens and ${VAR} in known_hosts paths, globs in Include,
    # and reads quotes and backslashes in every word.
    home = short_tmp / 'we ird %d ${HOME} "q" \\ [x]*'
    write_config(home, JUMP_CONFIG)
    known = home / ".ssh" / "known_hosts"
    ssh = Ssh(
        target(home, user_known_hosts=(known, short_tmp / "plain name")),
        config_files=[home / ".ssh" / "config"],
    )
    try:
        hop = resolved([ssh.program, "-F", ssh.config_file], "jumphost")
        assert hop["hostname"] == ["127.0.0.9"]
        link, plain = hop["userknownhostsfile"][0].split(" ", 1)
        assert os.readlink(link) == str(known)
        assert plain == str(short_tmp / "plain name")
    finally:
        asyncio.run(ssh.close())
