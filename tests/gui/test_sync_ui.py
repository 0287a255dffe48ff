"""The Sync button and 'push before create', with real rsync, in local mode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.ui.sync_panel import SyncDialog
from app.ui.window import MainWindow
from tests.gui.conftest import until
from tests.gui.test_window import (
    create,
    local_connected,
    new_sandbox_dialog,
    tile_named,
    top_dialog,
)


async def press(button: QPushButton) -> None:
    """Click as a person can: once the button is enabled. A round's result
    shows a moment before its task ends and the buttons come back."""
    await until(button.isEnabled, what=f"{button.text()} to be enabled")
    button.click()


def test_sync_button_pushes_pulls_watches_and_lists_conflicts(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], short_tmp: Path,
    project: Path, qtbot: Any,
) -> None:  # fmt: skip
    here = short_tmp / "here"
    here.mkdir()
    (here / "notes.txt").write_text("from my laptop\n")
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "syncme", project, "sleep 600")
        tile = await until(lambda: tile_named(w, "syncme"))
        w.sandbox_actions.tile_action(tile.key, "sync")
        dialog: SyncDialog = await until(lambda: top_dialog(SyncDialog))
        assert not dialog.push.isEnabled()  # no folder chosen yet
        dialog._chosen(str(here))  # what the folder chooser hands back
        assert dialog.push.isEnabled()

        await press(dialog.push)
        await until(lambda: "1 sent" in dialog.last.text(), what="push")
        assert (project / "notes.txt").read_text() == "from my laptop\n"

        (project / "result.txt").write_text("from the agent\n")
        await press(dialog.pull)
        await until(lambda: "1 received" in dialog.last.text(), what="pull")
        assert (here / "result.txt").read_text() == "from the agent\n"

        (here / "notes.txt").write_text("edited here\n")
        (project / "notes.txt").write_text("edited there\n")
        await press(dialog.both)
        await until(lambda: dialog.conflicts.count() == 1, what="the conflict")
        assert "notes.txt" in dialog.conflicts.item(0).text()
        copies = [p.name for p in here.iterdir() if p.name.startswith("notes.txt.conflict-")]
        assert copies and {"edited here\n", "edited there\n"} == {
            (here / "notes.txt").read_text(),
            (here / copies[0]).read_text(),
        }
        assert "conflict" in (tile_named(w, "syncme").extra.get("sync") or "")

        dialog.watch.click()
        await until(lambda: tile_named(w, "syncme").extra.get("sync", "").startswith("⇅"))
        (here / "live.txt").write_text("typed while watching\n")
        await until(lambda: (project / "live.txt").exists(), what="the watch to carry it over")
        dialog.watch.click()
        await until(
            lambda: not w.sandbox_actions.syncs[tile.key].watching, what="the watch to stop"
        )
        dialog.close()
        # The folder is remembered for this sandbox.
        assert w.settings.value(f"sync/local/{tile.sandbox['id']}/local") == str(here)

    run(body())


def test_the_panel_shows_the_last_sync_after_a_restart_and_a_refusal(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], short_tmp: Path,
    project: Path, qtbot: Any,
) -> None:  # fmt: skip
    here = short_tmp / "here"
    here.mkdir()
    (here / "a.txt").write_text("a")
    (here / "b.txt").write_text("b")
    w = make_window()
    w.open_hosts(["local"])

    async def before_the_restart() -> None:
        await create(w, "keeper", project, "sleep 600")
        dialog = w.sandbox_actions.open_sync(await until(lambda: tile_named(w, "keeper")))
        assert dialog is not None
        dialog._chosen(str(here))
        await press(dialog.push)
        await until(lambda: "2 sent" in dialog.last.text(), what="push")
        dialog.close()
        w.close()  # the app quits; the sandbox stays
        await until(lambda: not w.hub.sessions and not w.tasks, what="the app to quit")

    run(before_the_restart())
    w2 = make_window()
    w2.open_hosts(["local"])

    async def after_it() -> None:
        dialog = w2.sandbox_actions.open_sync(await until(lambda: tile_named(w2, "keeper")))
        assert dialog is not None and dialog.local.text() == str(here)
        await until(lambda: "2 sent" in dialog.last.text(), what="the saved last sync")
        assert dialog.last.text().startswith("Last sync today at ")
        assert "(push)" in dialog.last.text()
        # The project emptied (the sandbox made again, say): Both ways refuses
        # to delete this machine's files, and the panel says why and what next.
        for p in project.iterdir():
            p.unlink()
        await press(dialog.both)
        await until(lambda: "is empty" in dialog.error.text(), what="the refusal")
        assert dialog.error.isVisible() and "Push ↑" in dialog.error.text()
        assert sorted(p.name for p in here.iterdir()) == ["a.txt", "b.txt"]
        await press(dialog.push)
        # "2 sent" is still the last sync's text while this push runs: wait
        # for its outcome, the files on the other side.
        await until(lambda: (project / "b.txt").exists() and (project / "a.txt").exists(),
                    what="the push")  # fmt: skip
        await until(lambda: not dialog.error.text() and "2 sent" in dialog.last.text())
        assert (project / "a.txt").read_text() == "a"

    run(after_it())


def test_push_before_create_fills_the_new_project(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], short_tmp: Path, qtbot: Any
) -> None:
    here = short_tmp / "seed"
    here.mkdir()
    (here / "README").write_text("seeded\n")
    target = short_tmp / "new project"  # does not exist yet
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await until(lambda: local_connected(w))
        dialog = await new_sandbox_dialog(w, qtbot, "seeded", target)
        dialog.push_first.setChecked(True)
        dialog.push_from.setText(str(here))
        dialog.create_button.click()
        await until(lambda: tile_named(w, "seeded") is not None, what="the tile")
        assert (target / "README").read_text() == "seeded\n"
        sid = tile_named(w, "seeded").sandbox["id"]
        # The tile can come (pushed by hostd) just before the create's reply.
        await until(lambda: w.settings.value(f"sync/local/{sid}/local") == str(here),
                    what="the folder remembered")  # fmt: skip

    run(body())


def test_the_panel_shows_held_config_changes_and_pulls_them_once_accepted(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], short_tmp: Path,
    project: Path, qtbot: Any,
) -> None:  # fmt: skip
    here = short_tmp / "here"
    here.mkdir()
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text('{"hooks": "from the agent"}')
    (project / ".envrc").write_text("export EVIL=1\n")
    (project / "work.py").write_text("the agent's work\n")
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        await create(w, "review", project, "sleep 600")
        tile = await until(lambda: tile_named(w, "review"))
        dialog = w.sandbox_actions.open_sync(tile)
        assert dialog is not None
        assert not dialog.held.isVisible()
        dialog._chosen(str(here))
        await press(dialog.pull)
        await until(lambda: "1 received" in dialog.last.text(), what="the pull")
        assert (here / "work.py").exists()
        assert not (here / ".claude" / "settings.json").exists()  # the folder alone is no harm
        assert not (here / ".envrc").exists()
        # Shown, with what they are and a choice, before anything lands.
        await until(lambda: dialog.held.isVisible(), what="the review")
        items = [dialog.held.items.item(i).text() for i in range(dialog.held.items.count())]
        assert items == [".claude/settings.json (new)", ".envrc (new)"]
        assert "configure or run code on this machine" in dialog.held.title.text()
        assert tile_named(w, "review").extra.get("sync") == "2 to review"
        qtbot.mouseClick(dialog.held.accept, Qt.MouseButton.LeftButton)
        await until(lambda: (here / ".envrc").exists(), what="the accepted files")
        assert (here / ".claude" / "settings.json").read_text() == '{"hooks": "from the agent"}'
        await until(lambda: not dialog.held.isVisible() and not dialog.c.busy)
        # Keep mine: a new change of the agent's is shown, and left out.
        (project / ".envrc").write_text("export EVIL=2\n")
        await press(dialog.pull)
        await until(lambda: dialog.held.isVisible(), what="the second review")
        qtbot.mouseClick(dialog.held.keep, Qt.MouseButton.LeftButton)
        await until(lambda: not dialog.held.isVisible() and not dialog.c.busy)
        assert (here / ".envrc").read_text() == "export EVIL=1\n"
        await press(dialog.pull)
        await until(lambda: not dialog.c.busy and "already in step" in dialog.last.text())
        assert not dialog.held.isVisible()
        dialog.close()

    run(body())
