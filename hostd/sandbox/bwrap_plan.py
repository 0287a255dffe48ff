"""What the built-in launcher asks of bwrap: the plan of the sandbox's world.

The launcher (:mod:`hostd.sandbox.bwrap_launcher`) reads its command line and
execs bwrap; this module checks the host side and builds bwrap's argv. It is
the standard library only and imports nothing from hostd, because the launcher
runs by file path with ``python -I`` and loads this file (after
:mod:`.bwrap_binds`) by its path beside it: ``-I`` keeps the script's own
folder off ``sys.path``. hostd imports it by name for the environment's
allow-list, so both sides agree on it.

Every bind below says why it is safe: what the agent can do with it, and why
nothing it does there runs later outside the sandbox.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:  # imported by hostd, or checked
    from .bwrap_binds import (
        PROG,
        UsageError,
        claude_config_args,
        git_args,
        hooks_args,
        under_any,
    )
else:  # loaded by the launcher by file path, after bwrap_binds (its sys.modules entry)
    from bwrap_binds import PROG, UsageError, claude_config_args, git_args, hooks_args, under_any

__all__ = ["PROG", "Options", "Plan", "UsageError", "bwrap_can_disable_userns", "plan"]

# Folders of the home that hold installed agents and their runtimes (Claude
# Code's native installer, npm's user prefix, nvm, volta, bun). Read-only:
# programs, not data, so the agent can run but not modify them.
HOME_TOOL_DIRS = (
    ".local/bin",
    ".local/share/claude",
    ".npm-global",
    ".nvm",
    ".volta",
    ".bun",
)
# Read-only: the agent commits with the person's name and reads their git
# settings, and cannot change what git runs for the person outside.
HOME_RO_CONFIG = (".gitconfig", ".config/git")
# Of ~/.ssh, what lets ssh and git check hosts and pick keys, never a key
# itself: known_hosts and config, and the public halves (*.pub).
SSH_SHOWN = ("known_hosts", "config")

SYSTEM_DIRS = ("/usr", "/etc", "/opt", "/nix", "/sys")
# On merged-/usr systems these are symlinks into /usr and are recreated as
# such; on older layouts they are real folders and bound read-only.
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

KEEP_ENV = frozenset(
    {
        "PATH", "TERM", "COLORTERM", "TERM_PROGRAM", "LANG", "LANGUAGE", "TZ",
        "USER", "LOGNAME", "EDITOR", "VISUAL", "PAGER", "NO_COLOR", "FORCE_COLOR",
        "DISPLAY",
    }
)  # fmt: skip
KEEP_ENV_PREFIXES = ("LC_", "CLAUDE_", "ANTHROPIC_")
# The names the person lets through on this host (docs/protocol.md); what the
# sandbox's own settings decide is never taken from it.
PASS_ENV_VAR = "CLAUDE_SANDBOX_PASS_ENV"
NEVER_PASS = frozenset(
    {"SSH_AUTH_SOCK", "DISPLAY", "XAUTHORITY", "HOME", "CLAUDE_CONFIG_DIR", PASS_ENV_VAR}
)

# Where the sandbox finds what is handed to it from outside its home.
RUN_DIR = "/run/claude-sandbox"
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

_DISPLAY_RE = re.compile(r"(?:unix)?:(\d+)(?:\.\d+)?")

# Runs inside the sandbox as `sh -c CHECK_AND_EXEC claude-sandbox AGENT ARGS...`.
# A constant: the agent and its arguments arrive as positional parameters and
# are never pasted into the script.
CHECK_AND_EXEC = (
    """\
if ! command -v "$1" >/dev/null 2>&1; then
  printf 'claude-sandbox: the agent %s was not found inside the sandbox.\\n' "$1" >&2
  printf 'Looked on PATH=%s\\n' "$PATH" >&2
  echo 'Of programs installed in your home, only those under TOOL_DIRS are visible.' >&2
  echo 'Install the agent system-wide (under /usr or /opt) or pass its full path with --agent.' >&2
  exit 127
