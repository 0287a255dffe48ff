"""Sandbox lifecycle through a real hostd, real tmux and real Xvfb."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.helpers import Hostd, processes_mentioning, wait_for

SLEEPER = "sleep 600"


def create(h: Hostd, project: Path, name: str = "demo", **kw: object) -> dict:
    params = {"name": name, "backend": "none", "project_dir": str(project), "agent": SLEEPER}
    params.update(kw)
    return h.call("sandbox.create", **params)


def status_of(h: Hostd, ref: str) -> str:
    return h.call("sandbox.get", id=ref)["status"]


def xenv(sb: dict) -> dict[str, str]:
    xauth = Path(sb["tmux_socket"]).parent / "xauthority"
    return {**os.environ, "DISPLAY": sb["display"], "XAUTHORITY": str(xauth)}


def test_whole_lifecycle(hostd: Hostd, project: Path, state_dir: Path) -> None:
    sb = create(hostd, project, geometry="800x600")
    sid = sb["id"]
    assert sb["status"] == "running" and sb["backend"] == "none"
    assert sb["project_dir"] == str(project) and sb["network"] is True
    assert sb["display"].startswith(":") and sb["tmux_session"] == "demo"
    assert sb["created_at"].endswith("Z") and sb["stopped_at"] is None

    # The display is real, the size asked for, and needs the cookie.
    out = subprocess.run(["xdpyinfo"], env=xenv(sb), capture_output=True, text=True, check=True)
    assert "800x600 pixels" in out.stdout
    denied = subprocess.run(
        ["xdpyinfo"], env={**xenv(sb), "XAUTHORITY": "/dev/null"}, capture_output=True
    )
    assert denied.returncode != 0

    # The agent runs in tmux with the display in its environment, in the project.
    tmux = ["tmux", "-S", sb["tmux_socket"]]
    pane = subprocess.run(
        [*tmux, "display-message", "-p", "-t", "=demo:", "#{pane_current_path}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert pane.stdout.strip() == str(project)
    shown = subprocess.run([*tmux, "show-environment", "-t", "=demo", "DISPLAY"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert shown.stdout.strip() == f"DISPLAY={sb['display']}"

    assert [s["id"] for s in hostd.call("sandbox.list")] == [sid]
    assert hostd.call("sandbox.get", id=sid[:6]) == hostd.call("sandbox.get", id="demo")

    stopped = hostd.call("sandbox.stop", id="demo")
    assert stopped["status"] == "stopped" and stopped["display"] is None
    assert stopped["stopped_at"] is not None
    assert not Path(sb["tmux_socket"]).exists()
    # Stopping again is a no-op, so retries are safe.
    assert hostd.call("sandbox.stop", id="demo")["status"] == "stopped"

    again = hostd.call("sandbox.start", id=sid)
    assert again["status"] == "running" and again["id"] == sid
    assert again["created_at"] == sb["created_at"] and again["stopped_at"] is None
    err = hostd.error("sandbox.start", id=sid)
    assert err.code == -32003 and "already running" in err.message

    log_file = state_dir / "logs" / f"{sid}.log"
    runtime = state_dir / "run" / sid
    assert log_file.exists() and runtime.exists()
    assert hostd.call("sandbox.delete", id=sid) == {"id": sid}
    assert hostd.call("sandbox.list") == []
    assert not log_file.exists() and not runtime.exists()
    assert hostd.error("sandbox.get", id=sid).code == -32001


def test_launcher_output_from_its_first_byte_is_in_the_log(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project, agent="echo first-line-at-once")
    wait_for(lambda: status_of(hostd, sb["id"]) == "exited", what="exited")
    assert "first-line-at-once" in hostd.call("sandbox.logs", id=sb["id"])["text"]


def test_launcher_that_fails_at_once_shows_exited_with_its_code(
    hostd: Hostd, project: Path
) -> None:
    sb = create(hostd, project, agent="sh -c 'echo about to fail >&2; exit 7'")
    got = wait_for(
        lambda: (s := hostd.call("sandbox.get", id=sb["id"]))["status"] == "exited" and s,
        what="exited",
    )
    assert got["exit_code"] == 7
    assert "about to fail" in hostd.call("sandbox.logs", id=sb["id"])["text"]
    # The pane is kept so its last screen can be read, and attach still works.
    argv = hostd.call("sandbox.attach_command", id=sb["id"])["argv"]
    assert argv[1:3] == ["-S", sb["tmux_socket"]]


def test_missing_agent_exits_127(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project, agent="no-such-agent-anywhere --flag")
    got = wait_for(
        lambda: (s := hostd.call("sandbox.get", id=sb["id"]))["status"] == "exited" and s
    )
    assert got["exit_code"] == 127
    assert "no-such-agent-anywhere" in hostd.call("sandbox.logs", id=sb["id"])["text"]


def test_logs_tail(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project, agent="sh -c 'for i in 1 2 3 4 5; do echo line$i; done'")
    wait_for(lambda: status_of(hostd, sb["id"]) == "exited")
    tail = hostd.call("sandbox.logs", id=sb["id"], tail=2)
    assert tail["text"].split() == ["line4", "line5"] and tail["truncated"] is True
    assert hostd.call("sandbox.logs", id=sb["id"], tail=0)["text"] == ""
    assert hostd.error("sandbox.logs", id=sb["id"], tail=-1).code == -32602


def test_a_log_cut_at_its_4_mib_bound_starts_at_a_line(hostd: Hostd, project: Path) -> None:
    # 300,000 lines of 21 bytes: 6.3 MB, past sandbox.logs's 4 MiB.
    sb = create(hostd, project, agent="sh -c 'seq -w 1 300000 | sed s/$/-padding-pad/'")
    wait_for(lambda: status_of(hostd, sb["id"]) == "exited", timeout=60)
    got = hostd.call("sandbox.logs", id=sb["id"])
    assert got["truncated"] and got["start"] > 0
    first = got["text"].split("\n", 1)[0].rstrip("\r")  # a terminal writes \r\n
    assert re.fullmatch(r"\d{6}-padding-pad", first), first  # a whole line, not its tail
    assert got["end"] - got["start"] == len(got["text"].encode())


def test_send_keys_reach_the_agent(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project, agent="sh -c 'read answer; echo got:$answer; sleep 600'")
    hostd.call("sandbox.send_keys", id=sb["id"], keys=["yes", "Enter"])
    wait_for(lambda: "got:yes" in hostd.call("sandbox.logs", id=sb["id"])["text"], what="answer")
    hostd.call("sandbox.stop", id=sb["id"])
    assert hostd.error("sandbox.send_keys", id=sb["id"], keys=["x"]).code == -32003
    assert hostd.error("sandbox.send_keys", id=sb["id"], keys=[]).code == -32602


def test_attach_command_attaches(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project)
    argv = hostd.call("sandbox.attach_command", id="demo")["argv"]
    assert argv[0].endswith("tmux") and argv[3:] == ["attach-session", "-t", "=demo"]
    # has-session with the same socket and target proves the argv names it.
    subprocess.run([*argv[:3], "has-session", "-t", "=demo"], check=True)
    hostd.call("sandbox.stop", id=sb["id"])
    assert hostd.error("sandbox.attach_command", id="demo").code == -32003


def test_attach_command_passes_the_terminals_features(hostd: Hostd, project: Path) -> None:
    create(hostd, project)
    argv = hostd.call("sandbox.attach_command", id="demo", features=["RGB", "cstyle"])["argv"]
    assert argv[1:3] == ["-T", "RGB,cstyle"] and argv[-3:] == ["attach-session", "-t", "=demo"]
    bad = hostd.error("sandbox.attach_command", id="demo", features=["RGB", "x;rm -rf /"])
    assert bad.code == -32602 and "'x;rm -rf /'" in bad.message


def _copy_mode(sb: dict) -> tuple[str, str]:
    out = subprocess.run(
        ["tmux", "-S", sb["tmux_socket"], "display-message", "-p", "-t", f"={sb['tmux_session']}:",
         "#{pane_in_mode} #{scroll_position}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    mode, _, position = out.stdout.strip().partition(" ")
    return mode, position


def test_scroll_moves_through_the_history_and_leaves_at_the_bottom(
    hostd: Hostd, project: Path
) -> None:
    sb = create(hostd, project, agent="sh -c 'seq 1 300; sleep 600'")
    wait_for(lambda: "300" in hostd.call("sandbox.pane", id=sb["id"])["text"], what="seq")
    hostd.call("sandbox.scroll", id=sb["id"], lines=12)
    assert _copy_mode(sb) == ("1", "12")
    hostd.call("sandbox.scroll", id=sb["id"], lines=-5)
    assert _copy_mode(sb) == ("1", "7")
    hostd.call("sandbox.scroll", id=sb["id"], lines=-100)  # past the bottom: copy mode ends
    assert _copy_mode(sb)[0] == "0"
    hostd.call("sandbox.scroll", id=sb["id"], lines=-3)  # at the bottom already: nothing
    assert _copy_mode(sb)[0] == "0"
    assert hostd.error("sandbox.scroll", id=sb["id"], lines=0).code == -32602
    assert hostd.error("sandbox.scroll", id=sb["id"], lines="up").code == -32602
    hostd.call("sandbox.stop", id=sb["id"])
    assert hostd.error("sandbox.scroll", id=sb["id"], lines=3).code == -32003


def test_stop_and_delete_end_a_daemon_that_left_the_pane(
    hostd: Hostd, project: Path, short_tmp: Path
) -> None:
    # The subshell that started it exits at once, which puts the daemon under
    # init, out of the pane's process tree; nohup makes it deaf to the
    # hang-up that ends the pane.
    for i, verb in enumerate(("sandbox.stop", "sandbox.delete")):
        marker = f"cs-daemon-{i}-{short_tmp.name}"
        daemon = f"(nohup sh -c 'sleep 600; true' {marker} >/dev/null 2>&1 &);"
        sb = create(hostd, project, name=f"d{i}",
                    agent=f"sh -c {shlex.quote(daemon + ' sleep 600')}")  # fmt: skip
        wait_for(lambda m=marker: processes_mentioning(m), what="the daemon to start")
        hostd.call(verb, id=sb["id"])
        wait_for(lambda m=marker: not processes_mentioning(m), what="the daemon to be gone")


def test_launcher_gets_the_contract_argv(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project, backend="bubblewrap", network=False,
                agent="sh -c 'echo agent-ran; sleep 600'")  # fmt: skip
    text = wait_for(
        lambda: "agent-ran" in (t := hostd.call("sandbox.logs", id=sb["id"])["text"]) and t
    )
    assert "launcher=claude-sandbox flags=[ --no-network --claude-config ] agent=sh" in text


def test_container_backend_runs_its_launcher(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project, backend="container", agent="sh -c 'echo in-container; sleep 600'")
    text = wait_for(
        lambda: "in-container" in (t := hostd.call("sandbox.logs", id=sb["id"])["text"]) and t
    )
    assert "launcher=claude-sandbox-container" in text


def test_names_and_paths_with_spaces_quotes_and_semicolons_work(
    hostd: Hostd, short_tmp: Path
) -> None:
    odd = short_tmp / 'it\'s a "dir"; $(echo no) `x`'
    odd.mkdir()
    sb = create(hostd, odd, name="odd.name_1-2", agent="sh -c 'pwd; sleep 600'")
    assert sb["project_dir"] == str(odd)
    text = wait_for(
        lambda: str(odd) in (t := hostd.call("sandbox.logs", id=sb["id"])["text"]) and t
    )
    assert "no" not in text.replace(str(odd), "")


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("", "empty"),
        ("x" * 65, "65 characters"),
        ("a/b", "'/'"),
        ("a b", "' '"),
        ("a'b", '"\'"'),
        ('a"b', "'\"'"),
        ("a;b", "';'"),
        ("$(id)", "'$'"),
        ("a\nb", "'\\n'"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_created(
    hostd: Hostd, project: Path, name: str, needle: str
) -> None:
    err = hostd.error("sandbox.create", name=name, backend="none", project_dir=str(project))
    assert err.code == -32602 and err.data == {"field": "name"}
    assert needle in err.message
    assert hostd.call("sandbox.list") == []


def test_duplicate_name_is_refused(hostd: Hostd, project: Path) -> None:
    create(hostd, project)
    err = hostd.error("sandbox.create", name="demo", backend="none", project_dir=str(project))
    assert err.code == -32602 and "already exists" in err.message
    assert len(hostd.call("sandbox.list")) == 1


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("relative/dir", "absolute"),
        ("/no/such/dir/anywhere", "does not exist"),
        ("/etc/hostname", "not a directory"),
        ("", "empty"),
    ],
)
def test_bad_project_dirs_are_refused(hostd: Hostd, path: str, needle: str) -> None:
    err = hostd.error("sandbox.create", name="p", backend="none", project_dir=path)
    assert err.code == -32602 and err.data == {"field": "project_dir"} and needle in err.message


def test_dotdot_in_project_dir_is_resolved(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project, project_dir=str(project / ".." / project.name))
    assert sb["project_dir"] == str(project)


@pytest.mark.parametrize(
    ("params", "code", "needle"),
    [
        ({"backend": "docker"}, -32602, "unknown backend 'docker'"),
        ({"backend": "vm"}, -32004, "claude-sandbox-vm not found"),
        ({"network": False}, -32602, "cannot turn the network off"),
        ({"agent": "unbalanced 'quote"}, -32602, "agent"),
        ({"agent": "   "}, -32602, "agent is empty"),
        ({"geometry": "huge"}, -32602, "geometry"),
        ({"geometry": "100000x10"}, -32602, "geometry"),
        ({"network": "yes"}, -32602, "boolean"),
        ({"colour": "red"}, -32602, "unknown param 'colour'"),
    ],
)
def test_bad_create_params(
    hostd: Hostd, project: Path, params: dict, code: int, needle: str
) -> None:
    base = {"name": "x", "backend": "none", "project_dir": str(project)}
    err = hostd.error("sandbox.create", **{**base, **params})
    assert err.code == code and needle in err.message, err
    assert hostd.call("sandbox.list") == []


def stopped_record(sid: str, name: str, project: Path) -> dict:
    return {
        "id": sid, "name": name, "backend": "none", "project_dir": str(project),
        "status": "stopped", "exit_code": None, "display": None, "tmux_socket": None,
        "tmux_session": name, "qmp_socket": None, "network": True, "agent": SLEEPER,
        "geometry": "320x240", "created_at": f"2026-01-01T00:00:0{name[-1]}.000Z",
        "started_at": None, "stopped_at": None, "procs": {}, "pane_id": None,
    }  # fmt: skip


def test_id_prefixes_names_and_ambiguity(hostd_factory, project: Path, state_dir: Path) -> None:
    a = "abcd1234-0000-4000-8000-000000000001"
    b = "abcd5678-0000-4000-8000-000000000002"
    state_dir.mkdir(mode=0o700)
    records = {a: stopped_record(a, "s1", project), b: stopped_record(b, "s2", project)}
    state = {"version": 1, "pending": {}, "sandboxes": records}
    (state_dir / "state.json").write_text(json.dumps(state))
    h = hostd_factory()
    err = h.error("sandbox.get", id="abcd")
    assert err.code == -32002 and sorted(err.data["matches"]) == [a, b]
    assert "s1" in err.message and "s2" in err.message
    assert h.call("sandbox.get", id="abcd1")["id"] == a
    assert h.call("sandbox.get", id="ABCD5678")["id"] == b
    assert h.call("sandbox.get", id="s2")["id"] == b
    assert h.call("sandbox.get", id=a)["name"] == "s1"
    assert h.error("sandbox.get", id="abc").code == -32602  # too short, and no such name
    assert h.error("sandbox.get", id="abce").code == -32001
    assert [s["name"] for s in h.call("sandbox.list")] == ["s2", "s1"]  # newest first
    # A stopped record starts like any other.
    assert h.call("sandbox.start", id="s1")["status"] == "running"


def test_client_token_makes_create_idempotent(hostd: Hostd, project: Path) -> None:
    first = create(hostd, project, client_token="tok-1")
    again = create(hostd, project, client_token="tok-1")
    assert again["id"] == first["id"]
    assert len(hostd.call("sandbox.list")) == 1


def test_files_are_private(hostd: Hostd, project: Path, state_dir: Path) -> None:
    sb = create(hostd, project)
    runtime = Path(sb["tmux_socket"]).parent
    for d in (state_dir, state_dir / "logs", state_dir / "run", runtime):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    for f in (state_dir / "state.json", state_dir / "logs" / f"{sb['id']}.log",
              runtime / "xauthority", runtime / "tmux.conf"):  # fmt: skip
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    # The agent writes project files with the person's usual umask, not 077.
    create(hostd, project, name="w", agent="sh -c 'umask > umask.txt; sleep 600'")
    wait_for(lambda: (project / "umask.txt").exists())
    assert wait_for(lambda: (project / "umask.txt").read_text().strip()) == f"{os.umask(0o22):04o}"
    os.umask(0o22)


def test_processes_survive_hostd_and_sighup(hostd_factory, project: Path) -> None:
    h = hostd_factory()
    sb = create(h, project)
    pane_pid = int(subprocess.run(
        ["tmux", "-S", sb["tmux_socket"], "display-message", "-p", "-t", "=demo:", "#{pane_pid}"],
        capture_output=True, text=True, check=True).stdout)  # fmt: skip
    h.proc.send_signal(1)  # SIGHUP, as when the SSH connection drops
    h.proc.wait(30)
    assert psutil.pid_exists(pane_pid)
    h2 = hostd_factory()
    assert h2.call("sandbox.get", id="demo")["status"] == "running"


def test_state_file_is_whole_json(hostd: Hostd, project: Path, state_dir: Path) -> None:
    create(hostd, project)
    data = json.loads((state_dir / "state.json").read_text())
    assert data["version"] == 1 and len(data["sandboxes"]) == 1 and data["pending"] == {}


def test_exited_sandbox_whose_tmux_goes_stops_offering_its_pane(
    hostd: Hostd, project: Path, state_dir: Path
) -> None:
    sb = create(hostd, project, agent="sh -c 'echo bye; exit 4'")
    wait_for(lambda: status_of(hostd, sb["id"]) == "exited")
    subprocess.run(["tmux", "-S", sb["tmux_socket"], "kill-server"], check=True)
    # The monitor notices: still exited with its code, but no pane to read.
    err = wait_for(lambda: (e := hostd.error("sandbox.pane", id=sb["id"])).code == -32003 and e)
    assert "exited" in err.message
    got = hostd.call("sandbox.get", id=sb["id"])
    assert (got["status"], got["exit_code"], got["display"]) == ("exited", 4, None)
    assert not processes_mentioning(str(state_dir / "run" / sb["id"]))  # its Xvfb went too


def test_logs_tail_counts_newlines_not_carriage_returns(hostd: Hostd, project: Path) -> None:
    printf = 'printf "a\\nprogress 1\\rprogress 2\\rdone\\nlast\\n"'
    sb = create(hostd, project, agent=f"sh -c '{printf}'")
    wait_for(lambda: status_of(hostd, sb["id"]) == "exited")
    text = hostd.call("sandbox.logs", id=sb["id"], tail=2)["text"]
    assert text.split("\n")[:2] == ["progress 1\rprogress 2\rdone\r", "last\r"]


def test_a_hostd_run_inside_a_sandbox_does_not_tag_others_with_its_id(
    hostd_factory, project: Path
) -> None:
    outer = hostd_factory()
    a = create(outer, project, name="a")
    # A second hostd started from a's pane (the app or an agent in it).
    inner = hostd_factory(env={"CLAUDE_SANDBOX_ID": a["id"], "CLAUDE_SANDBOX_NAME": "a"})
    b = create(inner, project, name="b")
    before = {p.pid for p in processes_mentioning(f"run/{b['id']}/")}
    assert len(before) >= 2  # its Xvfb and its tmux server, at least
    # stop waits until what it ends is gone, so anything of b's it took is
    # gone by the time it answers.
    outer.call("sandbox.stop", id=a["id"])
    assert {p.pid for p in processes_mentioning(f"run/{b['id']}/")} == before
