"""Isolation that holds, tried from inside: real hostd, real bwrap, a probe agent.

hostd runs with a made-up person's HOME (tests/hostd/escape_probe.py), an SSH
agent socket and desktop variables in its environment, and a PATH without
the Nix launcher, so ``bubblewrap`` is the built-in launcher. The probe
(tests/stubs/claude-escape-probe) tries each escape; every one must fail
and the person's files stay byte-for-byte the same, while what the agent
needs (its login, its own sessions) still works.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from hostd.claude.files import sanitize_path
from tests.claude_transcripts import Transcript
from tests.helpers import Hostd, wait_for
from tests.hostd.escape_probe import (
    PROBE_NAME,
    SECRET_ENV,
    hashes,
    judge,
    make_person,
    make_project,
    table,
)

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bwrap")


@pytest.fixture
def agent_socket(short_tmp: Path) -> Iterator[str]:
    """A listening socket standing in for the person's SSH agent."""
    path = short_tmp / "agent.sock"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(path))
    srv.listen()
    yield str(path)
    srv.close()


@pytest.fixture
def person(short_tmp: Path) -> Path:
    return make_person(short_tmp)


@pytest.fixture
def world_env(person: Path, agent_socket: str) -> dict[str, str]:
    """hostd's environment: the person's home, agent and desktop, no Nix launcher."""
    return {"PATH": os.environ["PATH"], "HOME": str(person), "SSH_AUTH_SOCK": agent_socket,
            **SECRET_ENV}  # fmt: skip


@pytest.fixture
def hd(hostd_factory: Callable[..., Hostd], world_env: dict[str, str]) -> Hostd:
    return hostd_factory(env=world_env)


def exited(h: Hostd, sid: str) -> dict[str, Any]:
    done: dict[str, Any] = wait_for(
        lambda: (s := h.call("sandbox.get", id=sid))["status"] == "exited" and s,
        what="the agent to finish",
    )
    return done


@needs_bwrap
def test_every_escape_fails_and_the_persons_files_stay_the_same(
    hd: Hostd, person: Path, short_tmp: Path
) -> None:
    scratch = short_tmp / "t.jsonl"
    # Time-stamped ahead: lines count from the sandbox's start, which is later.
    t = Transcript(scratch, "", time.time() + 5)
    t.prompt("try to get out")
    t.response(["text"], input_tokens=120, output_tokens=30)
    project = make_project(short_tmp, scratch.read_text())
    for line in scratch.read_text().splitlines():
        assert json.loads(line)  # the probe copies them as they are
    other = hd.call("sandbox.create", name="other", backend="bubblewrap",
                    project_dir=str(project), agent=f"./{PROBE_NAME} --idle")  # fmt: skip
    before = hashes(person, project)
    agent = shlex.join([f"./{PROBE_NAME}", other["display"].lstrip(":"),
                        sanitize_path(str(project))])  # fmt: skip
    sb = hd.call("sandbox.create", name="probe", backend="bubblewrap",
                 project_dir=str(project), agent=agent)  # fmt: skip
    done = exited(hd, sb["id"])
    assert done["exit_code"] == 0, hd.call("sandbox.logs", id=sb["id"])["text"]
    result = json.loads((project / "escapes.json").read_text())
    after = hashes(person, project)

    verdicts = judge(result, person, project, before, after)
    assert not [v for v in verdicts if v.escaped], table(verdicts)
    assert before == after
    # What the probe was told: read-only, busy mount points, nothing there.
    assert result["settings.json"] in ("EROFS", "EBUSY")
    assert result["CLAUDE.md"] in ("EROFS", "EBUSY") and result["commands/x.md"] == "EROFS"
    assert result["id_ed25519"] == "ENOENT"
    assert result[".git/config"] == "EROFS" and result[".git/hooks/pre-commit"] == "EROFS"
    assert result["mv .git"] == "EBUSY"
    assert result["display path"] == "ENOENT" and result["display abstract"] == "ECONNREFUSED"
    # The agent sees its own folder as the config, and can log in.
    assert result["config"] == sb["claude_config"] and result["credentials"] == "read"

    # Its transcript, in its own folder, counts for it and for no other.
    assert result["transcript"] == "written"
    assert (Path(sb["claude_config"]) / "projects").is_dir()
    mine = hd.call("sandbox.metrics", id=sb["id"])["claude"]
    assert (mine["input_tokens"], mine["output_tokens"], mine["messages"]) == (120, 30, 1)
    assert mine["session_id"] == "probe-session" and mine["shared_with"] == []
    theirs = hd.call("sandbox.metrics", id=other["id"])["claude"]
    assert (theirs["input_tokens"], theirs["messages"]) == (0, 0)


