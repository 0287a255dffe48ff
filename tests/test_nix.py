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
* the hook script hostd writes into a Claude sandbox's hooks folder
  (hostd/claude/hooks.py) passes shellcheck as POSIX sh: it runs inside
  every backend;
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

from hostd.claude import hooks
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
    argv = launcher_argv(be, "/project", ["agent", "--agent-arg"], False, "/run/qmp.sock",
                         ssh_agent=True, claude_config="/config", hooks="/hooks")  # fmt: skip
    flags = {a for a in argv[1 : argv.index("/project")] if a.startswith("--")}
    assert {"--agent", "--no-network", "--claude-config", "--hooks"} <= flags
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


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_usage_names_the_isolation_flags(launcher: str, tmp_path: Path) -> None:
    """--ssh-agent, --claude-config DIR and --hooks DIR (the contract's)."""
    usage = run([str(assemble(launcher, tmp_path)), "--help"]).stdout
    assert "[--ssh-agent]" in usage and "[--claude-config DIR]" in usage
    assert "[--hooks DIR]" in usage
    for flag in ("--claude-config", "--hooks"):
        res = run([str(assemble(launcher, tmp_path)), flag])
        assert res.returncode == 2 and f"{flag} needs a folder" in res.stderr


@needs_shellcheck
def test_hook_script_passes_shellcheck_as_posix_sh(tmp_path: Path) -> None:
    hooks.make(tmp_path / "hooks", 600)
    res = run(["shellcheck", "--shell=sh", str(tmp_path / "hooks" / "hook.sh")])
    assert res.returncode == 0, res.stdout + res.stderr


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
  [ -n "$BWRAP_OLD" ] || echo "    --disable-userns    Disable further use of user namespaces"
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
                      "--", *odd, CLAUDE_SANDBOX_PASS_ENV="HTTP_PROXY,SSH_AUTH_SOCK",
                      HTTP_PROXY="http://proxy:3128", SSH_AUTH_SOCK="/tmp/agent")  # fmt: skip
    assert "--unshare-net" in argv
    assert "--new-session" in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"  # root keeps no capability inside
    # What the person names for the host passes; the agent socket never does that way.
    named = dict(pairs(argv, "--setenv"))
    assert named["HTTP_PROXY"] == "http://proxy:3128" and "SSH_AUTH_SOCK" not in named
    assert "--disable-userns" in argv and "--unshare-user" in argv
    assert (str(project), str(project)) in pairs(argv, "--bind")
    assert argv[argv.index("--chdir") + 1] == str(project)
    # Without --claude-config: nothing of the person's Claude config.
    assert not any(".claude" in a for a in argv)
    # ~/.ssh: public material only.
    ssh_binds = {src for src, _ in pairs(argv, "--ro-bind") if "/.ssh/" in src}
    assert ssh_binds == {
        str(home / ".ssh" / n) for n in ("id_ed25519.pub", "known_hosts", "config")
    }
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
    # git takes config and hooks from the folder a commondir names, in any
    # repository: one naming .git itself is made, and kept read-only.
    assert (str(git / "commondir"),) * 2 in ro and (git / "commondir").read_text() == ".\n"
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


