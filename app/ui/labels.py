"""What the window calls a host: the local host is "This machine" everywhere
(host list, tiles, tabs, menus, dialogs, messages, notifications); a host
profile or ssh alias is called by its name."""

from __future__ import annotations

from app.remote.profiles import LOCAL

LOCAL_LABEL = "This machine"


def label_of(name: str) -> str:
    return LOCAL_LABEL if name == LOCAL else name
