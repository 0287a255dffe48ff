"""What Claude Code itself writes and shows: its session files (tokens, cost),
the per-session ledger, and the agent's activity read from its pane."""

from __future__ import annotations