def test_bubblewrap_launcher_binds_the_hooks_folder_read_only_and_its_events_read_write(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    project = tmp_path / "p"
    project.mkdir()
    # Where hostd's state folder usually is: in the home, whose tmpfs comes first.
    folder = home / ".local" / "state" / "claude-sandbox" / "run" / "sb1" / "hooks"
    hooks.make(folder, 600)
    argv = bwrap_argv(tmp_path, home, "--hooks", str(folder), str(project))
    triples = [tuple(argv[i : i + 3]) for i in range(len(argv) - 2)]
    ro = triples.index(("--ro-bind", str(folder), str(folder)))
    rw = triples.index(("--bind", str(folder / "events"), str(folder / "events")))
    assert triples.index(("--perms", "0700", "--tmpfs")) < ro < rw
    # Nothing else of the runtime folder.
    assert not any(a.startswith(str(folder.parent)) and not a.startswith(str(folder))
                   for a in argv)  # fmt: skip


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("relative", "--hooks needs an absolute path"),
        ("link", "is a symlink"),
        ("events-link", "is a symlink"),
        ("no-events", "has no events folder"),
        ("in-project", "overlaps"),
        ("holds-project", "overlaps"),
        ("in-config", "overlaps"),
    ],
)
def test_launchers_refuse_a_hooks_folder_they_cannot_keep(
    launcher: str, where: str, message: str, tmp_path: Path
) -> None:
    if launcher == "claude-sandbox-container" and os.geteuid() != 0:
        pytest.skip("the container launcher runs as root")
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "top" / "p"
    config = tmp_path / "config"
    real = tmp_path / "state" / "hooks"
    hooks.make(real, 600)
    (project / "hooks" / "events").mkdir(parents=True)
    (config / "hooks" / "events").mkdir(parents=True)
    (tmp_path / "top" / "events").mkdir()
    (tmp_path / "link").symlink_to(real)
    (tmp_path / "evlink").mkdir()
    (tmp_path / "evlink" / "events").symlink_to(real / "events")
    (tmp_path / "bare").mkdir()
    folder = {
        "relative": "state/hooks",
        "link": str(tmp_path / "link"),
        "events-link": str(tmp_path / "evlink"),
        "no-events": str(tmp_path / "bare"),
        "in-project": str(project / "hooks"),
        "holds-project": str(tmp_path / "top"),
        "in-config": str(config / "hooks"),
    }[where]
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "SUDO_UID": str(os.getuid())}
    res = run([str(assemble(launcher, tmp_path)), "--claude-config", str(config),
               "--hooks", folder, str(project)], env=env, stdin=subprocess.DEVNULL)  # fmt: skip
    assert res.returncode == 2 and message in res.stderr, res.stderr


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


# -- the bubblewrap launcher run for real, with a probe agent -----------------------

# Run through the real bwrap. What stands in for the Nix store: the sandbox's
# programs (sandbox_env) are copies of the host's in a folder, and this shim,
# first on PATH, hands bwrap the launcher's argv unchanged plus, just before
# the command, the host's /usr/lib and /lib64 and that folder (what the store
# paths would bring: the programs and their libraries).
BWRAP_SHIM = """#!/bin/sh
store=$STAND_IN_STORE
n=$#
i=0
for a in "$@"; do
  i=$((i + 1))
  if [ "$a" = -- ] && [ -z "$done" ]; then
    set -- "$@" --ro-bind /usr/lib /usr/lib --ro-bind /usr/lib64 /usr/lib64 \\
      --symlink usr/lib /lib --symlink usr/lib64 /lib64 --ro-bind "$store" "$store"
    done=1
  fi
  set -- "$@" "$a"
done
shift "$n"
exec /usr/bin/bwrap "$@"
"""

