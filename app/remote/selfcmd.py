"""How to name this claude-remote on a command line a person pastes.

A hint such as "attach: claude-remote --local attach demo" must work where it
is pasted: in a terminal whose PATH may not have this program's folder (a
virtualenv's ``bin`` that was never put on PATH), or has another
claude-remote first. So the hint names the program by its bare name only
when that name finds this very program, and by its absolute path otherwise.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys

PROGRAM = "claude-remote"


def claude_remote_words() -> list[str]:
    """The words that run this claude-remote: ``["claude-remote"]`` when PATH
    finds this one by that name, else ``[its absolute path]``."""
    mine = _own_program()
    if mine is None:
        # Not run from an installed script (python -m app.cli), and none next
        # to this interpreter: the interpreter runs it wherever it is pasted.
        return [sys.executable, "-m", "app.cli"]
    found = shutil.which(PROGRAM)
    if found is not None and _same_file(found, mine):
        return [PROGRAM]
    return [mine]


def host_words(host: str | None) -> list[str]:
    """How a command line names ``host`` (None: this machine, ``--local``, not
    the default host, which a config file may set to another). A name that
    starts with ``-`` is joined to its flag, so that it is not taken for one."""
    if host is None:
        return ["--local"]
    return [f"--host={host}"] if host.startswith("-") else ["--host", host]


def command_line(host_words: list[str], command: str, *args: str) -> str:
    """``claude-remote HOST COMMAND ARGS`` as a line to paste: quoted, and with
    ``--`` before the arguments when one starts with ``-`` (a sandbox may be
    named ``-x``, or ``--help``)."""
    end = ["--"] if any(a.startswith("-") for a in args) else []
    return shlex.join([*claude_remote_words(), *host_words, command, *end, *args])


def attach_command_line(host_words: list[str], sandbox: str) -> str:
    """The command line that attaches a terminal to ``sandbox``; ``host_words``
    name its host (:func:`host_words`)."""
    return command_line(host_words, "attach", sandbox)


def _own_program() -> str | None:
    """The claude-remote this process would run: the script it was started
    as, else the one installed beside its interpreter."""
    argv0 = sys.argv[0] if sys.argv else ""
    candidates = [argv0] if os.path.basename(argv0) == PROGRAM else []
    candidates.append(os.path.join(os.path.dirname(sys.executable), PROGRAM))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
