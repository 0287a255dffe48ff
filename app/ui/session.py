"""One host as the window sees it: a client, its subscriptions, and Qt signals.

A :class:`HostSession` owns the :class:`~app.remote.client.Client` for one
host. It turns hostd's notifications into signals the window connects to
(on the GUI thread: qasync runs asyncio on Qt's loop), decodes frames off the
GUI thread, and fetches the terminal text of sandboxes whose display is blank.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.remote.api import HostApi
from app.remote.client import Client, ConnectionState
from app.remote.create_flow import create_sandbox
from app.remote.errors import RemoteError
from app.remote.streams import Host
from app.remote.sync.result import ProgressCallback, SyncResult
from hostd.protocol import Notification, RpcError
from hostd.protocol import methods as m

log = logging.getLogger(__name__)

# A tile refreshes its terminal text this often while its display is blank.
# Each look is one sandbox.pane (two tmux calls on the host); 3 s keeps forty
# blank sandboxes under 30 tmux calls a second and still feels live.
PANE_INTERVAL_S = 3.0
# A pane that takes longer than its interval would pile up behind the next look.
PANE_TIMEOUT_S = 10.0
# The frame rate of the tiles: one a second is live enough for a glance, and
# an unchanged picture costs nothing on the wire (hostd sends only changes).
FRAME_INTERVAL_S = 1.0
METRICS_INTERVAL_S = 3.0

# JPEG decoding happens off the GUI thread; two workers keep up with forty
# tiles at one frame a second (a 480 px JPEG decodes in about a millisecond).
_decoder = ThreadPoolExecutor(2, thread_name_prefix="frame-decode")


def decode_frame(data: str) -> tuple[bytes, QImage]:
    raw = base64.b64decode(data)
    image = QImage()
    image.loadFromData(raw)
    return raw, image


class HostSession(QObject):
    state_changed = Signal(str, object)  # host, ConnectionState
    sandboxes_reset = Signal(str, list)  # host, [Sandbox]: the full list after (re)connecting
    sandbox_changed = Signal(str, dict)  # host, Sandbox
    sandbox_removed = Signal(str, str)  # host, id
    frame = Signal(str, str, QImage, bool)  # host, id, image, blank
    # host, id, the encoded bytes, the image, blank: every frame, for the screen
    # pages of open tabs (they keep the bytes as their history)
    frame_data = Signal(str, str, bytes, QImage, bool)
    pane_text = Signal(str, str, str)  # host, id, text
    metrics = Signal(str, dict)  # host, {system, sandboxes}
    problem = Signal(str, str)  # host, what went wrong (for the window)

    def __init__(self, name: str, host: Host, frame_width: int) -> None:
        super().__init__()
        self.name = name
        self.host = host
        self.frame_width = frame_width
        # Sandboxes whose own view shows their screen, and the width it wants.
        self.large: dict[str, int] = {}
        self.client = Client(host, client_name="claude-sandbox-gui")
        self.api = HostApi(self.client)
        self.sandboxes: dict[str, dict[str, Any]] = {}
        self.blank: set[str] = set()  # sandbox ids whose display showed nothing
        self._panes_shown: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = False
        self._seq: dict[str, int] = {}
        self.frames: dict[str, tuple[QImage, bool]] = {}  # the latest per sandbox
        self.last_data: dict[str, bytes] = {}  # and its encoded bytes
        self._connected_once = False
        self.started = False  # start() succeeded: later failures are news
        self.client.add_state_listener(self._on_state)
        for method in (m.SANDBOX_CHANGED, m.SANDBOX_REMOVED, m.SCREENSHOT, m.METRICS):
            self.client.add_listener(method, self._on_note)

    @property
    def state(self) -> ConnectionState:
        return self.client.state

    @property
    def backends(self) -> list[dict[str, Any]]:
        return list((self.client.hello or {}).get("backends", []))

    # -- lifetime ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, list, subscribe. Raises the connection error as is."""
        await self.client.connect()
        await self._load()
        self.started = True
        self._spawn(self._pane_loop())

    async def stop(self) -> None:
        self._stopped = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        # Awaited, so none is left pending when the event loop ends.
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.client.close()
        with contextlib.suppress(Exception):
            await self.host.close()

    async def set_frame_width(self, width: int) -> None:
        """Ask for frames this wide (the tiles' width in device pixels)."""
        if width == self.frame_width:
            return
        self.frame_width = width
        await self._resubscribe_screenshots()

    async def show_large(self, sandbox_id: str, width: int) -> None:
        """Ask for this sandbox's frames ``width`` device pixels wide (its own
        view is showing it); 0: back to the tiles' size."""
        if self.large.get(sandbox_id, 0) == width:
            return
        if width > 0:
            self.large[sandbox_id] = width
        else:
            self.large.pop(sandbox_id, None)
        await self._resubscribe_screenshots()

    async def _resubscribe_screenshots(self) -> None:
        topics = [m.TOPIC_SCREENSHOTS]
        if self.client.state.phase == "connected":
            await self.client.subscribe(topics, settings=self._settings(topics))
        else:  # sent as the client subscribes again on reconnecting
            self.client.keep_settings(self._settings(topics))

    # -- calls ---------------------------------------------------------------------------

    async def create(
        self,
        params: dict[str, Any],
        push_from: str | None = None,
        on_progress: ProgressCallback | None = None,
        on_pushed: Callable[[SyncResult], None] | None = None,
    ) -> dict[str, Any]:
        """Create a sandbox from the dialog's ``params`` (pushing ``push_from``
        into its project first, when given); its tile appears at once."""
        created = await create_sandbox(
            self.client,
            params["name"],
            params["backend"],
            params["project_dir"],
            network=params.get("network"),
            agent=params.get("agent"),
            ssh_agent=params.get("ssh_agent") or None,
            push_from=push_from,
            on_progress=on_progress,
            on_pushed=on_pushed,
        )
        sb: dict[str, Any] = dict(created)
        self._upsert(sb)
        return sb

    # -- internals -----------------------------------------------------------------------

    def _settings(self, topics: list[str]) -> dict[str, Any]:
        """The subscribe settings that go with ``topics``."""
        out: dict[str, Any] = {}
        if m.TOPIC_SCREENSHOTS in topics:
            shot: dict[str, Any] = {"interval_s": FRAME_INTERVAL_S, "max_width": self.frame_width}
            if self.large and self.client.has_capability("screenshot.widths"):
                shot["widths"] = dict(self.large)
            out["screenshot"] = shot
        if m.TOPIC_METRICS in topics:
            out["metrics"] = {"interval_s": METRICS_INTERVAL_S}
        return out

    async def _load(self) -> None:
        # Subscribe first, then list: a change between the two is not lost.
        topics = [m.TOPIC_SANDBOXES, m.TOPIC_SCREENSHOTS]
        if self.client.has_capability("topic:metrics"):
            topics.append(m.TOPIC_METRICS)
        await self.client.subscribe(topics, settings=self._settings(topics))
        listed: list[dict[str, Any]] = [dict(sb) for sb in await self.api.list()]
        self.sandboxes = {sb["id"]: sb for sb in listed}
        self.sandboxes_reset.emit(self.name, listed)

    def _on_state(self, state: ConnectionState) -> None:
        self.state_changed.emit(self.name, state)
        if state.phase == "connected":
            if self._connected_once:
                # Back after a drop: the client re-subscribed; the list may
                # have changed meanwhile.
                self._spawn(self.reload())
            self._connected_once = True

    async def reload(self) -> None:
        """List the sandboxes again (F5, and after a reconnection)."""
        try:
            listed: list[dict[str, Any]] = [dict(sb) for sb in await self.api.list()]
        except (RemoteError, RpcError) as exc:
            log.warning("listing %s after reconnecting failed: %s", self.name, exc)
            self.problem.emit(self.name, f"listing the sandboxes again failed: {exc}")
            return
        self.sandboxes = {sb["id"]: sb for sb in listed}
        self.sandboxes_reset.emit(self.name, listed)

    def _on_note(self, note: Notification) -> None:
        p = note.params
        if note.method == m.SANDBOX_CHANGED:
            self._upsert(p["sandbox"])
        elif note.method == m.SANDBOX_REMOVED:
            self.sandboxes.pop(p["id"], None)
            self.blank.discard(p["id"])
            self.frames.pop(p["id"], None)
            self.last_data.pop(p["id"], None)
            self.large.pop(p["id"], None)
            self.sandbox_removed.emit(self.name, p["id"])
        elif note.method == m.SCREENSHOT:
            self._spawn(self._frame(p))
        elif note.method == m.METRICS:
            self.metrics.emit(self.name, p)

    def _upsert(self, sb: dict[str, Any]) -> None:
        self.sandboxes[sb["id"]] = sb
        self.sandbox_changed.emit(self.name, sb)

    async def _frame(self, p: dict[str, Any]) -> None:
        sid, seq = p["id"], p["seq"]
        self._seq[sid] = seq
        raw, image = await asyncio.get_running_loop().run_in_executor(
            _decoder, decode_frame, p["data"]
        )
        if self._seq.get(sid) != seq:
            return  # a newer frame arrived while this one decoded: drop it
        if p["blank"]:
            self.blank.add(sid)
        else:
            self.blank.discard(sid)
        self.frames[sid] = (image, bool(p["blank"]))
        self.frame.emit(self.name, sid, image, bool(p["blank"]))
        self.last_data[sid] = raw
        self.frame_data.emit(self.name, sid, raw, image, bool(p["blank"]))
        if p["blank"] and sid not in self._panes_shown:
            self._panes_shown.add(sid)  # at once the first time; then the pane loop
            await self._pane(sid)

    async def _pane_loop(self) -> None:
        while True:
            await asyncio.sleep(PANE_INTERVAL_S)
            if self.client.state.phase != "connected":
                continue
            for sid in list(self.blank):
                if self.sandboxes.get(sid, {}).get("status") == m.STATUS_RUNNING:
                    await self._pane(sid)

    async def _pane(self, sid: str) -> None:
        try:
            result = await self.api.pane(sid, timeout=PANE_TIMEOUT_S)
        except (RemoteError, RpcError) as exc:
            log.debug("pane of %s: %s", sid, exc)
            return
        self.pane_text.emit(self.name, sid, str(result.get("text", "")))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        if self._stopped:
            # A start() still under way when stop() came: start nothing more.
            if asyncio.iscoroutine(coro):
                coro.close()
            return
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: a background task failed", self.name, exc_info=task.exception())
