"""claude-remote hosts add: a profile with the window's fields, used by later connects."""

from __future__ import annotations

import json
from pathlib import Path

from tests.remote.conftest import Remote, start_jump_host
from tests.remote.sshd import hostd_command, keygen


def add(remote: Remote, *args: str) -> None:
    res = remote.cli("hosts", "add", *args, "--command", hostd_command(remote.state_dir))
    assert res.returncode == 0, res.stderr


def test_hosts_add_identity_is_the_key_a_later_connect_uses(
    remote: Remote, short_tmp: Path
) -> None:
    # Nothing in ~/.ssh/config applies to 127.0.0.1 and HOME has no default
    # keys: the profile's key is the only one there is to try.
    port = str(remote.sshd.port)
    add(remote, "bykey", "127.0.0.1", "--user", "root", "--port", port,
        "--identity", str(remote.user_key))  # fmt: skip
    res = remote.cli("--host", "bykey", "ls")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"no sandboxes on bykey (root@127.0.0.1:{remote.sshd.port})"

    # The same host with a key sshd does not know: refused, so the key above was the one.
    other = keygen(short_tmp / "id_other")
    add(remote, "otherkey", f"root@127.0.0.1:{port}", "--identity", str(other))
    res = remote.cli("--host", "otherkey", "ls")
    assert res.returncode == 255, res.stdout
    assert "Traceback" not in res.stderr

    listed = remote.cli("hosts").stdout
    assert f"bykey: root@127.0.0.1:{port}, key {remote.user_key}, hostd: " in listed
    profiles = {p["name"]: p for p in json.loads(remote.cli("hosts", "--json").stdout)["profiles"]}
    assert profiles["bykey"]["identity_file"] == str(remote.user_key)
    assert profiles["bykey"]["destination"] == f"root@127.0.0.1:{port}"


def test_hosts_add_jump_goes_through_the_jump_host(remote: Remote) -> None:
    jump = start_jump_host(remote)
    try:
        add(remote, "behind", "127.0.0.1", "--user", "root", "--port", str(remote.sshd.port),
            "--identity", str(remote.user_key), "--jump", "jumphost")  # fmt: skip
        res = remote.cli("--host", "behind", "ls")
        assert res.returncode == 0, res.stderr
        assert "direct-tcpip" in jump.log and f"port {remote.sshd.port}" in jump.log, jump.log
    finally:
        jump.stop()


def test_hosts_add_refuses_what_could_not_be_meant(remote: Remote) -> None:
    cases = [
        (["lab", "ann@lab.example.com", "--user", "bob"], "names user ann already"),
        (["lab", "lab.example.com:2222", "--port", "22"], "names port 2222 already"),
        (["lab", "lab.example.com", "--port", "70000"], "not a port"),
        (["lab", "lab.example.com", "--identity", "no/such/key"], "no key file"),
        (["lab", "lab.example.com", "--jump=-oProxyCommand=x"], "not a host"),
    ]
    for args, said in cases:
        res = remote.cli("hosts", "add", *args)
        assert res.returncode == 2 and said in res.stderr, (args, res.stderr)
        res = remote.cli("hosts", "add", *args, "--json")
        assert res.returncode == 2, args
        assert said in json.loads(res.stdout)["error"]["message"]
    assert "lab" not in remote.cli("hosts").stdout
