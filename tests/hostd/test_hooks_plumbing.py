"""Claude Code's hook events out of a sandbox, and hostd's answers back in.

For a Claude Code agent hostd makes ``run/<id>/hooks/`` (hook.sh,
settings.json, events/, answers/: hostd/claude/hooks.py) and passes
``--settings``; the launcher shows that folder, and nothing else of the
runtime folder, inside. Through a real hostd, on ``none`` and on
``bubblewrap`` (hostd's built-in launcher, the stub launchers left off
PATH), with tests/stubs/claude standing in for Claude Code: with
``--stub-permission`` it runs its hooks as Claude Code does
(tests/stubs/claude_hooks.py). The test writes the answer files as hostd's
``sandbox.answer`` does (temp file, link, unlink). hook.sh itself and the
launcher's checks are also driven directly.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hostd.claude import hooks
from hostd.sandbox import bwrap_plan
from tests.helpers import STUBS, Hostd, wait_for

HAS_BWRAP = shutil.which("bwrap") is not None
BACKENDS = ["none", pytest.param("bubblewrap", marks=pytest.mark.skipif(
    not HAS_BWRAP, reason="needs bwrap"))]  # fmt: skip

ALLOW = {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                "decision": {"behavior": "allow"}}}  # fmt: skip


def deny(message: str) -> dict[str, Any]:
    decision = {"behavior": "deny", "message": message}
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}


@pytest.fixture
def fake_home(short_tmp: Path) -> Path:
    """A home whose ~/.local/bin holds the stand-in for Claude Code: the
    built-in launcher shows that folder read-only inside (HOME_TOOL_DIRS),
    where Claude Code's own installer puts it."""
    home = short_tmp / "home"
    bindir = home / ".local" / "bin"
    bindir.mkdir(parents=True)
    for name in ("claude", "claude_hooks.py"):
        shutil.copy(STUBS / name, bindir / name)
    (bindir / "claude").chmod(0o755)
    return home


@pytest.fixture
def make_hostd(hostd_factory: Callable[..., Hostd], fake_home: Path) -> Callable[..., Hostd]:
    """hostd for a backend: for bubblewrap, a PATH with bwrap and without the
    stub launchers, so the built-in launcher serves it."""

    def make(backend: str, **env: str) -> Hostd:
        path = os.environ["PATH"] if backend == "bubblewrap" else None
        h = hostd_factory(env={"HOME": str(fake_home), **({"PATH": path} if path else {}), **env})
        be = {b["name"]: b for b in h.call("hello")["backends"]}[backend]
        if not be["available"]:
            pytest.skip(f"{backend} is not available here: {be['detail']}")
        assert backend == "none" or be["detail"].startswith("built-in launcher"), be
        return h

    return make


def claude_agent(home: Path, *args: str) -> str:
    return shlex.join([str(home / ".local" / "bin" / "claude"), *args])


def hooks_of(h: Hostd, sb: dict[str, Any]) -> Path:
    return Path(os.path.realpath(h.state_dir / "run" / sb["id"] / "hooks"))


