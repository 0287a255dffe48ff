"""CI checks of the Nix side, on a machine without a working Nix.

Nix cannot build here, so what can be checked without it is checked:

* every .nix file parses (``nix-instantiate --parse``, Debian's nix-bin);
* each Nix launcher script, assembled the way its .nix file assembles it
  (settings, nix/backends/common.sh, the launcher's own .sh) with stand-in
  settings, passes shellcheck (which writeShellApplication runs at build
  time, so a warning here is a failed Nix build there) and answers
  ``--help`` and bad input as the contract says;
* the flags hostd passes to each launcher (``backends.launcher_argv``)
  appear in that launcher's usage text;
* the bubblewrap launcher builds the bwrap command the contract needs: a
  ``bwrap`` stand-in first on PATH writes out the argv it got instead of
  sandboxing (a fake at a byte stream: the argv is the whole interface);
* the bubblewrap launcher, run for real through bwrap with a probe agent,
  holds the contract's rules from inside (no private key, no person's
  Claude folder, the config entries read-only, .git protected, ...);
* the container launcher's set-up, run as root for real up to
  systemd-nspawn (which cannot run here; a stand-in records its argv and the
  container tree it was given), takes nothing of a home full of symlinks to
  root's files;
* the script the NixOS VM test runs (nix/tests/drive_hostd.py) passes
  against this checkout's hostd.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hostd.sandbox import display
from hostd.sandbox.backends import BUILTIN_LAUNCHER, Backend, launcher_argv
from tests.helpers import REPO, STUBS

NIX = REPO / "nix"
BACKENDS = NIX / "backends"
# launcher name -> (its .sh, the .nix file holding its settings block, backend)
LAUNCHERS = {
    "claude-sandbox": ("bubblewrap.sh", "launcher-lib.nix", "bubblewrap"),
    "claude-sandbox-container": ("container.sh", "launcher-lib.nix", "container"),
    "claude-sandbox-vm": ("vm.sh", "vm.nix", "vm"),
}
# What writeShellApplication puts before the text.
HEADER = "#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\n"

needs_nix = pytest.mark.skipif(
    shutil.which("nix-instantiate") is None, reason="needs nix-instantiate (Debian: nix-bin)"
)
needs_shellcheck = pytest.mark.skipif(
    shutil.which("shellcheck") is None, reason="needs shellcheck (Debian: shellcheck)"
)


def nix_files() -> list[Path]:
    return sorted(p for p in REPO.rglob("*.nix") if ".venv" not in p.parts)


def settings_names(nix_file: Path) -> list[str]:
    """The shell variables a launcher's settings block assigns, read from the .nix."""
    text = nix_file.read_text()
    block = text[text.index("# Settings from nix/backends/") :]
    block = block[: block.index("'';")]
    return re.findall(r"^\s*([a-z_][a-z0-9_]*)=", block, re.MULTILINE)


def stand_in(name: str) -> str:
    if name.startswith("with_"):
        return "1"
    return {"default_agent": "claude", "posix_sh": "/bin/sh"}.get(name, f"/nonexistent/{name}")


def assemble(launcher: str, where: Path) -> Path:
    """The launcher script as its .nix builds it, with stand-in settings."""
    sh, settings_file, _ = LAUNCHERS[launcher]
    settings = "".join(f"{n}={stand_in(n)}\n" for n in settings_names(BACKENDS / settings_file))
    text = HEADER + settings + (BACKENDS / "common.sh").read_text() + (BACKENDS / sh).read_text()
    path = where / launcher
    path.write_text(text)
    path.chmod(0o755)
    return path


def run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)  # type: ignore[call-overload,no-any-return]


