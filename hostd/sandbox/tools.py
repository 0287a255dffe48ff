"""The host programs hostd runs, found on PATH, with a plain error when missing."""

from __future__ import annotations

import shutil

from ..protocol.errors import BackendUnavailable

# The Debian/Ubuntu package that provides each program.
PACKAGES = {"tmux": "tmux", "Xvfb": "xvfb"}


def require(tool: str) -> str:
    """The absolute path of ``tool``, or BackendUnavailable naming it."""
    path = shutil.which(tool)
    if path is None:
        raise BackendUnavailable(
            f"{tool} is not installed on this host (not found on PATH); "
            f"install it (Debian/Ubuntu: apt install {PACKAGES.get(tool, tool)})",
            {"tool": tool},
        )
    return path
