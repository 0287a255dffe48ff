"""Push, pull and two-way sync of a folder here with a folder on a host.

    async with Syncer(client, "~/src/shop", "/srv/shop") as syncer:
        result = await syncer.push()          # or pull(), sync()
        await run_watch(syncer)               # app.remote.sync.watch: until cancelled

A round lists both sides (this machine's folder directly, the server's
through hostd's ``fs.list``, checked by :mod:`app.remote.sync.check`),
decides with the base of the last sync what moves
(:mod:`app.remote.sync.plan`), holds back the incoming changes to files
that configure or run code here until the person accepts them
(:mod:`app.remote.sync.review`), moves files aside, transfers with
rsync, checks what arrived (:mod:`app.remote.sync.apply`), and saves the
new base. Nothing is printed:
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
   conflict with both versions kept. One exception: a copy rsync wrote of a
   file rewritten as it was read (the sender's exact mtime, another length)
   is recorded with the sender as listed, so the next round replaces it, or
   deletes it if the sender deleted the file, rather than take it for a
   file new on its side and copy it back.
4. The base is written after all that, atomically; just before the
   transfers, the old base is written with what the round is about to send
   (``sending``, :mod:`app.remote.sync.sending`). A round killed at any
   step leaves files that the next round recognises: moved to the trash
   but not replaced (the sender's newer version is sent again), transferred
   but not recorded (they have the sender's exact mtime: recorded as sent,
   so a deletion or an edit made since on either side is carried over, not
   undone).

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
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from treesync.tree import signature

from ..client import Client
from ..errors import RemoteError
from ..ssh.host import SshHost
from .apply import Applier
from .plan import Base, Mode, Plan, Side, make_plan, other
from .result import ProgressCallback, SyncProgress, SyncResult, now
from .review import Held, Key, hold_config
from .rsync import Progress, Ssh
from .sending import about_to_send, recognise
from .sides import Listing, LocalSide, RemoteSide
from .state import PairState, Sending, SyncError, SyncRefused, state_home
from .targets import host_name, local_root, prepare_remote_root

log = logging.getLogger(__name__)


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
        accept_config: bool = False,
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
        # Take every incoming change to a config file (app.remote.sync.review)
        # without asking; else they are held, and each round reports them.
        self.accept_config = accept_config
        # The person's word on held changes, for the next round (accept, keep_mine).
        self._accepted: set[Key] = set()
        self._kept: list[Held] = []
        # Called when the person decides (a watch runs a round for it).
        self.on_decision: Callable[[], None] | None = None
        self._ssh: Ssh | None = None
        self._state: PairState | None = None
        self._local_side: LocalSide | None = None
        self._remote_side: RemoteSide | None = None
        self._base: dict[str, Base] = {}
        self._last: dict[str, Any] = {}
        # What a round cut short was sending (PairState.save): recognised
        # at the start of the next round.
        self._sending: Sending = {}
        self._round: asyncio.Task[SyncResult] | None = None
        self._cancelled = False
        self._ignore: tuple[dict[str, str], dict[str, str]] = ({}, {})

    # -- public API ------------------------------------------------------------------

    async def open(self) -> None:
        self.remote = await prepare_remote_root(self.client, self.remote, self._create_remote)
        state = PairState(self._state_home, self.local, self.host_name, self.remote)
        state.lock()
        self._state = state
        self._base, self._last, self._sending = await asyncio.get_running_loop().run_in_executor(
            None, state.load
        )
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

    def accept(self, held: Iterable[Held]) -> None:
        """Let the next round take these held changes (as they were when held:
        one changed on the host since is held again)."""
        self._accepted.update(h.key for h in held)
        if self.on_decision is not None:
            self.on_decision()

    def keep_mine(self, held: Iterable[Held]) -> None:
        """Keep this machine's version of these held paths: the next round
        records the host's version as seen, so it is not asked about again
        (until the host changes it again) and nothing moves either way;
        this machine's next edit of it is carried over as usual."""
        self._kept.extend(held)
        if self.on_decision is not None:
            self.on_decision()

    def cancel(self) -> None:
        """Stop the running round (rsync is ended; what it finished stays)."""
        if self._round is not None and not self._round.done():
            self._cancelled = True
            self._round.cancel()

    # -- a round ---------------------------------------------------------------------

    def _cancelled_result(self, mode: Mode) -> SyncResult:
        result = SyncResult(mode, self.local, self.remote, self.host_name, cancelled=True)
        result.finished_at = now()
        return result

    def _report(self, phase: str, transfer: Progress | None = None) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(SyncProgress(phase, transfer))
            except Exception:
                log.exception("sync progress callback failed")

    async def _run_round(self, mode: Mode) -> SyncResult:
        assert self._state is not None
        result = SyncResult(mode, self.local, self.remote, self.host_name, started_at=now())
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self._report("listing")
        lo, re_ = await asyncio.gather(self.side("local").listing(), self.side("remote").listing())
        self._ignore = (lo.ignore_files, re_.ignore_files)
        self._report("comparing")
        sent, self._sending = self._sending, {}
        recognise(sent, self._base, lo.entries, re_.entries)
        self._apply_kept(lo, re_)
        plan = self._plan(lo, re_, mode, None, stamp)
        if plan.need_hash:
            hl, hr = await asyncio.gather(
                self.side("local").hash(plan.need_hash),
                self.side("remote").hash(plan.need_hash),
            )
            plan = self._plan(lo, re_, mode, {"local": hl, "remote": hr}, stamp)
        accepted, self._accepted = self._accepted, set()
        result.held = hold_config(plan, lo.entries, re_.entries, self.accept_config or accepted)
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
            await self._save(base)
            self._base = dict(base)
        sending = about_to_send(plan)
        if sending:
            # The base as it was, with what is about to be written: a round
            # killed after its transfers and before its save is recognised.
            await self._save(self._base, sending)
            self._sending = sending
        result.conflicts = list(plan.conflicts)
        if not plan.empty:
            # The trash folder of this round: its own, even for two rounds in
            # one second (a watch), so no round's copies overwrite another's.
            trash_stamp = f"{stamp}-{secrets.token_hex(4)}"
            local, remote = self._local_side, self._remote_side
            assert local is not None and remote is not None  # made by open()
            applier = Applier(local, remote, self._ssh, self._report)
            try:
                await applier.apply(plan, base, result, trash_stamp)
            except SyncError as exc:
                if exc.result is not None:
                    self._base = base  # keep what was verified, even though the round fails
                    await self._save(base, sending)
                raise
        self._report("saving")
        result.finished_at = now()
        self._last = {
            "finished_at": result.finished_at,
            "mode": mode,
            "sent": len(result.sent),
            "received": len(result.received),
            "deleted_local": len(result.deleted_local),
            "deleted_remote": len(result.deleted_remote),
            "conflicts": [c.to_obj() for c in result.conflicts],
            "held": [h.path for h in result.held],
        }
        await self._save(base)
        self._base = base
        self._sending = {}
        return result

    async def _save(self, base: dict[str, Base], sending: Sending | None = None) -> None:
        """Write the pair's state (with the last finished round's summary),
        off the loop; what is written is copied now, so the round can go on."""
        state, entries, last = self._state, dict(base), dict(self._last)
        assert state is not None  # made by open()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: state.save(entries, last, sending)
        )

    def _apply_kept(self, lo: Listing, re_: Listing) -> None:
        """Record the host's version of each path the person kept theirs of,
        if both sides are still what they were when it was held."""
        kept, self._kept = self._kept, []
        for h in kept:
            if signature(lo.entries.get(h.path)) == h.local and (
                signature(re_.entries.get(h.path)) == h.remote
            ):
                self._base[h.path] = Base(h.local, h.remote)

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
