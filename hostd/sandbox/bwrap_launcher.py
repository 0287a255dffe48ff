"""hostd's built-in bubblewrap launcher, for Linux hosts without the Nix one.

    bwrap_launcher.py [--no-network] [--shell] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

It keeps the launcher contract every launcher keeps (docs/protocol.md,
``sandbox.create``: the same flags, so hostd runs any of them the same way)
and the guarantees of the Nix
launcher ``claude-sandbox``, using only what an ordinary Debian or Ubuntu
server has: ``bwrap`` and the system's own programs. What the agent sees:

* the project directory, read-write, at its own path (the working directory);
* a private home (a tmpfs at ``$HOME``, gone when the sandbox ends) holding
  ``~/.claude`` (the real one, read-write, so logins and session logs
  persist and hostd can read the sessions), a *copy* of ``~/.claude.json``
  (the agent rewrites it by rename, which a bind mount cannot take, and
  parallel sandboxes must not race on the host's copy), and read-only
  ``~/.gitconfig``, ``~/.config/git``, ``~/.ssh`` and the folders where
  agents are commonly installed in a home (:data:`HOME_TOOL_DIRS`);
* the system read-only (``/usr``, ``/etc``, ``/opt``, ``/nix``, ``/sys``),
  a new ``/proc`` and a minimal ``/dev``; private ``/tmp``, ``/var/tmp`` and
  ``/run``; nothing else of the host (other homes, ``/root``, ``/srv``,
  ``/mnt``, ``/var`` are absent);
* of the host's X, only the sandbox's own display socket and its cookie;
* the host's network, or only a private loopback with ``--no-network``;
* an environment cleared down to :data:`KEEP_ENV` (secrets in hostd's
  environment stay out).

It is the standard library only and imports nothing from hostd: hostd runs
it by file path with ``python -I``, so that neither the project directory
(the pane's working directory) nor ``PYTHONPATH`` can slip in a module of
its own. It ends by exec-ing ``bwrap``, so the pane's process is bwrap itself
and a stop reaches the sandbox directly.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

PROG = "claude-sandbox (built-in)"

USAGE = """\
usage: {prog} [--no-network] [--shell] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

Run an agent in a bubblewrap sandbox: PROJECT_DIR read-write, a private home
with ~/.claude, the rest of the system read-only.

options:
  --no-network   no network inside: only a private loopback interface
  --shell        start an interactive shell in the sandbox instead of the agent
  --agent CMD    the agent program, a name looked up on PATH inside the
                 sandbox or a path (default: claude); its arguments go after --
  --help         show this help and exit

