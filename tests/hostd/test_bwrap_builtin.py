"""hostd's built-in bubblewrap launcher, through a real hostd and a real bwrap.

hostd runs with a PATH that has ``bwrap`` but no ``claude-sandbox`` (the
stub launchers are left out), so ``bubblewrap`` is served by the built-in
launcher, and with HOME pointing at a made-up home so the test can see what
of it the sandbox shows. The agent is a probe that looks at its world from
inside and writes what it found into the project directory.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, Hostd, processes_mentioning, wait_for

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bwrap")

LAUNCHER = REPO / "hostd" / "sandbox" / "bwrap_launcher.py"

PROBE = r"""
import errno, json, os, socket, subprocess, sys

port, repo = int(sys.argv[1]), sys.argv[2]
home = os.environ["HOME"]
out = {"argv": sys.argv[3:], "cwd": os.getcwd(), "home": home, "env": sorted(os.environ)}

def attempt_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    os.unlink(path)
    return "written"

def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))

with open("written-inside.txt", "w") as f:
    f.write("from the sandbox")
out["home_entries"] = listing(home)
out["secret"] = listing(os.path.join(home, "secret"))
out["root"] = listing("/root")
out["repo"] = listing(repo)
out["top"] = listing("/")
out["usr_write"] = attempt_write("/usr/claude-sandbox-probe")
out["etc_write"] = attempt_write("/etc/claude-sandbox-probe")
out["gitconfig"] = open(os.path.join(home, ".gitconfig")).read()
out["gitconfig_write"] = attempt_write(os.path.join(home, ".gitconfig"))
out["ssh_config"] = open(os.path.join(home, ".ssh", "config")).read()
out["ssh_write"] = attempt_write(os.path.join(home, ".ssh", "new"))
config = os.environ["CLAUDE_CONFIG_DIR"]
out["config"] = config
with open(os.path.join(config, "from-sandbox.txt"), "w") as f:
    f.write("kept")
out["config_entries"] = listing(config)
out["settings_write"] = attempt_write(os.path.join(config, "settings.json"))
out["claude_json"] = json.load(open(os.path.join(home, ".claude.json")))
out["config_claude_json"] = json.load(open(os.path.join(config, ".claude.json")))
# Claude rewrites the file by rename; the copy inside must take that.
with open(os.path.join(home, ".claude.json.tmp"), "w") as f:
    json.dump({"changed": "inside"}, f)
os.rename(os.path.join(home, ".claude.json.tmp"), os.path.join(home, ".claude.json"))
out["x11"] = listing("/tmp/.X11-unix")
out["xdpyinfo"] = subprocess.run(["xdpyinfo"], capture_output=True).returncode
out["xdpyinfo_no_cookie"] = subprocess.run(
    ["xdpyinfo"], capture_output=True, env={**os.environ, "XAUTHORITY": "/dev/null"}
).returncode
try:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        out["tcp"] = s.recv(16).decode()
except OSError as exc:
    out["tcp"] = "failed: " + str(exc)
with open("result.json.tmp", "w") as f:
    json.dump(out, f)
os.rename("result.json.tmp", "result.json")
"""


@pytest.fixture
def fake_home(short_tmp: Path) -> Path:
    """A home with what the sandbox must show, hide, or copy."""
    home = short_tmp / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text("{}")
    (home / ".claude.json").write_text(json.dumps({"userID": "abc"}))
    (home / ".gitconfig").write_text("[user]\n\tname = Ann\n")
    (home / ".ssh").mkdir(mode=0o700)
    (home / ".ssh" / "config").write_text("Host *\n")
    (home / "secret").mkdir()
    (home / "secret" / "token.txt").write_text("do not read")
    return home


@pytest.fixture
def builtin_hostd(hostd_factory: Callable[..., Hostd], fake_home: Path) -> Hostd:
    """hostd whose PATH has bwrap but no claude-sandbox: the built-in launcher serves."""
    return hostd_factory(env={"PATH": os.environ["PATH"], "HOME": str(fake_home)})


@pytest.fixture
def odd_project(short_tmp: Path) -> Path:
    p = short_tmp / 'my "odd" project\'s dir'
    p.mkdir()
    (p / "probe.py").write_text(PROBE)
    return p


@pytest.fixture
def tcp_server() -> Iterator[int]:
    """A TCP server on the host's 127.0.0.1 that greets whoever connects."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"hello")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    srv.close()


