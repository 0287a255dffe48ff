"""claude-remote create: an agent that ends at once is a failure, said with its
exit code and last lines; the commands it prints work where they are pasted."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.remote import selfcmd
from tests.remote.conftest import Remote
from tests.remote.test_attach import OuterTmux

# The claude-remote of this interpreter's environment (the one the tests run).
OWN = Path(sys.executable).parent / "claude-remote"


def runs_this_claude_remote(word: str, path: str) -> bool:
    """Whether ``word``, pasted as a command's first word with ``path`` as
    PATH, runs the claude-remote of this environment."""
    found = shutil.which(word, path=path) if os.sep not in word else word
    return found is not None and os.path.samefile(found, OWN)


def terminal_env(remote: Remote, **extra: str) -> dict[str, str]:
    """The person's environment in a terminal: no PYTHONPATH (the tests' runs
    of ``python -m app.cli`` have one)."""
    env = {**remote.env, **extra}
    env.pop("PYTHONPATH", None)
    return env


def without_own_bin(path: str) -> str:
    own = OWN.parent.resolve()
    return os.pathsep.join(d for d in path.split(os.pathsep) if d and Path(d).resolve() != own)


def test_a_create_whose_agent_is_missing_exits_1_with_its_code_and_lines(remote: Remote) -> None:
    env = {"HOSTD_STATE_DIR": str(remote.state_dir)}
    res = remote.cli("--local", "create", "gone", "none", str(remote.project),
                     "--agent", "no-such-agent-xyz", env=env)  # fmt: skip
    assert (res.returncode, res.stdout) == (1, "")
    first, *pane, kept, hint = res.stderr.splitlines()
    assert first == "gone: the agent exited at once with status 127"
    assert pane and all(line.startswith("  ") for line in pane)
    assert any("no-such-agent-xyz: not found" in line for line in pane)
    assert kept == "the sandbox is kept, to read its log, 'start' it again or 'rm' it"
    assert hint.startswith("logs: ")
    # The command in the hint works where it is pasted: another folder, this PATH.
    logs = shlex.split(hint.removeprefix("logs: "))
    assert logs[1:] == ["--local", "logs", "gone"]
    shown = subprocess.run(logs, capture_output=True, text=True, cwd="/", timeout=60,
                           env=terminal_env(remote, **env))  # fmt: skip
    assert shown.returncode == 0 and "no-such-agent-xyz" in shown.stdout
    listed = remote.cli("--local", "ls", env=env).stdout
    assert "exited (127)" in listed

    res = remote.cli("--local", "create", "gone2", "none", str(remote.project),
                     "--agent", "no-such-agent-xyz", "--json", env=env)  # fmt: skip
    assert res.returncode == 1 and res.stderr == ""
    sb = json.loads(res.stdout)
    assert (sb["name"], sb["status"], sb["exit_code"]) == ("gone2", "exited", 127)
    assert any("no-such-agent-xyz" in line for line in sb["last_lines"])


def test_a_create_that_runs_exits_0_with_an_attach_hint_that_works_pasted(
    remote: Remote,
) -> None:
    # A terminal whose PATH lacks this environment's bin, in another folder.
    env = {"HOSTD_STATE_DIR": str(remote.state_dir), "PATH": without_own_bin(remote.env["PATH"])}
    res = remote.cli("--local", "create", "ok", "none", str(remote.project),
                     "--agent", "sh -c 'echo ready; exec cat'", env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    hint = next(line for line in res.stdout.splitlines() if line.startswith("attach: "))
    argv = shlex.split(hint.removeprefix("attach: "))
    assert argv[0] == str(OWN) and argv[1:] == ["--local", "attach", "ok"]
    pasted = OuterTmux(remote.root / "pasted", argv, terminal_env(remote, **env), cwd="/")
    try:
        assert "ready" in pasted.shows("[ok]")  # attached: the sandbox's tmux status line
    finally:
        pasted.close()


# -- naming this claude-remote ------------------------------------------------------------


@pytest.fixture
def bare_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """PATH with none of this environment's bin; argv[0] not a claude-remote."""
    monkeypatch.setattr(sys, "argv", ["pytest"])
    monkeypatch.setenv("PATH", without_own_bin(os.environ["PATH"]))
    return tmp_path


def test_the_bare_name_only_when_path_finds_this_one(
    bare_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert selfcmd.claude_remote_words() == [str(OWN)]
    assert selfcmd.attach_command_line(["--host", "my box"], "a b") == (
        f"{shlex.quote(str(OWN))} --host 'my box' attach 'a b'"
    )
    # Another claude-remote first on PATH: not this one.
    other = bare_path / "other"
    other.mkdir()
    (other / "claude-remote").write_text("#!/bin/sh\necho another\n")
    (other / "claude-remote").chmod(0o755)
    monkeypatch.setenv("PATH", f"{other}{os.pathsep}{os.environ['PATH']}")
    assert selfcmd.claude_remote_words() == [str(OWN)]
    # A link to this one (~/.local/bin/claude-remote, say) is this one.
    linked = bare_path / "linked"
    linked.mkdir()
    (linked / "claude-remote").symlink_to(OWN)
    monkeypatch.setenv("PATH", f"{linked}{os.pathsep}{os.environ['PATH']}")
    assert selfcmd.claude_remote_words() == ["claude-remote"]
    assert selfcmd.attach_command_line(["--local"], "x") == "claude-remote --local attach x"
    # Names that look like flags stay names: after --, or joined to their flag.
    assert selfcmd.attach_command_line(selfcmd.host_words("-h"), "--help") == (
        "claude-remote --host=-h attach -- --help"
    )


def test_a_sandbox_named_like_a_flag_gets_hints_that_work(remote: Remote) -> None:
    env = {"HOSTD_STATE_DIR": str(remote.state_dir)}
    res = remote.cli("--local", "create", "--agent", "no-such-agent-xyz",
                     "--", "-x", "none", str(remote.project), env=env)  # fmt: skip
    assert res.returncode == 1, res.stderr
    hint = res.stderr.splitlines()[-1]
    logs = shlex.split(hint.removeprefix("logs: "))
    assert logs[1:] == ["--local", "logs", "--", "-x"]
    shown = subprocess.run(logs, capture_output=True, text=True, cwd="/", timeout=60,
                           env=terminal_env(remote, **env))  # fmt: skip
    assert shown.returncode == 0 and "no-such-agent-xyz" in shown.stdout, shown.stderr


def test_started_as_a_claude_remote_that_path_does_not_find(
    bare_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = bare_path / "bin" / "claude-remote"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script)])
    assert selfcmd.claude_remote_words() == [str(script)]
