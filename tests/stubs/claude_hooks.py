"""A stand-in for Claude Code with hooks, for tests (the allowed fake: it
stands in for Claude Code, which cannot run here).

    claude --stub-permission COMMAND [--settings FILE] [other args, ignored]

It does what Claude Code does with the hooks of its ``--settings`` file
(Claude Code's hooks reference): it runs each configured ``command`` hook
with ``/bin/sh -c COMMAND`` (as Claude Code's spawn with ``shell: true``
does), the event's JSON on stdin, within the hook's ``timeout``, and acts on
the ``PermissionRequest`` hook's decision output. In order:

1. ``SessionStart`` (source ``startup``);
2. ``PreToolUse`` for the Bash tool with COMMAND, then ``PermissionRequest``
   (the input Claude Code sends: session_id, transcript_path, cwd,
   permission_mode, hook_event_name, tool_name, tool_input,
   permission_suggestions);
3. on its decision: allow writes ``allowed`` into ``./stub-result``, deny
   writes ``denied: MESSAGE``; with no decision it draws a permission box
   like Claude Code's (and tests/stubs/claude --stub-dialog) and reads one
   key: ``1`` is yes (``allowed (from the dialog)``), anything else, Escape
   included, is no (``denied (from the dialog)``);
4. ``PostToolUse`` when the command was allowed, then ``Stop``; then it waits.

Standard library only: it runs with the system's python3 inside a sandbox.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import termios
import tty
import uuid
from typing import Any

TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PermissionRequest")
# Claude Code's limit for a command hook without a timeout of its own.
DEFAULT_TIMEOUT_S = 600


def main(argv: list[str]) -> None:
    settings_file, command = None, None
    i = 0
    while i < len(argv):
        if argv[i] == "--settings" and i + 1 < len(argv):
            settings_file, i = argv[i + 1], i + 1
        elif argv[i] == "--stub-permission" and i + 1 < len(argv):
            command, i = argv[i + 1], i + 1
        i += 1
    assert command is not None, "--stub-permission COMMAND"
    hooks: dict[str, Any] = {}
    if settings_file is not None:
        with open(settings_file, encoding="utf-8") as f:
            hooks = json.load(f).get("hooks") or {}
    session = str(uuid.uuid4())
    base = {
        "session_id": session,
        "transcript_path": os.path.join(
            os.environ.get("CLAUDE_CONFIG_DIR", os.path.expanduser("~/.claude")),
            "projects",
            re.sub(r"[^A-Za-z0-9]", "-", os.getcwd()),
            f"{session}.jsonl",
        ),
        "cwd": os.getcwd(),
        "permission_mode": "default",
    }

    def fire(event: str, tool: str | None = None, **fields: Any) -> list[str]:
        return run_hooks(hooks, event, tool, {**base, "hook_event_name": event, **fields})

    welcome = ("╭───────────────────────────╮", "│ ✻ Welcome to Claude Code! │",
               "╰───────────────────────────╯")  # fmt: skip
    print(*welcome, sep="\n")
    fire("SessionStart", source="startup")
    tool_input = {"command": command, "description": "Run the command the test asked for"}
    print(f"⏺ Bash({command})", flush=True)
    fire("PreToolUse", "Bash", tool_name="Bash", tool_input=tool_input)
    suggestion = {
        "type": "addRules",
        "rules": [{"toolName": "Bash", "ruleContent": f"{command.split()[0]}:*"}],
        "behavior": "allow",
        "destination": "localSettings",
    }
    outputs = fire("PermissionRequest", "Bash", tool_name="Bash", tool_input=tool_input,
                   permission_suggestions=[suggestion])  # fmt: skip
    decision = permission_decision(outputs)
    if decision is None:
        allowed = dialog(command)
        result = f"{'allowed' if allowed else 'denied'} (from the dialog)"
    else:
        allowed = decision.get("behavior") == "allow"
        result = "allowed" if allowed else f"denied: {decision.get('message') or ''}"
    write_result(result)
    print(result, flush=True)
    if allowed:
        fire("PostToolUse", "Bash", tool_name="Bash", tool_input=tool_input,
             tool_response={"stdout": "", "stderr": "", "interrupted": False})  # fmt: skip
    fire("Stop", stop_hook_active=False)
    sys.stdout.flush()
    os.execvp("sleep", ["sleep", "3600"])


def run_hooks(
    hooks: dict[str, Any], event: str, tool: str | None, data: dict[str, Any]
) -> list[str]:
    """Run the event's matching command hooks; their stdouts, in order."""
    outputs = []
    for group in hooks.get(event) or []:
        matcher = group.get("matcher") or ""
        if event in TOOL_EVENTS and not matches(matcher, tool):
            continue
        for hook in group.get("hooks") or []:
            if hook.get("type") != "command":
                continue
            env = {**os.environ, "CLAUDE_PROJECT_DIR": os.getcwd()}
            try:
                res = subprocess.run(
                    ["/bin/sh", "-c", hook["command"]],
                    input=json.dumps(data) + "\n",
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=hook.get("timeout") or DEFAULT_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                continue  # Claude Code cancels the hook and carries on
            if res.returncode == 0:
                outputs.append(res.stdout)
    return outputs


def matches(matcher: str, tool: str | None) -> bool:
    """Claude Code's tool matcher: "*" or empty for all, else a regex."""
    return matcher in ("", "*") or (tool is not None and re.fullmatch(matcher, tool) is not None)


def permission_decision(outputs: list[str]) -> dict[str, Any] | None:
    """The decision of the PermissionRequest hooks' outputs (a deny wins), or None."""
    found = None
    for out in outputs:
        text = out.strip()
        if not text.startswith("{"):
            continue
        try:
            specific = json.loads(text).get("hookSpecificOutput") or {}
        except (ValueError, AttributeError):
            continue
        decision = specific.get("decision")
        if specific.get("hookEventName") != "PermissionRequest" or not isinstance(decision, dict):
            continue
        if found is None or decision.get("behavior") == "deny":
            found = decision
    return found


def dialog(command: str) -> bool:
    """Claude Code's permission box, answered by one key: 1 is yes."""
    width = 48
    lines = ["Bash command", f"  {command}", "Do you want to proceed?", "❯ 1. Yes",  # noqa: RUF001
             "  2. Yes, and don't ask again for this command",
             "  3. No, and tell Claude what to do differently (esc)"]  # fmt: skip
    print("╭" + "─" * width + "╮")
    for line in lines:
        print(f"│ {line:<{width - 2}} │")
    print("╰" + "─" * width + "╯", flush=True)
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    try:
        if saved is not None:
            tty.setcbreak(fd)
        key = os.read(fd, 1)
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    print("\033[2J\033[H", end="")  # Claude Code redraws: the dialog is gone
    return key == b"1"


def write_result(text: str) -> None:
    """``./stub-result``, written whole (tests wait for it to appear)."""
    with open(".stub-result.tmp", "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(".stub-result.tmp", "stub-result")


if __name__ == "__main__":
    main(sys.argv[1:])
