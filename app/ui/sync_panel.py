"""Sync a sandbox's project with a folder on this machine: the Sync button.

A :class:`SyncController` per sandbox holds its local folder (chosen once,
kept in QSettings), runs push, pull and watch on the client library's
:class:`~app.remote.sync.syncer.Syncer`, and keeps a status the tile and the
:class:`SyncDialog` show: what runs, how far, the last result, conflicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.remote.client import Client
from app.remote.errors import RemoteError
from app.remote.sync.result import SyncProgress, SyncResult
from app.remote.sync.review import Held
from app.remote.sync.state import SyncError, SyncRefused
from app.remote.sync.syncer import Syncer, saved_summary
from app.remote.sync.watch import run_watch
from hostd.protocol import RpcError

from .labels import label_of
from .sync_review import HeldReview

log = logging.getLogger(__name__)

PHASES = {
    "listing": "Looking at both folders…",
    "comparing": "Comparing…",
    "moving": "Keeping replaced files in the trash…",
    "sending": "Sending",
    "receiving": "Receiving",
    "saving": "Saving the sync state…",
}


def summary(result: SyncResult) -> str:
    if result.cancelled:
        return "cancelled"
    deleted = len(result.deleted_local) + len(result.deleted_remote)
    return counts(len(result.sent), len(result.received), deleted, len(result.conflicts))


def counts(sent: int, received: int, deleted: int, conflicts: int) -> str:
    parts = []
    if sent:
        parts.append(f"{sent} sent")
    if received:
        parts.append(f"{received} received")
    if deleted:
        parts.append(f"{deleted} deleted (kept in the trash)")
    if conflicts:
        parts.append(f"{conflicts} conflict{'s' * (conflicts > 1)}")
    return ", ".join(parts) or "already in step"


WAYS = {"push": "push", "pull": "pull", "both": "both ways"}


def last_text(finished_at: str, mode: str, what: str, now: datetime | None = None) -> str:
    """When a round finished (an ISO time, UTC), which way, and ``what`` it
    did: "today at 14:02:31 (push): 1 sent"."""
    now = now or datetime.now().astimezone()
    try:
        when = datetime.fromisoformat(finished_at.replace("Z", "+00:00")) if finished_at else now
    except ValueError:
        return ""
    when = when.astimezone(now.tzinfo)
    if when.date() == now.date():
        day = f"today at {when:%H:%M:%S}"
    elif when.year == now.year:
        day = f"on {when.day} {when:%b} at {when:%H:%M}"
    else:
        day = f"on {when:%Y-%m-%d} at {when:%H:%M}"
    return f"{day} ({WAYS.get(mode, mode)}): {what}"


def saved_text(last: dict[str, Any]) -> str:
    """A summary as the pair's state keeps it (:attr:`Syncer.last`), for a person."""
    try:
        what = counts(
            int(last.get("sent", 0)),
            int(last.get("received", 0)),
            int(last.get("deleted_local", 0)) + int(last.get("deleted_remote", 0)),
            len(last.get("conflicts") or []),
        )
        return last_text(str(last["finished_at"]), str(last.get("mode", "")), what)
    except (KeyError, TypeError, ValueError):
        return ""


def error_text(exc: BaseException) -> str:
    """What went wrong, for the panel; with what to do next for a refusal."""
    text = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, SyncRefused):
        fill = (
            "Push ↑ fills the sandbox's folder again from this machine's."
            if exc.restore == "push"
            else "Pull ↓ fills this machine's folder again from the sandbox's."
        )
        text += (
            f" {fill} If it was emptied on purpose, delete the files on the other side too "
            "(or run claude-remote sync with --allow-delete-all)."
        )
    return str(text)


