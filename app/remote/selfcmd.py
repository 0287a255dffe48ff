"""The ``claude-remote`` command line that works where it is pasted.

A person who runs the app from a checkout often has no ``claude-remote`` on
PATH (it is in ``.venv/bin``), or another one: a command the app prints or
copies names the ``claude-remote`` installed with this program, by its full
path unless PATH finds that same file.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys

NAME = "claude-remote"


def claude_remote_words() -> list[str]:
    """``["claude-remote"]`` when PATH finds the one installed with this
    program, else ``[its absolute path]``."""
    ours = _ours()
    found = shutil.which(NAME)
    if found is not None and os.path.exists(ours) and os.path.samefile(found, ours):
        return [NAME]
    return [ours]


def attach_command_line(host_words: list[str], sandbox: str) -> str:
    """The shell line that attaches to ``sandbox`` on the host ``host_words``
    name (``["--local"]``, ``["--host", "NAME"]``)."""
    return shlex.join([*claude_remote_words(), *host_words, "attach", sandbox])


def _ours() -> str:
    """The ``claude-remote`` next to this interpreter (a venv's bin), else
    next to the program that is running."""
    for folder in (os.path.dirname(sys.executable), os.path.dirname(os.path.abspath(sys.argv[0]))):
        path = os.path.join(folder, NAME)
        if os.access(path, os.X_OK):
            return os.path.abspath(path)
    return os.path.abspath(os.path.join(os.path.dirname(sys.executable), NAME))