PROBE = r"""#!/bin/sh
# The probe agent: checks the contract's rules from inside and prints
# name=yes|no lines.
say() { if eval "$2"; then echo "$1=yes"; else echo "$1=no"; fi; }
H=$HOME
say private_key 'test -e "$H/.ssh/id_ed25519"'
say known_hosts_read 'cat "$H/.ssh/known_hosts" >/dev/null'
say known_hosts_write '(echo x >>"$H/.ssh/known_hosts") 2>/dev/null'
say person_claude '[ -e "$H/.claude" ]'
say config_dir_is_env '[ "$CLAUDE_CONFIG_DIR" = "$EXPECT_CONFIG" ]'
say config_dir_write 'touch "$CLAUDE_CONFIG_DIR/made-inside" 2>/dev/null'
say settings_read 'cat "$CLAUDE_CONFIG_DIR/settings.json" >/dev/null'
say settings_write '(echo x >>"$CLAUDE_CONFIG_DIR/settings.json") 2>/dev/null'
say person_state '[ -e "$CLAUDE_CONFIG_DIR/projects/person-session" ]'
say credentials_write '(echo refreshed >"$CLAUDE_CONFIG_DIR/.credentials.json") 2>/dev/null'
say home_claude_json '[ -f "$H/.claude.json" ]'
C=$CLAUDE_CONFIG_DIR
say config_json_rename 'echo "{}" >"$C/.cj.tmp" && mv "$C/.cj.tmp" "$C/.claude.json"'
S=/run/claude-sandbox/ssh-agent.sock
say ssh_agent '[ "${SSH_AUTH_SOCK:-}" = "$S" ] && [ -S "$SSH_AUTH_SOCK" ]'
say git_config_write '(echo x >>.git/config) 2>/dev/null'
say git_hook_write '(echo x >.git/hooks/pre-commit) 2>/dev/null'
say git_rename 'mv .git .git-away 2>/dev/null'
say git_commondir_write '(echo evil >.git/commondir) 2>/dev/null'
say git_inside_write 'touch .git/index 2>/dev/null'
say project_write 'touch made-inside 2>/dev/null'
say userns 'unshare -U true 2>/dev/null'
say secret_env '[ -n "${SECRET_TOKEN:-}" ]'
K=$EXPECT_HOOKS
say hooks_script_write '(echo x >>"$K/hook.sh") 2>/dev/null'
say hooks_answer_write '(echo x >"$K/answers/x.json") 2>/dev/null'
say hooks_new_file '(echo x >"$K/new") 2>/dev/null'
say hooks_event_write 'echo x >"$K/events/x.Stop.json"'
say hooks_hook_runs 'echo "{}" | sh "$K/hook.sh" Stop && ls "$K/events" | grep -q "[.]Stop[.]json$"'
say runtime_folder_shown '[ -e "$K/../tmux.sock" ]'
"""

PROBE_TOOLS = ["dash", "cat", "touch", "mv", "mkdir", "env", "unshare", "ls", "rm", "date",
               "head", "wc", "sleep", "grep"]  # fmt: skip


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bwrap")
def test_bubblewrap_launcher_holds_the_rules_from_inside(tmp_path: Path) -> None:
    import socket

    store = tmp_path / "store"
    (store / "bin").mkdir(parents=True)
    for tool in PROBE_TOOLS:
        src = shutil.which(tool)
        assert src, tool
        shutil.copy(src, store / "bin" / tool)
    (store / "bin" / "sh").symlink_to("dash")
    (store / "bin" / "probe").write_text(PROBE)
    (store / "bin" / "probe").chmod(0o755)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "bwrap").write_text(BWRAP_SHIM)
    (bindir / "bwrap").chmod(0o755)

    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE")
    (home / ".ssh" / "known_hosts").write_text("host ssh-ed25519 AAAA")
    person = home / ".claude"
    (person / "projects").mkdir(parents=True)
    (person / "projects" / "person-session").write_text("")
    (person / "settings.json").write_text("{}")
    (person / ".credentials.json").write_text("token")
    (home / ".claude.json").write_text("{}")
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".git" / "config").write_text("[core]\n")
    config = tmp_path / "state" / "sb1"
    config.mkdir(parents=True, mode=0o700)
    rundir = tmp_path / "state" / "run" / "sb1"
    hooks.make(rundir / "hooks", 600)
    (rundir / "tmux.sock").write_text("")  # what else the runtime folder holds
    sock_path = tmp_path / "agent.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))

    text = assemble("claude-sandbox", tmp_path).read_text()
    text = text.replace("sandbox_env=/nonexistent/sandbox_env", f"sandbox_env={store}")
    text = text.replace("posix_sh=/bin/sh", f"posix_sh={store}/bin/dash")
    launcher = tmp_path / "claude-sandbox"
    launcher.write_text(text)
    env = {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "STAND_IN_STORE": str(store),
        "SSH_AUTH_SOCK": str(sock_path),
        "SECRET_TOKEN": "do-not-pass",
        # Forwarded (CLAUDE_*), so the probe knows what to expect.
        "CLAUDE_SANDBOX_EXPECT": "1",
    }
    try:
        res = run([str(launcher), "--ssh-agent", "--claude-config", str(config),
                   "--hooks", str(rundir / "hooks"), "--agent", "env", str(project), "--",
                   f"EXPECT_CONFIG={config}", f"EXPECT_HOOKS={rundir / 'hooks'}", "probe"],
                  env=env)  # fmt: skip
    finally:
        sock.close()
    assert res.returncode == 0, res.stdout + res.stderr
    got = dict(line.split("=", 1) for line in res.stdout.split() if "=" in line)
    assert got == {
        "private_key": "no",
        "known_hosts_read": "yes",
        "known_hosts_write": "no",
        "person_claude": "no",
        "config_dir_is_env": "yes",
        "config_dir_write": "yes",
        "settings_read": "yes",
        "settings_write": "no",
        "person_state": "no",
        "credentials_write": "yes",
        "home_claude_json": "yes",
        "config_json_rename": "yes",
        "ssh_agent": "yes",
        "git_config_write": "no",
        "git_hook_write": "no",
        "git_rename": "no",
        "git_commondir_write": "no",
        "git_inside_write": "yes",
        "project_write": "yes",
        "userns": "no",
        "secret_env": "no",
        "hooks_script_write": "no",
        "hooks_answer_write": "no",
        "hooks_new_file": "no",
        "hooks_event_write": "yes",
        "hooks_hook_runs": "yes",
        "runtime_folder_shown": "no",
    }, res.stderr
    # What the sandbox wrote where it may; the person's files as they were.
    assert (person / ".credentials.json").read_text() == "refreshed\n"
    assert (person / "settings.json").read_text() == "{}"
    assert (home / ".ssh" / "known_hosts").read_text() == "host ssh-ed25519 AAAA"
    assert (config / "made-inside").exists() and (project / "made-inside").exists()
    assert not (project / ".git" / "hooks" / "pre-commit").exists()
    assert (project / ".git" / "config").read_text() == "[core]\n"
    assert (rundir / "hooks" / "hook.sh").read_text() == hooks.HOOK_SH
    assert not (rundir / "hooks" / "answers" / "x.json").exists()
    assert len(list((rundir / "hooks" / "events").glob("*-*.Stop.json"))) == 1


