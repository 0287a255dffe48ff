"""Sync tests: the remote world of tests/remote (real sshd, real hostd over
SSH), plus two folders, and helpers that read a tree as a person would."""

from __future__ import annotations

import os
from pathlib import Path

from tests.remote.conftest import remote  # noqa: F401  (the fixture, shared)


def tree(root: Path) -> dict[str, str]:
    """Every file and symlink under ``root`` (not .git), by relative path:
    a file's text, or ``-> target`` for a link."""
    out: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(root):
        links = [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]
        dirs[:] = [d for d in dirs if d != ".git" and d not in links]
        for name in files + links:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            try:
                if os.path.islink(full):
                    out[rel] = "-> " + os.readlink(full)
                else:
                    out[rel] = Path(full).read_text(errors="replace")
            except FileNotFoundError:
                # Gone since the walk listed it: a sync replaces a file by
                # moving the old one to the trash first. Callers that wait for
                # two trees to agree simply look again.
                continue
    return out
