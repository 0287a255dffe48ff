"""Push, pull and two-way sync of a folder here with a folder on a host.

    async with Syncer(client, "~/src/shop", "/srv/shop") as syncer:
        result = await syncer.push()          # or pull(), sync(), watch()

A round lists both sides (this machine's folder directly, the server's
through hostd's ``fs.list``), decides with the base of the last sync what
moves (:mod:`app.remote.sync.plan`), moves files aside, transfers with
rsync, checks what arrived, and saves the new base. Nothing is printed:
progress goes to ``on_progress``, and each round returns a
:class:`SyncResult` (what moved each way, the conflicts, where the trash is).

Never losing a file, including in the race between listing and transfer:

1. A file is replaced or deleted only if its side did not change it since
   the last sync (the plan's rule), and only if it is *still* as listed: just
   before the transfer, each such file is moved to the trash by
   ``treesync.moves.trash``, which compares its signature (type, size, mtime in
   nanoseconds, link target) at the moment of the move. A file edited after
   the listing is left where it is and not overwritten; the next round sees
   both sides changed and makes a conflict copy.
2. rsync then runs with ``--ignore-existing``: every name it is to fill was
   emptied in step 1, so anything found there was created since, by
   someone else, and is left alone (and seen by the next round). The window
   left, between rsync's check of a name and the rename of its temporary
   file onto it, is covered by ``--backup-dir`` into the same trash.
3. What arrived is checked (its size and mtime must be the sender's, as
   rsync sets them) before the base records it. A file changed on either
   side during the transfer is therefore not recorded as synced, and the
   next round compares contents (hash) and either records it or reports a
   conflict with both versions kept.
4. The base is written after all that, atomically. A round killed at any
   step leaves files that the next round recognises: moved to the trash but
   not replaced (the sender's newer version is sent again), transferred but
   not recorded (same content on both sides: recorded without a conflict).

The price of step 1 is that a replaced file is briefly absent (between its
move and rsync's rename of the new version), instead of being replaced in
one rename: a reader at that moment sees no file rather than an old one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from treesync.tree import Entry, signature

from ..client import Client
from ..errors import RemoteError
from ..local import LocalHost
from ..ssh.host import SshHost
from .plan import (
    SIDES,
    Base,
    Conflict,
    Copy,
    Mode,
    Plan,
    Side,
    make_plan,
    other,
)
from .rsync import Progress, RsyncFailed, Sent, Ssh, run_rsync, transfer_argv
from .sides import (
    Listing,
    LocalSide,
    RemoteSide,
    Trashed,
    local_root,
    prepare_remote_root,
)
from .state import PairState, SyncBusy, SyncError, SyncRefused, state_home

log = logging.getLogger(__name__)

__all__ = [
    "Conflict",
    "Mode",
    "Progress",
    "SyncBusy",
    "SyncError",
    "SyncProgress",
    "SyncRefused",
    "SyncResult",
    "Syncer",
]


@dataclass(frozen=True)
class SyncProgress:
    """Where a round is: ``phase`` is listing, comparing, moving, sending,
    receiving or saving; ``transfer`` is rsync's latest report while sending
    or receiving."""

    phase: str
    transfer: Progress | None = None


ProgressCallback = Callable[[SyncProgress], None]


@dataclass
class SyncResult:
    """What one round did. ``sent`` went from here to the server, ``received``
    the other way; deletions are files moved to that side's trash."""

    mode: Mode
    local: str
    remote: str
    host: str
    started_at: str = ""
    finished_at: str = ""
    sent: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    deleted_local: list[str] = field(default_factory=list)
    deleted_remote: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # Each side's trash folder for this round, when something went there.
    trash: dict[str, str] = field(default_factory=dict)
    # Left for the next round: changed again while this one ran.
    deferred: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.sent or self.received or self.deleted_local or self.deleted_remote
        ) or bool(self.conflicts)

    def to_obj(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "local": self.local,
            "remote": self.remote,
            "host": self.host,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "sent": self.sent,
            "received": self.received,
            "deleted_local": self.deleted_local,
            "deleted_remote": self.deleted_remote,
            "conflicts": [c.to_obj() for c in self.conflicts],
            "trash": self.trash,
            "deferred": self.deferred,
            "cancelled": self.cancelled,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Syncer:
    """One pair of folders: this machine's ``local`` and ``remote`` on the
    host of ``client`` (its project folder; absolute). Holds the pair's lock
    from :meth:`open` to :meth:`close` (or as an async context manager)."""

    def __init__(
        self,
        client: Client,
        local: str | Path,
        remote: str,
        *,
        on_progress: ProgressCallback | None = None,
        state_dir: Path | None = None,
        create_remote: bool = False,
        allow_delete_all: bool = False,
    ) -> None:
        self.client = client
        self.local = local_root(local)
        self.remote = remote
        self.on_progress = on_progress
        self.host_name = host_name(client)
        self._state_home = state_dir or state_home()
        self._create_remote = create_remote
        # Carry the deletions of a side with no file left (see _refuse_emptied).
        self.allow_delete_all = allow_delete_all
        self._ssh: Ssh | None = None
        self._state: PairState | None = None
        self._local_side: LocalSide | None = None
        self._remote_side: RemoteSide | None = None
        self._base: dict[str, Base] = {}
        self._last: dict[str, Any] = {}
        self._round: asyncio.Task[SyncResult] | None = None
        self._cancelled = False
        self._ignore: tuple[dict[str, str], dict[str, str]] = ({}, {})

    # -- public API ------------------------------------------------------------------

    async def open(self) -> None:
        self.remote = await prepare_remote_root(self.client, self.remote, self._create_remote)
        state = PairState(self._state_home, self.local, self.host_name, self.remote)
        state.lock()
        self._state = state
        self._base, self._last = await asyncio.get_running_loop().run_in_executor(None, state.load)
        self._local_side = LocalSide(self.local, state)
        self._remote_side = RemoteSide(self.client, self.remote, state.id)
        host = self.client.host
        if isinstance(host, SshHost):
            self._ssh = Ssh(host.target, config_files=host.config.files)

    async def close(self) -> None:
        if self._ssh is not None:
            await self._ssh.close()
            self._ssh = None
        if self._state is not None:
            self._state.unlock()

    async def __aenter__(self) -> Syncer:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def pair_id(self) -> str:
        assert self._state is not None, "open() first"
        return self._state.id

    @property
    def state_folder(self) -> Path:
        assert self._state is not None, "open() first"
        return self._state.dir

    @property
    def last(self) -> dict[str, Any]:
        """The summary of the last finished round of this pair (any process)."""
        return dict(self._last)

    @property
    def base(self) -> dict[str, Base]:
        """Each path's signatures when the last round accounted for it."""
        return self._base

    @property
    def ignore_files(self) -> tuple[dict[str, str], dict[str, str]]:
        """The ``.gitignore`` texts of each side, as the last round found them."""
        return self._ignore

    def side(self, side: Side) -> LocalSide | RemoteSide:
        found = self._local_side if side == "local" else self._remote_side
        if found is None:
            raise SyncError("the syncer is not open")
        return found

    async def watch(
        self,
        on_result: Callable[[SyncResult], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """Sync both ways whenever either side changes, until the task running
        this is cancelled (that stops a running rsync too). Each round's result
        goes to ``on_result``; a failed round (the link down) to ``on_error``,
        and it is tried again, with a full look once the link is back. A round
        refused because a side was emptied ends the watch: it raises
        :class:`SyncRefused`."""
        from .watch import run_watch

        await run_watch(self, on_result, on_error)

    async def push(self) -> SyncResult:
        """This machine to the server: carry local changes over."""
        return await self.run("push")

    async def pull(self) -> SyncResult:
        """The server to this machine."""
        return await self.run("pull")

    async def sync(self) -> SyncResult:
        """Both ways at once."""
        return await self.run("both")

    async def run(self, mode: Mode) -> SyncResult:
        """One round. :meth:`cancel` ends it early with ``cancelled`` set and
        both sides consistent; cancelling the awaiting task works as well
        (rsync is stopped before the cancel goes on)."""
        if self._state is None:
            raise SyncError("the syncer is not open")
        self._cancelled = False
        self._round = asyncio.ensure_future(self._run_round(mode))
        try:
            return await asyncio.shield(self._round)
        except asyncio.CancelledError:
            if self._cancelled and self._round.cancelled():
                return self._cancelled_result(mode)
            self._round.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._round
            raise
        finally:
            self._round = None

    def cancel(self) -> None:
        """Stop the running round (rsync is ended; what it finished stays)."""
        if self._round is not None and not self._round.done():
            self._cancelled = True
            self._round.cancel()

    # -- a round ---------------------------------------------------------------------

    def _cancelled_result(self, mode: Mode) -> SyncResult:
        result = SyncResult(mode, self.local, self.remote, self.host_name, cancelled=True)
        result.finished_at = _now()
        return result

    def _report(self, phase: str, transfer: Progress | None = None) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(SyncProgress(phase, transfer))
            except Exception:
                log.exception("sync progress callback failed")

    async def _run_round(self, mode: Mode) -> SyncResult:
        assert self._state is not None
        result = SyncResult(mode, self.local, self.remote, self.host_name, started_at=_now())
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self._report("listing")
        lo, re_ = await asyncio.gather(self.side("local").listing(), self.side("remote").listing())
        self._ignore = (lo.ignore_files, re_.ignore_files)
        self._report("comparing")
        plan = self._plan(lo, re_, mode, None, stamp)
        if plan.need_hash:
            hl, hr = await asyncio.gather(
                self.side("local").hash(plan.need_hash),
                self.side("remote").hash(plan.need_hash),
            )
            plan = self._plan(lo, re_, mode, {"local": hl, "remote": hr}, stamp)
        if plan.emptied is not None and not self.allow_delete_all:
            raise self._refusal(plan.emptied.side, plan.emptied.deletes)
        base = dict(self._base)
        for path, entry in plan.base.items():
            if entry is None:
                base.pop(path, None)
            else:
                base[path] = entry
        if plan.reset:
            # Saved before any file moves: a fill cut short (Ctrl+C, a dropped
            # link) must leave no record by which the next round would take
            # the files not yet sent for deletions to carry back.
            state, last, kept = self._state, dict(self._last), dict(base)
            await asyncio.get_running_loop().run_in_executor(None, lambda: state.save(kept, last))
            self._base = kept
        result.conflicts = list(plan.conflicts)
        if not plan.empty:
            # The trash folder of this round: its own, even for two rounds in
            # one second (a watch), so no round's copies overwrite another's.
            trash_stamp = f"{stamp}-{secrets.token_hex(4)}"
            await self._execute(plan, base, result, trash_stamp)
        self._report("saving")
        result.finished_at = _now()
        self._last = {
            "finished_at": result.finished_at,
            "mode": mode,
            "sent": len(result.sent),
            "received": len(result.received),
            "deleted_local": len(result.deleted_local),
            "deleted_remote": len(result.deleted_remote),
            "conflicts": [c.to_obj() for c in result.conflicts],
        }
        state = self._state
        last = dict(self._last)
        await asyncio.get_running_loop().run_in_executor(None, lambda: state.save(base, last))
        self._base = base
        return result

    def _refusal(self, empty: Side, deletes: int) -> SyncRefused:
        """The error of a round that would carry over the emptying of a side."""
        remote = f"{self.client.host.describe()}:{self.remote}"
        folders = {"local": self.local, "remote": remote}
        files = f"{deletes} file{'s' * (deletes != 1)}"
        error = SyncRefused(
            f"{folders[empty]} is empty, but both sides had files at the last sync: "
            f"carrying that over would delete {'all' if deletes > 1 else 'the'} {files} in "
            f"{folders[other(empty)]}. Nothing was changed.",
            retryable=False,
        )
        error.empty, error.folder, error.deletes = empty, folders[empty], deletes
        return error

    def _plan(
        self,
        lo: Listing,
        re_: Listing,
        mode: Mode,
        hashes: dict[Side, dict[str, str | None]] | None,
        stamp: str,
    ) -> Plan:
        return make_plan(
            self._base,
            lo.entries,
            re_.entries,
            (lo.ignore_files, re_.ignore_files),
            mode,
            hashes,
            stamp,
        )

    async def _execute(
        self, plan: Plan, base: dict[str, Base], result: SyncResult, stamp: str
    ) -> None:
        self._report("moving")
        failed_renames: set[int] = set()
        for side in SIDES:
            renames = [r for r in plan.renames if r.side == side]
            if not renames:
                continue
            items = [{**r.entry, "to": r.to} for r in renames]
            _done, changed = await self.side(side).rename(items)
            for r in renames:
                if r.entry["path"] in changed:
                    failed_renames.add(id(r))
        if failed_renames:
            dropped = {r.entry["path"] for r in plan.renames if id(r) in failed_renames}
            result.conflicts = [c for c in result.conflicts if c.path not in dropped]
            result.deferred += sorted(dropped)
        copies = [c for c in plan.copies if c.after is None or id(c.after) not in failed_renames]

        blocked: set[tuple[Side, str]] = set()
        trash_dirs: dict[Side, str] = {}
        for side in SIDES:
            items = plan.trash[side]
            if not items:
                continue
            done: Trashed = await self.side(side).trash(items, stamp)
            trash_dirs[side] = done.trash_dir
            if done.moved:
                result.trash[side] = done.trash_dir
            for path in done.moved:
                if (side, path) in plan.deletes:
                    (result.deleted_local if side == "local" else result.deleted_remote).append(
                        path
                    )
                    base.pop(path, None)
            for path in done.changed:
                blocked.add((side, path))
                result.deferred.append(path)
                if (side, path) in plan.deletes:
                    # Changed since the listing: kept, and the deletion is
                    # accounted for, so the change comes back the other way.
                    b = base.get(path) or Base(None, None)
                    base[path] = b.with_side(other(side), None)
        copies = [c for c in copies if (other(c.source), c.dest) not in blocked]

        for source in SIDES:
            batch = [c for c in copies if c.source == source]
            if batch:
                await self._transfer(source, batch, base, result, stamp, trash_dirs)

    async def _transfer(
        self,
        source: Side,
        batch: list[Copy],
        base: dict[str, Base],
        result: SyncResult,
        stamp: str,
        trash_dirs: dict[Side, str],
    ) -> None:
        dest = other(source)
        direction = "push" if source == "local" else "pull"
        phase = "sending" if source == "local" else "receiving"
        # rsync's backup folder: beside the receiving side's trash of this
        # round, not in it, so a backup rsync makes can never replace a copy
        # the trash step kept under the same name.
        trash_dir = trash_dirs.get(dest)
        if trash_dir is None:
            trash_dir = (await self.side(dest).trash([], stamp)).trash_dir
        trash_dir = trash_dir.rstrip("/") + ".rsync-backup"
        self._report(phase)
        straight = [c for c in batch if c.dest == c.path]
        renamed = [c for c in batch if c.dest != c.path]
        src_root = self.side(source).root.rstrip("/") + "/"
        dst_root = self.side(dest).root.rstrip("/") + "/"
        failure: RsyncFailed | None = None
        written: dict[str, Sent] = {}
        try:
            if straight:
                argv = transfer_argv(
                    self._spec(source, src_root), self._spec(dest, dst_root), trash_dir, self._ssh
                )
                files = [c.path for c in straight]
                await run_rsync(argv, files, direction, lambda p: self._report(phase, p), written)
            for c in renamed:
                await self._send_as(source, c, trash_dir, direction, phase)
        except RsyncFailed as exc:
            failure = exc  # what did arrive is still recorded below
        arrived = await self.side(dest).stat([c.dest for c in batch])
        for c in batch:
            got = arrived.get(c.dest)
            entry = c.entry
            if got is not None and not _same_as_sent(entry, got) and _wrote(written, c, got):
                # The sender changed it after the listing and rsync sent that
                # newer version (with its exact mtime): record what was sent,
                # so a later deletion or edit there is carried over normally.
                entry = {**entry, "size": got["size"], "mtime_ns": got["mtime_ns"]}
            if got is None or not _same_as_sent(entry, got):
                if c.dest not in result.deferred:
                    result.deferred.append(c.dest)
                continue
            b = base.get(c.dest) or Base(None, None)
            if c.dest != c.path and c.after is None:
                # A one-way conflict copy, on the receiving side only: left out
                # of the base, it is new there, so the next transfer the other
                # way brings it across and the two folders agree again.
                base.pop(c.dest, None)
            else:
                base[c.dest] = b.with_side(source, signature(entry)).with_side(dest, signature(got))
            if c.entry["type"] != "dir":
                (result.sent if source == "local" else result.received).append(c.dest)
        if failure is not None:
            self._base = base  # keep what was verified, even though the round fails
            error = SyncError(str(failure), retryable=failure.connection)
            error.result = result  # what the round did before it failed
            raise error from failure

    async def _send_as(
        self, source: Side, copy: Copy, trash_dir: str, direction: str, phase: str
    ) -> None:
        """One file to another name on the receiving side (a conflict copy)."""
        src = self.side(source).root.rstrip("/") + "/" + copy.path
        dst = self.side(other(source)).root.rstrip("/") + "/" + copy.dest
        argv = transfer_argv(
            self._spec(source, src), self._spec(other(source), dst), trash_dir, self._ssh
        )
        argv.remove("--files-from=-")
        argv.remove("--from0")
        await run_rsync(argv, [], direction, lambda p: self._report(phase, p))

    def _spec(self, side: Side, path: str) -> str:
        if side == "remote" and self._ssh is not None:
            return self._ssh.remote_spec(path)
        return path


def _wrote(written: dict[str, Sent], copy: Copy, got: Entry) -> bool:
    """Whether ``got`` is the file rsync said it wrote (length, and mtime to
    the second; rsync gives no finer time in its report)."""
    sent = written.get(copy.path)
    if sent is None or got["type"] != "file" or sent.size != got["size"]:
        return False
    stamp = time.strftime("%Y/%m/%d-%H:%M:%S", time.localtime(got["mtime_ns"] // 1_000_000_000))
    return stamp == sent.mtime_s


def _same_as_sent(sent: Entry, got: Entry) -> bool:
    if sent["type"] != got["type"]:
        return False
    if sent["type"] == "file":
        return bool(sent["size"] == got["size"] and sent["mtime_ns"] == got["mtime_ns"])
    return signature(sent) == signature(got)


def host_name(client: Client) -> str:
    """The host's name in a pair's identity (``local`` for this machine)."""
    return "local" if isinstance(client.host, LocalHost) else client.host.name


async def saved_summary(
    client: Client, local: str | Path, remote: str, state_dir: Path | None = None
) -> dict[str, Any]:
    """What :attr:`Syncer.last` will be once the pair is open: the summary of
    the last finished round of ``local`` and ``remote`` (empty if they were
    never synced, or either folder is gone). Reads only; takes no lock."""
    try:
        root = local_root(local)
        remote = await prepare_remote_root(client, remote, False)
    except RemoteError:  # a folder gone, the host not connected: nothing to show
        return {}
    state = PairState(state_dir or state_home(), root, host_name(client), remote)
    return await asyncio.get_running_loop().run_in_executor(None, state.read_last)


async def resolve_remote(
    client: Client, spec: str | None, local: str | Path, state_dir: Path | None = None
) -> str:
    """The server folder that ``spec`` names: an absolute path; a sandbox (id
    prefix or name) meaning its project folder; ``SANDBOX:sub/dir`` for a
    folder inside it; or None for the folder ``local`` was last synced with
    on this host."""
    from hostd.protocol import RpcError
    from hostd.protocol import methods as m

    from .state import remembered

    if spec is None:
        pairs = remembered(state_dir or state_home(), local_root(local), host_name(client))
        if not pairs:
            raise SyncError(
                f"{local} was never synced with {client.host.describe()}: say which folder "
                "there (a sandbox, SANDBOX:subdir, or an absolute path)",
                retryable=False,
            )
        return str(pairs[0]["remote"])
    if spec.startswith("/"):
        return spec
    ref, _, sub = spec.partition(":")
    try:
        sandbox = await client.call(m.SANDBOX_GET, {"id": ref})
    except RpcError as exc:
        raise SyncError(f"{spec!r}: {exc.message}") from exc
    root = str(sandbox["project_dir"])
    if not sub:
        return root
    parts = sub.strip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise SyncError(f"{spec!r}: the folder inside the sandbox must be a plain relative path")
    return root.rstrip("/") + "/" + "/".join(parts)
