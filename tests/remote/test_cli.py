"""claude-remote as a person uses it: output, exit codes, host choice."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from tests.helpers import REPO, wait_for
from tests.remote.conftest import Remote
from tests.remote.test_cli_create import runs_this_claude_remote

TICKER = "sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'"


def test_lifecycle_through_the_cli_over_ssh(remote: Remote) -> None:
    h = ("--host", "testhost")
    res = remote.cli(*h, "create", "demo", "none", str(remote.project), "--agent", TICKER)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("created demo (")
    assert f"on testhost (root@127.0.0.1:{remote.sshd.port})" in res.stdout
    hint = shlex.split(res.stdout.split("attach: ", 1)[1].splitlines()[0])
    assert hint[1:] == ["--host", "testhost", "attach", "demo"]
    assert runs_this_claude_remote(hint[0], remote.env["PATH"])

    res = remote.cli(*h, "ls")
    header, row = res.stdout.splitlines()
    assert header.split() == [
        "ID", "NAME", "BACKEND", "STATUS", "ACTIVITY", "AGE", "AGENT", "PROJECT"
    ]  # fmt: skip
    assert row.split()[1:4] == ["demo", "none", "running"]
    assert row.endswith(str(remote.project))

    listed = json.loads(remote.cli(*h, "list", "--json").stdout)
    assert [s["name"] for s in listed] == ["demo"]
    prefix = listed[0]["id"][:6]

    wait_for(lambda: "tick 2" in remote.cli(*h, "logs", "demo").stdout, what="agent output")
    tail = remote.cli(*h, "logs", prefix, "--tail", "1", "--json")
    assert json.loads(tail.stdout)["text"].count("tick") <= 1

    res = remote.cli(*h, "stop", prefix)
    assert res.returncode == 0 and res.stdout.startswith("stopped demo (")
    assert "stopped" in res.stdout
    res = remote.cli(*h, "start", "demo")
    assert res.returncode == 0 and "running" in res.stdout
    res = remote.cli(*h, "rm", "demo")
    assert res.returncode == 0 and res.stdout.startswith(f"deleted demo ({listed[0]['id']})")
    assert remote.cli(*h, "list").stdout.strip() == (
        f"no sandboxes on testhost (root@127.0.0.1:{remote.sshd.port})"
    )


def test_exit_codes_say_who_said_no(remote: Remote) -> None:
    h = ("--host", "testhost")
    res = remote.cli(*h, "stop", "nosuch")
    assert (res.returncode, res.stdout) == (1, "")
    assert res.stderr.strip() == "claude-remote: no sandbox with id or name 'nosuch'"
    res = remote.cli(*h, "create", "x", "warp-drive", str(remote.project))
    assert res.returncode == 1 and "warp-drive" in res.stderr
    res = remote.cli(*h, "create", "x", "none", "relative/dir")
    assert res.returncode == 2 and "absolute path" in res.stderr
    res = remote.cli(*h, "create", "x")
    assert res.returncode == 2 and "usage:" in res.stderr
    res = remote.cli("--host", "bad host", "list")
    assert res.returncode == 2 and "not a host profile" in res.stderr


def test_doctor_and_metrics_over_ssh(remote: Remote) -> None:
    res = remote.cli("--host", "testhost", "doctor")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert any(line.startswith("hostd     0.1.0 (protocol 1)") for line in lines)
    assert any(line.startswith("tmux      /") and "tmux 3" in line for line in lines)
    assert any(line.startswith("Xvfb      /") for line in lines)
    assert any(line.split()[:2] == ["none", "available"] for line in lines)
    # The stub launcher is on hostd's PATH (the profile's command sets it).
    assert any(line.split()[:2] == ["bubblewrap", "available"] for line in lines)
    assert any(line.split()[:2] == ["vm", "unavailable"] and "not found" in line for line in lines)

    res = remote.cli("--host", "testhost", "metrics")
    assert res.returncode == 0 and "cpu " in res.stdout and "memory " in res.stdout
    data = json.loads(remote.cli("--host", "testhost", "metrics", "--json").stdout)
    assert data["memory_total"] > 0
    res = remote.cli("--host", "testhost", "metrics", "nosuch")
    assert res.returncode == 1 and "no sandbox with id or name 'nosuch'" in res.stderr
    created = remote.cli("--host", "testhost", "create", "busy", "none", str(remote.project),
                         "--agent", TICKER)  # fmt: skip
    assert created.returncode == 0, created.stderr
    res = remote.cli("--host", "testhost", "metrics", "busy")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    # Which sandbox (and, once hostd fills it, its own Claude config), then its figures.
    assert lines[0].startswith("sandbox   busy (") and "running" in lines[0]
    assert lines[1].startswith(("activity  ", "claude config "))
    assert any(line.startswith("activity  ") for line in lines)
    assert any(line.startswith("processes ") and "processes" in line for line in lines)
    assert any(line.startswith("tokens    ") and "not Claude Code" in line for line in lines)
    data = json.loads(remote.cli("--host", "testhost", "metrics", "busy", "--json").stdout)
    assert data["processes"]["count"] >= 2 and data["claude"] is None
    assert remote.cli("--host", "testhost", "rm", "busy").returncode == 0


def test_host_comes_from_env_then_config_file_else_local(remote: Remote, short_tmp: Path) -> None:
    local_state = short_tmp / "local-state"
    env = {"HOSTD_STATE_DIR": str(local_state)}

    def state_of(res: subprocess.CompletedProcess[str]) -> str:
        assert res.returncode == 0, res.stderr
        return next(line.split()[1] for line in res.stdout.splitlines() if line.startswith("state"))

    assert state_of(remote.cli("doctor", env=env)) == str(local_state)
    config = remote.home / ".config" / "claude-remote" / "config"
    config.parent.mkdir(parents=True)
    config.write_text("# the old CLI's file\nhost = testhost\n")
    assert state_of(remote.cli("doctor", env=env)) == str(remote.state_dir)
    # Read there even when XDG_CONFIG_HOME points elsewhere (where it has none;
    # the host profiles are read from there, so they go along).
    shutil.copytree(
        remote.home / ".config" / "claude-sandbox", short_tmp / "xdg" / "claude-sandbox"
    )
    xdg = {**env, "XDG_CONFIG_HOME": str(short_tmp / "xdg")}
    assert state_of(remote.cli("doctor", env=xdg)) == str(remote.state_dir)
    env_host = {**env, "CLAUDE_REMOTE_HOST": "nosuch.invalid"}
    assert remote.cli("doctor", env=env_host).returncode == 255
    assert state_of(remote.cli("--local", "doctor", env=env_host)) == str(local_state)
    assert state_of(remote.cli("--host", "testhost", "doctor", env=env_host)) == str(
        remote.state_dir
    )


def test_hosts_lists_adds_imports_and_removes_profiles(remote: Remote) -> None:
    res = remote.cli("hosts")
    assert "testhost:" in res.stdout and "local: this machine" in res.stdout
    res = remote.cli("hosts", "add", "lab", "ann@lab.example.com:2222", "--command", "~/bin/hostd")
    assert res.returncode == 0, res.stderr
    res = remote.cli("hosts", "import")
    assert res.returncode == 0 and "none new" in res.stdout  # testhost is a profile already
    data = json.loads(remote.cli("hosts", "--json").stdout)
    assert {p["name"]: p["hostd_command"] for p in data["profiles"]}["lab"] == "~/bin/hostd"
    assert remote.cli("hosts", "add", "bad name", "x").returncode == 2
    assert remote.cli("hosts", "add", "ok", "-oProxyCommand=x").returncode == 2
    assert remote.cli("hosts", "rm", "lab").returncode == 0
    assert remote.cli("hosts", "rm", "lab").returncode == 1


def cli_process(remote: Remote, *args: str) -> subprocess.Popen[bytes]:
    """claude-remote started and left running, its output on pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=remote.env,
        cwd=str(REPO),
        start_new_session=True,
    )