# -- the container launcher's set-up, as root, against a home full of traps -----------

# systemd-nspawn cannot run here (no systemd as PID 1, no machine to boot
# into); this stand-in at its process boundary records the argv it got and a
# copy of the container tree (--directory) it was handed, which is all the
# launcher gives it.
NSPAWN_STAND_IN = """#!/bin/sh
for a in "$@"; do printf '%s\\0' "$a"; done > "$ARGV_OUT"
for a in "$@"; do
  case "$a" in --directory=*) cp -a "${a#--directory=}" "$TREE_OUT" ;; esac
done
"""

needs_root_bwrap = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("bwrap") is None or shutil.which("setpriv") is None,
    reason="needs root, bwrap and setpriv",
)


@needs_root_bwrap
def test_container_launcher_as_root_takes_nothing_through_symlinks(tmp_path: Path) -> None:
    import tempfile

    uid = 4242
    # A folder the person can traverse (pytest's tmp_path is root's alone).
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="csb-container-"))
    try:
        base.chmod(0o755)
        secret = base / "secret"  # root's, 0600: stands in for /etc/shadow
        secret.write_text("SECRET")
        secret.chmod(0o600)
        rootdir = base / "rootdir"  # a root-owned folder
        rootdir.mkdir(mode=0o700)
        (rootdir / "inside").write_text("SECRET")
        home = base / "home"
        project = home / "project"
        (project / ".git").mkdir(parents=True)
        (project / ".git" / "config").write_text("[core]\n")
        (home / ".ssh").mkdir()
        (home / ".ssh" / "id_ed25519").write_text("PRIVATE")
        (home / ".ssh" / "known_hosts").write_text("host key")
        (home / ".ssh" / "config").symlink_to(secret)
        (home / ".claude.json").symlink_to(secret)
        (home / ".claude").symlink_to(rootdir)
        (home / ".gitconfig").symlink_to(secret)
        config = base / "state" / "sb1"
        config.mkdir(parents=True, mode=0o700)
        # A ':' is systemd-nspawn's separator in --bind=: escaped.
        hooks_dir = base / "state" / "run:1" / "hooks"
        hooks.make(hooks_dir, 600)
        for path in [home, *home.rglob("*"), config, hooks_dir, *hooks_dir.iterdir()]:
            os.lchown(path, uid, uid)
        (base / "state").chmod(0o755)
        (base / "state" / "run:1").chmod(0o755)
        (base / "passwd").write_text(
            f"root:x:0:0::/root:/bin/sh\nann:x:{uid}:{uid}::{home}:/bin/sh\n"
        )
        (base / "group").write_text(f"root:x:0:\nann:x:{uid}:\n")
        bindir = tmp_path / "bin"
        bindir.mkdir()
        (bindir / "systemd-nspawn").write_text(NSPAWN_STAND_IN)
        (bindir / "systemd-nspawn").chmod(0o755)
        launcher = assemble("claude-sandbox-container", tmp_path)
        argv_out, tree = tmp_path / "argv", tmp_path / "tree"
        env = {
            "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "SUDO_UID": str(uid),
            "SUDO_USER": "root",  # never trusted
            "HOME": str(rootdir),  # never trusted
            "XDG_RUNTIME_DIR": str(rootdir),  # never trusted
            "DISPLAY": ":7",
            "XAUTHORITY": str(secret),  # read as the person: nothing
            "SSH_AUTH_SOCK": str(secret),
            "ARGV_OUT": str(argv_out),
            "TREE_OUT": str(tree),
        }
        # A mount namespace of the test's own, where the person exists.
        outer = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(base / "passwd"), "/etc/passwd",
                 "--ro-bind", str(base / "group"), "/etc/group", "--"]  # fmt: skip
        res = run([*outer, str(launcher), "--ssh-agent", "--claude-config", str(config),
                   "--hooks", str(hooks_dir), str(project)], env=env)  # fmt: skip
        assert res.returncode == 0, res.stderr
        argv = argv_out.read_text().split("\0")[:-1]

        # Nothing of root's became the person's, or readable to them.
        assert (secret.stat().st_uid, secret.stat().st_mode & 0o777) == (0, 0o600)
        assert (rootdir.stat().st_uid, rootdir.stat().st_mode & 0o777) == (0, 0o700)
        assert (rootdir / "inside").stat().st_uid == 0
        for path in tree.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert b"SECRET" not in path.read_bytes(), path
                assert b"PRIVATE" not in path.read_bytes(), path
        assert not any(str(secret) in a or str(rootdir) in a for a in argv), argv
        assert not any("id_ed25519" in a for a in argv)
        # The home and the user from passwd; the public SSH file copied.
        assert "--user=ann" in argv and f"--setenv=HOME={home}" in argv
        assert (tree / str(home).lstrip("/") / ".ssh" / "known_hosts").read_text() == "host key"
        assert not (tree / str(home).lstrip("/") / ".ssh" / "id_ed25519").exists()
        assert not (tree / str(home).lstrip("/") / ".claude.json").exists()
        assert not any(a.startswith("--setenv=SSH_AUTH_SOCK") for a in argv)
        assert not any(a.startswith("--setenv=XAUTHORITY") for a in argv)
        # The contract's binds, as the person's.
        assert f"--bind={config}" in argv and f"--setenv=CLAUDE_CONFIG_DIR={config}" in argv
        assert f"--bind={project / '.git'}" in argv
        assert f"--bind-ro={project / '.git' / 'config'}" in argv
        assert f"--bind-ro={project / '.git' / 'hooks'}" in argv
        assert (project / ".git" / "hooks").stat().st_uid == uid
        escaped = str(hooks_dir).replace(":", "\\:")
        assert argv.index(f"--bind-ro={escaped}") < argv.index(f"--bind={escaped}/events")
        assert "is a symlink" in res.stderr
    finally:
        shutil.rmtree(base)


