"""Isolation backends: which launcher serves each one, and its argv.

Launcher contract (DESIGN.md), the same for every launcher:

    LAUNCHER [--no-network] [--shell] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

and the VM launcher adds ``--headless --qmp SOCKET``. ``none`` runs the
agent itself with no isolation and is labelled so wherever it is shown.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

BACKENDS = ("bubblewrap", "container", "vm", "none")

_LAUNCHERS = {
    "bubblewrap": "claude-sandbox",
    "container": "claude-sandbox-container",
    "vm": "claude-sandbox-vm",
}


@dataclass(frozen=True)
class Backend:
    name: str
    available: bool
    launcher: str | None  # absolute path of what runs, None for 'none' or when missing
    detail: str
    uses_xvfb: bool
    use_sudo: bool = False

    def to_obj(self) -> dict[str, object]:
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
    if path is None:
        hint = {
            "bubblewrap": "install the Nix launcher (nix profile install .#sandbox)",
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
    return Backend(name, not missing, path, detail, uses_xvfb, use_sudo)


def probe_all() -> list[Backend]:
    return [probe(name) for name in BACKENDS]


def launcher_argv(
    backend: Backend,
    project_dir: str,
    agent_argv: list[str],
    network: bool,
    qmp_socket: str | None = None,
) -> list[str]:
    """The argv that the sandbox's tmux pane runs."""
    if backend.name == "none":
        return list(agent_argv)
    assert backend.launcher is not None
    argv = ["sudo", "-n", backend.launcher] if backend.use_sudo else [backend.launcher]
    if backend.name == "vm":
        assert qmp_socket is not None
        argv += ["--headless", "--qmp", qmp_socket]
    if not network:
        argv.append("--no-network")
    argv += ["--agent", agent_argv[0], project_dir]
    if len(agent_argv) > 1:
        argv += ["--", *agent_argv[1:]]
    return argv
