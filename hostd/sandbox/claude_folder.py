"""Each sandbox's own Claude config folder: ``<state dir>/claude/<id>/``.

hostd makes it (0700) at create, keeps it across stop and start, and removes
it with the sandbox. Every launcher gets it as ``--claude-config DIR`` and
shows it inside as ``CLAUDE_CONFIG_DIR``, seeded read-only from the person's
own folder, the same way in every launcher so that a sandbox is one thing
whatever its backend (:mod:`.bwrap_binds` for the built-in launcher; the
README's Isolation backends). Claude Code writes the sandbox's sessions
there, so hostd reads a sandbox's transcripts from its own folder and never
counts one sandbox's for another.

For ``none`` there is no launcher: hostd fills the folder itself, with links
to the person's entries (``none`` contains nothing, so a link is no less
safe than the person's folder itself, and the person's set-up applies as
it is), a link to ``.credentials.json`` and a copy of ``.claude.json``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .bwrap_binds import (
    CLAUDE_JSON,
    CLAUDE_STATE,
    CREDENTIALS,
    person_claude_dir,
    person_claude_json,
)
from .paths import create_private_file, make_private_dir, remove_tree


def make(folder: Path) -> None:
    make_private_dir(folder)


def seed_for_none(folder: Path, env: Mapping[str, str], home: str) -> None:
    """Link the person's configuration into ``folder`` and copy ``.claude.json``.

    At every start: an entry the person made since is linked too. What the
    folder already has is left alone (it is the sandbox's, or a link made
    before).
    """
    person = Path(person_claude_dir(env, home))
    try:
        names = sorted(os.listdir(person))
    except OSError:
        names = []
    for name in names:
        if name in CLAUDE_STATE and name != CREDENTIALS:
            continue
        target = folder / name
        if not os.path.lexists(target):
            target.symlink_to(person / name)
    src = Path(person_claude_json(env, home))
    try:
        data = src.read_bytes()
    except FileNotFoundError:
        return
    # A fresh copy at each start, as the launchers make: written to a new
    # file and renamed over, so a link in its place is replaced, not followed.
    tmp = folder / f".{CLAUDE_JSON}.hostd.tmp"
    tmp.unlink(missing_ok=True)
    create_private_file(tmp, data, exclusive=True)
    os.replace(tmp, folder / CLAUDE_JSON)


def remove(folder: Path) -> None:
    """Remove the folder and all in it, links removed and never followed
    (what the agent left there may be read-only folders: see
    :func:`.paths.remove_tree`). A link in the folder's place is left alone."""
    if not folder.is_dir() or folder.is_symlink():
        return
    remove_tree(folder)