Exit status: the agent's; 127 when the agent is not found inside the
sandbox; 2 for a usage error.
"""

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
HOME_RO_CONFIG = (".gitconfig", ".config/git", ".ssh")

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


class UsageError(Exception):
    pass


@dataclass
class Options:
    project: str
    agent: str = "claude"
    agent_args: list[str] = field(default_factory=list)
    network: bool = True
    shell: bool = False


@dataclass
class Plan:
    """The bwrap argv, and the file descriptors it reads (kept open across exec)."""

    argv: list[str]
    fds: list[int] = field(default_factory=list)


def parse_args(argv: list[str]) -> Options | None:
    """Options from the command line; None for --help. Raises UsageError."""
    agent = "claude"
    network, shell = True, False
    project: str | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            return None
        if arg == "--":
            i += 1
            break
        if project is not None:
            raise UsageError(f"unexpected {arg!r} after PROJECT_DIR (agent arguments go after --)")
        if arg == "--no-network":
            network = False
        elif arg == "--shell":
            shell = True
        elif arg == "--agent" or arg.startswith("--agent="):
            if arg == "--agent":
                if i + 1 >= len(argv):
                    raise UsageError("--agent needs a command")
                i += 1
                agent = argv[i]
            else:
                agent = arg.split("=", 1)[1]
            if not agent:
                raise UsageError("--agent is empty")
        elif arg.startswith("-") and arg != "-":
            raise UsageError(f"unknown option {arg!r}")
        else:
            project = arg
        i += 1
    if project is None:
        raise UsageError("PROJECT_DIR is missing")
    return Options(project, agent, list(argv[i:]), network, shell)


def plan(opts: Options, env: Mapping[str, str], bwrap: str) -> Plan:
    """Check the host side and build the bwrap command. Raises UsageError."""
    home = _home(env)
    project = _project(opts.project, home)
    args: list[str] = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc"]
    args += ["--unshare-cgroup-try"]
    if not opts.network:
        # A new network namespace has only its own loopback: no route out,
        # and not even the host's 127.0.0.1 (nor its abstract unix sockets).
        args.append("--unshare-net")

    args += _system_args()
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/run"]
    resolv = os.path.realpath("/etc/resolv.conf")
    if os.path.exists(resolv) and not _under_any(resolv, SYSTEM_DIRS):
        # systemd-resolved and resolvconf keep the real file under /run.
        args += ["--ro-bind", resolv, resolv]

    setenv = _kept_env(env)
    args += _display_args(env, setenv)
    agent_sock = env.get("SSH_AUTH_SOCK", "")
    if agent_sock and _is_socket(agent_sock):
        args += ["--bind", agent_sock, f"{RUN_DIR}/ssh-agent.sock"]
        setenv["SSH_AUTH_SOCK"] = f"{RUN_DIR}/ssh-agent.sock"

    home_args, fds = _home_args(home)
    args += home_args
    args += ["--bind", project, project, "--chdir", project]

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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts = parse_args(args)
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n\n" + USAGE.format(prog=PROG))
        return 2
    if opts is None:
        sys.stdout.write(USAGE.format(prog=PROG))
        return 0
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        sys.stderr.write(
            f"{PROG}: bwrap is not installed (not found on PATH); "
            "install it (Debian/Ubuntu: apt install bubblewrap)\n"
        )
        return 127
    try:
        the_plan = plan(opts, os.environ, bwrap)
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 2
    for fd in the_plan.fds:
        os.set_inheritable(fd, True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(bwrap, the_plan.argv)


# -- the parts of the plan ------------------------------------------------------------


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
        # filesystem, and the agent cannot replace or remove it.
        args += ["--ro-bind", sock, sock]
    xauth = env.get("XAUTHORITY", "")
    if xauth and os.path.isfile(xauth):
        args += ["--ro-bind", xauth, f"{RUN_DIR}/xauthority"]
        setenv["XAUTHORITY"] = f"{RUN_DIR}/xauthority"
    return args


def _home_args(home: str) -> tuple[list[str], list[int]]:
    args = ["--perms", "0700", "--tmpfs", home]
    fds: list[int] = []
    claude_dir = os.path.join(home, ".claude")
    # Created on the host when missing, so a login made inside the sandbox
    # is kept for the next one.
    os.makedirs(claude_dir, mode=0o700, exist_ok=True)
    args += ["--bind", claude_dir, claude_dir]
    claude_json = os.path.join(home, ".claude.json")
    try:
        fd = os.open(claude_json, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        pass
    except OSError as exc:
        sys.stderr.write(f"{PROG}: not copying {claude_json} into the sandbox: {exc}\n")
    else:
        fds.append(fd)
        args += ["--perms", "0600", "--file", str(fd), claude_json]
    for rel in (*HOME_RO_CONFIG, *HOME_TOOL_DIRS):
        path = os.path.join(home, rel)
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args, fds


def _kept_env(env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if (k in KEEP_ENV or k.startswith(KEEP_ENV_PREFIXES)) and "\0" not in v
    }


def _shell(env: Mapping[str, str], home: str) -> str:
    """The person's shell if the sandbox has it, else bash, else sh."""
    for candidate in (env.get("SHELL", ""), "/bin/bash", "/bin/sh"):
        if (
            candidate
            and os.path.isabs(candidate)
            and not _under_any(candidate, (home,))
            and os.access(candidate, os.X_OK)
        ):
            return candidate
    return "/bin/sh"


def _under_any(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
