"""What a person does to sandboxes from the window: create, start, stop, delete,
sync, and answer an agent's request (Allow, Deny, Deny with a message; Yes, No).

Each action that awaits restores what it changed in the window (a tile's
"Stopping…", a dialog's locked buttons) in ``finally``, so an error nobody
expected still leaves the tile or the dialog usable; that error itself goes
on to :class:`~app.ui.tasks.Tasks`, which logs it and shows it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog, QLabel, QWidget

from app.remote import selfcmd
from app.remote.api import HostApi
from app.remote.errors import RemoteError
from app.remote.profiles import LOCAL
from app.remote.sync.result import SyncProgress, SyncResult
from app.remote.sync.state import SyncError
from hostd.protocol import RpcError
from hostd.protocol.errors import InvalidParams, InvalidState

from .asks import confirm, popup_menu
from .create_dialog import CreateDialog
from .labels import label_of
from .model import SandboxModel, Tile, TileRole
from .sync_panel import SyncController, SyncDialog, summary
from .tasks import Tasks, error_text
from .tile_view import TileView
from .waiting_band import answer_labels

if TYPE_CHECKING:
    from .hub import Hub

BUSY_TEXT = {"stop": "Stopping…", "start": "Starting…", "delete": "Deleting…"}
LIFECYCLE = {"stop": HostApi.stop, "start": HostApi.start, "delete": HostApi.delete}
# What a create, a push or an action can fail with, said by a host or the disk.
EXPECTED = (RpcError, RemoteError, SyncError, OSError)
ANSWERING = {"allow": "Allowing…", "deny": "Denying…"}
# sandbox.answer takes a message of at most 2000 characters (docs/protocol.md).
MAX_MESSAGE = 2000
# Why hostd refused an answer (-32003's data.state), as the person reads it.
REFUSED = {
    "answered": "it was already answered (from another window or claude-remote)",
    "expired": "it timed out; the agent asks in its terminal now",
    "over": "it is no longer pending",
    "unknown": "it is no longer pending",
}


async def send_answer(
    api: HostApi, sid: str, request: str, decision: str, message: str | None = None
) -> dict[str, Any]:
    """``sandbox.answer``: the one place the window calls it."""
    return dict(await api.answer(sid, request, decision, message))


def refusal_text(exc: InvalidState) -> str:
    state = exc.data.get("state") if isinstance(exc.data, dict) else None
    return REFUSED.get(str(state), exc.message or REFUSED["over"])


class SandboxActions:
    def __init__(
        self,
        window: Any,  # the MainWindow: parent of dialogs, and show_message
        hub: Hub,
        model: SandboxModel,
        tiles: TileView,
        settings: QSettings,
        tasks: Tasks,
    ) -> None:
        self.window = window
        self.hub = hub
        self.model = model
        self.tiles = tiles
        self.settings = settings
        self.tasks = tasks
        self.syncs: dict[tuple[str, str], SyncController] = {}

    # -- create --------------------------------------------------------------------------

    def new_sandbox(self, current_host: str | None) -> None:
        connected = [n for n, s in self.hub.sessions.items() if s.state.phase == "connected"]
        if not connected:
            self.window.show_message("Connect to a host first: double-click it in the list.", True)
            return
        dialog = CreateDialog(
            connected,
            lambda host: self.hub.sessions[host].backends if host in self.hub.sessions else [],
            lambda host: {t.name for t in self.model.tiles() if t.host == host},
            host=current_host if current_host in connected else connected[0],
            local_host=LOCAL,
            commands=self._commands,
            parent=self.window,
        )
        dialog.setObjectName("create-dialog")
        dialog.submitted.connect(lambda params: self.tasks.spawn(self.create(dialog, params)))
        dialog.discard.connect(
            lambda sb: self.tasks.spawn(self.discard(dialog, dialog.host_name(), sb))
        )
        dialog.open()

    def _commands(self, host: str) -> Any:
        """hello's ``commands`` of ``host`` (None from a hostd before it)."""
        session = self.hub.sessions.get(host)
        return (session.client.hello or {}).get("commands") if session is not None else None

    async def create(self, dialog: CreateDialog, params: dict[str, Any]) -> None:
        """Push a folder first if asked, then create; the dialog is unlocked
        whatever happens (closed on success, else showing why)."""
        host = params.pop("host")
        push_from = params.pop("push_from", None)
        problem: str | None = "The create was cut short."
        field: str | None = None
        sb: dict[str, Any] | None = None
        try:
            session = self.hub.sessions.get(host)
            if session is None:
                problem = f"{label_of(host)} is not connected any more."
                return

            def pushing(p: SyncProgress) -> None:
                pct = f" {p.transfer.percent}%" if p.transfer is not None else ""
                dialog.set_status(f"Pushing {push_from}: {p.phase}{pct}")

            def pushed(result: SyncResult) -> None:
                dialog.set_status(f"Pushed {push_from} ({summary(result)}); creating…")

            try:
                sb = await session.create(params, push_from, pushing, pushed)
            except EXPECTED as exc:
                problem = error_text(exc)
                field = exc.field if isinstance(exc, InvalidParams) else None
                return
            except Exception as exc:
                problem = f"Something went wrong: {error_text(exc)}"
                raise
            problem = None
        finally:
            dialog.finish(problem, sb, field)
        if sb is None:  # not reached: each failure above returned or raised
            return
        if push_from:
            self.sync_for(host, sb).set_local(push_from)
        if sb.get("status") == "exited":  # the dialog shows why; the record is kept
            code = sb.get("exit_code")
            self.window.show_message(
                f"{sb['name']} on {label_of(host)} exited at once with status {code}; it was kept.",
                True,
            )
            return
        self.window.show_message(f"Created {sb['name']} on {label_of(host)}.", False)

    async def discard(self, dialog: CreateDialog, host: str, sb: dict[str, Any]) -> None:
        """Delete the sandbox whose agent exited at once (the dialog's "Delete
        it and edit"); the dialog is unlocked whatever happens."""
        problem: str | None = "The delete was cut short."
        try:
            session = self.hub.sessions.get(host)
            if session is None:
                problem = f"{label_of(host)} is not connected any more."
                return
            try:
                await session.api.delete(sb["id"])
            except EXPECTED as exc:
                problem = error_text(exc)
                return
            problem = None
            kept = f"{sb['name']} on {label_of(host)} exited at once"
            if self.window.banner.text().startswith(kept):  # it is kept no more
                self.window.banner.hide()
            self.window.show_message(f"Deleted {sb['name']} on {label_of(host)}.", False)
        finally:
            dialog.discarded(problem)

    # -- start, stop, delete ---------------------------------------------------------------

    async def act(self, tile: Tile, action: str, confirmed: bool = False) -> None:
        """Start, stop or delete one sandbox, showing progress on its tile."""
        session = self.hub.sessions.get(tile.host)
        if session is None:
            return
        if (
            action == "delete"
            and not confirmed
            and not await confirm(
                self.window,
                "Delete sandbox",
                f"Delete {tile.name} on {label_of(tile.host)}?\n\nIts processes are stopped and "
                "its log is removed. The project directory is left as it is.",
                "Delete",
            )
        ):
            return
        self.model.set_busy(tile.key, BUSY_TEXT[action])
        error: str | None = None
        try:
            await LIFECYCLE[action](session.api, tile.sandbox["id"])
        except (RpcError, RemoteError) as exc:
            error = error_text(exc)
            self.window.show_message(f"Could not {action} {tile.name}: {error}", True)
        except Exception as exc:
            error = error_text(exc)
            raise
        finally:
            self.model.set_busy(tile.key, None, error=error)

    def tile_action(self, key: tuple[str, str], action: str) -> None:
        tile = self.model.tile(key)
        if tile is None:
            return
        if action in ("allow", "deny"):
            self.answer_asked(key, action)
        elif action == "sync":
            self.open_sync(tile)
        else:
            self.tasks.spawn(self.act(tile, action))

    def delete_selected(self) -> None:
        tiles = [t for t in self.tiles.selected_tiles() if t.stale_since is None and not t.busy]
        if len(tiles) == 1:
            self.tasks.spawn(self.act(tiles[0], "delete"))
        elif tiles:
            self.tasks.spawn(self._delete_many(tiles))

    async def _delete_many(self, tiles: list[Tile]) -> None:
        names = "\n".join(f"  {t.name} on {label_of(t.host)}" for t in tiles)
        if await confirm(self.window, "Delete sandboxes", f"Delete these {len(tiles)} "
                         f"sandboxes?\n\n{names}\n\nTheir processes are stopped and their logs "
                         "removed. The project directories are left as they are.",
                         "Delete"):  # fmt: skip
            await asyncio.gather(*(self.act(t, "delete", confirmed=True) for t in tiles))

    # -- answering a request ---------------------------------------------------------------

    def answer_asked(
        self, key: tuple[str, str], decision: str, parent: QWidget | None = None
    ) -> QInputDialog | None:
        """Allow or Deny the request the tile shows now ("deny-message": ask for
        the message first, in a dialog over ``parent``)."""
        tile = self.model.tile(key)
        req = tile.answerable if tile is not None and not tile.busy else None
        if tile is None or req is None:
            return None
        if decision == "deny-message":
            return self.ask_deny_message(tile, req["id"], parent)
        self.tasks.spawn(self.answer(tile, req["id"], decision), f"answering {tile.name}")
        return None

    def ask_deny_message(
        self, tile: Tile, request: str, parent: QWidget | None = None
    ) -> QInputDialog:
        """The message goes to the agent with the Deny (open(), not exec())."""
        dialog = QInputDialog(parent or self.window)
        dialog.setObjectName("deny-message-dialog")
        dialog.setWindowTitle(f"Deny {tile.name}'s request")
        # The label is a buddy label: "&" is a mnemonic there, and it reads
        # HTML unless told not to; the agent's words must show as written.
        said = tile.reason.replace("&", "&&")
        dialog.setLabelText(f"{said}\n\nTell the agent why, or what to do instead:")
        dialog.setOption(QInputDialog.InputDialogOption.UsePlainTextEditForTextInput)
        for label in dialog.findChildren(QLabel):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
        dialog.setOkButtonText("Deny")
        key = tile.key

        def chosen(text: str) -> None:
            now = self.model.tile(key)
            if now is not None:
                message = text.strip()[:MAX_MESSAGE] or None
                self.tasks.spawn(self.answer(now, request, "deny", message), "denying")

        def over(*_args: Any) -> None:
            """The request ended while the person typed (answered elsewhere, the
            agent went on): the message can no longer reach it."""
            now = self.model.tile(key)
            if now is None or (now.request or {}).get("id") != request:
                dialog.reject()
                self.window.show_message(f"{tile.name} no longer asks that; nothing was sent.")

        def finished(_result: int) -> None:
            for signal in (self.model.dataChanged, self.model.rowsRemoved):
                signal.disconnect(over)
            dialog.deleteLater()

        dialog.textValueSelected.connect(chosen)
        self.model.dataChanged.connect(over)
        self.model.rowsRemoved.connect(over)
        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    async def answer(
        self, tile: Tile, request: str, decision: str, message: str | None = None
    ) -> None:
        """Send the answer; the tile says "Allowing…" meanwhile, and why if refused."""
        session = self.hub.sessions.get(tile.host)
        if session is None:
            return
        key = tile.key
        self.model.set_busy(key, ANSWERING[decision])
        error: str | None = None
        try:
            await send_answer(session.api, tile.sandbox["id"], request, decision, message)
            self.model.set_answered(key, request, decision)
        except InvalidState as exc:
            error = f"Not answered: {refusal_text(exc)}"
            self.window.show_message(f"{tile.name}'s request was not answered: "
                                     f"{refusal_text(exc)}.", True)  # fmt: skip
        except (RpcError, RemoteError) as exc:
            error = error_text(exc)
            self.window.show_message(f"Could not answer {tile.name}: {error}", True)
        except Exception as exc:
            error = error_text(exc)
            raise
        finally:
            self.model.set_busy(key, None, error=error)

    # -- sync ----------------------------------------------------------------------------

    def open_sync(self, tile: Tile) -> SyncDialog | None:
        """The Sync panel of a sandbox (its folder here, push, pull, watch)."""
        session = self.hub.sessions.get(tile.host)
        if session is None:
            self.window.show_message(f"{label_of(tile.host)} is not connected.", True)
            return None
        dialog = SyncDialog(self.sync_for(tile.host, tile.sandbox), self.window)
        dialog.open()
        return dialog

    def sync_for(self, host: str, sandbox: dict[str, Any]) -> SyncController:
        key = (host, sandbox["id"])
        controller = self.syncs.get(key)
        if controller is None:

            def client_of() -> Any:
                session = self.hub.sessions.get(host)
                return session.client if session is not None else None

            controller = SyncController(self.settings, host, sandbox, client_of)
            controller.changed.connect(lambda: self.model.set_sync(key, controller.badge()))
            self.syncs[key] = controller
        return controller

    def stop_syncs_of(self, host: str) -> None:
        for key in [k for k in self.syncs if k[0] == host]:
            self.tasks.spawn(self.syncs.pop(key).stop(), "stopping a sync")

    def rows_going(self, _parent: Any, first: int, last: int) -> None:
        for row in range(first, last + 1):
            tile = self.model.index(row).data(TileRole)
            controller = self.syncs.pop(tile.key, None) if tile is not None else None
            if controller is not None:
                self.tasks.spawn(controller.stop(), "stopping a sync")

    async def stop_all_syncs(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.syncs.values()))

    # -- the tile's menu -----------------------------------------------------------------

    def tile_menu(self, pos: QPoint) -> None:
        tile = self.tiles.tile_at(pos)
        if tile is None:
            return
        menu = popup_menu(self.window)
        live = tile.stale_since is None and not tile.busy
        spawn = self.tasks.spawn
        menu.addAction("Open terminal\tCtrl+T", lambda: self.window.work.open(tile.key)).setEnabled(
            tile.status in ("running", "exited")
        )
        menu.addSeparator()
        if tile.status == "running":
            menu.addAction("Stop", lambda: spawn(self.act(tile, "stop"))).setEnabled(live)
        else:
            menu.addAction("Start", lambda: spawn(self.act(tile, "start"))).setEnabled(live)
        menu.addAction("Delete…", lambda: spawn(self.act(tile, "delete"))).setEnabled(live)
        menu.addAction("Sync…", lambda: self.open_sync(tile)).setEnabled(tile.stale_since is None)
        req = tile.answerable
        if req is not None:
            menu.addSeparator()
            answers = [(label, name) for name, label in answer_labels(req)]
            if req.get("via") == "hooks":  # keys cannot carry a message to the agent
                answers.append(("Deny with a message…", "deny-message"))
            for label, decision in answers:
                item = menu.addAction(label)
                item.triggered.connect(lambda _c=False, d=decision: self.answer_asked(tile.key, d))
                item.setEnabled(live)
        menu.addSeparator()
        menu.addAction("Copy ID", lambda: QGuiApplication.clipboard().setText(tile.sandbox["id"]))
        menu.addAction("Copy attach command", lambda: self._copy_attach(tile))
        menu.popup(self.tiles.viewport().mapToGlobal(pos))

    def _copy_attach(self, tile: Tile) -> None:
        line = selfcmd.attach_command_line(host_words(tile.host), tile.sandbox["id"][:8])
        QGuiApplication.clipboard().setText(line)
        self.window.show_message(f"Copied: {line}", False)


def host_words(host: str) -> list[str]:
    """How claude-remote names ``host``: this machine is ``--local``."""
    return selfcmd.host_words(None if host == LOCAL else host)
