"""``sandbox.answer``: allow or deny what a waiting agent asks.

Two ways, by the request's id (the activity's ``request.id``):

- ``<stamp>-<pid>``, from Claude Code's PermissionRequest hook: the answer
  is written to ``hooks/answers/<id>.json``, where the waiting hook reads
  it and hands it to Claude Code. Only while the request is pending; of two
  answers at once (two clients, two hostd processes) the first written
  wins and the other is told ``answered``.
- ``pane-<hash>``, a prompt seen on screen (an agent without hooks, or a
  hook that gave up waiting): the prompt's keys are typed into the pane,
  only if it still shows exactly what was seen (the hash is of the whole
  screen), so an answer meant for one prompt never lands on the next.

An answer to a request that is not pending is -32003 with ``data.state``
(``answered``, ``expired``, ``over``, ``unknown``) and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from ..claude import hookevents as he
from ..claude.activity import PANE_REQUEST_PREFIX, pane_hash, prompt_keys
from ..claude.hookdir import AlreadyAnswered, is_request_id, write_answer
from ..protocol import methods as m
from ..protocol import wire
from ..protocol.errors import InvalidParams, InvalidState, RpcError
from ..protocol.spec import MAX_ANSWER_MESSAGE
from ..sandbox import tmux
from ..sandbox.lifecycle import Manager
from .activities import Activities, since_ns


def check(request: str, decision: str, message: str | None) -> None:
    """-32602 for what no request could take."""
    if not request:
        raise InvalidParams("request is empty", "request")
    if decision not in m.DECISIONS:
        raise InvalidParams(f"decision must be 'allow' or 'deny', not {decision!r}", "decision")
    if message is not None and decision != "deny":
        raise InvalidParams("a message goes only with decision 'deny'", "message")
    if message is not None and len(message) > MAX_ANSWER_MESSAGE:
        raise InvalidParams(f"message is over {MAX_ANSWER_MESSAGE} characters", "message")


def answer(
    manager: Manager,
    activities: Activities,
    ref: str,
    request: str,
    decision: str,
    message: str | None = None,
) -> wire.Answer:
    """Answer one request (blocking: files and tmux)."""
    check(request, decision, message)
    rec = manager.record(ref)
    sid: str = rec["id"]
    if request.startswith(PANE_REQUEST_PREFIX):
        _by_keys(manager, rec, request, decision == "allow")
        via = m.VIA_KEYS
    else:
        _by_hook(activities, rec, request, decision, message)
        via = m.VIA_HOOKS
    return {"id": sid, "request": request, "decision": decision, "via": via}


def _by_hook(
    activities: Activities, rec: dict[str, Any], request: str, decision: str, message: str | None
) -> None:
    since = since_ns(rec)
    if not is_request_id(request) or since is None:
        _refuse(rec, request, he.UNKNOWN)
    hooks = activities.hookdir(rec["id"])
    state = hooks.request_state(request, since_ns=since, running=rec["status"] == m.STATUS_RUNNING)
    if state != he.PENDING:
        _refuse(rec, request, state)
    try:
        write_answer(hooks.path, request, decision, message)
    except AlreadyAnswered:
        _refuse(rec, request, he.ANSWERED)


def _by_keys(manager: Manager, rec: dict[str, Any], request: str, allow: bool) -> None:
    if rec["status"] != m.STATUS_RUNNING or not rec.get("pane_id"):
        _refuse(rec, request, he.OVER)
    try:
        text = tmux.capture_text(Path(rec["tmux_socket"]), rec["pane_id"])
    except RpcError:
        _refuse(rec, request, he.OVER)
    keys = prompt_keys(text, allow)
    if PANE_REQUEST_PREFIX + pane_hash(text)[:12] != request or keys is None:
        # What was seen is no longer on screen: the prompt was answered, or
        # another one (which this answer was not meant for) took its place.
        _refuse(rec, request, he.OVER)
    manager.send_keys(rec["id"], keys)


def _refuse(rec: dict[str, Any], request: str, state: str) -> NoReturn:
    says = {
        he.ANSWERED: "was answered already",
        he.EXPIRED: "is no longer waited for (its hook gave up; the agent asks in its terminal)",
        he.OVER: "is over (the agent no longer asks it)",
        he.UNKNOWN: "is not one this sandbox asked",
    }[state]
    data: dict[str, Any] = {"state": state, "status": rec["status"]}
    raise InvalidState(f"request {request!r} of sandbox {rec['name']!r} {says}", data)
