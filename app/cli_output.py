"""What claude-remote prints: tables and summaries for people, JSON for scripts."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hostd.protocol import Notification, wire
from hostd.protocol import methods as m

from .cli_errors import OK, UNREACHABLE, error
from .cli_table import Shrink, fit, terminal_width
from .cli_text import Cleaner
from .remote import selfcmd
from .remote.client import Client, ConnectionState
from .remote.cost import Cost, CostSum, estimate, format_usd, prices
from .remote.local import LocalHost
from .remote.logfeed import LogFeed
from .remote.probes import Tool
from .remote.profiles import Profile

SHORT_ID = 8  # like git's short hashes: unique enough to type, short enough to read


def host_flag(client: Client) -> str:
    """How to name this host again on a later command line. Local mode says
    --local: without it, CLAUDE_REMOTE_HOST or the config file may pick a host."""
    local = isinstance(client.host, LocalHost)
    return shlex.join(selfcmd.host_words(None if local else client.host.name)) + " "


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def write_text(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def describe(sb: wire.Sandbox) -> str:
    """'demo (5f0c8e2a): running, backend none, display :1'."""
    parts = [status(sb), f"backend {sb.get('backend')}"]
    if sb.get("display"):
        parts.append(f"display {sb['display']}")
    if sb.get("network") is False:
        parts.append("no network")
    return f"{sb.get('name')} ({str(sb.get('id', ''))[:SHORT_ID]}): " + ", ".join(parts)


def print_where(sb: wire.Sandbox, label_width: int = 0) -> None:
    """Where the sandbox keeps its own Claude config and sessions, when hostd
    says (hostd fills ``claude_config`` for sandboxes it makes; older ones, or
    an older hostd, have none, and nothing is printed)."""
    folder = sb.get("claude_config")
    if folder:
        label = "claude config".ljust(label_width) if label_width else "claude config:"
        print(f"{label} {folder} (its sessions: {str(folder).rstrip('/')}/projects)")


def status(sb: wire.Sandbox) -> str:
    text = str(sb.get("status"))
    if text == m.STATUS_EXITED and sb.get("exit_code") is not None:
        text += f" ({sb['exit_code']})"
    return text


def age(stamp: str | None, now: datetime | None = None) -> str:
    if not stamp:
        return "-"
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    secs = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def activity_text(sb: wire.Sandbox) -> str:
    """The activity column: the state, and for one waiting what it waits for, shortened."""
    act: dict[str, Any] = dict(sb.get("activity") or {})
    state = str(act.get("state") or "-")
    if state == "waiting" and act.get("reason"):
        reason = str(act["reason"])
        state += f": {reason if len(reason) <= 30 else reason[:29] + '…'}"
    return state


def print_table(sandboxes: list[wire.Sandbox]) -> None:
    rows = [["ID", "NAME", "BACKEND", "STATUS", "ACTIVITY", "AGE", "AGENT", "PROJECT"]]
    for sb in sandboxes:
        backend = str(sb.get("backend"))
        if sb.get("network") is False:
            backend += " (no net)"
        rows.append(
            [
                str(sb.get("id", ""))[:SHORT_ID],
                str(sb.get("name")),
                backend,
                status(sb),
                activity_text(sb),
                age(sb.get("created_at")),
                str(sb.get("agent")),
                str(sb.get("project_dir")),
            ]
        )
    print_columns(rows, LIST_SHRINK)


# How `ls` fits the terminal: the agent's command and the project's path give
# up room first (the path keeps its end), then the waiting reason, then all of
# those down to their headers' width and the name to 12; the name (what a
# person types next) and the backend last.
_ID, _NAME, _BACKEND, _STATUS, _ACTIVITY, _AGE, _AGENT, _PROJECT = range(8)
LIST_SHRINK = (
    (Shrink(_AGENT, 16), Shrink(_PROJECT, 16, "end")),
    (Shrink(_ACTIVITY, 12),),
    (Shrink(_AGENT, 5), Shrink(_PROJECT, 7, "end"), Shrink(_ACTIVITY, 8), Shrink(_NAME, 12)),
    (Shrink(_NAME, 4), Shrink(_BACKEND, 7)),
)


def print_columns(rows: list[list[str]], shrink: Sequence[Sequence[Shrink]] = ()) -> None:
    """Rows as aligned columns, fitted to the terminal's width (see :mod:`app.cli_table`)."""
    for line in fit(rows, terminal_width(), shrink):
        print(line)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def print_system_metrics(host: str, mt: dict[str, Any], costs: CostSum | None = None) -> None:
    """system.metrics for a person; ``costs``, when given, the host's Claude
    sandboxes' estimated cost."""
    load = " ".join(f"{x:.2f}" for x in mt.get("load", []))
    cores = f" of {mt['cpu_count']} cores" if mt.get("cpu_count") else ""
    print(f"host     {host}")
    print(f"cpu      {mt.get('cpu_percent', 0):.1f} %{cores}")
    print(f"memory   {_size(mt.get('memory_used', 0))} of {_size(mt.get('memory_total', 0))}")
    print(f"disk     {_size(mt.get('disk_used', 0))} of {_size(mt.get('disk_total', 0))}")
    print(f"load     {load}")
    print(
        f"network  received {_size(mt.get('net_rx_bytes', 0))}, "
        f"sent {_size(mt.get('net_tx_bytes', 0))} since boot"
    )
    if costs is not None:
        print(f"cost     {describe_cost_sum(costs)}")


