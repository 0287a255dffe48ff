"""Claude Code hook events as hooks/hook.sh writes them, for tests.

:func:`hook_input` is the JSON Claude Code gives a hook on stdin (the fields
of its hooks reference: session_id, transcript_path, cwd, permission_mode,
hook_event_name, and each event's own). :class:`HookWriter` writes them into
a sandbox's ``hooks/events/`` folder byte for byte as hook.sh does
(docs/protocol.md, "Hook events"): ``.tmp-<stamp>-<pid>`` first, then renamed
to ``<stamp>-<pid>.<EVENT>.json``; the ``.taken`` / ``.expired`` markers
empty files. So hostd's side is tested without the hook script.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

SESSION = "3f6b1c2e-9a47-4d0e-b1f5-6c2d8e9a0b17"

_pids = itertools.count(41000)


def hook_input(event: str, session: str = SESSION, cwd: str = "/home/a/my_proj", **fields: Any
               ) -> dict[str, Any]:  # fmt: skip
    """A hook's input as Claude Code sends it, with the event's usual fields."""
    base: dict[str, Any] = {
        "session_id": session,
        "transcript_path": f"/home/a/.claude/projects/-home-a-my-proj/{session}.jsonl",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": event,
    }
    if event == "SessionStart":
        base.update(source="startup", model="claude-sonnet-4-5-20250929")
    elif event == "UserPromptSubmit":
        base.update(prompt="fix the failing test")
    elif event in ("PreToolUse", "PostToolUse", "PermissionRequest"):
        base.update(tool_name="Bash", tool_input={"command": "rm -rf build/",
                    "description": "Remove the stale build output"})  # fmt: skip
        if event == "PermissionRequest":
            base["permission_suggestions"] = [
                {
                    "type": "addRules",
                    "rules": [{"toolName": "Bash", "ruleContent": "rm:*"}],
                    "behavior": "allow",
                    "destination": "localSettings",
                }
            ]
        else:
            base["tool_use_id"] = "toolu_01ABCDEFGHJKLMNPQRSTUVWX"
        if event == "PostToolUse":
            base["tool_response"] = {"stdout": "", "stderr": "", "interrupted": False}
    elif event == "Notification":
        base.update(message="Claude needs your permission to use Bash",
                    notification_type="permission_prompt")  # fmt: skip
    elif event == "Stop":
        base.update(stop_hook_active=False)
    elif event == "SessionEnd":
        base.update(reason="prompt_input_exit")
    base.update(fields)
    return base


def stamp_now() -> int:
    return time.time_ns()


class HookWriter:
    """Writes a sandbox's hook event files as hook.sh does."""

    def __init__(self, hooks: Path) -> None:
        self.hooks = hooks
        self.events = hooks / "events"
        self.answers = hooks / "answers"

    def make_dirs(self) -> HookWriter:
        """The folders hostd makes at start (made here while it may not yet)."""
        self.events.mkdir(parents=True, exist_ok=True)
        self.answers.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, event: str, *, stamp: int | None = None, pid: int | None = None,
              raw: bytes | None = None, **fields: Any) -> str:  # fmt: skip
        """One event (``raw`` bytes instead of the JSON when given); its id."""
        stamp = stamp_now() if stamp is None else stamp
        pid = next(_pids) if pid is None else pid
        rid = f"{stamp:019d}-{pid}"
        data = raw if raw is not None else json.dumps(hook_input(event, **fields)).encode()
        tmp = self.events / f".tmp-{rid}"
        tmp.write_bytes(data[:65536] if raw is None else data)
        os.rename(tmp, self.events / f"{rid}.{event}.json")
        return rid

    def name(self, rid: str, event: str) -> Path:
        return self.events / f"{rid}.{event}.json"

    def take(self, rid: str) -> str:
        """What hook.sh does when it finds the answer: print it, mark it taken."""
        text = (self.answers / f"{rid}.json").read_text()
        (self.events / f"{rid}.taken").touch()
        return text

    def expire(self, rid: str) -> None:
        (self.events / f"{rid}.expired").touch()

    def answer(self, rid: str) -> dict[str, Any] | None:
        path = self.answers / f"{rid}.json"
        return json.loads(path.read_text()) if path.exists() else None