def request_of(h: Hostd, sb: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The permission request the agent raised: its id and its event."""
    events = hooks_of(h, sb) / "events"
    found = wait_for(lambda: sorted(events.glob("*.PermissionRequest.json")),
                     timeout=15, what="a PermissionRequest event")  # fmt: skip
    assert len(found) == 1, found
    rid = found[0].name.removesuffix(".PermissionRequest.json")
    event: dict[str, Any] = json.loads(found[0].read_text())
    return rid, event


def answer(hooks_dir: Path, rid: str, decision: dict[str, Any]) -> None:
    """As hostd writes an answer: a temp file linked to its name, so the
    first of two writers wins and the hook never reads half a file."""
    answers = hooks_dir / "answers"
    tmp = answers / f".tmp-{rid}"
    tmp.write_text(json.dumps(decision) + "\n")
    try:
        os.link(tmp, answers / f"{rid}.json")
    finally:
        tmp.unlink()


def result_of(project: Path) -> str:
    return wait_for(lambda: (project / "stub-result").is_file()
                    and (project / "stub-result").read_text().strip(),
                    timeout=15, what="the stub's stub-result")  # fmt: skip


# -- through hostd ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_permission_request_reaches_the_folder_and_an_allow_reaches_the_agent(
    make_hostd: Callable[..., Hostd], fake_home: Path, project: Path, backend: str
) -> None:
    h = make_hostd(backend)
    sb = h.call("sandbox.create", name="asks", backend=backend, project_dir=str(project),
                agent=claude_agent(fake_home, "--stub-permission", "rm -rf build/"))  # fmt: skip
    hooks_dir = hooks_of(h, sb)
    rid, event = request_of(h, sb)
    assert event["hook_event_name"] == "PermissionRequest"
    assert event["tool_name"] == "Bash"
    assert event["tool_input"]["command"] == "rm -rf build/"
    assert event["cwd"] == str(project) and event["session_id"]
    assert len(rid.split("-")[0]) == 19  # <nanoseconds>-<pid>
    # The events before it came through too, each whole and named after itself.
    names = sorted(p.name.split(".")[1] for p in (hooks_dir / "events").glob("*.json"))
    assert names == ["PermissionRequest", "PreToolUse", "SessionStart"]
    assert not (project / "stub-result").exists()  # it waits for the answer

    answer(hooks_dir, rid, ALLOW)
    assert result_of(project) == "allowed"
    wait_for(lambda: (hooks_dir / "events" / f"{rid}.taken").exists(), what="the .taken marker")
    assert not (hooks_dir / "events" / f"{rid}.expired").exists()
    wait_for(lambda: list((hooks_dir / "events").glob("*.Stop.json")), what="the Stop event")
    assert list((hooks_dir / "events").glob("*.PostToolUse.json"))

    h.call("sandbox.delete", id=sb["id"])
    assert not hooks_dir.exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_deny_with_a_message_reaches_the_agent(
    make_hostd: Callable[..., Hostd], fake_home: Path, project: Path, backend: str
) -> None:
    h = make_hostd(backend)
    sb = h.call("sandbox.create", name="asks", backend=backend, project_dir=str(project),
                agent=claude_agent(fake_home, "--stub-permission", "rm -rf build/"))  # fmt: skip
    rid, _ = request_of(h, sb)
    answer(hooks_of(h, sb), rid, deny("no"))
    assert result_of(project) == "denied: no"
    assert (hooks_of(h, sb) / "events" / f"{rid}.taken").exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_answer_in_time_leaves_the_dialog_to_the_terminal(
    make_hostd: Callable[..., Hostd], fake_home: Path, project: Path, backend: str
) -> None:
    h = make_hostd(backend, **{hooks.ANSWER_TIMEOUT_VAR: "1"})
    sb = h.call("sandbox.create", name="asks", backend=backend, project_dir=str(project),
                agent=claude_agent(fake_home, "--stub-permission", "rm -rf build/"))  # fmt: skip
    hooks_dir = hooks_of(h, sb)
    settings = json.loads((hooks_dir / "settings.json").read_text())["hooks"]
    (entry,) = settings["PermissionRequest"][0]["hooks"]
    assert entry["timeout"] == 1 + hooks.PERMISSION_GRACE_S and entry["command"].endswith(" 1")
    rid, _ = request_of(h, sb)
    wait_for(lambda: (hooks_dir / "events" / f"{rid}.expired").exists(), timeout=15,
             what="the .expired marker")  # fmt: skip
    wait_for(lambda: "Do you want to proceed?" in h.call("sandbox.pane", id=sb["id"])["text"],
             what="Claude Code's own dialog in the pane")  # fmt: skip
    # Too late now: the hook is gone, and the stub takes the answer from the keys.
    answer(hooks_dir, rid, deny("late"))
    h.call("sandbox.send_keys", id=sb["id"], keys=["1"])
    assert result_of(project) == "allowed (from the dialog)"
    assert not (hooks_dir / "events" / f"{rid}.taken").exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_escape_in_the_dialog_denies(
    make_hostd: Callable[..., Hostd], fake_home: Path, project: Path, backend: str
) -> None:
    h = make_hostd(backend, **{hooks.ANSWER_TIMEOUT_VAR: "1"})
    sb = h.call("sandbox.create", name="asks", backend=backend, project_dir=str(project),
                agent=claude_agent(fake_home, "--stub-permission", "git push"))  # fmt: skip
    wait_for(lambda: "Do you want to proceed?" in h.call("sandbox.pane", id=sb["id"])["text"],
             what="the dialog")  # fmt: skip
    h.call("sandbox.send_keys", id=sb["id"], keys=["Escape"])
    assert result_of(project) == "denied (from the dialog)"


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_agent_that_is_not_claude_gets_no_hooks(
    make_hostd: Callable[..., Hostd], project: Path, backend: str
) -> None:
    h = make_hostd(backend)
    script = 'printf "%s\\n" "$@" > args.txt; exec sleep 600'
    sb = h.call("sandbox.create", name="plain", backend=backend, project_dir=str(project),
                agent=shlex.join(["sh", "-c", script, "sh", "a", "b"]))  # fmt: skip
    args = wait_for(lambda: (project / "args.txt").is_file() and (project / "args.txt").read_text(),
                    what="the agent's arguments")  # fmt: skip
    assert args == "a\nb\n"
    assert not (h.state_dir / "run" / sb["id"] / "hooks").exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_restart_makes_the_hooks_folder_afresh(
    make_hostd: Callable[..., Hostd], fake_home: Path, project: Path, backend: str
) -> None:
    h = make_hostd(backend)
    sb = h.call("sandbox.create", name="asks", backend=backend, project_dir=str(project),
                agent=claude_agent(fake_home, "--stub-permission", "rm -rf build/"))  # fmt: skip
    old, _ = request_of(h, sb)
    h.call("sandbox.stop", id=sb["id"])
    h.call("sandbox.start", id=sb["id"])
    new, _ = request_of(h, sb)  # exactly one: the last run's went with it
    assert new != old
    events = hooks_of(h, sb) / "events"
    assert not any(p.name.startswith(old) for p in events.iterdir())


def test_a_start_that_fails_takes_its_hooks_folder_away(
    hostd_factory: Callable[..., Hostd], fake_home: Path, project: Path, short_tmp: Path
) -> None:
    """The steps pattern: a failure after the hooks folder was made (tmux
    refuses to start the session) undoes it with the rest."""
    real = shutil.which("tmux")
    flag = short_tmp / "fail-tmux"
    bindir = short_tmp / "badtmux"
    bindir.mkdir()
    (bindir / "tmux").write_text(
        "#!/bin/sh\n"
        f'case "$*" in *new-session*) [ -e {shlex.quote(str(flag))} ] && exit 1;; esac\n'
        f'exec {shlex.quote(str(real))} "$@"\n'
    )
    (bindir / "tmux").chmod(0o755)
    path = os.pathsep.join([str(bindir), str(STUBS), os.environ["PATH"]])
    h = hostd_factory(env={"HOME": str(fake_home), "PATH": path})
    agent = claude_agent(fake_home, "--stub-permission", "ls")
    sb = h.call("sandbox.create", name="asks", backend="none", project_dir=str(project),
                agent=agent)  # fmt: skip
    request_of(h, sb)
    h.call("sandbox.stop", id=sb["id"])
    flag.touch()
    err = h.error("sandbox.start", id=sb["id"])
    assert err.code == -32005, err
    rundir = h.state_dir / "run" / sb["id"]
    assert rundir.is_dir() and not (rundir / "hooks").exists()
    # And a create that fails leaves no runtime folder at all.
    err = h.error("sandbox.create", name="other", backend="none", project_dir=str(project),
                  agent=agent)  # fmt: skip
    assert err.code == -32005
    assert [p.name for p in (h.state_dir / "run").iterdir()] == [sb["id"]]


# What an agent inside bubblewrap can do to the hooks folder and the rest of
# the runtime folder. It is named claude-… so that hostd gives it the hooks;
# it finds the folder from its --settings, as Claude Code would.
CONFINEMENT_PROBE = r"""
import errno, json, os, sys, time

settings = sys.argv[sys.argv.index("--settings") + 1]
hooks = os.path.dirname(settings)
rundir = os.path.dirname(hooks)
out = {"settings": settings}

def attempt(what, fn):
    try:
        fn()
    except OSError as exc:
        out[what] = errno.errorcode.get(exc.errno, str(exc.errno))
    else:
        out[what] = "done"

def write(path, mode="a"):
    with open(path, mode) as f:
        f.write("x")

attempt("hook_sh", lambda: write(os.path.join(hooks, "hook.sh")))
attempt("settings_json", lambda: write(os.path.join(hooks, "settings.json")))
attempt("answer", lambda: write(os.path.join(hooks, "answers", "x.json"), "w"))
attempt("new_in_hooks", lambda: write(os.path.join(hooks, "new"), "w"))
attempt("rename_answers", lambda: os.rename(os.path.join(hooks, "answers"),
                                            os.path.join(hooks, "events", "answers")))
attempt("chmod_hook_sh", lambda: os.chmod(os.path.join(hooks, "hook.sh"), 0o777))
# Named as hook.sh names its events: hostd prunes any other name it sees.
event = f"{time.time_ns():019d}-{os.getpid()}.Stop.json"
out["event_name"] = event
attempt("event", lambda: write(os.path.join(hooks, "events", event), "w"))
# Left behind on purpose: a folder no one may enter, which delete must remove.
attempt("locked_dir", lambda: (os.mkdir(os.path.join(hooks, "events", "locked")),
                               write(os.path.join(hooks, "events", "locked", "f"), "w"),
                               os.chmod(os.path.join(hooks, "events", "locked"), 0)))
out["rundir"] = sorted(os.listdir(rundir))
out["tmux_sock"] = os.path.exists(os.path.join(rundir, "tmux.sock"))
out["xauthority"] = os.path.exists(os.path.join(rundir, "xauthority"))
out["run"] = sorted(os.listdir(os.path.dirname(rundir)))
out["state"] = sorted(os.listdir(os.path.dirname(os.path.dirname(rundir))))
with open("probe.json.tmp", "w") as f:
    json.dump(out, f)
os.rename("probe.json.tmp", "probe.json")
"""


@pytest.mark.skipif(not HAS_BWRAP, reason="needs bwrap")
def test_inside_bubblewrap_the_agent_writes_only_events_and_sees_nothing_else_of_its_runtime_folder(
    make_hostd: Callable[..., Hostd], fake_home: Path, project: Path
) -> None:
    h = make_hostd("bubblewrap")
    probe = fake_home / ".local" / "bin" / "claude-hooks-probe"
    probe.write_text("#!/usr/bin/env python3\n" + CONFINEMENT_PROBE)
    probe.chmod(0o755)
    sb = h.call("sandbox.create", name="probe", backend="bubblewrap",
                project_dir=str(project), agent=shlex.join([str(probe)]))  # fmt: skip
    hooks_dir = hooks_of(h, sb)
    out = json.loads(wait_for(lambda: (project / "probe.json").is_file()
                              and (project / "probe.json").read_text(),
                              what="the probe's findings"))  # fmt: skip
    assert out["settings"] == str(hooks_dir / "settings.json")
    assert out["hook_sh"] in ("EROFS", "EACCES")
    assert out["settings_json"] in ("EROFS", "EACCES")
    assert out["answer"] in ("EROFS", "EACCES")
    assert out["new_in_hooks"] in ("EROFS", "EACCES")
    assert out["rename_answers"] in ("EROFS", "EXDEV", "EBUSY", "EACCES")
    assert out["chmod_hook_sh"] in ("EROFS", "EPERM")
    assert out["event"] == "done"
    assert out["locked_dir"] == "done"
    # Of the runtime folder only hooks/; of the state folder only the way to
    # it and the sandbox's Claude config folder (its own, --claude-config).
    assert out["rundir"] == ["hooks"], out
    assert out["tmux_sock"] is False and out["xauthority"] is False
    assert out["run"] == [sb["id"]] and out["state"] == ["claude", "run"], out
    rundir = hooks_dir.parent
    assert (rundir / "tmux.sock").exists() and (rundir / "xauthority").exists()  # outside
    assert (hooks_dir / "events" / out["event_name"]).read_text() == "x"
    assert not (hooks_dir / "answers" / "x.json").exists()
    assert (hooks_dir / "hook.sh").read_text() == hooks.HOOK_SH
    # Delete takes the folder, the agent's locked leftovers included.
    h.call("sandbox.delete", id=sb["id"])
    assert not rundir.exists()


# -- hook.sh itself ---------------------------------------------------------------------


@pytest.fixture
def odd_hooks(tmp_path: Path) -> Path:
    """A hooks folder at a path that no unquoted shell line survives."""
    base = tmp_path / "state $HOME; 'q' \"d\" `x` \\ *"
    base.mkdir()
    hooks.make(base / "hooks", 2)
    return base / "hooks"


def command_of(hooks_dir: Path, event: str) -> tuple[str, int]:
    groups = json.loads((hooks_dir / "settings.json").read_text())["hooks"][event]
    (entry,) = groups[0]["hooks"]
    assert entry["type"] == "command"
    return entry["command"], entry["timeout"]


def run_hook(hooks_dir: Path, event: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
    """The event's hook, run as Claude Code runs it: /bin/sh -c COMMAND, JSON on stdin."""
    command, timeout = command_of(hooks_dir, event)
    return subprocess.run(["/bin/sh", "-c", command], input=data, capture_output=True,
                          timeout=timeout, check=False)  # fmt: skip


def test_settings_name_every_event_with_its_timeout_and_matcher(odd_hooks: Path) -> None:
    settings = json.loads((odd_hooks / "settings.json").read_text())
    assert list(settings) == ["hooks"]
    assert list(settings["hooks"]) == list(hooks.EVENTS)
    for event, groups in settings["hooks"].items():
        (group,) = groups
        assert group.get("matcher") == ("*" if event in hooks.TOOL_EVENTS else None)
        command, timeout = command_of(odd_hooks, event)
        argv = shlex.split(command)
        assert argv[:3] == ["/bin/sh", str(odd_hooks / "hook.sh"), event]
        if event == "PermissionRequest":
            assert argv[3:] == ["2"] and timeout == 2 + hooks.PERMISSION_GRACE_S
        else:
            assert argv[3:] == [] and timeout == hooks.HOOK_TIMEOUT_S
    for name, mode in (("hook.sh", 0o444), ("settings.json", 0o444), ("events", 0o700),
                       ("answers", 0o700), (".", 0o700)):  # fmt: skip
        assert (odd_hooks / name).stat().st_mode & 0o777 == mode, name


def test_hook_writes_each_event_whole_and_returns_at_once(odd_hooks: Path) -> None:
    data = json.dumps({"hook_event_name": "Notification", "message": "Claude needs you"}).encode()
    res = run_hook(odd_hooks, "Notification", data + b"\n")
    assert res.returncode == 0 and res.stdout == b""
    (event,) = (odd_hooks / "events").iterdir()
    stamp, rest = event.name.split("-", 1)
    assert len(stamp) == 19 and stamp.isdigit() and rest.endswith(".Notification.json")
    assert event.read_bytes() == data + b"\n"


def test_hook_drops_an_event_over_the_bound_and_keeps_one_at_it(odd_hooks: Path) -> None:
    res = run_hook(odd_hooks, "PreToolUse", b"x" * (hooks.MAX_EVENT_BYTES + 1))
    assert res.returncode == 0 and not any((odd_hooks / "events").iterdir())
    run_hook(odd_hooks, "PreToolUse", b"y" * hooks.MAX_EVENT_BYTES)
    (event,) = (odd_hooks / "events").iterdir()
    assert event.stat().st_size == hooks.MAX_EVENT_BYTES
    # A permission request too large for hostd does not wait for an answer.
    res = run_hook(odd_hooks, "PermissionRequest", b"z" * 200_000)
    assert res.returncode == 0 and res.stdout == b""
    assert len(list((odd_hooks / "events").iterdir())) == 1


def test_hook_ignores_an_unknown_event(odd_hooks: Path) -> None:
    script = str(odd_hooks / "hook.sh")
    res = subprocess.run(["/bin/sh", script, "../../x"], input=b"{}", capture_output=True,
                         timeout=10, check=False)  # fmt: skip
    assert res.returncode == 0 and not any((odd_hooks / "events").iterdir())


def test_permission_hook_prints_the_answer_it_finds(odd_hooks: Path) -> None:
    command, _ = command_of(odd_hooks, "PermissionRequest")
    proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b'{"hook_event_name": "PermissionRequest"}\n')
    proc.stdin.close()
    (event,) = wait_for(lambda: list((odd_hooks / "events").glob("*.PermissionRequest.json")))
    rid = event.name.removesuffix(".PermissionRequest.json")
    answer(odd_hooks, rid, ALLOW)
    assert json.loads(proc.stdout.read()) == ALLOW
    assert proc.wait(timeout=10) == 0
    assert (odd_hooks / "events" / f"{rid}.taken").exists()


