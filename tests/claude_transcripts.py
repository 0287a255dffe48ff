"""Write Claude Code session files the way Claude Code writes them.

The shape follows real transcripts (Claude Code 2.x), as documented by public
tools that read them: one line per event, keys in Claude Code's order,
JSON.stringify spacing (none); one API response written as one line per
content block, every line sharing ``message.id`` and ``requestId`` and
repeating the usage, with ``output_tokens`` growing from line to line (they
are streaming snapshots) and ``stop_reason`` null until the last.
"""

from __future__ import annotations

import itertools
import json
import uuid as uuidlib
from pathlib import Path
from typing import Any

_ids = itertools.count(1)


def iso(t: float) -> str:
    from hostd.claude.files import iso_ms

    return iso_ms(t)


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Transcript:
    """Appends events to one session file; every method writes and returns its lines."""

    def __init__(
        self,
        path: Path,
        cwd: str,
        start: float,
        *,
        session_id: str | None = None,
        agent_id: str | None = None,
        step: float = 1.0,
    ) -> None:
        self.path = path
        self.cwd = cwd
        self.session_id = session_id or path.stem
        self.agent_id = agent_id  # set for a sub-agent's transcript (isSidechain)
        self.clock = start
        self.step = step
        self.parent: str | None = None
        path.parent.mkdir(parents=True, exist_ok=True)

    # -- events ------------------------------------------------------------

    def prompt(self, text: str, **extra: Any) -> list[str]:
        return self._write([self._envelope("user", {"role": "user", "content": text}, **extra)])

    def response(
        self,
        blocks: list[str | tuple[str, str]],
        *,
        input_tokens: int,
        output_tokens: int,
        cache_creation: int = 0,
        cache_read: int = 0,
        model: str = "claude-sonnet-4-5-20250929",
        stop_reason: str | None = "end_turn",
        request_id: str | None = "auto",
        msg_id: str | None = None,
        text: str | None = None,
    ) -> list[str]:
        """One API response: a line per block ("text", "thinking" or ("tool_use", name)).

        Earlier lines carry partial output counts; only the last has the final
        ``output_tokens`` and the ``stop_reason``.
        """
        mid = msg_id or f"msg_{next(_ids):024d}"
        rid = f"req_{next(_ids):024d}" if request_id == "auto" else request_id
        lines = []
        n = len(blocks)
        self.tool_ids: list[str] = []
        for i, block in enumerate(blocks):
            last = i == n - 1
            usage = {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": cache_creation,
                "cache_read_input_tokens": cache_read,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": cache_creation,
                    "ephemeral_1h_input_tokens": 0,
                },
                # Streaming snapshots: the output count grows to its final value.
                "output_tokens": output_tokens if last else max(1, output_tokens * i // (n * 3)),
                "service_tier": "standard",
            }
            message = {
                "model": model,
                "id": mid,
                "type": "message",
                "role": "assistant",
                "content": [self._block(block, text)],
                "stop_reason": stop_reason if last else None,
                "stop_sequence": None,
                "usage": usage,
            }
            extra = {"requestId": rid} if rid is not None else {}
            lines.append(self._envelope("assistant", message, **extra))
        return self._write(lines)

    def tool_result(self, tool_id: str, output: str, is_error: bool = False) -> list[str]:
        content = [
            {"tool_use_id": tool_id, "type": "tool_result", "content": output, "is_error": is_error}
        ]
        env = self._envelope("user", {"role": "user", "content": content})
        env["toolUseResult"] = {"stdout": output, "stderr": "", "interrupted": False}
        return self._write([env])

    def interrupt(self) -> list[str]:
        text = [{"type": "text", "text": "[Request interrupted by user for tool use]"}]
        return self._write([self._envelope("user", {"role": "user", "content": text})])

    def bookkeeping(self) -> list[str]:
        """Lines that carry no usage: progress, system, snapshot, summary."""
        t = iso(self._tick())
        return self._write_raw(
            [
                dumps(
                    {
                        "type": "file-history-snapshot",
                        "messageId": str(uuidlib.uuid4()),
                        "snapshot": {"messageId": "x", "trackedFileBackups": {}, "timestamp": t},
                        "isSnapshotUpdate": False,
                    }
                ),
                dumps(
                    {
                        "parentUuid": self.parent,
                        "isSidechain": self.agent_id is not None,
                        "type": "progress",
                        "data": {"type": "hook_progress", "hookEvent": "PostToolUse"},
                        "toolUseID": "toolu_x",
                        "uuid": str(uuidlib.uuid4()),
                        "timestamp": t,
                    }
                ),
                dumps(
                    {
                        "parentUuid": self.parent,
                        "type": "system",
                        "subtype": "stop_hook_summary",
                        "uuid": str(uuidlib.uuid4()),
                        "timestamp": t,
                    }
                ),
                dumps({"type": "summary", "summary": "Fix the user's bug", "leafUuid": "x"}),
            ]
        )

    # -- internals ---------------------------------------------------------

    def _block(self, block: str | tuple[str, str], text: str | None = None) -> dict[str, Any]:
        if block == "text":
            return {"type": "text", "text": text or "Let me look at the failing test first."}
        if block == "thinking":
            thought = text or "The user wants..."
            return {"type": "thinking", "thinking": thought, "signature": "EqQB" * 8}
        assert isinstance(block, tuple) and block[0] == "tool_use"
        tid = f"toolu_{next(_ids):024d}"
        self.tool_ids.append(tid)
        return {"type": "tool_use", "id": tid, "name": block[1], "input": {"command": "ls -la"}}

    def _tick(self) -> float:
        self.clock += self.step
        return self.clock

    def _envelope(self, kind: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
        uid = str(uuidlib.uuid4())
        env: dict[str, Any] = {
            "parentUuid": self.parent,
            "isSidechain": self.agent_id is not None,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": "2.1.14",
            "gitBranch": "main",
        }
        if self.agent_id is not None:
            env["agentId"] = self.agent_id
        if kind == "assistant":
            env["message"] = message
            env.update({k: v for k, v in extra.items() if k == "requestId"})
            env["type"] = "assistant"
        else:
            env["type"] = kind
            env["message"] = message
        env.update({k: v for k, v in extra.items() if k != "requestId"})
        env["uuid"] = uid
        env["timestamp"] = iso(self._tick())
        self.parent = uid
        return env

    def _write(self, envs: list[dict[str, Any]]) -> list[str]:
        return self._write_raw([dumps(e) for e in envs])

    def _write_raw(self, lines: list[str]) -> list[str]:
        with self.path.open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        return lines