def run_probe(h: Hostd, project: Path, port: int, network: bool, *args: str) -> dict[str, Any]:
    agent = shlex.join(["python3", "probe.py", str(port), str(REPO), *args])
    sb = h.call("sandbox.create", name="probe", backend="bubblewrap",
                project_dir=str(project), network=network, agent=agent)  # fmt: skip
    done = wait_for(
        lambda: (s := h.call("sandbox.get", id=sb["id"]))["status"] == "exited" and s,
        what="the probe to finish",
    )
    logs = h.call("sandbox.logs", id=sb["id"])["text"]
    assert done["exit_code"] == 0, logs
    result: dict[str, Any] = json.loads((project / "result.json").read_text())
    result["display"] = sb["display"]
    result["claude_config"] = sb["claude_config"]
    return result


def test_hello_says_the_builtin_launcher_serves_bubblewrap(
    builtin_hostd: Hostd, hostd: Hostd
) -> None:
    be = {b["name"]: b for b in builtin_hostd.call("hello")["backends"]}["bubblewrap"]
    assert be["available"] is True and be["isolated"] is True
    assert be["launcher"] == str(LAUNCHER)
    assert be["detail"].startswith("built-in launcher")
    # With claude-sandbox on PATH (the stub stands in for the Nix launcher), it wins.
    nix = {b["name"]: b for b in hostd.call("hello")["backends"]}["bubblewrap"]
    assert nix["launcher"].endswith("/claude-sandbox") and nix["detail"].startswith("Nix launcher")


def test_agent_sees_its_project_and_private_home_and_no_network(
    builtin_hostd: Hostd, odd_project: Path, fake_home: Path, tcp_server: int
) -> None:
    odd_args = ["an arg with spaces", 'it\'s "quoted"', "$(echo no)"]
    r = run_probe(builtin_hostd, odd_project, tcp_server, False, *odd_args)

    # The project is writable, at its own path, with odd characters intact.
    assert r["cwd"] == str(odd_project) and r["argv"] == odd_args
    assert (odd_project / "written-inside.txt").read_text() == "from the sandbox"
    # The home is private: the person's ~/.claude is not there, the rest is hidden.
    assert r["home"] == str(fake_home)
    assert r["secret"] == "ENOENT" and "secret" not in r["home_entries"]
    assert ".claude" not in r["home_entries"]
    # The sandbox's own Claude config folder: its files are kept on the host,
    # the person's settings are there read-only.
    assert r["config"] == r["claude_config"]
    assert Path(r["config"], "from-sandbox.txt").read_text() == "kept"
    assert not (fake_home / ".claude" / "from-sandbox.txt").exists()
    assert "settings.json" in r["config_entries"] and r["settings_write"] == "EROFS"
    # ~/.claude.json is a copy: the agent reads it, its rewrite stays inside.
    assert r["claude_json"] == r["config_claude_json"] == {"userID": "abc"}
    assert json.loads((fake_home / ".claude.json").read_text()) == {"userID": "abc"}
    # Git and SSH config are readable and read-only.
    assert "name = Ann" in r["gitconfig"] and r["gitconfig_write"] == "EROFS"
    assert r["ssh_config"] == "Host *\n" and r["ssh_write"] == "EROFS"
    # The system is read-only; other folders of the host are not there at all.
    assert r["usr_write"] == "EROFS" and r["etc_write"] == "EROFS"
    assert r["root"] == "ENOENT" and r["repo"] == "ENOENT"
    assert not {"root", "home", "work", "srv", "mnt", "media"} & set(r["top"])
    # Only its own display, reachable with the cookie and not without.
    assert r["x11"] == [f"X{r['display'].lstrip(':')}"]
    assert r["xdpyinfo"] == 0 and r["xdpyinfo_no_cookie"] != 0
    # No network: the host's loopback server is out of reach.
    assert r["tcp"].startswith("failed"), r["tcp"]
    # hostd's own environment stays out.
    assert "HOSTD_STATE_DIR" not in r["env"] and "CLAUDE_SANDBOX_ID" in r["env"]


def test_with_network_the_agent_reaches_the_host(
    builtin_hostd: Hostd, odd_project: Path, tcp_server: int
) -> None:
    r = run_probe(builtin_hostd, odd_project, tcp_server, True)
    assert r["tcp"] == "hello"


def test_missing_agent_exits_127_with_a_message_in_the_logs(
    builtin_hostd: Hostd, project: Path
) -> None:
    sb = builtin_hostd.call("sandbox.create", name="noagent", backend="bubblewrap",
                            project_dir=str(project), agent="no-such-agent --flag")  # fmt: skip
    done = wait_for(
        lambda: (s := builtin_hostd.call("sandbox.get", id=sb["id"]))["status"] == "exited" and s
    )
    assert done["exit_code"] == 127
    logs = builtin_hostd.call("sandbox.logs", id=sb["id"])["text"]
    assert "the agent no-such-agent was not found inside the sandbox" in logs


