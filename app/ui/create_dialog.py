"""The New sandbox dialog: checks as you type, shows progress, keeps the server's error.

The dialog does not create anything itself: it emits ``submitted`` with the
params, and the window runs the create and reports back with ``finish()``.
While the create runs the fields are locked and a busy bar shows; an error
from the server appears in the dialog, with everything typed kept, until the
field it named changes. An agent that exited at once (hostd's result says
``exited``) is shown here with its status and last lines; the sandbox is kept,
and the person closes the dialog or has it deleted to change and try again
(``discard``; the window reports back with ``discarded()``).

The agent starts as ``claude`` when the host has it (hello's ``commands``),
else a shell, with a note saying why.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hostd.protocol.spec import DEFAULT_AGENT

from .create_checks import agent_note, default_agent, name_problem, project_problem
from .create_exited import ExitedPanel
from .labels import label_of

# Which widget each server error's ``field`` (InvalidParams data) names.
FIELDS = ("name", "backend", "project_dir", "network", "ssh_agent", "agent")


class CreateDialog(QDialog):
    submitted = Signal(dict)  # {"host": ..., "name": ..., "backend": ..., ...}
    discard = Signal(dict)  # the kept Sandbox of an agent that exited at once: delete it

    def __init__(
        self,
        hosts: list[str],
        backends: Callable[[str], list[dict[str, Any]]],
        taken: Callable[[str], set[str]],
        *,
        host: str | None = None,
        local_host: str | None = None,
        commands: Callable[[str], Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New sandbox")
        self.setModal(True)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._working = False
        self._backends = backends
        self._taken = taken
        self._local_host = local_host
        self._commands = commands or (lambda _host: None)
        self._error_field: str | None = None  # the field the server's error named
        self._kept: dict[str, Any] | None = None  # a sandbox whose agent exited at once
        # Names of kept sandboxes deleted from here: free, even before the
        # host's removal notice reaches the window's list.
        self._gone: set[str] = set()

        self.host = QComboBox()
        for h in hosts:  # shown by its label ("This machine"), kept by its name
            self.host.addItem(label_of(h), h)
        if host in hosts:
            self.host.setCurrentIndex(hosts.index(host))
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. shop-frontend")
        self.name_error = _error_label()
        self.backend = QComboBox()
        self.backend_note = QLabel()
        self.backend_note.setTextFormat(Qt.TextFormat.PlainText)  # hostd's details
        self.backend_note.setWordWrap(True)
        self.backend_note.setStyleSheet("color: palette(placeholder-text);")
        self.project = QLineEdit()
        self.project.setPlaceholderText("/home/you/src/project (on that host)")
        self.browse = QPushButton("Browse…")
        self.project_error = _error_label()
        self.network = QCheckBox("Network access")
        self.network.setChecked(True)
        # Off unless asked for: a forwarded agent lets code in the sandbox act
        # as the person on every host their keys open.
        self.ssh_agent = QCheckBox("Forward my SSH agent")
        self.ssh_agent.setChecked(False)
        self.ssh_agent.setToolTip(
            "Lets the agent in the sandbox use your SSH agent: while it runs it can log in, "
            "as you, wherever your keys let you (git push, other servers). It never sees "
            "the keys themselves. Leave it off unless the agent needs that."
        )
        self.push_first = QCheckBox("Push a folder from this machine first")
        self.push_first.setToolTip(
            "Copies the folder into the project directory (made if missing) before the "
            "agent starts, and remembers it for the tile's Sync button."
        )
        self.push_from = QLineEdit()
        self.push_from.setPlaceholderText("a folder on this machine")
        self.push_from.setEnabled(False)
        self.push_browse = QPushButton("Choose…")
        self.push_browse.setEnabled(False)
        self.push_first.toggled.connect(self.push_from.setEnabled)
        self.push_first.toggled.connect(self.push_browse.setEnabled)
        self.push_first.toggled.connect(lambda _on: self._validate())
        self.push_from.textChanged.connect(lambda _t: self._validate())
        self.push_browse.clicked.connect(self._browse_push)
        self.push_error = _error_label()
        self.agent = QLineEdit(DEFAULT_AGENT)
        self.agent.setToolTip("The agent's command line; it is not run through a shell.")
        self.agent_note = QLabel()
        self.agent_note.setWordWrap(True)
        self.agent_note.setStyleSheet("color: palette(placeholder-text);")
        self.agent_note.hide()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.server_error = _error_label()
        self.exited = ExitedPanel()  # an agent that exited at once
        self.exited.hide()

        project_row = QHBoxLayout()
        project_row.addWidget(self.project, 1)
        project_row.addWidget(self.browse)
        form = QFormLayout()
        form.addRow("Host", self.host)
        form.addRow("Name", self.name)
        form.addRow("", self.name_error)
        form.addRow("Isolation", self.backend)
        form.addRow("", self.backend_note)
        form.addRow("Project directory", project_row)
        form.addRow("", self.project_error)
        push_row = QHBoxLayout()
        push_row.addWidget(self.push_from, 1)
        push_row.addWidget(self.push_browse)
        form.addRow("", self.push_first)
        form.addRow("", push_row)
        form.addRow("", self.push_error)
        form.addRow("", self.network)
        form.addRow("", self.ssh_agent)
        form.addRow("Agent", self.agent)
        form.addRow("", self.agent_note)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Cancel | QDialogButtonBox.StandardButton.Ok
        )
        self.create_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create")
        self.discard_button = self.buttons.addButton(
            "Delete it and edit", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.discard_button.setToolTip(
            "Deletes the sandbox that was kept, so you can change what you typed and create again."
        )
        self.discard_button.hide()
        self.discard_button.clicked.connect(self._discard)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.exited)
        layout.addWidget(self.server_error)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)

        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.host.currentIndexChanged.connect(lambda _i: self._host_changed(self.host_name()))
        self.name.textChanged.connect(self._validate)
        self.project.textChanged.connect(self._validate)
        self.backend.currentIndexChanged.connect(self._backend_changed)
        self.browse.clicked.connect(self._browse)
        self._touched: set[str] = set()
        self.name.textEdited.connect(lambda _t: self._touched.add("name"))
        self.project.textEdited.connect(lambda _t: self._touched.add("project"))
        self.agent.textEdited.connect(lambda _t: self._touched.add("agent"))
        self.agent.textChanged.connect(self._agent_changed)
        changes = {
            "name": self.name.textChanged,
            "backend": self.backend.currentIndexChanged,
            "project_dir": self.project.textChanged,
            "network": self.network.toggled,
            "ssh_agent": self.ssh_agent.toggled,
            "agent": self.agent.textChanged,
        }
        for field, signal in changes.items():
            signal.connect(lambda *_a, f=field: self._field_changed(f))
        self._host_changed(self.host_name())

    # -- called by the window --------------------------------------------------------

    def finish(
        self, error: str | None, sandbox: dict[str, Any] | None = None, field: str | None = None
    ) -> None:
        """The create ended: close on success; show an agent that exited at once
        (``sandbox``'s status ``exited``), or the ``error`` (about the param
        ``field``, when hostd named one) and let them retry."""
        if error is None and sandbox is not None and sandbox.get("status") == "exited":
            self._kept = sandbox
        self._busy(False)
        self._backend_changed()
        if self._kept is not None:
            self._show_exited(self._kept)
            return
        if error is None:
            self.accept()
            return
        self._error_field = field if field in FIELDS else None
        self.server_error.setText(error)
        self.server_error.show()
        self._fit()

    def discarded(self, error: str | None) -> None:
        """The kept sandbox was deleted (the fields can be changed again), or
        could not be (``error``)."""
        self._busy(False)
        if error is not None:
            self._lock(True)
            self.server_error.setText(f"Could not delete it: {error}")
            self.server_error.show()
            self._fit()
            return
        if self._kept is not None:
            self._gone.add(str(self._kept.get("name")))
        self._kept = None
        self.exited.hide()
        self.discard_button.hide()
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).show()
        self.create_button.setText("Create")
        self._backend_changed()
        self._fit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit()  # the notes it opens with wrap too

    def reject(self) -> None:
        if not self._working:  # Escape or the window's close while creating: wait
            super().reject()

    def params(self) -> dict[str, Any]:
        return {
            "host": self.host_name(),
            "name": self.name.text(),
            "backend": self.backend.currentData(),
            "project_dir": self.project.text().strip(),
            "network": self.network.isChecked(),
            "ssh_agent": self.ssh_agent.isChecked(),
            "agent": self.agent.text().strip() or DEFAULT_AGENT,
            "push_from": self.push_from.text().strip() if self.push_first.isChecked() else None,
        }

    def host_name(self) -> str:
        """The chosen host's name (its profile; LOCAL for this machine)."""
        return str(self.host.currentData() or "")

    def set_status(self, text: str) -> None:
        """What the create is doing now (the window reports its steps)."""
        self.status.setText(text)

    # -- internals ---------------------------------------------------------------------

    def _show_exited(self, sandbox: dict[str, Any]) -> None:
        self._kept = sandbox
        self.exited.show_sandbox(sandbox)
        self._lock(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).hide()
        self.create_button.setText("Close")
        self.create_button.setEnabled(True)
        self.discard_button.show()
        self.discard_button.setEnabled(True)
        self.status.setText("")
        self._fit()

    def _discard(self) -> None:
        if self._kept is None:
            return
        self.server_error.hide()
        self._busy(True)
        self.status.setText(f"Deleting {self._kept.get('name')}…")
        self.discard.emit(self._kept)

    def _field_changed(self, field: str) -> None:
        """A server error goes once the field it named is changed."""
        if self._error_field == field and not self._working:
            self._error_field = None
            self.server_error.hide()
            self._fit()

    def _agent_changed(self, _text: str = "") -> None:
        note = agent_note(self.agent.text(), self._commands(self.host_name()))
        _show(self.agent_note, note)
        self._fit()

    def _fit(self) -> None:
        """Grow (or shrink) to what shows now. A wrapped label that appears (an
        error under a field, the backends' help) needs more height for the same
        width; Qt gives a shown dialog no more by itself, and clips it."""
        layout = self.layout()
        if layout is None or not self.isVisible():
            return
        layout.activate()
        width = self.width()
        need = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else -1
        need = max(need, layout.totalMinimumSize().height(), layout.totalSizeHint().height())
        if need != self.height():
            self.resize(width, need)
        # Grown down past the screen's bottom (the agent's last lines on an
        # 800x600 screen): up, so the buttons stay in reach.
        screen = self.screen().availableGeometry()
        frame = self.frameGeometry()
        if frame.bottom() > screen.bottom():
            self.move(frame.x(), max(screen.top(), frame.y() - (frame.bottom() - screen.bottom())))

    def _host_changed(self, host: str) -> None:
        self._error_field = None
        self.server_error.hide()
        if "agent" not in self._touched:
            self.agent.setText(default_agent(self._commands(host)))
        self._agent_changed()
        model = QStandardItemModel()
        first_ok = -1
        for i, b in enumerate(self._backends(host)):
            label = b["name"] if b.get("isolated", True) else f"{b['name']} (no isolation)"
            if not b.get("available"):
                label += " — unavailable"
            item = QStandardItem(label)
            item.setData(b["name"], Qt.ItemDataRole.UserRole)
            item.setData(b.get("detail", ""), Qt.ItemDataRole.ToolTipRole)
            item.setEnabled(bool(b.get("available")))
            model.appendRow(item)
            if first_ok < 0 and b.get("available") and b.get("isolated", True):
                first_ok = i
        self.backend.setModel(model)
        if first_ok < 0:
            first_ok = next((i for i in range(model.rowCount()) if model.item(i).isEnabled()), 0)
        self.backend.setCurrentIndex(first_ok)
        self.browse.setVisible(host == self._local_host)
        self._backend_changed()
        self._validate()

    def _backend_changed(self, _index: int = 0) -> None:
        backends = {b["name"]: b for b in self._backends(self.host_name())}
        chosen = backends.get(self.backend.currentData() or "")
        notes = []
        for b in backends.values():
            if not b.get("available"):
                notes.append(f"{b['name']}: {b.get('detail', 'unavailable')}")
        if chosen is not None and not chosen.get("isolated", True):
            notes.insert(0, "none runs the agent with no isolation, as your user.")
        self.backend_note.setText("\n".join(notes))
        self.backend_note.setVisible(bool(notes))
        self.network.setEnabled(chosen is None or chosen.get("isolated", True))
        if chosen is not None and not chosen.get("isolated", True):
            self.network.setChecked(True)
        self._validate()

    def _validate(self) -> bool:
        taken = self._taken(self.host_name()) - self._gone
        if self._kept is not None:  # its own tile, not another sandbox's name
            taken = taken - {self._kept.get("name")}
        name_err = name_problem(self.name.text(), taken)
        proj_err = project_problem(self.project.text().strip())
        # Errors show once a field has been typed in (or Create was pressed),
        # not while the dialog first opens.
        _show(self.name_error, name_err if "name" in self._touched else None)
        _show(self.project_error, proj_err if "project" in self._touched else None)
        push_err = None
        if self.push_first.isChecked() and not os.path.isdir(self.push_from.text().strip()):
            push_err = "Choose an existing folder on this machine to push."
        _show(self.push_error, push_err if self.push_first.isChecked() else None)
        self._fit()
        return (
            name_err is None
            and proj_err is None
            and push_err is None
            and self.backend.currentData() is not None
        )

    def _submit(self) -> None:
        if self._kept is not None:  # "Close": the agent exited, its sandbox is kept
            self.accept()
            return
        self._touched |= {"name", "project"}
        if not self._validate():
            return
        self.server_error.hide()
        self._busy(True)
        self.submitted.emit(self.params())

    def _busy(self, busy: bool) -> None:
        self._lock(busy)
        self.create_button.setEnabled(not busy)
        self.discard_button.setEnabled(not busy)
        self._working = busy
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setEnabled(not busy)  # a create under way finishes (and is reported here)
        self.progress.setVisible(busy)
        self.status.setText(
            "Creating: starting the display, the terminal and the launcher…" if busy else ""
        )

    def _lock(self, locked: bool) -> None:
        """Fields that cannot change now (a create under way, or done: kept)."""
        for w in (self.host, self.name, self.backend, self.project, self.browse, self.network,
                  self.ssh_agent, self.agent, self.push_first):  # fmt: skip
            w.setEnabled(not locked)
        for w in (self.push_from, self.push_browse):
            w.setEnabled(not locked and self.push_first.isChecked())

    def _browse_push(self) -> None:
        dialog = QFileDialog(self, "Folder to push")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.push_from.setText)
        dialog.open()

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Project directory")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.project.setText)
        dialog.fileSelected.connect(lambda _p: self._touched.add("project"))
        dialog.open()  # not exec(): no nested loop under qasync


def _error_label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)  # the server's words, never HTML
    label.setWordWrap(True)
    label.setStyleSheet("color: #d32f2f;")
    label.hide()
    return label


def _show(label: QLabel, text: str | None) -> None:
    label.setText(text or "")
    label.setVisible(bool(text))