def env_of_pane(h: Hostd, project: Path, backend: str, **params: Any) -> dict[str, str]:
    """The environment the agent of a new sandbox starts with, as it wrote it."""
    out = project / f"env-{backend}.txt"
    script = f"env -0 > {out.name}.tmp; mv {out.name}.tmp {out.name}; exec sleep 600"
    sb = h.call("sandbox.create", name=f"env-{backend}", backend=backend, project_dir=str(project),
                agent=shlex.join(["sh", "-c", script]), **params)  # fmt: skip
    wait_for(out.exists, what="the agent to write its environment")
    env = dict(e.split("=", 1) for e in out.read_text().split("\0") if e)
    env["_sandbox"] = json.dumps(sb)
    return env


def tmux_server_env(sb: dict[str, Any]) -> dict[str, str]:
    res = subprocess.run(["tmux", "-S", sb["tmux_socket"], "display-message", "-p", "#{pid}"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    env: dict[str, str] = psutil.Process(int(res.stdout.strip())).environ()
    return env


@pytest.mark.parametrize("backend", ["none", pytest.param("bubblewrap", marks=needs_bwrap)])
def test_hostds_environment_stays_out_of_the_tmux_server_and_the_pane(
    hostd_factory: Callable[..., Hostd],
    world_env: dict[str, str],
    short_tmp: Path,
    backend: str,
) -> None:
    passed = {"CLAUDE_SANDBOX_PASS_ENV": "MY_TOOL_TOKEN, OTHER_ONE", "MY_TOOL_TOKEN": "passed",
              "ANTHROPIC_BASE_URL": "http://proxy"}  # fmt: skip
    h = hostd_factory(env={**world_env, **passed})
    project = make_project(short_tmp)
    env = env_of_pane(h, project, backend)
    sb = json.loads(env["_sandbox"])
    for name in ("SSH_AUTH_SOCK", *SECRET_ENV, "HOSTD_STATE_DIR"):
        assert name not in env, name
        assert name not in tmux_server_env(sb), name
    # What the person lets through, and Claude's own settings, pass.
    assert env["MY_TOOL_TOKEN"] == "passed" and env["ANTHROPIC_BASE_URL"] == "http://proxy"
    assert env["CLAUDE_CONFIG_DIR"] == sb["claude_config"]
    assert env["CLAUDE_SANDBOX_ID"] == sb["id"]


@pytest.mark.parametrize("backend", ["none", pytest.param("bubblewrap", marks=needs_bwrap)])
def test_the_ssh_agent_reaches_the_pane_only_when_asked(
    hd: Hostd, short_tmp: Path, agent_socket: str, backend: str
) -> None:
    project = make_project(short_tmp)
    env = env_of_pane(hd, project, backend, ssh_agent=True)
    assert json.loads(env["_sandbox"])["ssh_agent"] is True
    expected = agent_socket if backend == "none" else "/run/claude-sandbox/ssh-agent.sock"
    assert env["SSH_AUTH_SOCK"] == expected


def test_the_claude_folder_is_made_kept_and_removed_with_the_sandbox(
    hd: Hostd, person: Path, short_tmp: Path, state_dir: Path
) -> None:
    project = make_project(short_tmp)
    sb = hd.call("sandbox.create", name="c", backend="none", project_dir=str(project),
                 agent="sleep 600")  # fmt: skip
    folder = Path(sb["claude_config"])
    assert folder == state_dir / "claude" / sb["id"]
    assert hd.call("sandbox.get", id="c")["claude_config"] == str(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # For none, links to the person's set-up and login, and a copy of .claude.json.
    assert (folder / "settings.json").resolve() == person / ".claude" / "settings.json"
    assert (folder / ".credentials.json").resolve() == person / ".claude" / ".credentials.json"
    assert not (folder / ".claude.json").is_symlink()
    assert json.loads((folder / ".claude.json").read_text()) == {"userID": "abc"}
    (folder / "projects").mkdir()
    (folder / "projects" / "kept.txt").write_text("mine")
    hd.call("sandbox.stop", id="c")
    hd.call("sandbox.start", id="c")
    assert (folder / "projects" / "kept.txt").read_text() == "mine"
    # A read-only folder left inside does not keep delete from removing it all.
    (folder / "projects").chmod(0o500)
    hd.call("sandbox.delete", id="c")
    assert not folder.exists()
    assert (person / ".claude" / "settings.json").read_text() == '{"model": "opus"}\n'


@pytest.mark.parametrize(
    "where",
    [".local", ".local/share/x", ".config", ".ssh", ".claude", "", "state", "state/logs", "."],
)
def test_a_project_dir_that_reaches_outside_is_refused(
    hd: Hostd, person: Path, short_tmp: Path, state_dir: Path, where: str
) -> None:
    if where.startswith("state"):
        path = state_dir / where.removeprefix("state").lstrip("/")
    elif where == ".":
        path = short_tmp  # holds the state folder (and the home)
    else:
        path = person / where
    path.mkdir(parents=True, exist_ok=True)
    err = hd.error("sandbox.create", name="x", backend="none", project_dir=str(path))
    assert err.code == -32602 and err.data == {"field": "project_dir"}, err.message
    assert "choose the project's own folder" in err.message
    assert hd.call("sandbox.list") == []


def test_the_display_refuses_its_abstract_socket_and_serves_its_path(
    hd: Hostd, short_tmp: Path
) -> None:
    sb = hd.call("sandbox.create", name="d", backend="none",
                 project_dir=str(make_project(short_tmp)), agent="sleep 600")  # fmt: skip
    number = sb["display"].lstrip(":")
    abstract = socket.socket(socket.AF_UNIX)
    with pytest.raises(OSError) as refused:
        abstract.connect(f"\0/tmp/.X11-unix/X{number}")
    abstract.close()
    assert refused.value.errno == errno.ECONNREFUSED
    xauth = str(Path(sb["tmux_socket"]).parent / "xauthority")
    ok = subprocess.run(["xdpyinfo", "-display", sb["display"]], capture_output=True,
                        env={**os.environ, "XAUTHORITY": xauth})  # fmt: skip
    assert ok.returncode == 0


@needs_bwrap
def test_a_worktrees_git_file_and_its_git_dirs_config_are_read_only(
    hd: Hostd, short_tmp: Path
) -> None:
    main = make_project(short_tmp)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "-C", str(main), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    worktree = short_tmp / "wt"
    subprocess.run([*git, "-C", str(main), "worktree", "add", "-q", str(worktree)], check=True)
    gitdir = main / ".git" / "worktrees" / "wt"
    before = {p: p.read_bytes() for p in (worktree / ".git", main / ".git" / "config")}
    probe = (
        "for f in .git $(sed 's/^gitdir: //' .git)/commondir "
        f'{main}/.git/config; do echo x >> "$f" 2>/dev/null && echo "$f written"; done; '
        "echo done > probe.out"
    )
    sb = hd.call("sandbox.create", name="wt", backend="bubblewrap", project_dir=str(worktree),
                 agent=shlex.join(["sh", "-c", probe]))  # fmt: skip
    exited(hd, sb["id"])
    logs = hd.call("sandbox.logs", id=sb["id"])["text"]
    assert (worktree / "probe.out").read_text() == "done\n" and "written" not in logs, logs
    assert {p: p.read_bytes() for p in before} == before
    assert (gitdir / "commondir").read_text().strip() == "../.."
