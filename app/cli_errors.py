"""claude-remote's exit statuses, and how it says what went wrong.

Without ``--json`` an error is one ``claude-remote: ...`` line (and maybe a
hint) on stderr. With ``--json`` it is JSON on stdout, so a script reads one
stream::

    {"error": {"code": -32001, "message": "no sandbox with id or name 'x'", "data": null}}

``code`` is hostd's JSON-RPC error code when hostd said no (negative, as
docs/protocol.md lists them); for what claude-remote found itself (usage,
an unreachable host, a sync that failed) it is the exit status (positive), so
the two never clash. The exit status is the same with or without ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

OK = 0
REFUSED = 1  # the host said no (or a sync held files back)
USAGE = 2
TIMED_OUT, ENDED = 3, 4  # wait: the timeout passed; the sandbox ended first
SYNC_CONFLICTS = 5  # a sync was carried out, and left conflicts to look at
INTERRUPTED = 130
PIPE_CLOSED = 141  # 128 + SIGPIPE, as for a command the signal ended
UNREACHABLE = 255  # like ssh

_as_json = False


def errors_as_json(on: bool) -> None:
    """Errors as JSON on stdout from now on (the run's ``--json``)."""
    global _as_json
    _as_json = on


def error(
    message: str,
    status: int,
    *,
    code: int | None = None,
    data: Any = None,
    hint: str = "",
    line: bool = False,
) -> int:
    """Say what went wrong; returns ``status``, the exit status. ``code``
    defaults to ``status``; ``hint`` (what to do about it) follows the message
    on stderr, and goes into ``data["hint"]`` as JSON. ``line``: JSON on one
    line, for the commands that print a stream of JSON lines (``logs -f``,
    ``watch``)."""
    if _as_json:
        if hint:
            data = {**(data if isinstance(data, dict) else {}), "hint": hint}
        obj = {"error": {"code": status if code is None else code, "message": message,
                         "data": data}}  # fmt: skip
        text = (
            json.dumps(obj, sort_keys=True) if line else json.dumps(obj, indent=2, sort_keys=True)
        )
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        print(f"claude-remote: {message}" + (f"\n{hint}" if hint else ""), file=sys.stderr)
    return status


class UsageError(Exception):
    """The command line asks for something that cannot be (exit 2)."""


class ArgumentError(Exception):
    """argparse found the command line wrong (see :class:`Parser`)."""

    def __init__(self, prog: str, usage: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog
        self.usage = usage
        self.message = message


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors come back as :class:`ArgumentError`
    instead of a print and exit, so that ``--json`` can have them as JSON."""

    def error(self, message: str) -> NoReturn:
        raise ArgumentError(self.prog, self.format_usage(), message)


def wants_json(argv: list[str]) -> bool:
    """Whether the command line asks for ``--json``, read before argparse has
    (it may not get that far): the word itself, before any ``--``."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in words


def argument_error(exc: ArgumentError) -> int:
    """argparse's message, as argparse prints it (or as JSON); exit 2."""
    if _as_json:
        return error(exc.message, USAGE, data={"usage": exc.usage.strip()})
    sys.stderr.write(f"{exc.usage}{exc.prog}: error: {exc.message}\n")
    return USAGE
