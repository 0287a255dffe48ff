"""The New sandbox dialog as a person reads it: the agent it offers on a host
(claude, or a shell with a note when the host has no claude), an agent that
exited at once (kept, said why, Close or Delete it and edit), messages that
do not clip the dialog, and errors that go once their field is fixed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel

from app.ui.create_dialog import CreateDialog
from app.ui.window import MainWindow
from tests.gui.conftest import until
from tests.gui.test_window import local_connected, new_sandbox_dialog, tile_named, top_dialog

BACKENDS = [
    {"name": "bubblewrap", "available": True, "isolated": True, "detail": "ok"},
    {
        "name": "vm",
        "available": False,
        "isolated": True,
        "detail": "claude-sandbox-vm not found on PATH; install the Nix launcher "
        "(nix profile install .#vm)",
    },
    {"name": "none", "available": True, "isolated": False, "detail": "ok"},
]
HAS_CLAUDE = {"claude": "/usr/bin/claude", "bash": "/bin/bash", "sh": "/bin/sh"}
NO_CLAUDE = {"claude": None, "bash": "/bin/bash", "sh": "/bin/sh"}
EXITED = {
    "id": "0123abcd-0000-4000-8000-000000000000",
    "name": "shop",
    "status": "exited",
    "exit_code": 127,
    "last_lines": ["starting", "sh: 1: exec: no-such-agent: not found"],
}


def dialog_for(
    qtbot: Any, commands: dict[str, dict[str, Any] | None], taken: set[str] | None = None
) -> CreateDialog:
    """The dialog over hosts whose hello said ``commands`` (None: an older
    hostd), where the sandboxes ``taken`` exist."""
    names = set() if taken is None else taken
    dialog = CreateDialog(
        list(commands),
        lambda _host: BACKENDS,
        lambda _host: names,
        commands=lambda host: commands.get(host),
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def clipped(dialog: CreateDialog) -> list[str]:
    """The texts of the dialog's wrapped labels that are shown shorter than they need."""
    return [
        label.text()
        for label in dialog.findChildren(QLabel)
        if label.isVisible()
        and label.wordWrap()
        and label.text()
        and label.height() < label.heightForWidth(label.width())
    ]


def test_the_agent_is_claude_where_the_host_has_it_else_a_shell_with_a_note(qtbot: Any) -> None:
    dialog = dialog_for(qtbot, {"has": HAS_CLAUDE, "lacks": NO_CLAUDE, "old": None})
    dialog.host.setCurrentText("has")
    assert dialog.agent.text() == "claude" and not dialog.agent_note.isVisible()
    dialog.host.setCurrentText("lacks")
    assert dialog.agent.text() == "bash"
    assert dialog.agent_note.isVisible()
    assert "claude was not found on that host" in dialog.agent_note.text()
    # Typed anyway: the note says it would exit at once.
    dialog.agent.clear()
    qtbot.keyClicks(dialog.agent, "claude --resume")
    assert "claude was not found" in dialog.agent_note.text()
    assert "would exit at once" in dialog.agent_note.text()
    assert dialog.params()["agent"] == "claude --resume"
    # What the person typed stays when the host changes; an older hostd says
    # nothing about its commands, so nothing is said.
    dialog.host.setCurrentText("old")
    assert dialog.agent.text() == "claude --resume" and not dialog.agent_note.isVisible()


def test_an_old_hostd_without_commands_gets_claude(qtbot: Any) -> None:
    dialog = dialog_for(qtbot, {"old": None})
    assert dialog.agent.text() == "claude" and not dialog.agent_note.isVisible()


def test_an_agent_that_exited_at_once_keeps_the_dialog_open_saying_why(qtbot: Any) -> None:
    taken: set[str] = set()
    dialog = dialog_for(qtbot, {"has": HAS_CLAUDE}, taken)
    qtbot.keyClicks(dialog.name, "shop")
    qtbot.keyClicks(dialog.project, "/srv/shop")
    submitted: list[dict[str, Any]] = []
    dialog.submitted.connect(submitted.append)
    dialog.create_button.click()
    assert submitted and not dialog.name.isEnabled()
    taken.add("shop")  # its tile came
    dialog.finish(None, dict(EXITED))
    assert dialog.isVisible() and not dialog.name_error.isVisible()
    assert dialog.exited.title.text() == "The agent exited at once with status 127:"
    assert dialog.exited.lines.toPlainText() == "starting\nsh: 1: exec: no-such-agent: not found"
    assert "shop was kept" in dialog.exited.kept.text()
    assert "its tile shows it" in dialog.exited.kept.text()
    assert dialog.create_button.text() == "Close" and dialog.create_button.isEnabled()
    assert dialog.discard_button.isVisible() and not dialog.name.isEnabled()
    assert not clipped(dialog)
    # Grown by the panel, it is still on the screen, buttons in reach.
    screen = dialog.screen().availableGeometry()
    assert screen.contains(dialog.frameGeometry()), (screen, dialog.frameGeometry())
    # Delete it and edit: the window deletes the kept sandbox, then the
    # fields can be changed and created again.
    discarded: list[dict[str, Any]] = []
    dialog.discard.connect(discarded.append)
    dialog.discard_button.click()
    assert discarded and discarded[0]["id"] == EXITED["id"]
    assert "Deleting shop" in dialog.status.text() and not dialog.create_button.isEnabled()
    dialog.discarded(None)  # before the host's removal notice reaches the list
    assert not dialog.exited.isVisible() and not dialog.discard_button.isVisible()
    assert not dialog.name_error.isVisible()  # its name is free: it was just deleted
    assert dialog.create_button.text() == "Create" and dialog.name.isEnabled()
    assert dialog.agent.isEnabled() and dialog.name.text() == "shop"
    # Exited again: Close closes, the sandbox stays.
    dialog.create_button.click()
    dialog.finish(None, dict(EXITED))
    dialog.create_button.click()
    assert not dialog.isVisible()