def test_permission_hook_gives_up_after_its_timeout(odd_hooks: Path) -> None:
    res = run_hook(odd_hooks, "PermissionRequest", b'{"hook_event_name": "PermissionRequest"}')
    assert res.returncode == 0 and res.stdout == b""
    (event,) = (odd_hooks / "events").glob("*.PermissionRequest.json")
    rid = event.name.removesuffix(".PermissionRequest.json")
    assert (odd_hooks / "events" / f"{rid}.expired").exists()


@pytest.mark.skipif(shutil.which("dash") is None, reason="needs dash")
def test_hook_script_runs_under_dash(odd_hooks: Path) -> None:
    script = str(odd_hooks / "hook.sh")
    res = subprocess.run(["dash", script, "Stop"], input=b"{}", capture_output=True,
                         timeout=10, check=False)  # fmt: skip
    assert res.returncode == 0 and len(list((odd_hooks / "events").glob("*.Stop.json"))) == 1


def test_answer_timeout_setting() -> None:
    assert hooks.answer_timeout({}) == hooks.DEFAULT_ANSWER_TIMEOUT_S == 600
    assert hooks.answer_timeout({hooks.ANSWER_TIMEOUT_VAR: "5"}) == 5
    for bad in ("0", "-3", "1.5", "soon", str(hooks.MAX_ANSWER_TIMEOUT_S + 1)):
        assert hooks.answer_timeout({hooks.ANSWER_TIMEOUT_VAR: bad}) == 600, bad