class Follower:
    """``claude-remote logs -f`` running, its output collected as it comes."""

    def __init__(self, remote: Remote, *args: str) -> None:
        self.proc = cli_process(remote, *args)
        self.out = bytearray()
        self.err = bytearray()
        for stream, buf in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, buf), daemon=True).start()

    @staticmethod
    def _read(stream: object, buf: bytearray) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):  # type: ignore[attr-defined]
            buf += chunk

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def test_logs_follow_survives_a_dropped_connection(remote: Remote) -> None:
    h = ("--host", "testhost")
    assert (
        remote.cli(*h, "create", "tick", "none", str(remote.project), "--agent", TICKER).returncode
        == 0
    )
    follower = Follower(remote, *h, "logs", "tick", "-f")
    try:
        wait_for(lambda: b"tick 3" in follower.out, what="followed output")
        remote.sshd.kill_connections()
        wait_for(lambda: b"reconnected" in follower.err, what="the reconnection")
        assert b"connection lost; reconnecting in" in follower.err
        seen = len(follower.out)
        wait_for(lambda: b"tick" in follower.out[seen:], what="output after the reconnection")
        # What was written while the connection was down is printed too, in order.
        ticks = [int(n) for n in re.findall(rb"tick (\d+)\n", follower.out)]
        assert ticks == list(range(len(ticks)))
        assert remote.cli(*h, "rm", "tick").returncode == 0
        assert follower.proc.wait(60) == 0
        assert b"sandbox tick was deleted" in follower.err
    finally:
        follower.stop()


