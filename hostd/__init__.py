"""hostd: the server half of claude-sandbox.

It runs on the server (over SSH, or as a local child process), speaks
JSON-RPC 2.0 on stdin/stdout and manages sandboxes: display, tmux session and
isolation launcher. It never imports app/ or Qt.
"""

from __future__ import annotations

from .protocol.version import __version__

__all__ = ["__version__"]
