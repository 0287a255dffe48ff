"""Running totals over many session files, each response and prompt counted once.

A response, tool call or prompt can appear in more than one file (a resumed
session copies its history into a new file), and any file can be taken back
when it is replaced, truncated or deleted. So each entry remembers which files
gave it, and the totals are kept up to date as files add and withdraw: a poll
costs what changed, never a pass over everything seen so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple


class Usage(NamedTuple):
    input: int = 0
    output: int = 0
    cache_creation: int = 0
    cache_read: int = 0

    @classmethod
    def from_api(cls, usage: Mapping[str, object]) -> Usage:
        """From a Messages API ``usage`` object; absent or odd values count 0."""

        def n(key: str) -> int:
            v = usage.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0

        return cls(
            n("input_tokens"),
            n("output_tokens"),
            n("cache_creation_input_tokens"),
            n("cache_read_input_tokens"),
        )

    def max(self, other: Usage) -> Usage:
        """Field by field: the final streaming snapshot of one response."""
        return Usage(*(a if a >= b else b for a, b in zip(self, other, strict=True)))

    def plus(self, other: Usage, sign: int = 1) -> Usage:
        return Usage(*(a + sign * b for a, b in zip(self, other, strict=True)))


class Ledger:
    def __init__(self) -> None:
        # response key -> {file id: that file's maximum usage for it}
        self._contrib: dict[str, dict[int, Usage]] = {}
        self._best: dict[str, Usage] = {}  # response key -> maximum over its files
        self._is_sub: dict[str, bool] = {}  # response key -> counted as a sub-agent's
        self._total = Usage()
        self._sub = Usage()
        self._tool_name: dict[str, str] = {}  # tool_use id -> tool name
        self._tool_refs: dict[str, int] = {}  # tool_use id -> files that hold it
        self._tool_names: dict[str, int] = {}  # tool name -> calls
        self._prompts: dict[str, int] = {}  # prompt uuid -> files

    # -- usage -------------------------------------------------------------

    def add_usage(self, key: str, fid: int, subagent: bool, usage: Usage) -> None:
        contrib = self._contrib.get(key)
        if contrib is None:
            contrib = self._contrib[key] = {}
            self._is_sub[key] = subagent
        prev = contrib.get(fid)
        if prev is not None:
            merged = prev.max(usage)
            if merged == prev:
                return  # another line of a response already seen: the usual case
            usage = merged
        contrib[fid] = usage
        old = self._best.get(key)
        new = usage if old is None else old.max(usage)
        if new != old:
            self._best[key] = new
            self._shift(key, new, old)

    def usage_of(self, key: str) -> Usage | None:
        return self._best.get(key)

    def totals(self) -> tuple[Usage, Usage]:
        """(everything, the sub-agents' part of it)."""
        return self._total, self._sub

    # -- tool calls and prompts -------------------------------------------

    def add_tool(self, tool_id: str, name: str) -> None:
        """Count a tool call; the caller adds each id once per file."""
        refs = self._tool_refs.get(tool_id, 0)
        self._tool_refs[tool_id] = refs + 1
        if refs == 0:
            self._tool_name[tool_id] = name
            self._tool_names[name] = self._tool_names.get(name, 0) + 1

    def tool_counts(self) -> dict[str, int]:
        return dict(sorted(self._tool_names.items()))

    def add_prompt(self, key: str) -> None:
        self._prompts[key] = self._prompts.get(key, 0) + 1

    def prompt_count(self) -> int:
        return len(self._prompts)

    # -- taking a file back -----------------------------------------------

    def drop_file(
        self, fid: int, keys: Iterable[str], prompts: Iterable[str], tools: Iterable[str]
    ) -> None:
        for key in keys:
            contrib = self._contrib.get(key)
            if contrib is None or contrib.pop(fid, None) is None:
                continue
            old = self._best[key]
            if contrib:
                new = Usage()
                for u in contrib.values():
                    new = new.max(u)
                self._best[key] = new
                self._shift(key, new, old)
            else:
                self._shift(key, Usage(), old)
                del self._contrib[key], self._best[key], self._is_sub[key]
        for p in prompts:
            left = self._prompts.get(p, 0) - 1
            if left > 0:
                self._prompts[p] = left
            else:
                self._prompts.pop(p, None)
        for t in tools:
            refs = self._tool_refs.get(t, 0) - 1
            if refs > 0:
                self._tool_refs[t] = refs
                continue
            if t in self._tool_refs:
                del self._tool_refs[t]
                name = self._tool_name.pop(t)
                self._tool_names[name] -= 1
                if self._tool_names[name] <= 0:
                    del self._tool_names[name]

    def _shift(self, key: str, new: Usage, old: Usage | None) -> None:
        delta = new if old is None else new.plus(old, -1)
        self._total = self._total.plus(delta)
        if self._is_sub[key]:
            self._sub = self._sub.plus(delta)
