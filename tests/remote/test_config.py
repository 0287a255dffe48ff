"""Reading what people already set up: destinations, ~/.ssh/config, known_hosts,
profiles, and the login-shell command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import paramiko
import pytest

from app.remote.errors import ConfigError
from app.remote.launch import login_shell_command
from app.remote.profiles import Profile, Profiles, default_host, open_host
from app.remote.ssh.config import Destination, SshConfig, parse_destination
from app.remote.ssh.known_hosts import KnownHosts, Status, fingerprint, host_id
from tests.remote.sshd import keygen


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("lab", Destination(None, "lab", None)),
        ("ann@lab:2222", Destination("ann", "lab", 2222)),
        ("ssh://ann@10.0.0.5:22/", Destination("ann", "10.0.0.5", 22)),
        ("[::1]:2200", Destination(None, "::1", 2200)),
        ("fe80::1", Destination(None, "fe80::1", None)),
    ],
)
def test_destinations_parse_like_ssh(text: str, want: Destination) -> None:
    assert parse_destination(text) == want


@pytest.mark.parametrize("bad", ["", "-oProxyCommand=sh", "a b", "lab:99999", "@lab", "lab;rm"])
def test_bad_destinations_are_refused_with_the_reason(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_destination(bad)


def test_ssh_config_with_include_and_defaults(tmp_path: Path) -> None:
    ssh = tmp_path / ".ssh"
    (ssh / "conf.d").mkdir(parents=True)
    (ssh / "conf.d" / "lab.conf").write_text(
        "Host lab\n  HostName lab.example.com\n  Port 2222\n  User ann\n  ProxyJump bastion\n"
    )
    (ssh / "config").write_text(
        "Include conf.d/*.conf\nHost *\n  ServerAliveInterval 5\n  HashKnownHosts yes\n"
    )
    config = SshConfig(tmp_path, [ssh / "config"])
    assert config.aliases() == ["lab"]
    t = config.resolve("lab")
    assert (t.hostname, t.port, t.user, t.proxy_jump) == (
        "lab.example.com",
        2222,
        "ann",
        ("bastion",),
    )
    assert t.keepalive_s == 5 and t.hash_known_hosts
    assert t.identity_files[0] == ssh / "id_rsa"  # OpenSSH's defaults, in its order
    assert t.user_known_hosts[0] == ssh / "known_hosts"
    assert config.resolve("bob@lab:22").user == "bob"  # the command line wins over the config


def test_known_hosts_matching_hashing_and_saving(tmp_path: Path) -> None:
    key = paramiko.PKey.from_path(keygen(tmp_path / "k"))
    other = paramiko.PKey.from_path(keygen(tmp_path / "o"))
    path = tmp_path / "known_hosts"
    known = KnownHosts((path,))
    name = host_id("example.com", 2222)
    assert name == "[example.com]:2222" and host_id("example.com", 22) == "example.com"
    assert known.check(name, key).status is Status.UNKNOWN
    known.save(name, key, hashed=True)
    assert path.read_text().startswith("|1|")
    assert known.check(name, key).status is Status.KNOWN
    assert known.check("[example.com]:2223", key).status is Status.UNKNOWN
    verdict = known.check(name, other)
    assert verdict.status is Status.CHANGED and verdict.offending is not None
    assert verdict.offending.lineno == 1
    path.write_text(f"*.example.com,!bad.example.com {key.get_name()} {key.get_base64()}\n")
    assert known.check("www.example.com", key).status is Status.KNOWN
    assert known.check("bad.example.com", key).status is Status.UNKNOWN
    # Our fingerprint is OpenSSH's.
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(tmp_path / "k.pub")], capture_output=True, text=True
    )
    assert fingerprint(key) == out.stdout.split()[1]


def test_profiles_round_trip_through_toml(tmp_path: Path) -> None:
    profiles = Profiles(tmp_path / "hosts.toml")
    tricky = "env A=\"x y\" B='\\n' claude-sandbox-hostd"
    profiles.add(Profile("lab", "ann@lab:2222", tricky))
    profiles.add(Profile("pi", "pi"))
    loaded = profiles.load()
    assert loaded["lab"].hostd_command == tricky
    assert loaded["pi"].hostd_command == "claude-sandbox-hostd"
    with pytest.raises(ConfigError, match="bad profile name"):
        profiles.add(Profile("no spaces", "x"))
    (tmp_path / "hosts.toml").write_text("[hosts.broken]\nport = 22\n")
    with pytest.raises(ConfigError, match="needs destination"):
        profiles.load()


def test_profile_identity_file_and_jump_host_override_the_ssh_config(tmp_path: Path) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(
        "Host box\n  HostName box.example.com\n  User ann\n  IdentityFile ~/.ssh/other\n"
        "  ProxyCommand nc %h %p\n"
    )
    ssh = SshConfig(tmp_path, [tmp_path / ".ssh" / "config"])
    profiles = Profiles(tmp_path / "hosts.toml")
    profiles.add(Profile("box", "box", identity_file="~/keys/box key", proxy_jump="gate, gate2"))
    profiles.add(Profile("plain", "box"))
    loaded = profiles.load()
    assert loaded["box"].identity_file == "~/keys/box key"
    target = loaded["box"].target(ssh)
    assert target.hostname == "box.example.com" and target.user == "ann"
    assert target.identity_files == (Path("~/keys/box key").expanduser(),)
    assert target.identities_only is True
    assert target.proxy_jump == ("gate", "gate2") and target.proxy_command is None
    plain = loaded["plain"].target(ssh)
    assert plain.proxy_command == "nc box.example.com 22" and plain.proxy_jump == ()
    assert "identity_file" not in (tmp_path / "hosts.toml").read_text().split("[hosts.plain]")[1]


def test_host_names_resolve_profile_then_alias_then_address(tmp_path: Path) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("Host box\n  HostName box.example.com\n")
    profiles = Profiles(tmp_path / "hosts.toml")
    profiles.add(Profile("lab", "ann@lab:2222", "hostd --x"))
    ssh = SshConfig(tmp_path, [tmp_path / ".ssh" / "config"])

    def resolve(name: str | None) -> tuple[str, str]:
        r = open_host(name, home=tmp_path, ssh_config=ssh, profiles=profiles)
        return r.origin, r.host.describe()

    assert resolve(None) == ("local", "this machine (local hostd)")
    assert resolve("local") == ("local", "this machine (local hostd)")
    assert resolve("lab") == ("profile", "lab (ann@lab:2222)")
    assert resolve("box")[0] == "alias" and "box.example.com" in resolve("box")[1]
    assert resolve("root@10.1.2.3")[0] == "address"


def test_default_host_from_env_then_config(tmp_path: Path) -> None:
    assert default_host({}, tmp_path) is None
    cfg = tmp_path / ".config" / "claude-remote" / "config"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("# comment\nhost = lab\n")
    assert default_host({}, tmp_path) == "lab"
    assert default_host({"CLAUDE_REMOTE_HOST": "pi"}, tmp_path) == "pi"


@pytest.mark.parametrize(
    "command", ["printf '%s|' a 'b c'", "printf '%s|' \"$HOME\" it\\'s", "echo ok; echo 'x;y'"]
)
def test_login_shell_command_runs_exactly_the_command(command: str) -> None:
    """What sshd would do with it: the user's shell runs the line with -c."""
    env = {"SHELL": "/bin/sh", "HOME": "/tmp", "PATH": "/usr/bin:/bin"}
    direct = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, env=env)
    wrapped = subprocess.run(
        ["/bin/sh", "-c", login_shell_command(command)], capture_output=True, text=True, env=env
    )
    assert wrapped.stdout == direct.stdout and wrapped.returncode == 0
