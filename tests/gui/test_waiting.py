"""An agent that waits for the person, in the window: the tile says why and
answers it, the sandbox's tab has a bar, one notification per request, and
the window's title counts the waiting sandboxes while it is not in front.

The waiting comes the real way: a Claude Code sandbox (the stub claude on
PATH) whose hook events hostd folds, written into its
``run/<id>/hooks/events/`` exactly as hostd's hook.sh writes them (the hook's
stdin to a dot-named temp file, then moved to ``<stamp>-<pid>.<EVENT>.json``).
"""

from __future__ import annotations

import html
import json
import os
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu, QWidget

from app.ui.model import SandboxModel, Tile
from app.ui.notify import Notice, Notifier
from app.ui.window import TITLE, MainWindow
from tests.gui.conftest import until
from tests.gui.test_window import create, tile_named, top_dialog
from tests.remote.conftest import Remote

COMMAND = "rm -rf build/"
SESSION = "5d1b7c2e-0000-4000-8000-000000000001"


def hook_event(
    state: Path, sid: str, event: str, body: dict[str, Any] | None = None
) -> tuple[str, Path]:
    """Write one hook event as hook.sh does; returns its id (``<stamp>-<pid>``) and path."""
    events = state / "run" / sid / "hooks" / "events"
    rid = f"{time.time_ns()}-{os.getpid()}"
    data = {
        "session_id": SESSION,
        "transcript_path": f"/tmp/{SESSION}.jsonl",
        "cwd": "/project",
        "hook_event_name": event,
        **(body or {}),
    }
    tmp = events / f".tmp-{rid}"
    tmp.write_text(json.dumps(data))
    final = events / f"{rid}.{event}.json"
    tmp.rename(final)
    return rid, final


def ask_permission(state: Path, sid: str, command: str = COMMAND) -> str:
    rid, _path = hook_event(
        state,
        sid,
        "PermissionRequest",
        {"permission_mode": "default", "tool_name": "Bash",
         "tool_input": {"command": command, "description": "Remove the build folder"}},
    )  # fmt: skip
    return rid


def take(state: Path, sid: str, rid: str) -> None:
    """What hook.sh does once it has read its answer: the ``<id>.taken`` marker."""
    (state / "run" / sid / "hooks" / "events" / f"{rid}.taken").touch()


def request_file(state: Path, sid: str) -> Path | None:
    events = state / "run" / sid / "hooks" / "events"
    return next(iter(events.glob("*.PermissionRequest.json")), None) if events.exists() else None


def notices_of(w: MainWindow, rid: str) -> list[Notice]:
    return [n for n in w.notifier.notified if n.wait == f"request:{rid}"]


def answer_file(state: Path, sid: str, rid: str) -> dict[str, Any] | None:
    path = state / "run" / sid / "hooks" / "answers" / f"{rid}.json"
    return json.loads(path.read_text()) if path.exists() else None


def tile_rect(w: MainWindow, name: str) -> QRect:
    for row in range(w.proxy.rowCount()):
        index = w.proxy.index(row, 0)
        if index.data() == name:
            return w.tiles.visualRect(index)
    raise AssertionError(f"no tile {name}")


def answer_buttons(w: MainWindow, name: str) -> dict[str, QRect]:
    """Where the tile's Allow and Deny are drawn now (empty when none are)."""
    tile = tile_named(w, name)
    if tile is None:
        return {}
    band = w.tiles.tile_delegate.waiting_band(tile_rect(w, name), tile, w.tiles.font())
    return {name: rect for name, _label, rect in band.buttons} if band is not None else {}


def band_text(w: MainWindow, name: str) -> str:
    tile = tile_named(w, name)
    assert tile is not None
    band = w.tiles.tile_delegate.waiting_band(tile_rect(w, name), tile, w.tiles.font())
    return " ".join(band.lines) if band is not None else ""