@pytest.mark.parametrize("narrow", [False, True])
def test_messages_do_not_clip_the_backends_help_and_go_once_fixed(qtbot: Any, narrow: bool) -> None:
    dialog = dialog_for(qtbot, {"lacks": NO_CLAUDE})
    if narrow:  # dragged as narrow as it goes: every message wraps more
        dialog.resize(dialog.minimumSizeHint().width(), dialog.height())
    note = dialog.backend_note
    assert note.isVisible() and "claude-sandbox-vm not found" in note.text()
    assert not clipped(dialog)
    qtbot.keyClicks(dialog.name, "bad name")
    qtbot.keyClicks(dialog.project, "relative")
    assert dialog.name_error.isVisible() and dialog.project_error.isVisible()
    assert not clipped(dialog)
    # Fixed: the message goes at once, and the dialog takes its room back.
    tall = dialog.height()
    dialog.name.setText("bad-name")
    assert not dialog.name_error.isVisible()
    dialog.project.setText("/srv/shop")
    assert not dialog.project_error.isVisible() and not clipped(dialog)
    assert dialog.height() < tall


def test_a_server_error_goes_once_the_field_it_named_changes(qtbot: Any) -> None:
    dialog = dialog_for(qtbot, {"has": HAS_CLAUDE})
    qtbot.keyClicks(dialog.name, "shop")
    qtbot.keyClicks(dialog.project, "/no/such/dir")
    dialog.create_button.click()
    dialog.finish("project_dir '/no/such/dir' does not exist on this host", None, "project_dir")
    assert dialog.server_error.isVisible() and not clipped(dialog)
    qtbot.keyClicks(dialog.name, "2")  # another field: the error still holds
    assert dialog.server_error.isVisible()
    dialog.project.setText("/srv/shop")
    assert not dialog.server_error.isVisible()
    # An error that names no field stays until the next try.
    dialog.create_button.click()
    dialog.finish("the host went away")
    dialog.project.setText("/srv/other")
    assert dialog.server_error.isVisible()


def test_a_create_whose_agent_is_missing_shows_its_exit_in_the_dialog(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any
) -> None:
    """End to end through the window's local hostd (a hostd before
    ``create.settle`` answers running: skipped there)."""
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await until(lambda: local_connected(w))
        if not w.hub.sessions["local"].client.has_capability("create.settle"):
            pytest.skip("this hostd does not answer a create that exits at once (create.settle)")
        dialog = await new_sandbox_dialog(w, qtbot, "gone", project)
        dialog.agent.setText("no-such-agent-here --flag")
        dialog.create_button.click()
        await until(lambda: dialog.exited.isVisible(), what="the exit in the dialog")
        assert dialog.exited.title.text() == "The agent exited at once with status 127:"
        assert "no-such-agent-here" in dialog.exited.lines.toPlainText()
        tile = await until(lambda: tile_named(w, "gone"), what="the kept sandbox's tile")
        assert tile.status == "exited" and tile.exit_code == 127
        assert w.banner.isVisible() and "exited at once with status 127" in w.banner.text()
        dialog.discard_button.click()
        await until(lambda: tile_named(w, "gone") is None, what="the kept sandbox to go")
        await until(lambda: dialog.name.isEnabled(), what="the fields to unlock")
        assert not w.banner.isVisible()  # it is kept no more: the banner does not say it is
        assert w.statusBar().currentMessage() == "Deleted gone on This machine."
        dialog.agent.setText("sleep 600")
        dialog.create_button.click()
        await until(lambda: top_dialog(CreateDialog) is None, what="the dialog to close")
        assert tile_named(w, "gone").status == "running"

    run(body())
