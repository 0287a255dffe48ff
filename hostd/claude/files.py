"""Where Claude Code keeps its session files, and how it writes their times.

Checked against Claude Code's ``sanitizePath``/``findProjectDir``
(``sessionStoragePortable.ts``, as quoted by public tools that read these
files) and its sub-agents documentation:

- sessions: ``${CLAUDE_CONFIG_DIR:-~/.claude}/projects/<slug>/<session-id>.jsonl``;
- sub-agents (Claude Code 2.1.2 and later):
  ``<slug>/<session-id>/subagents/agent-<id>.jsonl`` (beside them,
  ``agent-<id>.meta.json`` and ``journal.jsonl``, which are not transcripts);
  older versions wrote ``<slug>/agent-<id>.jsonl`` next to the sessions,
  which is read too;
- the slug is the project path with every UTF-16 code unit outside
  ``[A-Za-z0-9]`` replaced by ``-`` (JavaScript's ``replace(/[^a-zA-Z0-9]/g)``
  without the ``u`` flag, so a character outside the BMP gives two dashes).
  A slug over 200 characters is cut to 200 and ``-<hash>`` is appended; the
  hash differs between the Bun and Node builds, so such folders are matched by
  ``<first 200>-``, as Claude Code's own ``findProjectDir`` does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Container, Iterator
from datetime import UTC, datetime
from pathlib import Path

# Claude Code's MAX_SANITIZED_LENGTH: folder names stay under the 255-byte
# limit of ext4, APFS and NTFS with room for the hash suffix.
MAX_SLUG = 200

_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")


def sanitize_path(path: str) -> str:
    """Claude Code's project folder name for ``path``, before any cut at 200."""
    return _NON_ALNUM.sub(lambda m: "--" if ord(m.group()) > 0xFFFF else "-", path)


def claude_config_dir(home: str | os.PathLike[str], env: dict[str, str] | None = None) -> Path:
    """``$CLAUDE_CONFIG_DIR`` if set and not empty, else ``<home>/.claude``.

    ``home`` and ``env`` are the sandbox's, which may differ from hostd's.
    """
    configured = (env or {}).get("CLAUDE_CONFIG_DIR")
    return Path(configured) if configured else Path(home) / ".claude"


def project_dirs(projects_dir: Path, project_path: str) -> list[Path]:
    """The folders under ``projects_dir`` holding ``project_path``'s sessions.

    ``project_path`` is the directory Claude runs in as Claude sees it: its
    physical path (Claude takes it from getcwd(), so symlinks are resolved).
    """
    name = sanitize_path(project_path)
    if len(name) <= MAX_SLUG:
        candidate = projects_dir / name
        return [candidate] if candidate.is_dir() else []
    prefix = name[:MAX_SLUG] + "-"
    try:
        with os.scandir(projects_dir) as it:
            return sorted(Path(e.path) for e in it if e.name.startswith(prefix) and e.is_dir())
    except OSError:
        return []


def session_files(
    projects_dir: Path, project_path: str, since: float, known: Container[str] = ()
) -> Iterator[tuple[str, bool, str]]:
    """``(path, is_subagent, session_id)`` of the project's transcripts.

    A file counts when it was modified at or after ``since`` (epoch seconds),
    or is in ``known`` (already followed: keep following it). A session's
    ``subagents`` folder is only listed when its transcript counts: sub-agents
    write while their parent session runs, so this spares listing the
    folders of every old session at each poll.
    """

    def counts(path: str) -> bool:
        if path in known:
            return True
        try:
            return os.stat(path).st_mtime >= since
        except OSError:
            return False

    for folder in project_dirs(projects_dir, project_path):
        try:
            with os.scandir(folder) as it:
                entries = {e.name: _regular(e) for e in it}
        except OSError:
            continue
        names = list(entries)
        transcripts = {n[:-6] for n in names if n.endswith(".jsonl") and entries[n]}
        for name in names:
            path = os.path.join(folder, name)
            if name.endswith(".jsonl"):
                # A folder or a FIFO with a transcript's name is not one.
                if entries[name] and counts(path):
                    yield path, name.startswith("agent-"), name[:-6]
            elif name in transcripts and counts(path + ".jsonl"):
                sub = os.path.join(path, "subagents")
                try:
                    with os.scandir(sub) as it:
                        agents = [e.name for e in it if _regular(e)]
                except OSError:
                    continue
                for agent in agents:
                    apath = os.path.join(sub, agent)
                    if agent.startswith("agent-") and agent.endswith(".jsonl") and counts(apath):
                        yield apath, True, name


def iso_ms(t: float) -> str:
    """UTC ISO 8601 with milliseconds and Z: the form Claude Code writes (toISOString)."""
    ms = int(t * 1000)  # floor, as toISOString: a line of the same millisecond counts
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def parse_iso(ts: str) -> float | None:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def canonical_ts(value: object) -> str | None:
    """A line's timestamp in the one form that sorts as text, or None."""
    if not isinstance(value, str):
        return None
    if len(value) == 24 and value[10] == "T" and value[23] == "Z":
        return value  # what Claude Code writes: the fast path
    t = parse_iso(value)
    return iso_ms(t) if t is not None else None


def _regular(entry: os.DirEntry[str]) -> bool:
    """A regular file, or a link to one."""
    try:
        return entry.is_file()
    except OSError:
        return False
