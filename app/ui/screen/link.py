"""A sandbox's Screen page tied to its host: frames in, and the pictures it asks for.

The page (:class:`~app.ui.screen.pane.ScreenPane`) gets every frame of its
sandbox while its tab is open, so scrubbing back works even for the minute
before the page was shown (at the tiles' size then). While the page shows,
the host is asked for this sandbox's frames at the page's width
(``HostSession.show_large``), and back to the tiles' width when it hides.
Full size and Save PNG fetch one full-size PNG with ``sandbox.screenshot``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage

from app.remote.api import HostApi
from app.remote.errors import RemoteError
from hostd.protocol import RpcError

from ..hub import Hub
from ..model import Key
from ..tasks import Tasks, error_text
from .pane import ScreenPane

log = logging.getLogger(__name__)

PLACEHOLDERS = {
    "running": "Waiting for the first picture…",
    "exited": "The agent has exited: its screen is no longer captured",
    "stopped": "The sandbox is stopped: it has no screen",
    "dead": "The sandbox is gone (its tmux session ended): no screen",
}


class ScreenLink(QObject):
    def __init__(self, pane: ScreenPane, key: Key, hub: Hub, tasks: Tasks) -> None:
        super().__init__(pane)
        self.pane = pane
        self.key = key
        self.hub = hub
        self.tasks = tasks
        self._status: str | None = None
        pane.save_stem = key[1][:12]
        hub.frame_data.connect(self._frame)
        pane.wanted_width.connect(self._wanted)
        self._jobs: set[asyncio.Task[None]] = set()  # cancelled when the tab closes
        pane.full_size_requested.connect(lambda: self._spawn(self._full_size(), "full size"))
        pane.save_requested.connect(lambda path: self._spawn(self._save(path), "saving a PNG"))
        session = hub.sessions.get(key[0])
        latest = session.frames.get(key[1]) if session is not None else None
        data = session.last_data.get(key[1]) if session is not None else None
        if latest is not None and data is not None:
            pane.add_frame(data, latest[0], latest[1])

    def sandbox_status(self, status: str | None) -> None:
        if status == self._status:
            return
        self._status = status
        self.pane.set_placeholder(PLACEHOLDERS.get(status or "", "No screen"))

    def host_connected(self, connected: bool) -> None:
        """Connected again: ask again for the page's width if it is showing."""
        if connected and self.pane.want:
            self._wanted(self.pane.want, force=True)

    def close(self) -> None:
        """The tab closes: the tiles' size again for this sandbox; no fetch under
        way touches the page after this (it is deleted next)."""
        for job in list(self._jobs):
            job.cancel()
        self.hub.frame_data.disconnect(self._frame)
        self._wanted(0)

    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        job = asyncio.ensure_future(coro)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        self.tasks.spawn(job, what)

    # -- internals -----------------------------------------------------------------------

    def _frame(self, host: str, sid: str, data: bytes, image: QImage, blank: bool) -> None:
        if (host, sid) == self.key:
            self.pane.add_frame(data, image, blank)

    def _wanted(self, width: int, force: bool = False) -> None:
        session = self.hub.sessions.get(self.key[0])
        if session is None:
            return
        if force:
            session.large.pop(self.key[1], None)
        self.tasks.spawn(self._ask(session, width), "asking for a larger screen")

    async def _ask(self, session: object, width: int) -> None:
        try:
            await session.show_large(self.key[1], width)  # type: ignore[attr-defined]
        except (RemoteError, RpcError) as exc:
            log.debug("show_large %s: %s", self.key, exc)

    async def _picture(self) -> QImage | None:
        session = self.hub.sessions.get(self.key[0])
        if session is None:
            self.pane.set_note(f"{self.key[0]} is not connected", error=True)
            return None
        self.pane.set_note("Fetching the full-size picture…")
        try:
            shot = await HostApi(session.client).screenshot(self.key[1], format="png")
        except (RemoteError, RpcError) as exc:
            self.pane.set_note(f"No picture: {error_text(exc)}", error=True)
            return None
        image = QImage()
        image.loadFromData(base64.b64decode(shot["data"]))
        self.pane.set_note("")
        return image

    async def _full_size(self) -> None:
        image = await self._picture()
        if image is not None and not image.isNull():
            self.pane.show_full(image)

    async def _save(self, path: Path) -> None:
        image = await self._picture()
        if image is not None and not image.isNull():
            self.pane.save_image(image, path)
