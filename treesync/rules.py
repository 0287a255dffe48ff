"""Which paths a sync considers: ``.git`` never (in any case or Unicode
spelling a disk may take for it), ``.gitignore``'d ones never.

Part of the contract of ``fs.list`` and the ``fs:<path>`` topic: hostd and
the client apply the same rules to their own side, and the client applies
each side's rules to the other's listing too (a path ignored on either side
is left alone on both). Sans-IO: rules are built from ``.gitignore`` texts
the caller read.

The patterns follow gitignore(5): blank lines and ``#`` comments skipped;
``!`` re-includes; a trailing ``/`` matches directories only; a pattern with
a ``/`` at its start or middle is anchored to the directory of its
``.gitignore``, otherwise it matches a name at any depth below; ``*`` and
``?`` do not match ``/``; ``**/``, ``/**`` and ``/**/`` span directories;
later lines and deeper files win. A directory that is ignored is not
descended into, so (as in git) nothing under it can be re-included. Not
read: ``.git/info/exclude`` and the global ``core.excludesFile`` (they are
per-clone settings, not part of the project).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

GITIGNORE = ".gitignore"
# Never synced, at any depth: a repository's own database (a folder, or a
# file in worktrees and submodules). Matched by :func:`is_git_name`, not by
# equality: see there.
ALWAYS_EXCLUDED = frozenset({".git"})

# Code points HFS+ leaves out when it compares names (git's is_hfs_dotgit
# skips the same ones): ".g\u200cit" names .git there.
_HFS_IGNORED = frozenset(
    [*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)
_FORMS: tuple[Literal["NFC", "NFD", "NFKC", "NFKD"], ...] = ("NFC", "NFD", "NFKC", "NFKD")


def spellings(name: str) -> set[str]:
    """The forms a case-insensitive, normalisation-insensitive disk (macOS's
    APFS and HFS+, Windows' NTFS) may reduce ``name`` to when it compares
    names: HFS+'s ignored code points dropped, then each Unicode
    normalisation, casefolded and normalised again (casefolding can
    denormalise)."""
    kept = "".join(c for c in name if ord(c) not in _HFS_IGNORED)
    return {unicodedata.normalize(f, unicodedata.normalize(f, kept).casefold()) for f in _FORMS}


def is_git_name(name: str) -> bool:
    """Whether a folder entry called ``name`` is, or could be taken by some
    disk for, ``.git``. The person's machine may be a Mac: there ``.GIT`` or
    ``.Git`` *is* ``.git``, and a ``.GIT/hooks/x`` synced from the host would
    land in the real repository's hooks and run at the next commit. Also
    NTFS's readings (trailing dots and spaces dropped; the short name
    ``GIT~1``)."""
    if name.isascii():  # the common case, cheaply: listings call this per entry
        low = name.lower()
        return low.rstrip(" .") in ALWAYS_EXCLUDED or low == "git~1"
    return any(s.rstrip(" .") in ALWAYS_EXCLUDED or s == "git~1" for s in spellings(name))


def has_git_part(path: str) -> bool:
    """Whether any part of the relative ``path`` is :func:`is_git_name`."""
    return any(is_git_name(part) for part in path.split("/"))


@dataclass(frozen=True)
class Rule:
    base: str  # the directory of the .gitignore, relative, "" for the root
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def parse(base: str, text: str) -> list[Rule]:
    """The rules of one ``.gitignore`` in directory ``base`` ("" = root)."""
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line or line.startswith("#"):
            continue
        # Trailing spaces are dropped unless escaped with a backslash.
        stripped = line.rstrip(" ")
        if stripped.endswith("\\") and len(stripped) < len(line):
            stripped += " "
        line = stripped
        negate = False
        if line.startswith("!"):
            negate, line = True, line[1:]
        elif line.startswith(("\\!", "\\#")):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        regex = re.compile(("" if anchored else "(?:.*/)?") + body + r"\Z", re.DOTALL)
        rules.append(Rule(base, regex, negate, dir_only))
    return rules


def _translate(pat: str) -> str:
    out: list[str] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        if pat.startswith("**/", i) and (i == 0 or pat[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i) and i + 2 == n and (i == 0 or pat[i - 1] == "/"):
            out.append(".*")
            i += 2
        elif c == "*":
            while i < n and pat[i] == "*":
                i += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = i + 1
            if j < n and pat[j] in "!^":
                j += 1
            if j < n and pat[j] == "]":
                j += 1
            while j < n and pat[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))
                i += 1
                continue
            inner = pat[i + 1 : j]
            if inner[:1] in ("!", "^"):
                inner = "^" + inner[1:]
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = j + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pat[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


class Rules:
    """Every ``.gitignore`` of one tree, in the order git applies them."""

    def __init__(self, files: Mapping[str, str] | None = None) -> None:
        self._by_dir: dict[str, list[Rule]] = {}
        self.files: dict[str, str] = {}
        for path, text in (files or {}).items():
            self.add(path, text)

    def add(self, path: str, text: str) -> None:
        """Add the ``.gitignore`` at relative ``path`` (``"sub/.gitignore"``)."""
        base = path.rpartition("/")[0]
        self.files[path] = text
        self._by_dir[base] = parse(base, text)

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Whether ``path`` itself is excluded (its parents are not looked at:
        a walk that prunes ignored directories never asks about their insides;
        use :meth:`excluded` for an arbitrary path)."""
        name = path.rpartition("/")[2]
        if is_git_name(name):
            return True
        verdict = False
        parts = path.split("/")
        # Outer .gitignore files first, so the deeper ones' matches come later.
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            rules = self._by_dir.get(base)
            if not rules:
                continue
            rel = "/".join(parts[depth:])
            for rule in rules:
                if rule.dir_only and not is_dir:
                    continue
                if rule.regex.match(rel):
                    verdict = not rule.negate
        return verdict

    def excluded(self, path: str, is_dir: bool) -> bool:
        """Whether ``path`` or any folder above it is excluded."""
        parts = path.split("/")
        for i in range(1, len(parts)):
            if self.ignored("/".join(parts[:i]), True):
                return True
        return self.ignored(path, is_dir)


def merged(sides: Iterable[Mapping[str, str]]) -> Rules:
    """Rules that exclude what any side's ``.gitignore`` files exclude: each
    side's files are applied on their own, and a path is out if one says so."""
    return _Union([Rules(files) for files in sides])


class _Union(Rules):
    def __init__(self, parts: list[Rules]) -> None:
        super().__init__()
        self._parts = parts
        for part in parts:
            self.files.update(part.files)

    def ignored(self, path: str, is_dir: bool) -> bool:
        return any(p.ignored(path, is_dir) for p in self._parts) or is_git_name(
            path.rpartition("/")[2]
        )
