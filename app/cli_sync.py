"""claude-remote sync, watch, and create --sync: the sync library, printed.

``REMOTE`` is a sandbox (id prefix or name: its project folder),
``SANDBOX:sub/dir`` (a folder inside it), an absolute path on the host, or
left out for the folder ``LOCAL`` was last synced with on that host.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
import sys
from typing import Any

from . import cli_output as out
from .cli_errors import OK, REFUSED, SYNC_CONFLICTS, UNREACHABLE, error
from .remote import selfcmd
from .remote.client import Client
from .remote.sync.plan import Mode
from .remote.sync.result import SyncProgress, SyncResult
from .remote.sync.review import WHY
from .remote.sync.state import SyncError, SyncRefused
from .remote.sync.syncer import Syncer
from .remote.sync.targets import resolve_remote
from .remote.sync.watch import run_watch

# A summary names at most this many files of each kind; --json has them all.
MAX_LISTED = 10


EXIT_STATUS = (
    "exit status: 0 in sync; "
    f"{SYNC_CONFLICTS} done, but it left conflicts (both versions kept, the copy named "
    "NAME.conflict-SIDE-TIME; look at them); "
    f"{REFUSED} config files held back (see --accept-config; said first when there are "
    "conflicts too), or the host or the sync refused; "
    f"{UNREACHABLE} the host could not be reached; 2 usage. "
    "With --json the result is printed whenever the sync was done, errors as "
    '{"error": {...}}.'
)


def add_parsers(cmd: Any) -> None:
    p = cmd("sync", "sync a folder here with one on the host, both ways (or --push/--pull)")
    p.epilog = EXIT_STATUS
    p.add_argument("local_dir", metavar="LOCAL", help="the folder on this machine")
    p.add_argument(
        "remote",
        metavar="REMOTE",
        nargs="?",
        help="a sandbox (its project folder), SANDBOX:subdir, or an absolute path on the host; "
        "default: the folder LOCAL was last synced with",
    )
    way = p.add_mutually_exclusive_group()
    way.add_argument("--push", action="store_true", help="only this machine to the host")
    way.add_argument("--pull", action="store_true", help="only the host to this machine")
    _allow_delete_all(p)
    _accept_config(p)
    p = cmd("watch", "keep a folder here and one on the host in sync until Ctrl+C")
    p.epilog = (
        f"exit status (after Ctrl+C): as for sync, for what the rounds left: {REFUSED} if "
        f"config files are held back at the end, else {SYNC_CONFLICTS} if a round left "
        "conflicts, else 0. With --json: one JSON line per round, an error as a line "
        '{"error": {...}}.'
    )
    p.add_argument("local_dir", metavar="LOCAL", help="the folder on this machine")
    p.add_argument("remote", metavar="REMOTE", nargs="?", help="as for sync")
    _allow_delete_all(p)
    _accept_config(p)


def _accept_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--accept-config",
        action="store_true",
        help="also take the host's changes to files that configure or run code here "
        "(.claude/settings*.json, .claude/commands/, .mcp.json, .envrc, .vscode/tasks.json); "
        "without it they are held back, named, and the exit status is 1",
    )


def _allow_delete_all(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-delete-all",
        action="store_true",
        help="when one folder is now empty, delete the other's files too (into the trash); "
        "without it such a sync refuses",
    )


def _code(exc: SyncError) -> int:
    return UNREACHABLE if exc.retryable else REFUSED


def _fail(exc: SyncError, prefix: str = "", line: bool = False) -> int:
    """Say why a sync failed; the exit status. As JSON, ``data`` has what the
    round did before it failed (``result``), and for a refused round which
    side is empty."""
    data: dict[str, Any] = {"retryable": exc.retryable}
    if exc.result is not None:
        data["result"] = exc.result.to_obj()
    hint = ""
    if isinstance(exc, SyncRefused):
        data.update(empty=exc.empty, folder=exc.folder, deletes=exc.deletes)
        hint = (
            f"  To fill it again from the other side: sync with --{exc.restore}.\n"
            "  If it was emptied on purpose: add --allow-delete-all to delete those files "
            "as well (they go to the trash)."
        )
    return error(f"{prefix}{exc}", _code(exc), data=data, hint=hint, line=line)


def exit_status(result: SyncResult) -> int:
    """What a sync that was carried out exits with: held-back files first
    (the sync is not complete until they are looked at), then conflicts."""
    if result.held:
        return REFUSED
    return SYNC_CONFLICTS if result.conflicts else OK


async def cmd_sync(client: Client, args: argparse.Namespace) -> int:
    mode: Mode = "push" if args.push else "pull" if args.pull else "both"
    try:
        remote = await resolve_remote(client, args.remote, args.local_dir)
        async with Syncer(
            client, args.local_dir, remote, on_progress=_progress(args),
            allow_delete_all=args.allow_delete_all, accept_config=args.accept_config,
        ) as syncer:  # fmt: skip
            result = await syncer.run(mode)
    except SyncError as exc:
        _end_progress(args)
        return _fail(exc)
    finally:
        _end_progress(args)
    out.print_json(result.to_obj()) if args.json else print_result(result, client)
    if result.held:
        _held_notice(result, client, args)
    return exit_status(result)


async def cmd_watch(client: Client, args: argparse.Namespace) -> int:
    # The held changes last reported: a watch says so once, not every round.
    shown: set[tuple[str, Any]] = set()
    conflicted = False

    def on_round(result: SyncResult) -> None:
        nonlocal conflicted
        conflicted = conflicted or bool(result.conflicts)
        _round(result, client, args, shown)

    def on_error(exc: Exception) -> None:
        nonlocal conflicted
        if isinstance(exc, SyncError):
            # A round that failed part way may have made conflict copies first.
            conflicted = conflicted or bool(exc.result is not None and exc.result.conflicts)
            _fail(exc, line=True)
        else:
            error(str(exc), UNREACHABLE, line=True)

    try:
        remote = await resolve_remote(client, args.remote, args.local_dir)
        async with Syncer(
            client, args.local_dir, remote, allow_delete_all=args.allow_delete_all,
            accept_config=args.accept_config,
        ) as syncer:  # fmt: skip
            if not args.json:
                print(
                    f"watching {syncer.local} and {_where(client, syncer.remote)} (Ctrl+C stops)",
                    flush=True,
                )
            task = asyncio.ensure_future(run_watch(syncer, on_round, on_error))
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, task.cancel)
            try:
                await task
            except asyncio.CancelledError:
                pass
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
    except SyncError as exc:
        return _fail(exc, line=True)
    if not args.json:
        print("stopped", flush=True)
    return REFUSED if shown else SYNC_CONFLICTS if conflicted else OK


def push_failed(exc: SyncError) -> int:
    """``create --sync LOCAL`` whose push failed (so nothing was created):
    say so; the exit status."""
    return _fail(exc, prefix="push before create: ")


def _round(
    result: SyncResult, client: Client, args: argparse.Namespace, shown: set[tuple[str, Any]]
) -> None:
    held = {h.key for h in result.held}
    news = held != shown
    shown.clear()
    shown.update(held)
    if args.json:
        sys.stdout.write(json.dumps(result.to_obj(), sort_keys=True) + "\n")
        sys.stdout.flush()
    elif news or (result.changed and not (held and _only_held(result))):
        print_result(result, client, stamp=True)
    if news and held:
        _held_notice(result, client, args)


def _only_held(result: SyncResult) -> bool:
    """Whether a round did nothing but hold changes back again."""
    return not (
        result.sent
        or result.received
        or result.deleted_local
        or result.deleted_remote
        or result.conflicts
    )


def _held_notice(result: SyncResult, client: Client, args: argparse.Namespace) -> None:
    """Which incoming changes were held back, why, and how to take them."""
    n = len(result.held)
    watching = args.command == "watch"
    # One sync round takes them; a watch holds the pair's lock, so it stops first.
    command = [*selfcmd.claude_remote_words(), *out.host_flag(client).split(), "sync"]
    command += [result.local, result.remote]
    if getattr(args, "pull", False):
        command.append("--pull")
    lines = [
        f"claude-remote: held back {n} change{'s' * (n != 1)} from the host, because {WHY}:",
        *(f"  {h.describe()}" for h in result.held),
        "  The rest of the sync was carried out; these files here are as they were.",
        f"  Look at them first, on the host in {_where(client, result.remote)}; to take "
        f"them: {shlex.join([*command, '--accept-config'])}"
        + (" (after stopping this watch, or watch with --accept-config)" if watching else ""),
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _where(client: Client, remote: str) -> str:
    return f"{client.host.describe()}:{remote}"


def print_result(result: SyncResult, client: Client, stamp: bool = False) -> None:
    way = {"push": "->", "pull": "<-", "both": "<->"}[result.mode]
    lead = f"[{result.finished_at[11:19]}] " if stamp else ""
    print(f"{lead}{result.local} {way} {_where(client, result.remote)}")
    rows = [
        ("sent", result.sent),
        ("received", result.received),
        ("deleted here", result.deleted_local),
        ("deleted there", result.deleted_remote),
    ]
    if not result.changed:
        print("  already in sync")
    for label, paths in rows:
        if paths:
            shown = ", ".join(paths[:MAX_LISTED])
            more = f" and {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else ""
            print(f"  {label} {len(paths)}: {shown}{more}")
    for c in result.conflicts:
        if c.kind == "both-changed":
            print(
                f"  conflict: {c.path} changed on both sides; {c.kept}'s version keeps the "
                f"name, {c.copy_side}'s is {c.copy}"
            )
        else:
            print(f"  conflict: {c.path}: {c.detail}")
    if result.deferred:
        print(f"  changed while syncing, left for the next round: {', '.join(result.deferred)}")
    if result.held:
        shown = ", ".join(h.path for h in result.held[:MAX_LISTED])
        more = f" and {len(result.held) - MAX_LISTED} more" if len(result.held) > MAX_LISTED else ""
        print(f"  held back {len(result.held)} (config files, to review): {shown}{more}")
    sys.stdout.flush()


def _progress(args: argparse.Namespace) -> Any:
    if args.json or not sys.stderr.isatty():
        return None

    def show(p: SyncProgress) -> None:
        t = p.transfer
        text = f"{p.phase}..." if t is None else f"{p.phase} {t.percent:3d}% {t.rate}"
        sys.stderr.write(f"\r\x1b[K{text}")
        sys.stderr.flush()

    return show


def _end_progress(args: argparse.Namespace) -> None:
    if not args.json and sys.stderr.isatty():
        with contextlib.suppress(OSError):
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
