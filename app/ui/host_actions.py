"""What a person does to hosts from the window: connect, disconnect, add, edit, import, remove."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint

from app.remote.errors import ConfigError
from app.remote.profiles import LOCAL, Profile
from app.remote.ssh.config import SshConfig

from .asks import confirm, popup_menu
from .host_dialog import HostDialog
from .hostlist import HostList
from .tasks import Tasks

if TYPE_CHECKING:
    from .hub import Hub


class HostActions:
    def __init__(self, window: Any, hub: Hub, hosts: HostList, tasks: Tasks) -> None:
        self.window = window  # the MainWindow: parent of dialogs, and show_message
        self.hub = hub
        self.hosts = hosts
        self.tasks = tasks

    def menu(self, pos: QPoint) -> None:
        item = self.hosts.itemAt(pos)
        if item is None:
            return
        self.hosts.setCurrentItem(item)
        name = self.hosts.current_host()
        if name is None:
            return
        menu = popup_menu(self.window)
        session = self.hub.sessions.get(name)
        if session is not None and session.state.phase == "failed":
            menu.addAction("Connect again", lambda: self.tasks.spawn(self.hub.reopen(name)))
        if session is not None:
            menu.addAction("Disconnect", lambda: self.tasks.spawn(self.hub.close(name)))
        else:
            menu.addAction("Connect", lambda: self.hub.open(name))
        menu.addAction("Host details", lambda: self.window.work.open_host(name))
        notifier = self.window.notifier
        notify = menu.addAction("Notify for this host")
        notify.setCheckable(True)
        notify.setChecked(notifier.host_enabled(name))
        notify.setToolTip("A desktop notification when one of its agents waits for you")
        notify.toggled.connect(lambda on: notifier.set_host_enabled(name, on))
        if not notifier.enabled():
            notify.setText("Notify for this host (notifications are off: View menu)")
        if name != LOCAL:
            menu.addSeparator()
            menu.addAction("Edit…", lambda: self.edit(name))
            menu.addAction("Remove…", lambda: self.tasks.spawn(self.remove(name)))
        menu.popup(self.hosts.viewport().mapToGlobal(pos))

    def toggle(self, name: str | None) -> None:
        """Double-click: connect, or connect again after a failure."""
        if name is None:
            return
        session = self.hub.sessions.get(name)
        if session is None:
            self.hub.open(name)
        elif session.state.phase == "failed":
            self.tasks.spawn(self.hub.reopen(name))

    def add(self) -> None:
        self._dialog(None)

    def edit(self, name: str) -> None:
        profile = self.hub.profiles.load().get(name)
        if profile is not None:
            self._dialog(profile)

    def import_aliases(self) -> None:
        try:
            added = self.hub.profiles.import_aliases(SshConfig())
        except ConfigError as exc:
            self.window.show_message(str(exc), True)
            return
        self.hub.refresh_rows()
        names = ", ".join(p.name for p in added) or "none (all were there already)"
        self.window.show_message(f"Imported from ~/.ssh/config: {names}", False)

    async def remove(self, name: str) -> None:
        if not await confirm(self.window, "Remove host", f"Remove {name} from the list? Its "
                             "sandboxes keep running on it.", "Remove"):  # fmt: skip
            return
        await self.hub.close(name)
        self.hub.profiles.remove(name)
        self.hosts.remove(name)

    def _dialog(self, profile: Any) -> None:
        taken = set(self.hub.known_hosts())
        dialog = HostDialog(profile, taken, self.window)
        dialog.setObjectName("host-dialog")
        dialog.saved.connect(
            lambda new: self.tasks.spawn(self._saved(profile, new), "saving a host")
        )
        dialog.open()

    async def _saved(self, old: Profile | None, new: Profile) -> None:
        """Save the profile, then connect to it as saved: a new host is
        connected at once; an edited one that was connected is connected again
        with its new settings. A connect that fails says why in the window
        (the banner and the host's row), as any connect does."""
        was_open = old is not None and old.name in self.hub.sessions
        try:
            if old is not None and old.name != new.name:
                self.hub.profiles.remove(old.name)
            self.hub.profiles.add(new)
        except ConfigError as exc:
            self.window.show_message(str(exc), True)
            return
        if old is not None and (was_open or old.name != new.name):
            await self.hub.close(old.name)  # its session ran on the old settings
            if old.name != new.name:
                self.hosts.remove(old.name)
        self.hub.refresh_rows()
        if old is not None and not was_open:
            self.window.show_message(f"Saved host {new.name}; double-click it to connect.", False)
            return
        self.window.show_message(f"Saved host {new.name}; connecting…", False)
        self.hub.open(new.name)  # the row shows how it goes; a failure also in the banner
