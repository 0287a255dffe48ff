"""The hooks folder of a Claude Code sandbox: ``run/<id>/hooks/``, made by hostd.

Claude Code reports what it does through its hooks (Claude Code's hooks
reference: "Hook input", "PermissionRequest decision control"). For a
Claude Code agent hostd makes, before the launcher starts, a folder in the
sandbox's runtime folder (the layout is /work/spec16.md's, docs/protocol.md
"Hook events"):

- ``hooks/`` (0700), read-only inside the sandbox, at its own path:

  - ``hook.sh`` (0444): the one hook command, POSIX sh and coreutils only
    (it runs inside every backend: bubblewrap, container, the NixOS VM, and
    none). It writes each event's JSON into ``events/`` and returns at once,
    except for ``PermissionRequest``, which waits for ``answers/<id>.json``.
  - ``settings.json`` (0444): Claude Code settings with a ``hooks`` object
    only, passed to the agent as ``--settings <abs path>`` (Claude Code
    merges it with the person's own settings).
  - ``answers/`` (0700): hostd writes decisions there; read-only inside, so
    nothing in the sandbox can answer its own permission request.

- ``events/`` (0700), read-write inside (the launchers bind it on top of the
  read-only folder): one file per event. What the agent writes there is read
  by hostd as data only (size capped, JSON checked), never run.

Everything here runs on the host, as hostd; nothing of it is called with
anything the agent wrote.
"""

from __future__ import annotations

import json
import logging
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from treesync.files import write_atomic

from ..sandbox.paths import make_private_dir, remove_tree

log = logging.getLogger(__name__)

# Claude Code's hook events that hostd listens to (spec16: the event names).
EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Notification",
    "Stop",
    "PermissionRequest",
    "SessionEnd",
)
# The events whose matcher is a tool name; "*" matches every tool.
TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PermissionRequest"})
PERMISSION = "PermissionRequest"

FOLDER = "hooks"
EVENTS_DIR = "events"
ANSWERS_DIR = "answers"
SCRIPT = "hook.sh"
SETTINGS = "settings.json"

# hostd's setting for how long a permission request waits for an answer from
# a client before Claude Code shows its own dialog (issue 16: "10 minutes by
# default").
ANSWER_TIMEOUT_VAR = "CLAUDE_SANDBOX_ANSWER_TIMEOUT_S"
DEFAULT_ANSWER_TIMEOUT_S = 600
# A day: a request no one answers for that long is better asked in the
# terminal; it also keeps TIMEOUT_S * 10 (hook.sh's ticks) a small number.
MAX_ANSWER_TIMEOUT_S = 86400
# Every hook but the permission hook writes one small file and returns: 10 s
# is far more than it needs, and bounds how long a stuck file system can hold
# Claude Code up (Claude Code's own default is 60 s, its tool hooks' 10 min).
HOOK_TIMEOUT_S = 10
# Claude Code's limit for the permission hook: the wait plus room for the
# hook to start and write its event, so that Claude Code never kills it
# before it can leave its .expired marker.
PERMISSION_GRACE_S = 30
# An event file's bound (spec16): hostd ignores a larger file, so hook.sh
# does not write one, and a permission request that large does not wait.
MAX_EVENT_BYTES = 65536

# The hook command. It runs inside the sandbox, where the agent could have
# written anything anywhere it may write; it reads only its own stdin (Claude
# Code's hook input) and hostd's answer file, and every failure ends it with
# status 0 and no output, so Claude Code carries on as without hooks.
# "$0" is this file's absolute path (settings.json calls it so); the folder is
# taken from it without a command substitution, so any path survives.
HOOK_SH = f"""\
#!/bin/sh
# claude-sandbox's hook for Claude Code, written by hostd (hostd/claude/hooks.py).
#   sh {SCRIPT} EVENT                     write the event's JSON (stdin) into events/
#   sh {SCRIPT} PermissionRequest TIMEOUT  ... then wait up to TIMEOUT s for hostd's answer
# Read-only inside the sandbox. POSIX sh and coreutils only.
event=${{1:-}}
case "$event" in
  {"|".join(EVENTS)}) ;;
  *) exit 0 ;;
esac
hooks=${{0%/*}}
events=$hooks/{EVENTS_DIR}
stamp=$(date +%s%N)
case "$stamp" in
  "" | *[!0-9]*) stamp=$(date +%s)000000000 ;; # a date without %N
esac
id=$stamp-$$
tmp=$events/.tmp-$id
# One byte more than the bound, to tell a file at the bound from a larger one;
# the rest of stdin is read and dropped, so Claude Code's write never fails.
if ! head -c {MAX_EVENT_BYTES + 1} >"$tmp"; then
  rm -f -- "$tmp"
  exit 0
fi
cat >/dev/null
size=$(wc -c <"$tmp") || size={MAX_EVENT_BYTES + 1}
if [ "$size" -gt {MAX_EVENT_BYTES} ]; then
  # hostd would ignore it: no event, and no wait for an answer that cannot come.
  rm -f -- "$tmp"
  exit 0
fi
mv -f -- "$tmp" "$events/$id.$event.json" || {{
  rm -f -- "$tmp"
  exit 0
}}
[ "$event" = {PERMISSION} ] || exit 0

timeout=${{2:-{DEFAULT_ANSWER_TIMEOUT_S}}}
case "$timeout" in
  "" | *[!0-9]*) timeout={DEFAULT_ANSWER_TIMEOUT_S} ;;
esac
answer=$hooks/{ANSWERS_DIR}/$id.json
# A deadline on the clock, not a count of naps: each nap costs a sleep's start
# too, and a sleep without fractions (sleep 1) would stretch the wait tenfold.
deadline=$(($(date +%s) + timeout))
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ -f "$answer" ]; then
    # hostd's decision, in Claude Code's decision output format.
    cat -- "$answer"
    : >"$events/$id.taken"
    exit 0
  fi
  sleep 0.1 || sleep 1
done
# No decision: Claude Code shows its own dialog in the terminal.
: >"$events/$id.expired"
exit 0
"""