fi
exec "$@"
"""
).replace("TOOL_DIRS", ", ".join(f"~/{d}" for d in HOME_TOOL_DIRS))


@dataclass
class Options:
    project: str
    agent: str = "claude"
    agent_args: list[str] = field(default_factory=list)
    network: bool = True
    shell: bool = False
    ssh_agent: bool = False
    claude_config: str | None = None
    hooks: str | None = None


@dataclass
class Plan:
    """The bwrap argv, and the file descriptors it reads (kept open across exec)."""

    argv: list[str]
    fds: list[int] = field(default_factory=list)


def plan(opts: Options, env: Mapping[str, str], bwrap: str, userns_off: bool) -> Plan:
    """Check the host side and build the bwrap command. Raises UsageError.

    ``userns_off``: this bwrap has ``--disable-userns`` (:func:`bwrap_can_disable_userns`).
    """
    home = _home(env)
    project = _project(opts.project, home)
    args: list[str] = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc"]
    args += ["--unshare-cgroup-try"]
    # A new session: the agent cannot push keystrokes into the pane's
    # terminal (TIOCSTI), which tmux would read as typed by the person.
    args.append("--new-session")
    # No capabilities, even when hostd runs as root (bwrap keeps them for
    # root otherwise, and CAP_SYS_ADMIN could remount a read-only bind).
    args += ["--cap-drop", "ALL"]
    if userns_off:
        # A user namespace of its own, and no further ones inside: the agent
        # cannot gain capabilities over its mounts in a nested namespace.
        args += ["--unshare-user", "--disable-userns"]
    if not opts.network:
        # A new network namespace has only its own loopback: no route out,
        # and not even the host's 127.0.0.1 (nor its abstract unix sockets).
        args.append("--unshare-net")

    args += _system_args()
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/run"]
    resolv = os.path.realpath("/etc/resolv.conf")
    if os.path.exists(resolv) and not under_any(resolv, SYSTEM_DIRS):
        # systemd-resolved and resolvconf keep the real file under /run;
        # read-only, and read by the resolver only.
        args += ["--ro-bind", resolv, resolv]

    setenv = _kept_env(env)
    args += _display_args(env, setenv)
    agent_sock = env.get("SSH_AUTH_SOCK", "")
    if opts.ssh_agent and agent_sock and _is_socket(agent_sock):
        # Asked for (sandbox.create ssh_agent): the agent can use the person's
        # keys through the socket while it runs, never read them.
        args += ["--bind", agent_sock, f"{RUN_DIR}/ssh-agent.sock"]
        setenv["SSH_AUTH_SOCK"] = f"{RUN_DIR}/ssh-agent.sock"

    home_args, fds = _home_args(home)
    args += home_args
    if opts.claude_config is not None:
        claude_args, claude_fds = claude_config_args(opts.claude_config, env, home, project)
        args += claude_args
        fds += claude_fds
        setenv["CLAUDE_CONFIG_DIR"] = os.path.realpath(opts.claude_config)
    if opts.hooks is not None:
        # After the tmpfs of /tmp, /run and the home, where the state folder
        # usually lies: bwrap makes the folders leading to it, empty, in them.
        args += hooks_args(opts.hooks, env, home, project, opts.claude_config)
    # The project, read-write: the agent's work. What in it runs later
    # outside (.git's config and hooks) is made read-only just after.
    args += ["--bind", project, project]
    args += git_args(project)
    args += ["--chdir", project]

    user = pwd.getpwuid(os.getuid())
    setenv.setdefault("PATH", DEFAULT_PATH)
    setenv.setdefault("USER", user.pw_name)
    setenv.setdefault("LOGNAME", user.pw_name)
    setenv["HOME"] = home
    args.append("--clearenv")
    for key in sorted(setenv):
        args += ["--setenv", key, setenv[key]]

    command = [_shell(env, home)] if opts.shell else [opts.agent, *opts.agent_args]
    args += ["--", "/bin/sh", "-c", CHECK_AND_EXEC, "claude-sandbox", *command]
    return Plan(args, fds)


def bwrap_can_disable_userns(bwrap: str) -> bool:
    """Whether this bwrap has ``--disable-userns`` (0.8 and later); asked once per start."""
    import subprocess

    try:
        res = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--disable-userns" in res.stdout + res.stderr


# -- the rest of the world -----------------------------------------------------------------


def _home(env: Mapping[str, str]) -> str:
    home = env.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
    if not os.path.isabs(home):
        raise UsageError(f"HOME must be an absolute path, not {home!r}")
    # The real path: the project path hostd passes is resolved too, and the
    # two must agree on where one lies inside the other.
    return os.path.realpath(home)


def _project(path: str, home: str) -> str:
    if not os.path.isabs(path):
        raise UsageError(f"PROJECT_DIR must be an absolute path, not {path!r}")
    real = os.path.realpath(path)
    if not os.path.isdir(real):
        raise UsageError(f"PROJECT_DIR {path!r} is not an existing directory")
    if home == real or home.startswith(real.rstrip("/") + "/"):
        raise UsageError(
            f"PROJECT_DIR {path!r} is your home or holds it: the whole home would be "
            "writable inside the sandbox; choose the project's own folder"
        )
    return real


def _system_args() -> list[str]:
    # Read-only: the system's programs and settings, which the agent runs
    # and reads but cannot change.
    args: list[str] = []
    for d in SYSTEM_DIRS:
        if os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for link in SYSTEM_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    return args


def _display_args(env: Mapping[str, str], setenv: dict[str, str]) -> list[str]:
    """The sandbox's own X display and cookie, and nothing else of the host's X."""
    display = env.get("DISPLAY", "")
    match = _DISPLAY_RE.fullmatch(display)
    if match is None:
        return []  # no display, or a TCP one (reachable only with the network)
    args: list[str] = []
    sock = f"/tmp/.X11-unix/X{match.group(1)}"
    if _is_socket(sock):
        # Read-only is enough: connecting to a socket is not a write to the
        # filesystem, and the agent cannot replace or remove it. It is the
        # sandbox's own Xvfb, which shows nothing of the person's desktop.
        args += ["--ro-bind", sock, sock]
    xauth = env.get("XAUTHORITY", "")
    if xauth and os.path.isfile(xauth):
        # Read-only: the cookie of that display alone.
        args += ["--ro-bind", xauth, f"{RUN_DIR}/xauthority"]
        setenv["XAUTHORITY"] = f"{RUN_DIR}/xauthority"
    return args


def _home_args(home: str) -> tuple[list[str], list[int]]:
    args = ["--perms", "0700", "--tmpfs", home]
    for rel in (*HOME_RO_CONFIG, *HOME_TOOL_DIRS):
        path = os.path.join(home, rel)
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    ssh = os.path.join(home, ".ssh")
    try:
        names = sorted(os.listdir(ssh))
    except OSError:
        names = []
    shown = [
        n
        for n in names
        if (n in SSH_SHOWN or n.endswith(".pub")) and os.path.isfile(os.path.join(ssh, n))
    ]
    if shown:
        # A folder of its own, read-only once filled, so that ~/.ssh inside
        # is what is shown and nothing else, as outside.
        args += ["--perms", "0700", "--tmpfs", ssh]
        for name in shown:
            path = os.path.join(ssh, name)
            # Read-only, and public: host keys, ssh settings, public keys.
            args += ["--ro-bind", path, path]
        args += ["--remount-ro", ssh]
    return args, []


def _kept_env(env: Mapping[str, str]) -> dict[str, str]:
    named = {n for n in env.get(PASS_ENV_VAR, "").replace(",", " ").split() if n not in NEVER_PASS}
    return {
        k: v
        for k, v in env.items()
        if (k in KEEP_ENV or k in named or k.startswith(KEEP_ENV_PREFIXES))
        and k not in ("CLAUDE_CONFIG_DIR", PASS_ENV_VAR)
        and "\0" not in v
    }


def _shell(env: Mapping[str, str], home: str) -> str:
    """The person's shell if the sandbox has it, else bash, else sh."""
    for candidate in (env.get("SHELL", ""), "/bin/bash", "/bin/sh"):
        if (
            candidate
            and os.path.isabs(candidate)
            and not under_any(candidate, (home,))
            and os.access(candidate, os.X_OK)
        ):
            return candidate
    return "/bin/sh"


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False