async def claude_sandbox(w: MainWindow, name: str, project: Path) -> Tile:
    sb = await create(w, name, project, "claude")
    tile: Tile = await until(lambda: tile_named(w, name))
    assert tile.sandbox["id"] == sb["id"]
    return tile


def test_the_tile_shows_the_request_and_allow_on_it_reaches_the_agent(
    make_window: Callable[[], MainWindow],
    run: Callable[..., Any],
    project: Path,
    gui_env: Path,
    qtbot: Any,
) -> None:
    w = make_window()
    w.open_hosts(["local"])
    long_command = COMMAND + " && echo " + "x" * 600

    async def body() -> None:
        # The stub Claude Code runs its hooks: PermissionRequest waits for us.
        agent = f"claude --stub-permission {shlex.quote(long_command)}"
        sb = await create(w, "asks", project, agent)
        sid = sb["id"]
        path = await until(lambda: request_file(gui_env, sid), what="the agent's request")
        asked = time.monotonic()
        rid = path.name.removesuffix(".PermissionRequest.json")
        await until(lambda: "allow" in answer_buttons(w, "asks"), timeout=3, what="Allow")
        shown_after = time.monotonic() - asked
        assert shown_after < 2, f"Allow showed {shown_after:.2f} s after the request"
        # Why, shortened to two lines on the tile; in full in its tooltip, as text.
        assert band_text(w, "asks").startswith(f"Bash: {COMMAND}")
        assert band_text(w, "asks").endswith("…")
        tooltip = w.proxy.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
        assert "&amp;&amp;" in tooltip and long_command in html.unescape(tooltip)
        assert set(answer_buttons(w, "asks")) == {"allow", "deny"}
        assert tile_named(w, "asks").answerable["id"] == rid
        # One notification, naming the sandbox, its host and why.
        notice = await until(lambda: notices_of(w, rid), what="the notification")
        assert len(notice) == 1 and notice[0].key == ("local", sid) and notice[0].name == "asks"
        assert "This machine" in notice[0].title
        assert notice[0].text.startswith(f"Bash: {COMMAND}")
        # Allow, clicked where a person clicks it: the agent goes on.
        viewport = w.tiles.viewport()
        qtbot.mouseClick(
            viewport, Qt.MouseButton.LeftButton, pos=answer_buttons(w, "asks")["allow"].center()
        )
        result = project / "stub-result"
        await until(result.exists, what="the agent's result")
        assert result.read_text() == "allowed\n"
        answer = answer_file(gui_env, sid, rid)
        assert answer is not None
        assert answer["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
        # The request is over: the buttons go.
        await until(lambda: tile_named(w, "asks").request is None, what="the request to end")
        assert answer_buttons(w, "asks") == {}
        # Two more metrics ticks: the request is not announced again.
        ticks: list[object] = []
        w.hub.sessions["local"].metrics.connect(lambda *_a: ticks.append(1))
        await until(lambda: len(ticks) >= 2, what="two metrics ticks")
        assert len(notices_of(w, rid)) == 1

    run(body())


def test_the_notification_comes_once_per_request_and_opens_the_sandbox(
    make_window: Callable[[], MainWindow],
    run: Callable[..., Any],
    project: Path,
    gui_env: Path,
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        tile = await claude_sandbox(w, "twice", project)
        sid = tile.sandbox["id"]
        first = ask_permission(gui_env, sid)
        await until(lambda: len(w.notifier.notified) == 1, what="the first notification")
        ticks: list[object] = []
        w.hub.sessions["local"].metrics.connect(lambda *_a: ticks.append(1))
        await until(lambda: len(ticks) >= 2, what="two metrics ticks")
        assert len(w.notifier.notified) == 1, "the same request was announced again"
        # Clicking the notification opens that sandbox's tab.
        assert ("local", sid) not in w.work.tabs
        w.notifier.clicked()
        await until(lambda: ("local", sid) in w.work.tabs, what="its tab")
        # The agent moves on, then asks again: a new request, a new notification.
        hook_event(gui_env, sid, "PostToolUse", {"tool_name": "Bash",
                                                  "tool_input": {"command": COMMAND}})  # fmt: skip
        await until(lambda: tile_named(w, "twice").request is None, what="the request to end")
        second = ask_permission(gui_env, sid, "make clean")
        await until(lambda: len(w.notifier.notified) == 2, what="the second notification")
        assert [n.wait for n in w.notifier.notified] == [f"request:{first}", f"request:{second}"]

    run(body())


def test_the_buttons_go_when_the_agent_moves_on(
    make_window: Callable[[], MainWindow],
    run: Callable[..., Any],
    project: Path,
    gui_env: Path,
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        tile = await claude_sandbox(w, "moves", project)
        sid = tile.sandbox["id"]
        tab = w.work.open(tile.key)
        assert tab is not None
        ask_permission(gui_env, sid)
        await until(lambda: answer_buttons(w, "moves"), what="Allow and Deny")
        await until(lambda: tab.waiting_bar.isVisible(), what="the tab's waiting bar")
        assert tab.waiting_bar.text.text() == f"Claude wants to run: Bash: {COMMAND}"
        # Right after a metrics tick (whose activity still says waiting), the
        # person answers in the terminal: Claude Code goes on and runs the tool.
        # hostd's push says so at once; the next tick is seconds away.
        ticks: list[float] = []
        w.hub.sessions["local"].metrics.connect(lambda *_a: ticks.append(time.monotonic()))
        await until(lambda: ticks, what="a metrics tick")
        assert answer_buttons(w, "moves")
        tab.waiting_bar.deny_message.click()  # the person starts typing why
        hook_event(gui_env, sid, "PostToolUse", {"tool_name": "Bash",
                                                  "tool_input": {"command": COMMAND}})  # fmt: skip
        await until(lambda: not answer_buttons(w, "moves"), timeout=1.5, what="the buttons to go")
        assert len(ticks) == 1, "the buttons went only with the next tick, not with the push"
        await until(lambda: not tab.waiting_bar.isVisible(), what="the bar to go")
        assert (tile_named(w, "moves").activity or {}).get("state") == "working"
        # The message can no longer go: its dialog closes, and the window says why.
        await until(lambda: top_dialog(QInputDialog) is None, what="the deny dialog to close")
        assert "no longer asks" in w.statusBar().currentMessage()

    run(body())


def test_deny_with_a_message_from_the_sandbox_tab_reaches_the_agent(
    make_window: Callable[[], MainWindow],
    run: Callable[..., Any],
    project: Path,
    gui_env: Path,
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        sb = await create(w, "deny", project, f"claude --stub-permission {shlex.quote(COMMAND)}")
        tile = await until(lambda: tile_named(w, "deny"))
        tab = w.work.open(tile.key)
        assert tab is not None
        await until(lambda: tab.waiting_bar.isVisible(), what="the tab's waiting bar")
        assert tab.waiting_bar.text.text() == f"Claude wants to run: Bash: {COMMAND}"
        assert tab.waiting_bar.allow.isVisible() and tab.waiting_bar.deny.isVisible()
        # The tile's menu offers the same.
        w.sandbox_actions.tile_menu(tile_rect(w, "deny").center())
        menu: QMenu = await until(lambda: top_dialog(QMenu))
        labels = [a.text() for a in menu.actions() if a.text()]
        assert {"Allow", "Deny", "Deny with a message…"} <= set(labels)
        menu.close()
        tab.waiting_bar.deny_message.click()
        dialog: QInputDialog = await until(lambda: top_dialog(QInputDialog, "deny-message-dialog"))
        dialog.setTextValue("Keep build/: use make clean <b>instead</b>")
        dialog.accept()
        result = project / "stub-result"
        await until(result.exists, what="the agent's result")
        assert result.read_text() == "denied: Keep build/: use make clean <b>instead</b>\n"
        await until(lambda: not tab.waiting_bar.isVisible(), what="the bar to go")
        assert sb["id"] == tile.sandbox["id"]

    run(body())


def test_a_second_answer_to_the_same_request_is_refused_and_says_so(
    make_window: Callable[[], MainWindow],
    run: Callable[..., Any],
    project: Path,
    gui_env: Path,
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        tile = await claude_sandbox(w, "race", project)
        sid = tile.sandbox["id"]
        rid = ask_permission(gui_env, sid)
        await until(lambda: answer_buttons(w, "race"), what="Allow and Deny")
        await w.sandbox_actions.answer(tile_named(w, "race"), rid, "deny")
        assert answer_file(gui_env, sid, rid) is not None
        assert tile_named(w, "race").error is None
        # Someone answers it again (another window, say): hostd refuses; the tile says so.
        await w.sandbox_actions.answer(tile_named(w, "race"), rid, "allow")
        error = tile_named(w, "race").error
        assert error is not None and "already answered" in error
        assert w.banner.isVisible() and "already answered" in w.banner.text()
        assert answer_file(gui_env, sid, rid)["hookSpecificOutput"]["decision"]["behavior"] == (
            "deny"
        )

    run(body())


def test_no_notification_for_a_host_turned_off_and_the_title_counts_while_away(
    make_window: Callable[[], MainWindow],
    run: Callable[..., Any],
    project: Path,
    gui_env: Path,
) -> None:
    w = make_window()
    w.open_hosts(["local"])

    async def body() -> None:
        tile = await claude_sandbox(w, "quiet", project)
        sid = tile.sandbox["id"]
        # The host's menu: "Notify for this host", unchecked.
        w.hosts.setCurrentRow(1)
        item = w.hosts.item(1)
        w.host_actions.menu(w.hosts.visualItemRect(item).center())
        menu: QMenu = await until(lambda: top_dialog(QMenu))
        notify = next(a for a in menu.actions() if a.text().startswith("Notify for this host"))
        assert notify.isCheckable() and notify.isChecked()
        notify.trigger()
        menu.close()
        assert not w.notifier.host_enabled("local")
        # Another window in front: the title counts the waiting sandbox.
        other = QWidget()
        other.setWindowTitle("elsewhere")
        other.show()
        other.activateWindow()
        await until(lambda: QApplication.activeWindow() is other, what="the other window")
        rid = ask_permission(gui_env, sid)
        await until(lambda: answer_buttons(w, "quiet"), what="Allow and Deny")
        await until(
            lambda: w.windowTitle() == f"{TITLE} (1 waiting)", what="the count in the title"
        )
        assert w.notifier.notified == []
        # Back in front: the plain title; a dialog of the window is still in it.
        w.activateWindow()
        await until(lambda: w.windowTitle() == TITLE, what="the plain title")
        dialog = w.work.choose_log_lines()
        dialog.activateWindow()
        await until(lambda: QApplication.activeWindow() is dialog, what="the dialog in front")
        assert w.windowTitle() == TITLE
        dialog.reject()
        other.close()
        # Notifications off altogether (the View menu), the host on again: still none.
        w.notify_action.setChecked(False)
        w.notifier.set_host_enabled("local", True)
        await w.sandbox_actions.answer(tile_named(w, "quiet"), rid, "allow")
        take(gui_env, sid, rid)
        await until(lambda: w.notifier.count == 0, what="no sandbox waiting")
        ask_permission(gui_env, sid, "make clean")
        await until(lambda: w.notifier.count == 1, what="it waits again")
        assert w.notifier.notified == []

    run(body())


def test_a_yes_no_question_in_the_terminal_gets_yes_from_the_tile(
    make_window: Callable[[], MainWindow],
    run: Callable[..., Any],
    project: Path,
    qtbot: Any,
) -> None:
    # An agent without hooks: hostd reads the question off its pane, and the
    # answer goes as keys (y, Enter).
    w = make_window()
    w.open_hosts(["local"])
    asks = "read -p 'Overwrite config? [y/N] ' a; echo \"got $a\" > answer; exec sleep 600"

    async def body() -> None:
        await create(w, "yn", project, f"sh -c {shlex.quote(asks)}")
        await until(lambda: "allow" in answer_buttons(w, "yn"), what="Yes and No")
        tile = tile_named(w, "yn")
        assert tile.answerable["kind"] == "question" and tile.answerable["via"] == "keys"
        band = w.tiles.tile_delegate.waiting_band(tile_rect(w, "yn"), tile, w.tiles.font())
        assert [label for _name, label, _rect in band.buttons] == ["Yes", "No"]
        assert band_text(w, "yn") == "Overwrite config? [y/N]"
        qtbot.mouseClick(
            w.tiles.viewport(),
            Qt.MouseButton.LeftButton,
            pos=answer_buttons(w, "yn")["allow"].center(),
        )
        answer = project / "answer"
        await until(answer.exists, what="the agent's answer")
        assert answer.read_text() == "got y\n"
        await until(lambda: not answer_buttons(w, "yn"), what="the buttons to go")

    run(body())


def test_an_end_of_turn_is_announced_again_only_after_the_agent_worked(
    qtbot: Any, short_tmp: Path
) -> None:
    # A wait with no request (an end of turn) has only its reason to tell it
    # from the last one: the same reason again is news only once the agent has
    # worked in between, not when a metrics tick repeats it.
    model = SandboxModel()
    notifier = Notifier(model, QSettings(str(short_tmp / "n.ini"), QSettings.Format.IniFormat))
    base = {"id": "5f0c", "name": "demo", "backend": "none", "status": "running"}

    def activity(state: str, reason: str | None) -> None:
        act = {"state": state, "reason": reason, "since": None, "source": "hooks", "request": None}
        model.upsert("host", {**base, "activity": act})

    activity("waiting", "turn ended")
    activity("waiting", "turn ended")
    assert [n.text for n in notifier.notified] == ["turn ended"] and notifier.count == 1
    activity("working", None)
    assert notifier.count == 0
    activity("waiting", "turn ended")
    assert len(notifier.notified) == 2
    model.remove("host", "5f0c")
    assert notifier.count == 0


def test_over_ssh_the_tile_shows_the_request_and_allow_reaches_the_agent(
    make_window: Callable[[], MainWindow], run: Callable[..., Any], remote: Remote, qtbot: Any
) -> None:
    w = make_window()
    w.open_hosts(["testhost"])

    async def body() -> None:
        await until(lambda: (r := w.hosts.host_row("testhost")) and r.phase == "connected")
        session = w.hub.sessions["testhost"]
        agent = f"claude --stub-permission {shlex.quote(COMMAND)}"
        sb = await session.create({"name": "far", "backend": "none",
                                   "project_dir": str(remote.project), "agent": agent})  # fmt: skip
        await until(lambda: request_file(remote.state_dir, sb["id"]), what="the agent's request")
        asked = time.monotonic()
        await until(lambda: "allow" in answer_buttons(w, "far"), timeout=3, what="Allow")
        shown_after = time.monotonic() - asked
        assert shown_after < 2, f"Allow showed {shown_after:.2f} s after the request"
        assert [n.key for n in w.notifier.notified] == [("testhost", sb["id"])]
        allow = answer_buttons(w, "far")["allow"].center()
        qtbot.mouseClick(w.tiles.viewport(), Qt.MouseButton.LeftButton, pos=allow)
        result = remote.project / "stub-result"
        await until(result.exists, what="the agent's result")
        assert result.read_text() == "allowed\n"
        await until(lambda: tile_named(w, "far").request is None, what="the request to end")
        await session.api.delete(sb["id"], timeout=60)
        await w.hub.close("testhost")

    run(body())