class SyncController(QObject):
    changed = Signal()

    def __init__(
        self,
        settings: QSettings,
        host: str,
        sandbox: dict[str, Any],
        client_of: Callable[[], Client | None],
    ) -> None:
        super().__init__()
        self.settings = settings
        self.host = host
        self.sandbox = sandbox
        # The host's client as it is now: a reconnect or a disconnect changes it.
        self._client_of = client_of
        self._key = f"sync/{host}/{sandbox['id']}/local"
        value = settings.value(self._key)
        self.local: str = str(value) if value else ""
        self.phase: str | None = None  # what runs now, for a person
        self.percent: int | None = None
        self.watching = False
        # The last round of this pair: "today at 12:31:02 (push): 3 sent"; after
        # a restart, read from the pair's saved state (load_last).
        self.last: str = ""
        self.conflicts: list[str] = []
        # The last round's held config changes, waiting for Accept or Keep mine.
        self.held: list[Held] = []
        self._decision: tuple[str, list[Held]] | None = None  # for the next round
        self._mode = "both"  # the last round's way, for the round a decision runs
        self.error: str = ""
        self._syncer: Syncer | None = None
        self._task: asyncio.Task[Any] | None = None
        self._loading: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def badge(self) -> str:
        """A few words for the tile."""
        if self.error:
            return "sync failed"
        if self.phase and not self.watching:
            return f"syncing {self.percent}%" if self.percent is not None else "syncing"
        if self.watching:
            return "⇅ watching" + (" (syncing)" if self.phase else "")
        if self.held:
            return f"{len(self.held)} to review"
        if self.conflicts:
            n = len(self.conflicts)
            return f"{n} sync conflict{'s' * (n > 1)}"
        return ""

    def set_local(self, folder: str) -> None:
        self.local = folder
        self.settings.setValue(self._key, folder)
        self.last = ""  # that of another pair
        self.changed.emit()
        self.load_last()

    def load_last(self) -> None:
        """Show the last sync of this pair of folders as saved, by this app
        before a restart or by claude-remote, unless a round here said more."""
        client = self._client_of()
        if self.last or not self.local or client is None or self._loading is not None:
            return
        self._loading = asyncio.ensure_future(self._load_last(client, self.local))

    async def _load_last(self, client: Client, local: str) -> None:
        try:
            saved = await saved_summary(client, local, str(self.sandbox["project_dir"]))
        except Exception:
            log.exception("reading the last sync of %s", local)
            return
        finally:
            self._loading = None
        if local != self.local:
            self.load_last()  # the folder changed while this one was read
        elif saved and not self.last:
            self.last = saved_text(saved)
            self.changed.emit()

    def run(self, mode: str) -> None:
        client = self._client()
        if self.busy or not self.local or client is None:
            return
        self._mode = mode
        self._start(self._round(client, mode))

    def accept_held(self) -> None:
        """Take the host's versions of the held files (those shown)."""
        self._decide("accept")

    def keep_held(self) -> None:
        """Leave this machine's versions of the held files."""
        self._decide("keep")

    def _decide(self, kind: str) -> None:
        held, self.held = self.held, []
        if not held:
            return
        if self.watching and self._syncer is not None:
            # The watch's syncer runs a round for it at once.
            (self._syncer.accept if kind == "accept" else self._syncer.keep_mine)(held)
        else:
            self._decision = (kind, held)
            self.run(self._mode)  # when a round runs now, the next one carries it out
        self.changed.emit()

    def watch(self, on: bool) -> None:
        client = self._client() if on else None
        if on and not self.busy and self.local and client is not None:
            self._start(self._watch(client))
        elif not on:
            self.cancel()

    def _client(self) -> Client | None:
        client = self._client_of()
        if client is None:
            self.error = f"{label_of(self.host)} is not connected"
            self.changed.emit()
        return client

    def _start(self, coro: Any) -> None:
        self._task = asyncio.ensure_future(coro)
        # Once it is over, the buttons that wait on it can be pressed again.
        self._task.add_done_callback(lambda _t: self.changed.emit())

    def cancel(self) -> None:
        if self._syncer is not None and not self.watching:
            self._syncer.cancel()
        elif self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        """End whatever runs (the window closes, the sandbox goes)."""
        if self._loading is not None:
            self._loading.cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    # -- internals -----------------------------------------------------------------------

    def _syncer_for(self, client: Client) -> Syncer:
        return Syncer(client, self.local, str(self.sandbox["project_dir"]),
                      on_progress=self._progress)  # fmt: skip

    async def _round(self, client: Client, mode: str) -> None:
        self.error = ""
        self._set_phase("listing")
        try:
            async with self._syncer_for(client) as syncer:
                self._syncer = syncer
                if self._decision is not None:
                    kind, held = self._decision
                    self._decision = None
                    (syncer.accept if kind == "accept" else syncer.keep_mine)(held)
                result = await syncer.run(mode)  # type: ignore[arg-type]
            self._done(result)
        except (SyncError, RemoteError, RpcError, OSError) as exc:
            self.error = error_text(exc)
        finally:
            self._syncer = None
            self._set_phase(None)

    async def _watch(self, client: Client) -> None:
        self.error = ""
        self.watching = True
        self.changed.emit()
        try:
            async with self._syncer_for(client) as syncer:
                self._syncer = syncer
                await run_watch(syncer, on_result=self._done, on_error=self._watch_error)
        except asyncio.CancelledError:
            pass
        except (SyncError, RemoteError, RpcError, OSError) as exc:
            self.error = error_text(exc)  # the watch ends (a refusal, say)
        finally:
            self._syncer = None
            self.watching = False
            self._set_phase(None)

    def _watch_error(self, exc: Exception) -> None:
        self.error = f"{exc} (trying again)"
        self._set_phase(None)

    def _progress(self, p: SyncProgress) -> None:
        self.phase = p.phase
        self.percent = p.transfer.percent if p.transfer is not None else None
        self.changed.emit()

    def _done(self, result: SyncResult) -> None:
        self.error = ""
        self.held = list(result.held)
        if result.changed or not self.watching:
            self.last = last_text(result.finished_at, result.mode, summary(result))
        for c in result.conflicts:
            where = f" → {c.copy}" if c.copy else ""
            self.conflicts.append(f"{c.path}{where} ({c.kind})")
        self._set_phase(None)

    def _set_phase(self, phase: str | None) -> None:
        self.phase = phase
        if phase is None:
            self.percent = None
        self.changed.emit()


