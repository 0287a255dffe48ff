"""Text from a sandbox shown as text: never read as HTML by Qt.

Qt renders a tooltip (and a label in its default format) as rich text when the
string looks like HTML. What an agent prints (the last line of its pane as an
activity reason, a command, a model name) must show as written: an
``<img src=/dev/zero>`` in it would otherwise be loaded.
"""

from __future__ import annotations

import html


def tip(text: str) -> str:
    """``text`` as a tooltip that shows it as written (line breaks kept)."""
    if not text:
        return ""
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"
