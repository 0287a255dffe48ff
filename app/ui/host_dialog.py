"""Add or edit a host profile: alias, host name, port, user, key, jump host, hostd command."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.remote.errors import ConfigError
from app.remote.launch import DEFAULT_HOSTD_COMMAND
from app.remote.profiles import Profile, check_name
from app.remote.ssh.config import parse_destination


def destination(host: str, user: str, port: int) -> str:
    """``[user@]host[:port]``; port 0 means "as ~/.ssh/config says" (22 by default)."""
    text = host.strip()
    if ":" in text and not text.startswith("["):
        text = f"[{text}]"  # an IPv6 address
    if user.strip():
        text = f"{user.strip()}@{text}"
    if port:
        text = f"{text}:{port}"
    return text


class HostDialog(QDialog):
    saved = Signal(object)  # Profile

    def __init__(
        self,
        profile: Profile | None = None,
        taken: Iterable[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Edit host" if profile else "Add host")
        # Wide enough that the hints in the empty fields read whole.
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 56)
        self._editing = profile.name if profile else None
        self._taken = set(taken) - ({profile.name} if profile else set())
        self.alias = QLineEdit()
        self.alias.setPlaceholderText("lab")
        self.hostname = QLineEdit()
        self.hostname.setPlaceholderText("lab.example.com, or an alias from ~/.ssh/config")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("as ~/.ssh/config says (22)")
        self.user = QLineEdit()
        self.user.setPlaceholderText("as ~/.ssh/config says (your user name)")
        self.identity = QLineEdit()
        self.identity.setPlaceholderText("as ~/.ssh/config says, or the agent's keys")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.jump = QLineEdit()
        self.jump.setPlaceholderText("e.g. gate.example.com (ssh -J)")
        self.command = QLineEdit(DEFAULT_HOSTD_COMMAND)
        self.command.setToolTip("Run through your login shell on the host.")
        self.error = QLabel()
        self.error.setStyleSheet("color: #d32f2f;")
        self.error.setWordWrap(True)
        self.error.hide()

        key_row = QHBoxLayout()
        key_row.addWidget(self.identity, 1)
        key_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Name", self.alias)
        form.addRow("Host name", self.hostname)
        form.addRow("Port", self.port)
        form.addRow("User", self.user)
        form.addRow("Identity file", key_row)
        form.addRow("Jump host", self.jump)
        form.addRow("hostd command", self.command)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        if profile is not None:
            self._fill(profile)

    def profile(self) -> Profile:
        """The profile as typed; ConfigError says what is wrong with it."""
        name = self.alias.text().strip()
        check_name(name)
        if name in self._taken:
            raise ConfigError(f"a host named {name!r} exists already")
        if not self.hostname.text().strip():
            raise ConfigError("which host? Give its name or address")
        dest = destination(self.hostname.text(), self.user.text(), self.port.value())
        parse_destination(dest)
        command = self.command.text().strip()
        if not command:
            raise ConfigError("the hostd command is empty")
        return Profile(
            name,
            dest,
            command,
            identity_file=self.identity.text().strip() or None,
            proxy_jump=self.jump.text().strip() or None,
        )

    def _fill(self, p: Profile) -> None:
        self.alias.setText(p.name)
        try:
            d = parse_destination(p.destination)
            self.hostname.setText(d.host)
            self.user.setText(d.user or "")
            self.port.setValue(d.port or 0)
        except ConfigError:
            self.hostname.setText(p.destination)
        self.identity.setText(p.identity_file or "")
        self.jump.setText(p.proxy_jump or "")
        self.command.setText(p.hostd_command)

    def _save(self) -> None:
        try:
            profile = self.profile()
        except ConfigError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.saved.emit(profile)
        self.accept()

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Identity file")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.identity.setText)
        dialog.open()