def test_stop_ends_every_process_inside_the_sandbox(
    builtin_hostd: Hostd, project: Path, short_tmp: Path
) -> None:
    # The sandbox's environment is cleared, so its processes do not mention
    # the state folder; a marker argument finds them instead.
    marker = f"cs-marker-{short_tmp.name}"
    sb = builtin_hostd.call("sandbox.create", name="sleeper", backend="bubblewrap",
                            project_dir=str(project),
                            agent=f"sh -c 'sleep 600; true' {marker}")  # fmt: skip
    wait_for(lambda: processes_mentioning(marker), what="the agent to start")
    builtin_hostd.call("sandbox.stop", id=sb["id"])
    wait_for(lambda: not processes_mentioning(marker), what="the agent to be gone")


def path_without_bwrap(where: Path) -> str:
    """A PATH holding everything on the real PATH except bwrap."""
    where.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        if os.path.isdir(d):
            for name in os.listdir(d):
                if name != "bwrap" and not (where / name).exists():
                    (where / name).symlink_to(os.path.join(d, name))
    return str(where)


def test_without_bwrap_bubblewrap_is_unavailable_and_says_what_to_install(
    hostd_factory: Callable[..., Hostd], project: Path, short_tmp: Path
) -> None:
    h = hostd_factory(env={"PATH": path_without_bwrap(short_tmp / "bin")})
    be = {b["name"]: b for b in h.call("hello")["backends"]}["bubblewrap"]
    assert be["available"] is False and be["launcher"] is None
    assert "neither claude-sandbox nor bwrap" in be["detail"]
    assert "apt install bubblewrap" in be["detail"]
    err = h.error("sandbox.create", name="x", backend="bubblewrap", project_dir=str(project))
    assert err.code == -32004 and "neither claude-sandbox nor bwrap" in err.message
    assert h.call("sandbox.list") == []


def test_a_bwrap_that_cannot_sandbox_here_is_reported_by_hello(
    hostd_factory: Callable[..., Hostd], project: Path, short_tmp: Path
) -> None:
    # Stands in for a host whose kernel or AppArmor refuses user namespaces:
    # what bwrap prints there, and its exit status.
    bindir = short_tmp / "bin"
    bindir.mkdir()
    (bindir / "bwrap").write_text(
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n"
    )
    (bindir / "bwrap").chmod(0o755)
    h = hostd_factory(env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"})
    be = {b["name"]: b for b in h.call("hello")["backends"]}["bubblewrap"]
    assert be["available"] is False
    assert "cannot make a sandbox here" in be["detail"]
    assert "setting up uid map: Permission denied" in be["detail"]
    err = h.error("sandbox.create", name="x", backend="bubblewrap", project_dir=str(project))
    assert err.code == -32004


def launcher(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run([sys.executable, "-I", str(LAUNCHER), *args],
                          capture_output=True, text=True, env=env, timeout=60)  # fmt: skip


def test_launcher_help_lists_every_flag(fake_home: Path) -> None:
    res = launcher("--help", home=fake_home)
    assert res.returncode == 0
    for flag in (
        "--no-network",
        "--shell",
        "--ssh-agent",
        "--claude-config DIR",
        "--agent CMD",
        "PROJECT_DIR",
        "-- AGENT_ARGS",
        "--help",
    ):
        assert flag in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus", "/tmp"], "unknown option '--bogus'"),
        (["--agent"], "--agent needs a command"),
        ([], "PROJECT_DIR is missing"),
        (["relative/dir"], "must be an absolute path"),
        (["/nonexistent/dir"], "is not an existing directory"),
        (["/tmp", "extra"], "agent arguments go after --"),
        (["--claude-config"], "--claude-config needs a folder"),
        (["--claude-config", "rel", "/usr"], "--claude-config must be an absolute path"),
        (["--claude-config", "/nonexistent", "/usr"], "is not an existing directory"),
    ],
)
def test_launcher_refuses_bad_input_with_usage(
    fake_home: Path, args: list[str], message: str
) -> None:
    res = launcher(*args, home=fake_home)
    assert res.returncode == 2 and message in res.stderr


def test_launcher_refuses_a_claude_folder_that_is_the_persons_or_a_link(
    fake_home: Path, short_tmp: Path
) -> None:
    project = short_tmp / "p"
    project.mkdir()
    link = short_tmp / "link"
    link.symlink_to(fake_home / ".claude")
    res = launcher("--claude-config", str(fake_home / ".claude"), str(project), home=fake_home)
    assert res.returncode == 2 and "must be a folder of its own" in res.stderr
    res = launcher("--claude-config", str(link), str(project), home=fake_home)
    assert res.returncode == 2 and "not a link" in res.stderr


def test_launcher_refuses_the_home_itself_as_project(fake_home: Path) -> None:
    for project in (fake_home, fake_home.parent):
        res = launcher(str(project), home=fake_home)
        assert res.returncode == 2 and "is your home or holds it" in res.stderr