# -- the VM launcher's set-up, up to the VM ------------------------------------------

# The VM cannot boot here (nothing of the guest is built); this stand-in for
# the VM runner, a process boundary, records what the launcher gave the guest
# (the exchange folder and the SSH share) and plays a guest that refreshed
# the login.
VM_RUNNER_STAND_IN = """#!/bin/sh
cp -RL "$TMPDIR/xchg" "$XCHG_OUT"
cp -RL "$CLAUDE_SANDBOX_VM_SSH" "$SSH_OUT"
readlink "$CLAUDE_SANDBOX_VM_CLAUDE_CONFIG" > "$CONFIG_OUT" || true
readlink "$CLAUDE_SANDBOX_VM_HOOKS" > "$HOOKS_OUT" || true
printf refreshed > "$TMPDIR/xchg/credentials.json"
printf 0 > "$TMPDIR/xchg/exit-status"
"""


def test_vm_launcher_gives_the_guest_copies_and_copies_the_login_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE")
    (home / ".ssh" / "id_ed25519.pub").write_text("public")
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "credentials").write_text("https://token@host")
    (home / ".config" / "git" / "ignore").write_text("*.o")
    person = home / ".claude"
    (person / "projects").mkdir(parents=True)
    (person / "settings.json").write_text("{}")
    (person / ".credentials.json").write_text("token")
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    config = tmp_path / "state" / "sb1"
    config.mkdir(parents=True)
    hooks_dir = tmp_path / "state" / "run" / "sb1" / "hooks"
    hooks.make(hooks_dir, 600)
    runner = tmp_path / "runner"
    runner.write_text(VM_RUNNER_STAND_IN)
    runner.chmod(0o755)
    text = assemble("claude-sandbox-vm", tmp_path).read_text()
    launcher = tmp_path / "claude-sandbox-vm"
    launcher.write_text(text.replace("vm_runner=/nonexistent/vm_runner", f"vm_runner={runner}"))
    out = {k: tmp_path / k.lower() for k in ("XCHG_OUT", "SSH_OUT", "CONFIG_OUT", "HOOKS_OUT")}
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_RUNTIME_DIR": str(tmp_path),
           **{k: str(v) for k, v in out.items()}}  # fmt: skip
    res = run([str(launcher), "--ssh-agent", "--claude-config", str(config),
               "--hooks", str(hooks_dir), str(project)],
              env=env, stdin=subprocess.DEVNULL)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "the VM cannot take the SSH agent" in res.stderr
    xchg, ssh = out["XCHG_OUT"], out["SSH_OUT"]
    assert sorted(p.name for p in ssh.iterdir()) == ["id_ed25519.pub"]
    assert sorted(p.name for p in (xchg / "home" / ".config" / "git").iterdir()) == ["ignore"]
    assert sorted(p.name for p in (xchg / "claude-ro").iterdir()) == ["settings.json"]
    assert (xchg / "claude-config").read_text() == str(config)
    assert f"CLAUDE_CONFIG_DIR={config}" in (xchg / "env").read_text().split("\0")
    assert out["CONFIG_OUT"].read_text().strip() == str(config)
    # The hooks folder: shared as it is, and mounted by the guest at its path.
    assert out["HOOKS_OUT"].read_text().strip() == str(hooks_dir)
    assert (xchg / "hooks").read_text() == str(hooks_dir)
    assert (xchg / "git-self").read_text() == f"{project / '.git'}\0"
    git_ro = (xchg / "git-ro").read_text().split("\0")[:-1]
    assert git_ro == [str(project / ".git" / "hooks"), str(project / ".git" / "commondir")]
    # The guest's refresh came back into the person's file.
    assert (person / ".credentials.json").read_text() == "refreshed"
    assert not any(b"PRIVATE" in p.read_bytes() for p in xchg.rglob("*") if p.is_file())


def test_every_launcher_keeps_the_same_claude_state_as_the_built_in_one() -> None:
    """The sandbox's own part of a Claude config folder is listed twice, in
    bash for the Nix launchers and in Python for hostd's: they must agree, or
    one backend would show the person's transcripts, or hide their settings."""
    from hostd.sandbox.bwrap_binds import CLAUDE_STATE

    text = (REPO / "nix" / "backends" / "common.sh").read_text()
    match = re.search(r"^claude_state_names=\(([^)]*)\)", text, re.M)
    assert match is not None
    assert set(match.group(1).split()) == CLAUDE_STATE