@needs_nix
@pytest.mark.parametrize("path", nix_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_nix_file_parses(path: Path) -> None:
    res = run(["nix-instantiate", "--parse", str(path)])
    assert res.returncode == 0, res.stderr


def test_every_backend_file_is_checked() -> None:
    files = {p.name for p in BACKENDS.iterdir()}
    assert {sh for sh, _, _ in LAUNCHERS.values()} | {"common.sh"} == {
        f for f in files if f.endswith(".sh")
    }
    assert len(nix_files()) >= 10


@needs_shellcheck
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_launcher_script_passes_shellcheck(launcher: str, tmp_path: Path) -> None:
    res = run(["shellcheck", str(assemble(launcher, tmp_path))])
    assert res.returncode == 0, res.stdout + res.stderr


def contract_flags(backend: str) -> set[str]:
    """The flags hostd passes to the launcher of ``backend``, from hostd itself."""
    be = Backend(backend, True, "/launcher", "", backend != "vm")
    argv = launcher_argv(be, "/project", ["agent", "--agent-arg"], False, "/run/qmp.sock")
    flags = {a for a in argv[1 : argv.index("/project")] if a.startswith("--")}
    assert "--agent" in flags and "--no-network" in flags
    return flags


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_usage_names_every_flag_hostd_passes(launcher: str, tmp_path: Path) -> None:
    res = run([str(assemble(launcher, tmp_path)), "--help"])
    assert res.returncode == 0, res.stderr
    usage = res.stdout
    assert usage.startswith(f"usage: {launcher} ")
    backend = LAUNCHERS[launcher][2]
    expected = contract_flags(backend) | {"--shell", "--help", "PROJECT_DIR", "AGENT_ARGS"}
    if backend == "vm":
        assert {"--headless", "--qmp"} <= expected
    for flag in expected:
        assert re.search(rf"(^|[\s\[]){re.escape(flag)}\b", usage), f"{flag} not in usage"


def test_builtin_launcher_usage_names_every_flag_hostd_passes() -> None:
    res = run([sys.executable, "-I", str(BUILTIN_LAUNCHER), "--help"])
    assert res.returncode == 0
    for flag in contract_flags("bubblewrap") | {"--shell", "--help"}:
        assert flag in res.stdout


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus", "/tmp"], "unknown option '--bogus'"),
        (["--agent"], "--agent needs a command"),
        ([], "PROJECT_DIR is missing"),
        (["/tmp", "extra"], "agent arguments go after --"),
    ],
)
def test_launcher_refuses_bad_input_with_usage(
    launcher: str, args: list[str], message: str, tmp_path: Path
) -> None:
    res = run([str(assemble(launcher, tmp_path)), *args])
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and "usage:" in res.stderr


@pytest.mark.parametrize("launcher", ["claude-sandbox", "claude-sandbox-container"])
def test_vm_flags_only_for_the_vm_launcher(launcher: str, tmp_path: Path) -> None:
    res = run([str(assemble(launcher, tmp_path)), "--headless", "/tmp"])
    assert res.returncode == 2 and "unknown option '--headless'" in res.stderr


# -- the bubblewrap launcher's command, through a bwrap stand-in ---------------------

BWRAP_STAND_IN = """#!/bin/sh
# Writes the argv it got, NUL-separated, where the test reads it; answers
# --help as a bwrap with (or, BWRAP_OLD=1, without) --disable-userns.
if [ "$1" = --help ]; then
  [ -n "$BWRAP_OLD" ] || echo "    --disable-userns             Disable further use of user namespaces"
  exit 0
fi
for a in "$@"; do printf '%s\\0' "$a"; done > "$ARGV_OUT"
"""


def bwrap_argv(tmp_path: Path, home: Path, *args: str, **env: str) -> list[str]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "bwrap").write_text(BWRAP_STAND_IN)
    (bindir / "bwrap").chmod(0o755)
    out = tmp_path / "argv"
    full_env = {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "ARGV_OUT": str(out),
        "TERM": "xterm",
        "SECRET_TOKEN": "do-not-pass",
        **env,
    }
    res = run([str(assemble("claude-sandbox", tmp_path)), *args], env=full_env)
    assert res.returncode == 0, res.stderr
    return out.read_text().split("\0")[:-1]


def pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_bubblewrap_launcher_builds_the_contract_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text("{}")
    (home / ".ssh").mkdir()
    for name in ("id_ed25519", "id_ed25519.pub", "known_hosts", "config"):
        (home / ".ssh" / name).write_text(name)
    project = tmp_path / 'a "quoted" project'
    project.mkdir()
    odd = ["arg with space", "it's", "$(no)"]

    argv = bwrap_argv(tmp_path, home, "--no-network", "--agent", "my-agent", str(project),
                      "--", *odd)  # fmt: skip
    assert "--unshare-net" in argv
    assert "--new-session" in argv
    assert "--disable-userns" in argv and "--unshare-user" in argv
    assert (str(project), str(project)) in pairs(argv, "--bind")
    assert argv[argv.index("--chdir") + 1] == str(project)
    # Without --claude-config: nothing of the person's Claude config.
    assert not any(".claude" in a for a in argv)
    # ~/.ssh: public material only.
    ssh_binds = {src for src, _ in pairs(argv, "--ro-bind") if "/.ssh/" in src}
    assert ssh_binds == {str(home / ".ssh" / n) for n in ("id_ed25519.pub", "known_hosts", "config")}
    assert not any(a.endswith("id_ed25519") for a in argv)
    assert argv[argv.index("--tmpfs", argv.index("--perms")) + 1] == str(home)
    # The agent and its arguments arrive intact after the constant checker script.
    tail = argv[argv.index("--") + 1 :]
    assert (
        tail[0] == "/bin/sh"
        and tail[1] == "-c"
        and tail[3:] == ["claude-sandbox", "my-agent", *odd]
    )
    env = dict(pairs(argv, "--setenv"))
    assert env["HOME"] == str(home) and env["PATH"] == "/nonexistent/sandbox_env/bin"
    assert "SECRET_TOKEN" not in env and env["TERM"] == "xterm"
    assert "SSH_AUTH_SOCK" not in env and "CLAUDE_CONFIG_DIR" not in env

    with_net = bwrap_argv(tmp_path, home, str(project), BWRAP_OLD="1")
    assert "--unshare-net" not in with_net
    assert "--new-session" in with_net and "--disable-userns" not in with_net
    assert with_net[with_net.index("--") + 4 :] == ["claude-sandbox", "claude"]


def test_bubblewrap_launcher_claude_config_ssh_agent_and_git(tmp_path: Path) -> None:
    import socket

    home = tmp_path / "home"
    person = home / ".claude"
    (person / "agents").mkdir(parents=True)
    (person / "projects").mkdir()
    (person / "settings.json").write_text("{}")
    (person / ".credentials.json").write_text("{}")
    (home / ".claude.json").write_text('{"person": 1}')
    project = tmp_path / "p"
    (project / ".git").mkdir(parents=True)
    (project / ".git" / "config").write_text("[core]\n")
    config = tmp_path / "state" / "claude" / "sb1"
    config.mkdir(parents=True)
    sock_path = tmp_path / "agent.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        argv = bwrap_argv(tmp_path, home, "--ssh-agent", "--claude-config", str(config),
                          str(project), SSH_AUTH_SOCK=str(sock_path),
                          CLAUDE_CONFIG_DIR="")  # fmt: skip
        no_agent = bwrap_argv(tmp_path, home, str(project), SSH_AUTH_SOCK=str(sock_path))
    finally:
        sock.close()
    binds, ro = pairs(argv, "--bind"), pairs(argv, "--ro-bind")
    env = dict(pairs(argv, "--setenv"))
    assert (str(config), str(config)) in binds and env["CLAUDE_CONFIG_DIR"] == str(config)
    assert (str(person / "settings.json"), str(config / "settings.json")) in ro
    assert (str(person / "agents"), str(config / "agents")) in ro
    assert not any(src == str(person / "projects") for src, _ in ro + binds)  # sandbox state
    assert (str(person / ".credentials.json"), str(config / ".credentials.json")) in binds
    assert not any(src == str(person) for src, _ in ro + binds)
    assert (config / ".claude.json").read_text() == '{"person": 1}'
    assert str(home / ".claude.json") == argv[argv.index("--file") + 2]
    assert (str(sock_path), "/run/claude-sandbox/ssh-agent.sock") in ro
    assert env["SSH_AUTH_SOCK"] == "/run/claude-sandbox/ssh-agent.sock"
    git = project / ".git"
    assert (str(git), str(git)) in binds
    assert {(str(git / "config"),) * 2, (str(git / "hooks"),) * 2} <= set(ro)
    assert (git / "hooks").is_dir()
    # .git after the project, so it wins.
    assert argv.index(str(git)) > argv.index(str(project))
    assert "SSH_AUTH_SOCK" not in dict(pairs(no_agent, "--setenv"))
    assert not any("ssh-agent" in a for a in no_agent)


