"""Watching over the sandboxes: the monitor that pushes changes, metrics of
sandboxes and the host, and the followers of a sandbox's log."""

from __future__ import annotations
