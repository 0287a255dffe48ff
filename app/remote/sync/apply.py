"""Carrying out a plan: renames, moves to the trash, transfers, and checking
what arrived (steps 1 to 3 of the rules in :mod:`app.remote.sync.syncer`).

The plan says what should move; this module moves it, on the two sides a
:class:`~app.remote.sync.syncer.Syncer` holds open, and records in the base
only what is verified to have arrived as sent.
"""

from __future__ import annotations

import time
from typing import Protocol

from treesync.tree import Entry, signature

from .plan import SIDES, Base, Copy, Plan, Side, other
from .result import SyncResult
from .rsync import Progress, RsyncFailed, Sent, Ssh, run_rsync, transfer_argv
from .sides import LocalSide, RemoteSide, Trashed
from .state import SyncError


class Report(Protocol):
    def __call__(self, phase: str, transfer: Progress | None = None) -> None: ...


class Applier:
    """Applies plans to two open sides. ``ssh`` is the connection rsync goes
    through to a host (None for this machine); ``report`` gets each phase
    (moving, sending, receiving) and rsync's progress within it."""

    def __init__(
        self, local: LocalSide, remote: RemoteSide, ssh: Ssh | None, report: Report
    ) -> None:
        self._local = local
        self._remote = remote
        self._ssh = ssh
        self._report = report

    def side(self, side: Side) -> LocalSide | RemoteSide:
        return self._local if side == "local" else self._remote

    async def apply(
        self, plan: Plan, base: dict[str, Base], result: SyncResult, stamp: str
    ) -> None:
        """Carry out ``plan``: renames, moves to the trash (``stamp`` names
        this round's trash folder), then the transfers. ``base`` is updated in
        place with every path the round accounted for and ``result`` with
        what moved, what was deferred and where the trash is. A transfer that
        fails raises :class:`SyncError` with ``result`` set: ``base`` then
        holds what was verified up to that point, for the caller to keep."""
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

        # Both ways even when the first fails: the files the second replaces
        # are in the trash already, and would stay missing here until a
        # later round, which would report each as deleted here and changed
        # there.
        failed: SyncError | None = None
        for source in SIDES:
            batch = [c for c in copies if c.source == source]
            if not batch:
                continue
            try:
                await self._transfer(source, batch, base, result, stamp, trash_dirs)
            except SyncError as exc:
                if exc.result is None:
                    raise
                if failed is None or (exc.retryable and not failed.retryable):
                    failed = exc  # a link that dropped is what the watch waits out
        if failed is not None:
            raise failed

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
        torn = [c for c in batch if _torn(c, arrived.get(c.dest), written)]
        # A torn copy needs a sender that did change: if it is still as listed,
        # what differs there is someone else's edit (a conflict to see).
        senders = await self.side(source).stat([c.path for c in torn]) if torn else {}
        torn_dests = {c.dest for c in torn if signature(senders.get(c.path)) != signature(c.entry)}
        for c in batch:
            got = arrived.get(c.dest)
            entry = c.entry
            if got is not None and not _same_as_sent(entry, got) and _wrote(written, c, got):
                # The sender changed it after the listing and rsync sent that
                # newer version (with its exact mtime): record what was sent,
                # so a later deletion or edit there is carried over normally.
                entry = {**entry, "size": got["size"], "mtime_ns": got["mtime_ns"]}
            b = base.get(c.dest) or Base(None, None)
            if got is None or not _same_as_sent(entry, got):
                if c.dest in torn_dests:
                    # rsync wrote it while the sender was rewriting it: its
                    # text is neither version. Recorded with the sender as
                    # listed (which it is no longer), so the next round
                    # replaces it with the sender's file, or deletes it if the
                    # sender deleted it (left out, it would pass for a file
                    # new there: copied back, or made a conflict).
                    assert got is not None
                    base[c.dest] = b.with_side(source, signature(c.entry)).with_side(
                        dest, signature(got)
                    )
                if c.dest not in result.deferred:
                    result.deferred.append(c.dest)
                continue
            if c.dest != c.path and c.after is None:
                # A one-way conflict copy, on the receiving side only: left out
                # of the base, it is new there, so the next transfer the other
                # way brings it across and the two folders agree again.
                base.pop(c.dest, None)
                if c.settles is not None:
                    base[c.path] = c.settles
            else:
                base[c.dest] = b.with_side(source, signature(entry)).with_side(dest, signature(got))
            if c.entry["type"] != "dir":
                (result.sent if source == "local" else result.received).append(c.dest)
        if failure is not None:
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


def _rsync_wrote(written: dict[str, Sent], copy: Copy, got: Entry | None) -> Sent | None:
    """rsync's report of the file ``got`` when that is the file rsync wrote:
    it says it wrote the name, and the file has the mtime it reported (to
    the second; rsync gives no finer time in its report)."""
    sent = written.get(copy.path)
    if sent is None or got is None or got["type"] != "file":
        return None
    stamp = time.strftime("%Y/%m/%d-%H:%M:%S", time.localtime(got["mtime_ns"] // 1_000_000_000))
    return sent if stamp == sent.mtime_s else None


def _wrote(written: dict[str, Sent], copy: Copy, got: Entry) -> bool:
    """Whether ``got`` is the file rsync said it wrote, its length too."""
    sent = _rsync_wrote(written, copy, got)
    return sent is not None and sent.size == got["size"]


def _torn(copy: Copy, got: Entry | None, written: dict[str, Sent]) -> bool:
    """Whether ``got`` is the copy rsync wrote (by the mtime it gave it) of a
    file that changed while it was read: its length is not the reported one."""
    sent = _rsync_wrote(written, copy, got)
    return (
        copy.dest == copy.path
        and sent is not None
        and got is not None
        and (sent.size != got["size"])
    )


def _same_as_sent(sent: Entry, got: Entry) -> bool:
    if sent["type"] != got["type"]:
        return False
    if sent["type"] == "file":
        return bool(sent["size"] == got["size"] and sent["mtime_ns"] == got["mtime_ns"])
    return signature(sent) == signature(got)