def test_launchers_refuse_a_git_they_cannot_protect(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "p"
    (project / "real-git").mkdir(parents=True)
    (project / ".git").symlink_to("real-git")
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    for launcher in ("claude-sandbox", "claude-sandbox-vm"):
        res = run([str(assemble(launcher, tmp_path)), str(project)], env=env)
        assert res.returncode == 2 and "is a symlink" in res.stderr, res.stderr


def test_bubblewrap_launcher_worktree_git(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    main = tmp_path / "main" / ".git"
    gitdir = main / "worktrees" / "wt"
    (gitdir).mkdir(parents=True)
    (main / "config").write_text("")
    (main / "hooks").mkdir()
    (gitdir / "commondir").write_text("../..\n")
    project = tmp_path / "wt"
    project.mkdir()
    (project / ".git").write_text(f"gitdir: {gitdir}\n")
    argv = bwrap_argv(tmp_path, home, str(project))
    ro = {src for src, dst in pairs(argv, "--ro-bind") if src == dst}
    assert {str(project / ".git"), str(main / "config"), str(main / "hooks")} <= ro


def test_bubblewrap_launcher_forwards_only_the_sandbox_display(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "p"
    project.mkdir()
    disp = display.start(tmp_path, (320, 240))
    try:
        xauth = disp.xauthority
        number = disp.name.lstrip(":")
        argv = bwrap_argv(tmp_path, home, str(project), DISPLAY=disp.name, XAUTHORITY=str(xauth))
    finally:
        display.stop(disp.process)
    x_binds = [src for src, _ in pairs(argv, "--ro-bind") if src.startswith("/tmp/.X11-unix")]
    assert x_binds == [f"/tmp/.X11-unix/X{number}"]
    assert (str(xauth), f"/run/user/{os.getuid()}/xauthority") in pairs(argv, "--ro-bind")
    env = dict(pairs(argv, "--setenv"))
    assert env["DISPLAY"] == f":{number}"
    assert env["XAUTHORITY"] == f"/run/user/{os.getuid()}/xauthority"


def test_launchers_refuse_the_home_as_project(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    for launcher in ("claude-sandbox", "claude-sandbox-vm"):
        res = run([str(assemble(launcher, tmp_path)), str(home)], env=env)
        assert res.returncode == 2 and "is your home or holds it" in res.stderr


# -- the NixOS VM test's driver, against this checkout ---------------------------------


def test_vm_test_driver_passes_against_this_hostd() -> None:
    env = {**os.environ, "PATH": f"{STUBS}{os.pathsep}{os.environ['PATH']}"}
    res = subprocess.run(
        [sys.executable, str(NIX / "tests" / "drive_hostd.py"), sys.executable, "-m", "hostd"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "lifecycle ok" in res.stdout


def test_app_wrapper_gets_qt_settings_and_qt_api() -> None:
    """The package's preFixup, run in bash as stdenv runs it, followed by the
    test nixpkgs' Python wrapper makes of makeWrapperArgs (wrap.sh reads it
    as an array only if `declare -p` says `declare -a`, else only as a
    string, which for an array is its first element)."""
    text = (NIX / "package.nix").read_text()
    # An attribute would be exported, and `+=(...)` on it gives `declare -ax`.
    assert not re.search(r"^\s*makeWrapperArgs\s*=", text, re.M)
    snippet = re.search(r"preFixup = lib\.optionalString withApp ''\n(.*?)\n\s*'';", text, re.S)
    assert snippet is not None
    script = snippet.group(1).replace("''${", "${")
    probe = f"""
qtWrapperArgs=(--prefix QT_PLUGIN_PATH : /nix/store/qtbase/plugins)
{script}
if [[ "$(declare -p makeWrapperArgs)" =~ ^'declare -a makeWrapperArgs=' ]]; then
  printf '%s\\n' "${{makeWrapperArgs[@]}}"
else
  echo not-an-array
fi
"""
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:7] == [
        "--prefix", "QT_PLUGIN_PATH", ":", "/nix/store/qtbase/plugins",
        "--set", "QT_API", "pyside6",
    ]  # fmt: skip