def describe_cost_sum(costs: CostSum) -> str:
    """ "estimated $4.20 for 3 Claude sandboxes at API prices of 2026-12-01"."""
    if not costs.count:
        return "no Claude sandboxes (running or exited)"
    plural = "es" if costs.count != 1 else ""
    text = (
        f"estimated {format_usd(costs.usd)} for {costs.count} Claude sandbox{plural} "
        f"at API list prices of {prices().checked.isoformat()}"
    )
    if costs.unpriced:
        text += f"; {costs.unpriced} not priced ({'; '.join(costs.reasons)})"
    return text


def describe_cost(cost: Cost) -> str:
    """ "estimated $0.42 (in $0.01 · out ...) at Claude Sonnet 4.5 API prices of 2026-12-01"."""
    if cost.usd is None:
        return f"- ({cost.reason})"
    if cost.priced_as is None:
        return f"{format_usd(cost.usd)} (nothing spent yet)"
    price = prices().models[cost.priced_as]
    parts = " · ".join(
        f"{label} {format_usd(usd or 0.0)}"
        for label, usd in (
            ("in", cost.input_usd),
            ("out", cost.output_usd),
            ("cache write", cost.cache_write_usd),
            ("cache read", cost.cache_read_usd),
        )
    )
    return (
        f"estimated {format_usd(cost.usd)} ({parts}) "
        f"at {price.name} API list prices of {cost.priced_at.isoformat()}"
    )


def print_sandbox_metrics(mt: dict[str, Any]) -> None:
    """sandbox.metrics for a person: one labelled line per subject."""
    act = mt.get("activity") or {}
    state = str(act.get("state", "unknown"))
    if act.get("reason"):
        state += f": {act['reason']}"
    if act.get("since"):
        state += f" (since {act['since']})"
    print(f"activity  {state}")
    pr = mt.get("processes") or {}
    mib = pr.get("rss_bytes", 0) / 1024**2
    print(
        f"processes {pr.get('count', 0)} processes, {pr.get('cpu_percent', 0):.1f}% CPU, "
        f"{mib:.0f} MiB resident"
    )
    claude = mt.get("claude")
    if not claude:
        print("tokens    - (the agent is not Claude Code)")
        return
    ctx = claude.get("context_tokens")
    print(
        f"tokens    in {claude['input_tokens']:,} · out {claude['output_tokens']:,} · "
        f"cache write {claude['cache_creation_tokens']:,} · "
        f"cache read {claude['cache_read_tokens']:,}"
        + (f" (context {ctx:,})" if ctx is not None else "")
    )
    print(f"model     {claude.get('model') or '-'}  session {claude.get('session_id') or '-'}")
    tools = ", ".join(f"{k} {v}" for k, v in sorted((claude.get("tool_uses") or {}).items()))
    print(f"prompts   {claude.get('messages', 0)}" + (f"   tools: {tools}" if tools else ""))
    subs = claude.get("subagents") or {}
    if subs.get("count"):
        print(
            f"subagents {subs['count']} (in {subs['input_tokens']:,}, "
            f"out {subs['output_tokens']:,})"
        )
    if claude.get("shared_with"):
        print(
            "shared    the project's sessions are shared with "
            + ", ".join(s[:8] for s in claude["shared_with"])
        )
    if claude.get("malformed_lines"):
        print(f"skipped   {claude['malformed_lines']} unreadable session lines")
    cost = estimate(claude)
    if cost is not None:
        print(f"cost      {describe_cost(cost)}")


