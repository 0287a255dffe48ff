"""The rule for sandbox names, shared by hostd and its clients.

hostd refuses a bad name; a client checks the same rule before it does work
for a create (a push into the project) or while a person types, and says
the same thing hostd would.
"""

from __future__ import annotations

import re

from .errors import InvalidParams

MAX_NAME = 64
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_name(name: str) -> None:
    """Raise InvalidParams (field ``name``) unless ``name`` is a good sandbox name."""
    if NAME_RE.fullmatch(name):
        return
    if not name:
        why = "is empty"
    elif len(name) > MAX_NAME:
        why = f"is {len(name)} characters long (at most {MAX_NAME})"
    else:
        bad = next(c for c in name if not NAME_RE.fullmatch(c))
        why = f"contains {bad!r}"
    raise InvalidParams(f"name {why}: use 1 to 64 letters, digits, '.', '_' or '-'", "name")
