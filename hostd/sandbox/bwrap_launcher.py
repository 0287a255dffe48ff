"""hostd's built-in bubblewrap launcher, for Linux hosts without the Nix one.

    bwrap_launcher.py [--no-network] [--shell] [--ssh-agent] [--claude-config DIR]
                      [--hooks DIR] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

It keeps the launcher contract every launcher keeps (docs/protocol.md,
``sandbox.create``: the same flags, so hostd runs any of them the same way)
and the guarantees of the Nix launcher ``claude-sandbox``, using only what an
ordinary Debian or Ubuntu server has: ``bwrap`` and the system's own
programs. Nothing the agent can write runs later outside its sandbox. What
the agent sees:

* the project directory, read-write, at its own path (the working
  directory), except that ``.git/config`` and ``.git/hooks`` (and a
  worktree's ``.git`` file and the config and hooks it leads to) are
  read-only and ``.git`` itself cannot be renamed away;
* a private home (a tmpfs at ``$HOME``, gone when the sandbox ends) holding
  read-only ``~/.gitconfig``, ``~/.config/git``, of ``~/.ssh`` only
  ``known_hosts``, ``config`` and ``*.pub`` (never a private key), and the
  folders where agents are commonly installed in a home (``HOME_TOOL_DIRS``);
* with ``--claude-config DIR``, the sandbox's own Claude config folder DIR,
  read-write, as ``CLAUDE_CONFIG_DIR``: in it, the person's own Claude
  configuration read-only (settings, CLAUDE.md, commands, agents, plugins...),
  their ``.credentials.json`` read-write as that one file, and a copy of
  ``~/.claude.json`` (also at ``~/.claude.json``). The person's folder
  itself is never visible;
* with ``--hooks DIR``, the sandbox's hooks folder DIR (hostd's, in its
  runtime folder) read-only at its own path, and ``DIR/events`` read-write:
  Claude Code's hook writes its events there and reads hostd's answers;
  nothing else of hostd's runtime folder;
* with ``--ssh-agent`` only, the SSH agent's socket;
* the system read-only (``/usr``, ``/etc``, ``/opt``, ``/nix``, ``/sys``),
  a new ``/proc`` and a minimal ``/dev``; private ``/tmp``, ``/var/tmp`` and
  ``/run``; nothing else of the host (other homes, ``/root``, ``/srv``,
  ``/mnt``, ``/var`` are absent);
* of the host's X, only the sandbox's own display socket and its cookie;
* the host's network, or only a private loopback with ``--no-network``;
* an environment cleared down to an allow-list (secrets in hostd's
  environment stay out); a new terminal session, no capabilities, and no
  user namespaces of its own where bwrap can forbid them.

It is the standard library only and imports nothing from hostd: hostd runs
it by file path with ``python -I``, so that neither the project directory
(the pane's working directory) nor ``PYTHONPATH`` can slip in a module of
its own. The plan of the sandbox is :mod:`hostd.sandbox.bwrap_plan` (with
:mod:`hostd.sandbox.bwrap_binds`), loaded by path from beside this file
(``-I`` leaves the script's folder off ``sys.path``). It ends by exec-ing
``bwrap``, so the pane's process is bwrap itself and a stop reaches the
sandbox directly.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import bwrap_plan
else:

    def _load_sibling(name: str) -> object:
        """The module ``name`` from the file beside this one, by its path."""
        path = Path(__file__).resolve().with_name(f"{name}.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # Dataclasses look their module up here, and bwrap_plan finds
        # bwrap_binds here.
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    _load_sibling("bwrap_binds")
    bwrap_plan = _load_sibling("bwrap_plan")

PROG = bwrap_plan.PROG
UsageError = bwrap_plan.UsageError

USAGE = """\
usage: {prog} [--no-network] [--shell] [--ssh-agent] [--claude-config DIR]
       [--hooks DIR] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

Run an agent in a bubblewrap sandbox: PROJECT_DIR read-write (its .git's
config and hooks read-only), a private home, the rest of the system read-only.

options:
  --no-network         no network inside: only a private loopback interface
  --shell              start an interactive shell in the sandbox instead of the agent
  --ssh-agent          forward the SSH agent ($SSH_AUTH_SOCK) into the sandbox
  --claude-config DIR  the sandbox's own Claude config folder (CLAUDE_CONFIG_DIR
                       inside), seeded read-only from yours
  --hooks DIR          the sandbox's hooks folder: read-only at its path, its
                       events/ read-write (Claude Code's hook writes there)
  --agent CMD          the agent program, a name looked up on PATH inside the
                       sandbox or a path (default: claude); its arguments go after --
  --help               show this help and exit

Exit status: the agent's; 127 when the agent is not found inside the
sandbox; 2 for a usage error.
"""


def _value(argv: list[str], i: int, flag: str) -> tuple[str, int]:
    """The value of ``--flag V`` or ``--flag=V`` at ``argv[i]``, and the next index."""
    arg = argv[i]
    if arg == flag:
        if i + 1 >= len(argv):
            raise UsageError(f"{flag} needs {'a command' if flag == '--agent' else 'a folder'}")
        value, i = argv[i + 1], i + 1
    else:
        value = arg.split("=", 1)[1]
    if not value:
        raise UsageError(f"{flag} is empty")
    return value, i


def parse_args(argv: list[str]) -> bwrap_plan.Options | None:
    """Options from the command line; None for --help. Raises UsageError."""
    opts = bwrap_plan.Options(project="")
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
            opts.network = False
        elif arg == "--shell":
            opts.shell = True
        elif arg == "--ssh-agent":
            opts.ssh_agent = True
        elif arg == "--agent" or arg.startswith("--agent="):
            opts.agent, i = _value(argv, i, "--agent")
        elif arg == "--claude-config" or arg.startswith("--claude-config="):
            opts.claude_config, i = _value(argv, i, "--claude-config")
        elif arg == "--hooks" or arg.startswith("--hooks="):
            opts.hooks, i = _value(argv, i, "--hooks")
        elif arg.startswith("-") and arg != "-":
            raise UsageError(f"unknown option {arg!r}")
        else:
            project = arg
        i += 1
    if project is None:
        raise UsageError("PROJECT_DIR is missing")
    opts.project = project
    opts.agent_args = list(argv[i:])
    return opts


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
        the_plan = bwrap_plan.plan(
            opts, os.environ, bwrap, bwrap_plan.bwrap_can_disable_userns(bwrap)
        )
    except (UsageError, OSError) as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 2
    for fd in the_plan.fds:
        os.set_inheritable(fd, True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(bwrap, the_plan.argv)


if __name__ == "__main__":
    sys.exit(main())