def folder(runtime_dir: Path) -> Path:
    """The hooks folder of the sandbox whose runtime folder is ``runtime_dir``."""
    return runtime_dir / FOLDER


def events_dir(hooks: Path) -> Path:
    return hooks / EVENTS_DIR


def answers_dir(hooks: Path) -> Path:
    return hooks / ANSWERS_DIR


def settings_file(hooks: Path) -> Path:
    return hooks / SETTINGS


def answer_timeout(env: Mapping[str, str]) -> int:
    """Seconds a permission request waits for an answer (``CLAUDE_SANDBOX_ANSWER_TIMEOUT_S``)."""
    raw = env.get(ANSWER_TIMEOUT_VAR, "").strip()
    if not raw:
        return DEFAULT_ANSWER_TIMEOUT_S
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 0 < value <= MAX_ANSWER_TIMEOUT_S:
        log.warning(
            "%s=%r is not a number of seconds from 1 to %d; using %d",
            ANSWER_TIMEOUT_VAR, raw, MAX_ANSWER_TIMEOUT_S, DEFAULT_ANSWER_TIMEOUT_S,
        )  # fmt: skip
        return DEFAULT_ANSWER_TIMEOUT_S
    return value


def settings(script: str, timeout_s: int) -> dict[str, Any]:
    """Claude Code settings that run ``script`` (an absolute path) for every event.

    The command is a shell line (Claude Code runs it with ``/bin/sh -c``), so
    the path is quoted for any character a state folder's path may hold.
    ``/bin/sh`` by its path: every backend has it, whatever the PATH inside.
    """
    hooks: dict[str, Any] = {}
    for event in EVENTS:
        argv = ["/bin/sh", script, event]
        limit = HOOK_TIMEOUT_S
        if event == PERMISSION:
            argv.append(str(timeout_s))
            limit = timeout_s + PERMISSION_GRACE_S
        entry: dict[str, Any] = {
            "hooks": [{"type": "command", "command": shlex.join(argv), "timeout": limit}]
        }
        if event in TOOL_EVENTS:
            entry = {"matcher": "*", **entry}
        hooks[event] = [entry]
    return {"hooks": hooks}


def timeout_of(hooks: Path) -> int | None:
    """The answer timeout this run's hooks were given (its settings file says),
    so every hostd judges a request's expiry alike, whatever its own setting."""
    try:
        data = json.loads(settings_file(hooks).read_text(encoding="utf-8"))
        limit = data["hooks"][PERMISSION][0]["hooks"][0]["timeout"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        return None
    return max(1, limit - PERMISSION_GRACE_S)


def make(hooks: Path, timeout_s: int) -> Path:
    """Make the hooks folder afresh for a run; returns the settings file's path.

    What an earlier run left (its events, answers) goes: a new run has no
    pending request. ``hooks`` must be absolute; it is where the sandbox sees
    it too (every launcher binds it at its own path).
    """
    assert hooks.is_absolute(), hooks
    remove(hooks)
    make_private_dir(hooks)
    make_private_dir(events_dir(hooks))
    make_private_dir(answers_dir(hooks))
    script = hooks / SCRIPT
    write_atomic(script, HOOK_SH.encode(), mode=0o444)
    text = json.dumps(settings(str(script), timeout_s), indent=2) + "\n"
    path = settings_file(hooks)
    write_atomic(path, text.encode(), mode=0o444)
    return path


def with_settings(agent_argv: list[str], settings_path: Path) -> list[str]:
    """The agent's argv with ``--settings PATH`` right after the program.

    Before the person's own arguments rather than after them: after a ``--``
    or a prompt it would not be read as an option, and a ``--settings`` of
    the person's own, given later, still wins (Claude Code keeps the last),
    so their settings are never dropped for hostd's (hostd then falls back
    to reading the pane).
    """
    return [agent_argv[0], "--settings", str(settings_path), *agent_argv[1:]]


def remove(hooks: Path) -> None:
    """Remove the folder and all in it (``events/`` is the agent's to write,
    so it may hold anything: see :func:`remove_tree`)."""
    remove_tree(hooks)
