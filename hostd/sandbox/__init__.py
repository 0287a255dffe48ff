"""Sandboxes themselves: records and state, the lifecycle (create, start, stop,
delete, reconcile), and what a sandbox is made of (display, tmux session,
isolation backend and launcher, processes, private paths)."""

from __future__ import annotations