class SyncDialog(QDialog):
    """Push, pull, watch for one sandbox, with what happened."""

    def __init__(self, controller: SyncController, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.c = controller
        sb = controller.sandbox
        self.setWindowTitle(f"Sync {sb['name']}")
        self.setObjectName("sync-dialog")
        self.local = QLineEdit(controller.local)
        self.local.setPlaceholderText("a folder on this machine")
        self.local.setReadOnly(True)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose)
        remote = QLabel(f"{sb['project_dir']} on {label_of(controller.host)}")
        remote.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.push = QPushButton("Push ↑")
        self.push.setToolTip("Carry this machine's changes over to the sandbox")
        self.pull = QPushButton("Pull ↓")
        self.pull.setToolTip("Carry the sandbox's changes over to this machine")
        self.both = QPushButton("Both ways")
        self.watch = QPushButton("Watch")
        self.watch.setCheckable(True)
        self.watch.setToolTip("Sync both ways whenever either side changes")
        self.cancel = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.phase = QLabel()
        self.last = QLabel()
        self.last.setWordWrap(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d32f2f;")
        self.conflicts = QListWidget()
        self.conflicts.setToolTip("Both sides changed these; both versions were kept.")
        self.held = HeldReview()
        self.held.accepted.connect(controller.accept_held)
        self.held.kept.connect(controller.keep_held)
        row = QHBoxLayout()
        row.addWidget(self.local, 1)
        row.addWidget(choose)
        actions = QHBoxLayout()
        for b in (self.push, self.pull, self.both, self.watch, self.cancel):
            actions.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("This machine's folder"))
        layout.addLayout(row)
        layout.addWidget(QLabel("The sandbox's project"))
        layout.addWidget(remote)
        layout.addLayout(actions)
        layout.addWidget(self.phase)
        layout.addWidget(self.progress)
        layout.addWidget(self.last)
        layout.addWidget(self.error)
        layout.addWidget(self.held)
        layout.addWidget(QLabel("Conflicts (both versions kept)"))
        layout.addWidget(self.conflicts)
        self.push.clicked.connect(lambda: controller.run("push"))
        self.pull.clicked.connect(lambda: controller.run("pull"))
        self.both.clicked.connect(lambda: controller.run("both"))
        self.watch.toggled.connect(controller.watch)
        self.cancel.clicked.connect(controller.cancel)
        controller.changed.connect(self.refresh)
        self.resize(560, 420)
        self.refresh()
        controller.load_last()

    def refresh(self) -> None:
        c = self.c
        has_folder = bool(c.local)
        running = c.busy
        for b in (self.push, self.pull, self.both):
            b.setEnabled(has_folder and not running)
        self.watch.setEnabled(has_folder and (not running or c.watching))
        self.watch.blockSignals(True)
        self.watch.setChecked(c.watching)
        self.watch.blockSignals(False)
        self.cancel.setEnabled(running)
        phase = PHASES.get(c.phase or "", c.phase or "")
        if c.phase in ("sending", "receiving") and c.percent is not None:
            phase = f"{phase}: {c.percent}%"
        self.phase.setText(phase or ("Watching both folders" if c.watching else "Idle"))
        self.progress.setVisible(bool(c.phase))
        if c.phase and c.percent is not None:
            self.progress.setRange(0, 100)
            self.progress.setValue(c.percent)
        elif c.phase:
            self.progress.setRange(0, 0)  # busy, no figure yet
        self.last.setText(f"Last sync {c.last}" if c.last else "Not synced yet.")
        self.error.setText(c.error)
        self.error.setVisible(bool(c.error))
        self.held.show_for(c)
        if self.conflicts.count() != len(c.conflicts):
            self.conflicts.clear()
            self.conflicts.addItems(c.conflicts)

    def _choose(self) -> None:
        dialog = QFileDialog(self, "This machine's folder for the sandbox's project")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self._chosen)
        dialog.open()

    def _chosen(self, folder: str) -> None:
        self.c.set_local(folder)
        self.local.setText(folder)
