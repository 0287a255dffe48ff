"""claude-remote waiting / allow / deny / wait: the agents that wait for you, from the shell.

    claude-remote waiting [--json]            which sandboxes wait, and for what
    claude-remote allow ID [--request R]      allow the permission it asks for
    claude-remote deny ID [--message TEXT]    deny it (the message goes to Claude)
    claude-remote wait ID [--for waiting|idle|exited] [--timeout S]

The activity comes from one measuring pass of hostd (the first ``metrics``
push), which reads the hook events and the last pane observation any hostd
kept, so it is what the window shows. ``wait`` exits 0 when the state is
reached, 3 when the timeout passed first, 4 when the sandbox ended (exited,
stopped, deleted) before reaching it; 1 when the host says no.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from hostd.protocol import Notification, RpcError
from hostd.protocol import methods as m

from . import cli_output as out
from .cli_errors import ENDED, OK, REFUSED, TIMED_OUT, error
from .cli_table import Shrink
from .remote.api import HostApi
from .remote.client import Client

STATES = ("waiting", "idle", "exited")
# hostd measures every sandbox as soon as the metrics topic is subscribed,
# reading each Claude session from its start (a new hostd has read nothing
# yet): seconds for long sessions. Past this, what it would say is left out.
FIRST_PUSH_TIMEOUT_S = 30.0


def add_parsers(cmd: Any) -> None:
    cmd("waiting", "the sandboxes waiting for you, and what each asks")
    for name, help_ in (
        ("allow", "allow the permission a sandbox's agent asks for"),
        ("deny", "deny the permission a sandbox's agent asks for"),
    ):
        p = cmd(name, help_)
        p.add_argument("id", help="a unique id prefix or the name")
        p.add_argument(
            "--request", metavar="R", help="the request to answer (default: the one pending)"
        )
        if name == "deny":
            p.add_argument("--message", metavar="TEXT", help="what to tell Claude instead")
    p = cmd("wait", "wait until a sandbox waits for you, is idle, or has exited")
    p.add_argument("id", help="a unique id prefix or the name")
    p.add_argument("--for", dest="until", choices=STATES, default="waiting",
                   help="the state to wait for (default: waiting)")  # fmt: skip
    p.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds (exit 3)")


# -- commands ----------------------------------------------------------------------------


async def cmd_waiting(client: Client, args: argparse.Namespace) -> int:
    api = HostApi(client)
    sandboxes: dict[str, dict[str, Any]] = {sb["id"]: dict(sb) for sb in await api.list()}
    activities = await measured_activities(client)
    rows: list[dict[str, Any]] = []
    for sid, sb in sandboxes.items():
        act: dict[str, Any] = activities.get(sid) or sb.get("activity") or {}
        if act.get("state") == "waiting":
            rows.append({"id": sid, "name": sb.get("name"), "activity": act})
    if args.json:
        out.print_json(rows)
        return OK
    if not rows:
        print(f"nothing waits for you on {client.host.describe()}")
        return OK
    table = [["NAME", "WAITING FOR", "REQUEST", "SINCE"]]
    for row in rows:
        act = row["activity"]
        request: dict[str, Any] = act.get("request") or {}
        table.append([str(row["name"]), str(act.get("reason") or "your input"),
                      str(request.get("id") or "-"), out.age(act.get("since"))])  # fmt: skip
    out.print_columns(table, [[Shrink(1, 12)]])  # the reason gives up room
    return OK


async def cmd_answer(client: Client, args: argparse.Namespace) -> int:
    api = HostApi(client)
    sandbox = await api.get(args.id)
    request = args.request
    reason = ""
    if request is None:
        act = (await api.metrics(sandbox["id"])).get("activity") or {}
        pending = act.get("request") or {}
        if act.get("state") != "waiting" or not pending.get("id"):
            what = act.get("state") or "not being watched"
            return error(f"{sandbox['name']} asks for nothing now ({what})", REFUSED,
                         data={"activity": act})  # fmt: skip
        request, reason = str(pending["id"]), str(act.get("reason") or "")
    decision = "allow" if args.command == "allow" else "deny"
    message = args.message if decision == "deny" and args.message else None
    result = await api.answer(sandbox["id"], request, decision, message)
    if args.json:
        out.print_json(result)
    else:
        done = "allowed" if decision == "allow" else "denied"
        print(f"{done} {sandbox['name']}: {reason or request}")
    return OK


async def cmd_wait(client: Client, args: argparse.Namespace) -> int:
    """Subscribe first, then look: a change between the two is not missed."""
    api = HostApi(client)
    sandbox = await api.get(args.id)
    sid = sandbox["id"]
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    latest: dict[str, Any] = {}

    def on_note(note: Notification) -> None:
        if note.method == m.SANDBOX_CHANGED and note.params["sandbox"]["id"] == sid:
            latest["sandbox"] = note.params["sandbox"]
            latest["activity"] = note.params["sandbox"].get("activity")
        elif note.method == m.METRICS and sid in (note.params.get("sandboxes") or {}):
            latest["activity"] = note.params["sandboxes"][sid].get("activity")
        elif note.method == m.SANDBOX_REMOVED and note.params.get("id") == sid:
            latest["removed"] = True
        else:
            return
        changed.set()

    removers = [client.add_listener(name, on_note)
                for name in (m.SANDBOX_CHANGED, m.METRICS, m.SANDBOX_REMOVED)]  # fmt: skip
    deadline = None if args.timeout is None else loop.time() + args.timeout
    try:
        # Activity changes are pushed at once; a metrics tick each second is the
        # backstop for a state hostd only finds by looking (idle after a while).
        topics = [m.TOPIC_SANDBOXES, m.TOPIC_METRICS]
        await client.subscribe(topics, settings={"metrics": {"interval_s": 1}})
        latest.setdefault("activity", (await api.metrics(sid)).get("activity"))
        while True:
            verdict = reached(args.until, latest)
            if verdict is not None:
                return report(sandbox, args, latest, verdict)
            changed.clear()
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return report(sandbox, args, latest, TIMED_OUT)
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                return report(sandbox, args, latest, TIMED_OUT)
    finally:
        for remove in removers:
            remove()


# -- internals -----------------------------------------------------------------------


def reached(until: str, latest: dict[str, Any]) -> int | None:
    """OK when ``until`` is reached, ENDED when it no longer can be, else None."""
    if latest.get("removed"):
        return ENDED
    state = (latest.get("activity") or {}).get("state")
    if state == until:
        return OK
    status = (latest.get("sandbox") or {}).get("status")
    if state == "exited" or status in ("stopped", "dead", "exited"):
        return OK if until == "exited" else ENDED
    return None


def report(sandbox: Any, args: argparse.Namespace, latest: dict[str, Any], code: int) -> int:
    act = latest.get("activity") or {}
    if args.json:
        out.print_json({"id": sandbox["id"], "name": sandbox["name"], "activity": act,
                        "reached": code == OK, "timed_out": code == TIMED_OUT})  # fmt: skip
    elif code == OK:
        reason = f": {act['reason']}" if act.get("reason") else ""
        print(f"{sandbox['name']} is {act.get('state', args.until)}{reason}")
    elif code == TIMED_OUT:
        print(f"claude-remote: {sandbox['name']} is still {act.get('state', 'unknown')} "
              f"after {args.timeout:g} s", file=sys.stderr)  # fmt: skip
    else:
        print(f"claude-remote: {sandbox['name']} ended before it was {args.until}",
              file=sys.stderr)  # fmt: skip
    return code


async def first_metrics_push(client: Client) -> dict[str, Any] | None:
    """hostd's first ``metrics`` push: one measuring pass over every live
    sandbox, as soon as the topic is subscribed. None when hostd has no such
    topic or the pass took longer than FIRST_PUSH_TIMEOUT_S."""
    if not client.has_capability(f"topic:{m.TOPIC_METRICS}"):
        return None
    first: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def on_push(note: Notification) -> None:
        if not first.done():
            first.set_result(note.params)

    remove = client.add_listener(m.METRICS, on_push)
    try:
        await client.subscribe([m.TOPIC_METRICS])
        return await asyncio.wait_for(first, FIRST_PUSH_TIMEOUT_S)
    except (TimeoutError, RpcError):
        return None
    finally:
        remove()


async def measured_activities(client: Client) -> dict[str, dict[str, Any]]:
    """Every live sandbox's activity from hostd's first measuring pass."""
    push = await first_metrics_push(client) or {}
    return {sid: dict(s.get("activity") or {}) for sid, s in (push.get("sandboxes") or {}).items()}


COMMANDS = {"waiting": cmd_waiting, "allow": cmd_answer, "deny": cmd_answer, "wait": cmd_wait}
