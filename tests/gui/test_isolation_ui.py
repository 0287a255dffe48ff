"""The New sandbox dialog's SSH agent choice (off unless asked for, saying
what it lets the agent do), and the tile's tooltip naming where a sandbox
keeps its own Claude config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from app.ui.create_dialog import CreateDialog
from app.ui.model import SandboxModel
from app.ui.window import MainWindow
from tests.gui.conftest import until
from tests.gui.test_window import local_connected, new_sandbox_dialog, tile_named, top_dialog


def test_the_ssh_agent_is_off_unless_ticked_and_the_tooltip_says_what_it_allows(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], project: Path, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await until(lambda: local_connected(w))
        for name, tick in (("plain", False), ("forwarded", True)):
            dialog = await new_sandbox_dialog(w, qtbot, name, project)
            box = dialog.ssh_agent
            assert box.text() == "Forward my SSH agent" and not box.isChecked()
            tip = box.toolTip()
            assert "log in" in tip and "as you" in tip and "wherever your keys" in tip
            if tick:
                qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
            assert dialog.params()["ssh_agent"] is tick
            dialog.create_button.click()
            tile = await until(lambda n=name: tile_named(w, n), what=f"the tile of {name}")
            assert tile.sandbox["ssh_agent"] is tick  # as hostd recorded it
            await until(lambda: top_dialog(CreateDialog) is None, what="the dialog to close")

    run(body())


def test_the_tooltip_names_the_claude_config_folder_only_when_there_is_one(qtbot: Any) -> None:
    model = SandboxModel()
    base = {"id": "5f0c", "name": "demo", "backend": "bubblewrap", "status": "running",
            "project_dir": "/srv/demo", "ssh_agent": False}  # fmt: skip
    model.upsert("host", {**base, "claude_config": None})
    tip = model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "Claude config" not in tip and "SSH agent" not in tip
    model.upsert("host", {**base, "claude_config": "/var/lib/hostd/claude/5f0c",
                          "ssh_agent": True})  # fmt: skip
    tip = model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "Claude config and sessions: /var/lib/hostd/claude/5f0c" in tip
    assert "SSH agent is forwarded" in tip
