"""Isolation backends: which launcher serves each one, and its argv.

Launcher contract, the same for every launcher, so hostd runs the Nix ones
and its built-in one alike (docs/protocol.md, ``sandbox.create``):

    LAUNCHER [--no-network] [--shell] [--ssh-agent] [--claude-config DIR]
             [--hooks DIR] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

and the VM launcher adds ``--headless --qmp SOCKET``. ``none`` runs the
agent itself with no isolation and is labelled so wherever it is shown.

``bubblewrap`` is served by the Nix launcher ``claude-sandbox`` when it is on
PATH, and otherwise by hostd's built-in launcher (:mod:`hostd.sandbox.bwrap_launcher`)
when ``bwrap`` is, so an ordinary Linux server without Nix still isolates.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..protocol import wire

BACKENDS = ("bubblewrap", "container", "vm", "none")

_LAUNCHERS = {
    "bubblewrap": "claude-sandbox",
    "container": "claude-sandbox-container",
    "vm": "claude-sandbox-vm",
}

BUILTIN_LAUNCHER = Path(__file__).resolve().with_name("bwrap_launcher.py")

# bwrap answers in a few milliseconds; a machine so loaded that it takes
# seconds would not run a sandbox well either.
BWRAP_CHECK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Backend:
    name: str
    available: bool
    launcher: str | None  # absolute path of what runs, None for 'none' or when missing
    detail: str
    uses_xvfb: bool
    use_sudo: bool = False
    # What the pane runs before the contract's flags, when it is more than
    # the launcher's path (the built-in launcher is a Python file).
    command: tuple[str, ...] = ()

    def to_obj(self) -> wire.Backend:
        return {
            "name": self.name,
            "available": self.available,
            "launcher": self.launcher,
            "detail": self.detail,
            "isolated": self.name != "none",
        }


def probe(name: str) -> Backend:
    """Find what serves backend ``name`` on this host, and what is missing."""
    uses_xvfb = name != "vm"
    missing = [
        tool for tool in ("tmux", "Xvfb" if uses_xvfb else None) if tool and not shutil.which(tool)
    ]
    need = f"; also needs {', '.join(missing)} (not found on PATH)" if missing else ""

    if name == "none":
        return Backend(
            name,
            not missing,
            None,
            "no isolation: the agent runs directly as your user" + need,
            uses_xvfb,
        )
    program = _LAUNCHERS[name]
    path = shutil.which(program)
    if path is None and name == "bubblewrap":
        return _builtin_bubblewrap(need, uses_xvfb, not missing)
    if path is None:
        hint = {
            "container": "install the Nix launcher (nix profile install .#container)",
            "vm": "install the Nix launcher (nix profile install .#vm)",
        }[name]
        return Backend(name, False, None, f"{program} not found on PATH; {hint}" + need, uses_xvfb)
    use_sudo = name == "container" and os.geteuid() != 0
    if use_sudo and not shutil.which("sudo"):
        return Backend(
            name, False, path, f"{program} needs root and sudo is not installed" + need, uses_xvfb
        )
    detail = f"{path}" + (" (run with sudo -n)" if use_sudo else "") + need
    if name == "bubblewrap":
        detail = f"Nix launcher {detail}"
    return Backend(name, not missing, path, detail, uses_xvfb, use_sudo)


def probe_all() -> list[Backend]:
    return [probe(name) for name in BACKENDS]


def launcher_argv(
    backend: Backend,
    project_dir: str,
    agent_argv: list[str],
    network: bool,
    qmp_socket: str | None = None,
    *,
    ssh_agent: bool = False,
    claude_config: str | None = None,
    hooks: str | None = None,
) -> list[str]:
    """The argv that the sandbox's tmux pane runs.

    ``claude_config`` is the sandbox's own Claude config folder (None for a
    record made before there was one); ``none`` gets it through its pane's
    environment instead. ``hooks`` is the hooks folder of a Claude Code
    agent (:mod:`hostd.claude.hooks`), None for other agents; ``none`` uses
    it where it is, so it is not passed.
    """
    if backend.name == "none":
        return list(agent_argv)
    assert backend.launcher is not None
    base = list(backend.command) or [backend.launcher]
    argv = ["sudo", "-n", *base] if backend.use_sudo else base
    if backend.name == "vm":
        assert qmp_socket is not None
        argv += ["--headless", "--qmp", qmp_socket]
    if not network:
        argv.append("--no-network")
    if ssh_agent:
        argv.append("--ssh-agent")
    if claude_config is not None:
        argv += ["--claude-config", claude_config]
    if hooks is not None:
        argv += ["--hooks", hooks]
    argv += ["--agent", agent_argv[0], project_dir]
    if len(agent_argv) > 1:
        argv += ["--", *agent_argv[1:]]
    return argv


def _builtin_bubblewrap(need: str, uses_xvfb: bool, tools_ok: bool) -> Backend:
    """The built-in launcher, if ``bwrap`` is installed and can make a sandbox here."""
    bwrap = shutil.which("bwrap")
    hint = (
        "install bubblewrap (Debian/Ubuntu: apt install bubblewrap) "
        "or the Nix launcher (nix profile install .#sandbox)"
    )
    if bwrap is None:
        return Backend(
            "bubblewrap",
            False,
            None,
            f"neither claude-sandbox nor bwrap is on PATH; {hint}" + need,
            uses_xvfb,
        )
    problem = _bwrap_problem(bwrap, os.stat(bwrap).st_mtime_ns)
    launcher = str(BUILTIN_LAUNCHER)
    if problem:
        return Backend(
            "bubblewrap",
            False,
            launcher,
            f"{bwrap} cannot make a sandbox here: {problem}" + need,
            uses_xvfb,
        )
    # -I (isolated mode): the pane's working directory is the project, and
    # neither it nor PYTHONPATH may put a module in front of the launcher.
    command = (sys.executable, "-I", launcher)
    detail = (
        f"built-in launcher (hostd, with {bwrap}); the Nix launcher claude-sandbox "
        "is used instead when it is on PATH" + need
    )
    return Backend("bubblewrap", tools_ok, launcher, detail, uses_xvfb, command=command)


@functools.lru_cache(maxsize=4)
def _bwrap_problem(bwrap: str, mtime_ns: int) -> str:
    """Why ``bwrap`` cannot make a sandbox here ('' if it can); asked once per binary.

    Installed is not enough: user namespaces may be turned off, or refused
    by an AppArmor policy (Ubuntu 24.04). A failing launcher would make every
    sandbox exit at once, so ``hello`` says so up front instead.
    """
    del mtime_ns  # part of the cache key: a replaced binary is asked again
    argv = [bwrap, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--", "/bin/true"]
    try:
        res = subprocess.run(
            argv, capture_output=True, text=True, timeout=BWRAP_CHECK_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if res.returncode != 0:
        return res.stderr.strip()[-500:] or f"exit status {res.returncode}"
    return ""
