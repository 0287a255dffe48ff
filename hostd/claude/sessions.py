"""Exact Claude Code usage from its session files, read incrementally.

Where the files are and how they are named: :mod:`hostd.claude.files`.

How usage is counted: one API response is written as one line per content
block, every line repeating ``message.id``, ``requestId`` and the usage. Each
``(message.id, requestId)`` is counted once (``message.id`` alone when a proxy
leaves out ``requestId``). The lines of one response are streaming snapshots:
input and cache figures are equal on all of them, but ``output_tokens`` grows,
so the first line under-counts output (ccusage issues #797, #901, #938). Each
figure keeps its maximum over the response's lines, which is the final
snapshot whatever order the lines are read in; a resumed session that copies a
response into a second file does not count it twice.

Only lines time-stamped at or after ``since`` (the sandbox's start) count, in
files modified since then, so a resumed session's copied history is not
charged to the sandbox. Top-level totals include sub-agents; ``subagents``
says how much of them is theirs.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import MAX_SLUG, canonical_ts, iso_ms, parse_iso, sanitize_path, session_files
from .jsonl_tail import MAX_LINE_BYTES, JsonlTail
from .ledger import Ledger, Usage

logger = logging.getLogger(__name__)

# stop_reason values that end a turn (Messages API). tool_use and pause_turn
# are mid-turn; null is written on most streamed lines, so it proves nothing.
TURN_END_STOPS = frozenset({"end_turn", "stop_sequence", "max_tokens", "refusal"})

# User lines that are output shown to the person, not something they asked.
_NOT_PROMPTS = (
    "<local-command-stdout>", "<local-command-stderr>", "<local-command-caveat>",
    "<bash-stdout>", "<bash-stderr>",
)  # fmt: skip
_INTERRUPTED = "[Request interrupted by user"
_TS_KEY = b'"timestamp":"'


@dataclass(frozen=True)
class SessionSignals:
    """What the session files say about the agent, for :mod:`hostd.claude.activity`."""

    last_event_at: float | None = None  # epoch seconds of the newest line, any file
    # Last meaningful line of the newest main session: "prompt", "assistant_text",
    # "assistant_tool", "tool_result", "interrupt" (the person pressed Esc or
    # refused a tool), "api_error" (a <synthetic> message), or None.
    last_kind: str | None = None
    last_stop_reason: str | None = None
    # Tool calls of the most recently written file (main or sub-agent) that
    # have no tool_result yet: the agent is blocked on them, often on a
    # permission prompt.
    pending_tools: tuple[str, ...] = ()
    pending_since: float | None = None

    @property
    def turn_ended(self) -> bool:
        """The turn finished for certain (a null stop_reason leaves it open)."""
        if self.last_kind in ("interrupt", "api_error"):
            return True
        return self.last_kind == "assistant_text" and self.last_stop_reason in TURN_END_STOPS


@dataclass
class _File:
    fid: int
    tail: JsonlTail
    subagent: bool
    session_id: str
    malformed: int = 0
    last_event: str = ""
    keys: set[str] = field(default_factory=set)
    prompts: set[str] = field(default_factory=set)
    tools: set[str] = field(default_factory=set)
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, ts)
    last_key: str | None = None
    last_kind: str | None = None
    last_stop: str | None = None
    model: str | None = None

    def reset(self) -> None:
        self.malformed, self.last_event = 0, ""
        self.keys, self.prompts, self.tools, self.pending = set(), set(), set(), {}
        self.last_key = self.last_kind = self.last_stop = self.model = None


class SessionReader:
    """A sandbox's view of its project's Claude Code sessions.

    ``poll()`` finds the session files written since ``since`` and reads what
    was appended to them; ``metrics()`` and ``signals()`` are then free.
    Blocking file I/O: call it from an executor, one thread at a time.
    """

    def __init__(
        self,
        project_path: str,
        config_dir: str | os.PathLike[str],
        since: float,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.project_path = project_path
        self.projects_dir = Path(config_dir) / "projects"
        self.since = since
        self._since_iso = iso_ms(since)
        self._max_line = max_line_bytes
        name = sanitize_path(project_path)
        # Two readers with equal keys read the same sessions: the caller
        # reports them as shared (Claude Code cannot tell the sandboxes apart).
        self.project_key = (os.path.realpath(self.projects_dir), name[:MAX_SLUG])
        self._files: dict[str, _File] = {}
        self._next_fid = 0
        self._ledger = Ledger()

    # -- public API --------------------------------------------------------

    def poll(self) -> None:
        """Discover session files and read what was appended since the last poll."""
        seen: set[str] = set()
        found = session_files(self.projects_dir, self.project_path, self.since, self._files)
        for path, subagent, session_id in found:
            seen.add(path)
            f = self._files.get(path)
            if f is None:
                f = _File(self._next_fid, JsonlTail(path, self._max_line), subagent, session_id)
                self._next_fid += 1
                self._files[path] = f
            self._read(f)
        for path in [p for p in self._files if p not in seen]:
            logger.info("session file gone: %s", path)
            self._forget(self._files.pop(path))

    def metrics(self, shared_with: Sequence[str] = ()) -> dict[str, Any]:
        """The ``claude`` part of ``sandbox.metrics``; reads nothing (call ``poll`` first).

        Token totals cover the main sessions and their sub-agents; ``subagents``
        is the sub-agents' share (``count``: transcripts with a line since the
        start). ``messages``: prompts the person typed. ``tool_uses``: calls per
        tool name, each tool_use id once. ``model``, ``session_id``,
        ``context_tokens`` (input + cache tokens of the latest response): of
        the most recently written main session. Times: ISO 8601 UTC with
        milliseconds, as Claude Code writes them. ``malformed_lines``: lines
        skipped as unreadable or over the size cap.

        ``shared_with``: ids of other sandboxes whose reader has the same
        ``project_key``; their sessions are the same files, counted in each.
        """
        main = self._latest(subagent=False)
        subs = [f for f in self._files.values() if f.subagent and f.last_event]
        total, sub = self._ledger.totals()
        context = None
        if main is not None and main.last_key is not None:
            u = self._ledger.usage_of(main.last_key)
            context = u.input + u.cache_creation + u.cache_read if u else None
        model = main.model if main is not None else None
        if model is None:
            model = next((f.model for f in self._by_recency() if f.model), None)
        newest = max((f.last_event for f in self._files.values()), default="")
        return {
            "input_tokens": total.input,
            "output_tokens": total.output,
            "cache_creation_tokens": total.cache_creation,
            "cache_read_tokens": total.cache_read,
            "messages": self._ledger.prompt_count(),
            "tool_uses": self._ledger.tool_counts(),
            "model": model,
            "context_tokens": context,
            "session_id": main.session_id if main is not None else None,
            "subagents": {
                "count": len(subs),
                "input_tokens": sub.input,
                "output_tokens": sub.output,
                "cache_creation_tokens": sub.cache_creation,
                "cache_read_tokens": sub.cache_read,
                "last_event_at": max((f.last_event for f in subs), default=None),
            },
            "last_event_at": newest or None,
            "malformed_lines": sum(f.malformed for f in self._files.values()),
            "shared_with": sorted(shared_with),
        }

    def signals(self) -> SessionSignals:
        main = self._latest(subagent=False)
        newest = next(self._by_recency(), None)
        if newest is None:
            return SessionSignals()
        pending = newest.pending
        return SessionSignals(
            last_event_at=parse_iso(newest.last_event),
            last_kind=main.last_kind if main is not None else None,
            last_stop_reason=main.last_stop if main is not None else None,
            pending_tools=tuple(name for name, _ in pending.values()),
            pending_since=min((parse_iso(ts) or 0.0 for _, ts in pending.values()), default=None),
        )

    # -- reading -----------------------------------------------------------

    def _read(self, f: _File) -> None:
        result = f.tail.read(lambda raw: self._line(f, raw), lambda: self._forget(f))
        f.malformed += result.oversized

    def _forget(self, f: _File) -> None:
        """Take back everything ``f`` contributed (it was replaced or deleted)."""
        self._ledger.drop_file(f.fid, f.keys, f.prompts, f.tools)
        f.reset()

    def _line(self, f: _File, raw: bytes) -> None:
        if b'"assistant"' not in raw and b'"user"' not in raw:
            # Progress, system, summary and snapshot lines carry nothing we
            # count: skip the parse, keep their time (the agent is doing
            # something) and a cheap sanity check.
            if raw[:1] != b"{" or raw.rstrip()[-1:] != b"}":
                f.malformed += 1
                return
            i = raw.rfind(_TS_KEY)
            if i >= 0:
                j = raw.find(b'"', i + len(_TS_KEY))
                ts = canonical_ts(raw[i + len(_TS_KEY) : j].decode("ascii", "replace"))
                if ts is not None and ts >= self._since_iso and ts > f.last_event:
                    f.last_event = ts
            return
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            f.malformed += 1
            return
        if not isinstance(obj, dict):
            f.malformed += 1
            return
        ts = canonical_ts(obj.get("timestamp"))
        if ts is not None:
            if ts < self._since_iso:
                return  # before the sandbox started: not its usage
            if ts > f.last_event:
                f.last_event = ts
        kind = obj.get("type")
        msg = obj.get("message")
        if not isinstance(msg, dict):
            return
        if kind == "assistant":
            self._assistant(f, obj, msg, ts or f.last_event)
        elif kind == "user":
            self._user(f, obj, msg)

    def _assistant(self, f: _File, obj: dict[str, Any], msg: dict[str, Any], ts: str) -> None:
        model = msg.get("model")
        if model == "<synthetic>":
            # Claude Code's own error message (API error, limit reached): its
            # usage is zero and never reached the API; the turn is over.
            f.last_kind = "api_error"
            f.pending.clear()
            return
        mid, rid = msg.get("id"), obj.get("requestId")
        key = f"{mid}:{rid}" if mid and rid else f"{mid}" if mid else f"line:{obj.get('uuid')}"
        if key != f.last_key:
            # A new response: the model only continues once every result of
            # the previous one is in, even if a result line was unreadable.
            f.pending.clear()
            f.last_key = key
            f.last_stop = None
        usage = msg.get("usage")
        if isinstance(usage, dict):
            f.keys.add(key)
            self._ledger.add_usage(key, f.fid, f.subagent, Usage.from_api(usage))
        content = msg.get("content")
        if isinstance(content, list):
            for item in content:
                if isinstance(item, dict) and item.get("type") == "tool_use":
                    tid, name = item.get("id"), item.get("name")
                    if isinstance(tid, str) and isinstance(name, str):
                        if tid not in f.tools:
                            f.tools.add(tid)
                            self._ledger.add_tool(tid, name)
                        f.pending[tid] = (name, ts)
        stop = msg.get("stop_reason")
        if isinstance(stop, str):
            f.last_stop = stop
        f.last_kind = "assistant_tool" if f.pending else "assistant_text"
        if isinstance(model, str) and model:
            f.model = model

    def _user(self, f: _File, obj: dict[str, Any], msg: dict[str, Any]) -> None:
        content = msg.get("content")
        text = ""
        if isinstance(content, str):
            text = content
        elif isinstance(content, list):
            results = 0
            for item in content:
                if not isinstance(item, dict):
                    continue
                if item.get("type") == "tool_result":
                    results += 1
                    f.pending.pop(str(item.get("tool_use_id")), None)
                elif item.get("type") == "text" and isinstance(item.get("text"), str):
                    text = text or item["text"]
            if results:
                f.last_kind = "tool_result"
                return
        if text.startswith(_INTERRUPTED):
            f.last_kind = "interrupt"
            f.pending.clear()
            return
        if (
            not text
            or f.subagent
            or obj.get("isSidechain")
            or obj.get("isMeta")
            or obj.get("isCompactSummary")
            or obj.get("isVisibleInTranscriptOnly")
            or text.startswith(_NOT_PROMPTS)
        ):
            return
        uuid = obj.get("uuid")
        key = uuid if isinstance(uuid, str) else f"{f.fid}:{f.tail.offset}:{len(f.prompts)}"
        if key not in f.prompts:
            f.prompts.add(key)
            self._ledger.add_prompt(key)
        f.last_kind = "prompt"
        f.last_stop = None

    # -- internals ---------------------------------------------------------

    def _by_recency(self) -> Iterator[_File]:
        return iter(sorted(self._files.values(), key=lambda f: f.last_event, reverse=True))

    def _latest(self, subagent: bool) -> _File | None:
        files = [f for f in self._files.values() if f.subagent == subagent and f.last_event]
        return max(files, key=lambda f: f.last_event, default=None)
