"""hostd: the server half of claude-sandbox.

It runs on the server (over SSH, or as a local child process), speaks
JSON-RPC 2.0 on stdin/stdout and manages sandboxes: display, tmux session and
isolation launcher. It never imports app/ or Qt.

Its parts, by what they serve: ``protocol`` (the wire, shared with the
client), ``sandbox`` (records, state, lifecycle and what a sandbox is made
of), ``capture`` (screenshots), ``claude`` (what Claude Code writes and
shows), ``observe`` (monitor, metrics, log followers), ``fs`` (the sync's
methods and watches) and ``server`` (services, subscriptions, handlers and
the loop); ``__main__`` puts the server together.
"""

from __future__ import annotations

from .protocol.version import __version__

__all__ = ["__version__"]
