"""Questions to the person as dialogs that a coroutine can await.

Dialogs are opened with ``open()``, never ``exec()``: a nested event loop
inside a coroutine running on qasync's loop re-enters asyncio.
The answer comes back through a future set from the dialog's signals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu, QMessageBox, QWidget

from app.remote.prompts import Prompts
from app.remote.ssh.known_hosts import Decision, HostKeyQuestion


async def ask_box(box: QMessageBox) -> QMessageBox.ButtonRole | None:
    """Open a message box and wait for the role of the button pressed."""
    future: asyncio.Future[QMessageBox.ButtonRole | None] = (
        asyncio.get_running_loop().create_future()
    )

    def done(_result: int) -> None:
        clicked = box.clickedButton()
        if not future.done():
            future.set_result(box.buttonRole(clicked) if clicked is not None else None)

    box.finished.connect(done)
    box.open()
    try:
        return await future
    finally:
        box.deleteLater()


async def confirm(parent: QWidget | None, title: str, text: str, action: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.addButton(action, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    return await ask_box(box) == QMessageBox.ButtonRole.AcceptRole


async def warn(parent: QWidget | None, title: str, text: str, details: str = "") -> None:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
    if details:
        box.setDetailedText(details)
    box.addButton(QMessageBox.StandardButton.Ok)
    await ask_box(box)


async def ask_host_key(parent: QWidget | None, q: HostKeyQuestion) -> Decision:
    box = QMessageBox(QMessageBox.Icon.Question, "Unknown host key", "", parent=parent)
    box.setObjectName("host-key-dialog")
    box.setText(f"Is this really {q.host}?")
    saved = f"\n\nAccept and save adds it to {q.save_to}." if q.save_to else ""
    box.setInformativeText(
        q.text() + "\n\nCompare the fingerprint with the one the server's owner gives you "
        "(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the server)." + saved
    )
    once = box.addButton("Accept once", QMessageBox.ButtonRole.YesRole)
    save = box.addButton("Accept and save", QMessageBox.ButtonRole.AcceptRole)
    refuse = box.addButton("Refuse", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(refuse)
    box.setEscapeButton(refuse)
    role = await ask_box(box)
    del once, save
    if role == QMessageBox.ButtonRole.YesRole:
        return Decision.ACCEPT_ONCE
    if role == QMessageBox.ButtonRole.AcceptRole:
        return Decision.ACCEPT_AND_SAVE
    return Decision.REFUSE


async def ask_secret(parent: QWidget | None, title: str, prompt: str) -> str | None:
    dialog = QInputDialog(parent)
    dialog.setObjectName("secret-dialog")
    dialog.setWindowTitle(title)
    dialog.setLabelText(prompt)
    dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
    future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    def done(result: int) -> None:
        if not future.done():
            future.set_result(dialog.textValue() if result else None)

    dialog.finished.connect(done)
    dialog.open()
    try:
        return await future
    finally:
        dialog.deleteLater()


def gui_prompts(parent: Callable[[], QWidget | None]) -> Prompts:
    """The SSH layer's questions, asked with dialogs over the window."""

    async def host_key(q: HostKeyQuestion) -> Decision:
        return await ask_host_key(parent(), q)

    async def passphrase(prompt: str) -> str | None:
        return await ask_secret(parent(), "Key passphrase", prompt)

    async def password(prompt: str) -> str | None:
        return await ask_secret(parent(), "Password", prompt)

    return Prompts(
        host_key=host_key,
        passphrase=passphrase,
        password=password,
        unknown_key_hint="Connect from the app to check the fingerprint and accept it.",
    )


def popup_menu(parent: QWidget) -> QMenu:
    """A context menu that is deleted once it closes (its actions hold tiles)."""
    menu = QMenu(parent)
    menu.aboutToHide.connect(menu.deleteLater)
    return menu
