"""What the New sandbox dialog checks and suggests, without widgets: a
name's and a project directory's problems, and the agent to offer on a host
(claude if the host has it, as its hello's ``commands`` says, else a shell).
"""

from __future__ import annotations

import shlex
from typing import Any

from hostd.protocol.names import NAME_RE
from hostd.protocol.spec import DEFAULT_AGENT

SHELLS = ("bash", "sh")  # the fallbacks, in hostd's spec.AGENT_PROBES order


def name_problem(name: str, taken: set[str]) -> str | None:
    if not name:
        return "A name is needed."
    if len(name) > 64:
        return f"At most 64 characters ({len(name)} now)."
    bad = next((c for c in name if not NAME_RE.fullmatch(c)), None)
    if bad is not None:
        shown = {" ": "a space", "\n": "a newline", "\t": "a tab"}.get(bad, repr(bad))
        return f"{shown} is not allowed: use letters, digits, '.', '_' or '-'."
    if name in taken:
        return "A sandbox with this name exists on that host."
    return None


def default_agent(commands: Any) -> str:
    """What a new sandbox runs on a host whose hello said ``commands``: claude
    if the host has it (or cannot say: a hostd before ``commands``), else the
    first shell it has."""
    if not isinstance(commands, dict) or commands.get(DEFAULT_AGENT):
        return DEFAULT_AGENT
    return next((c for c in SHELLS if commands.get(c)), DEFAULT_AGENT)


def agent_note(agent: str, commands: Any) -> str | None:
    """What to say about ``agent`` on a host whose hello said ``commands``:
    that claude is missing there (so a shell is offered), or that the command
    typed is one the host lacks. None: nothing to say (or nothing known)."""
    if not isinstance(commands, dict):
        return None
    try:
        first = shlex.split(agent)[0] if agent.strip() else DEFAULT_AGENT
    except ValueError:
        return None
    if first in commands and not commands[first]:
        return f"{first} was not found on that host's PATH: this agent would exit at once."
    if not commands.get(DEFAULT_AGENT) and first in SHELLS:
        return (
            f"claude was not found on that host's PATH, so the agent is a shell ({first}). "
            "Install Claude Code there, or type another command."
        )
    return None


def project_problem(path: str) -> str | None:
    if not path:
        return "Which directory on the host should the agent work in?"
    if not path.startswith("/"):
        return "Give the absolute path on the host (it starts with /)."
    return None