def print_doctor(host: str, hello: dict[str, Any], tools: list[Tool]) -> None:
    print(f"host      {host}: {hello.get('user')}@{hello.get('hostname')}")
    print(f"hostd     {hello.get('version')} (protocol {hello.get('protocol')})")
    print(f"state     {hello.get('state_dir')}")
    for tool in tools:
        if tool.found:
            print(f"{tool.name:<9} {tool.path}" + (f" ({tool.version})" if tool.version else ""))
        else:
            print(f"{tool.name:<9} not found on PATH")
    print("backends")
    for b in hello.get("backends", []):
        mark = "available  " if b.get("available") else "unavailable"
        print(f"  {b.get('name', '?'):<11} {mark}  {b.get('detail', '')}")
    for warning in hello.get("warnings", []):
        print(f"warning   {warning}")


def describe_profile(p: Profile) -> str:
    """ "ann@lab:2222, key ~/.ssh/lab, via gate, hostd: claude-sandbox-hostd"."""
    parts = [p.destination]
    if p.identity_file:
        parts.append(f"key {p.identity_file}")
    if p.proxy_jump:
        parts.append(f"via {p.proxy_jump}")
    return ", ".join([*parts, f"hostd: {p.hostd_command}"])


def print_hosts(
    profiles: dict[str, Profile], aliases: list[str], default: str | None, path: Path
) -> None:
    def mark(name: str) -> str:
        return " (default)" if name == default else ""

    print(f"profiles ({path}):" if profiles else f"no profiles yet ({path})")
    for p in sorted(profiles.values(), key=lambda p: p.name):
        print(f"  {p.name}{mark(p.name)}: {describe_profile(p)}")
    if aliases:
        print(
            "~/.ssh/config aliases (usable as --host NAME; "
            "`claude-remote hosts import` makes profiles of them):"
        )
        for alias in aliases:
            print(f"  {alias}{mark(alias)}")
    print(f"local{mark('local')}: this machine (--local)")


async def follow_logs(
    client: Client, sandbox: wire.Sandbox, tail: int | None, as_json: bool, raw: bool = False
) -> int:
    """Print the log so far, then new output as it comes, until the sandbox is
    deleted or the connection is given up. Survives reconnections. Control
    sequences are removed (:mod:`app.cli_text`) unless ``raw``."""
    sid = sandbox["id"]
    cleaner = None if raw else Cleaner()
    done = asyncio.Event()
    failed: list[str] = []
    reader_gone = False

    def emit(data: str, last: bool = False) -> None:
        nonlocal reader_gone
        if cleaner is not None:
            data = cleaner.feed(data) + (cleaner.flush() if last else "")
        if not data:
            return  # nothing, or only (part of) a control sequence so far
        try:
            if as_json:
                sys.stdout.write(json.dumps({"id": sid, "data": data}) + "\n")
            else:
                sys.stdout.write(data)
            sys.stdout.flush()
        except BrokenPipeError:
            # `logs -f | head`: whoever read the output has gone; so do we.
            reader_gone = True
            done.set()

    def on_removed(note: Notification) -> None:
        if note.params.get("id") == sid:
            print(f"claude-remote: sandbox {sandbox['name']} was deleted", file=sys.stderr)
            done.set()

    def on_lost(note: Notification) -> None:
        if note.params.get("topic") == f"{m.TOPIC_LOGS_PREFIX}{sid}":
            failed.append(str(note.params.get("reason")))
            done.set()

    def on_state(state: ConnectionState) -> None:
        if state.phase == "reconnecting":
            print(f"claude-remote: connection lost; {state}", file=sys.stderr)
        elif state.phase == "connected":
            print(
                "claude-remote: reconnected (output written meanwhile follows)",
                file=sys.stderr,
            )
        elif state.phase == "failed":
            failed.append(str(state.reason))
            done.set()

    client.add_listener(m.SANDBOX_REMOVED, on_removed)
    client.add_listener("subscription.lost", on_lost)
    client.add_state_listener(on_state)
    await client.subscribe([m.TOPIC_SANDBOXES])
    # The history up to where the stream starts, then the stream; what is
    # written while the connection is down comes when it is back.
    feed = LogFeed(client, sid, emit)
    await feed.start(tail)
    await done.wait()
    await feed.stop()
    if not reader_gone:
        emit("", last=True)  # what a cut sequence held back
    if reader_gone:
        raise BrokenPipeError  # main() ends quietly
    if failed:
        return error(failed[-1], UNREACHABLE, line=True)
    return OK