def test_settings_go_right_after_the_program() -> None:
    argv = hooks.with_settings(["claude", "--", "-a prompt"], Path("/s/settings.json"))
    assert argv == ["claude", "--settings", "/s/settings.json", "--", "-a prompt"]


# -- the built-in launcher's checks of --hooks ------------------------------------------


def plan_with_hooks(tmp_path: Path, folder: str) -> list[str]:
    home = tmp_path / "home"
    project = tmp_path / "project"
    for d in (home, project):
        d.mkdir(exist_ok=True)
    opts = bwrap_plan.Options(project=str(project), hooks=folder)
    return bwrap_plan.plan(opts, {"HOME": str(home), "PATH": "/usr/bin"}, "/bwrap", False).argv


def test_builtin_launcher_binds_the_folder_read_only_and_events_read_write(
    tmp_path: Path,
) -> None:
    h = tmp_path / "state" / "run" / "sb" / "hooks"
    hooks.make(h, 600)
    argv = plan_with_hooks(tmp_path, str(h))
    triples = [tuple(argv[j : j + 3]) for j in range(len(argv) - 2)]
    ro = triples.index(("--ro-bind", str(h), str(h)))
    rw = triples.index(("--bind", str(h / "events"), str(h / "events")))
    # On top of the folder, and after the /tmp that tmp_path lies in.
    assert triples.index(("--tmpfs", "/tmp", "--tmpfs")) < ro < rw
    assert not any(a == str(h.parent) or a.startswith(f"{h.parent}/tmux") for a in argv)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("relative", "must be an absolute path"),
        ("missing", "is not an existing directory"),
        ("link", "not a link"),
        ("no-events", "has no events folder"),
        ("events-link", "has no events folder"),
        ("in-project", "overlaps"),
        ("holds-home", "overlaps"),
    ],
)
def test_builtin_launcher_refuses_a_hooks_folder_it_cannot_keep(
    tmp_path: Path, where: str, message: str
) -> None:
    real = tmp_path / "state" / "hooks"
    hooks.make(real, 600)
    folder = {
        "relative": "state/hooks",
        "missing": str(tmp_path / "nowhere"),
        "link": str(tmp_path / "link"),
        "no-events": str(tmp_path / "bare"),
        "events-link": str(tmp_path / "evlink"),
        "in-project": str(tmp_path / "project" / "hooks"),
        "holds-home": str(tmp_path),
    }[where]
    (tmp_path / "link").symlink_to(real)
    (tmp_path / "bare").mkdir()
    (tmp_path / "evlink").mkdir()
    (tmp_path / "evlink" / "events").symlink_to(real / "events")
    (tmp_path / "project" / "hooks" / "events").mkdir(parents=True)
    with pytest.raises(bwrap_plan.UsageError, match=message):
        plan_with_hooks(tmp_path, folder)


def test_builtin_launcher_takes_hooks_from_its_command_line(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-I", str(Path(bwrap_plan.__file__).with_name("bwrap_launcher.py")),
         "--hooks", "relative/x", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 2 and "--hooks must be an absolute path" in res.stderr