def test_a_reader_that_goes_away_ends_logs_follow_quietly(remote: Remote) -> None:
    h = ("--host", "testhost")
    assert remote.cli(*h, "create", "chatty", "none", str(remote.project),
                      "--agent", TICKER).returncode == 0  # fmt: skip
    # `claude-remote logs -f chatty | head -1`: head leaves after one line.
    proc = cli_process(remote, *h, "logs", "-f", "chatty")
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    try:
        assert proc.wait(timeout=60) == 141  # as if SIGPIPE had ended it
    finally:
        proc.kill()
    err = proc.stderr.read().decode()
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_first_metrics_on_a_busy_host_shows_its_load(remote: Remote) -> None:
    # A fresh hostd per run: this reading is its first.
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        data = json.loads(remote.cli("--host", "testhost", "metrics", "--json").stdout)
        assert data["cpu_percent"] > 0
        res = remote.cli("--host", "testhost", "metrics")
        cpu = next(line for line in res.stdout.splitlines() if line.startswith("cpu "))
        assert not cpu.startswith("cpu      0.0 %"), cpu
    finally:
        burner.kill()
        burner.wait()


def test_ls_fits_80_columns(remote: Remote) -> None:
    deep = remote.project / "clients" / "a-rather-long-customer-name" / "projects" / "the-shop"
    deep.mkdir(parents=True)
    agent = "sh -c 'while true; do echo working on a long task; sleep 1; done' # " + "x" * 60
    for name, project in (("a-long-sandbox-name-for-the-shop", deep), ("short", remote.project)):
        created = remote.cli("--host", "testhost", "create", name, "none", str(project),
                             "--agent", agent)  # fmt: skip
        assert created.returncode == 0, created.stderr
    res = remote.cli("--host", "testhost", "ls", env={"COLUMNS": "80"})
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 3 and all(len(line) <= 80 for line in lines), res.stdout
    assert lines[0].split() == ["ID", "NAME", "BACKEND", "STATUS", "ACTIVITY", "AGE", "AGENT",
                                "PROJECT"]  # fmt: skip
    long_row = next(line for line in lines if "a-long" in line)
    # The agent keeps its start, the project its end; both say they were cut.
    assert "sh -c" in long_row and "…" in long_row and long_row.endswith("shop")
    assert long_row.split()[3] == "running"
    # To a pipe, with no COLUMNS: whole values, for scripts.
    res = remote.cli("--host", "testhost", "ls")
    assert str(deep) in res.stdout and agent in res.stdout
