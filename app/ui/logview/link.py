"""A sandbox's Logs page tied to its host: its log stream, and the older part on demand.

Nothing is asked of the host until the page is first shown (``start``); from
then on the page gets the last lines before the stream, the stream itself,
what was written while the connection was down (``app.remote.logfeed``),
and older output in steps of ``EARLIER_LINES`` when the person asks.

A viewer that cannot decode as fast as a pane writes (a `yes` in the
sandbox) would queue without bound: beyond ``MAX_PENDING`` characters not
yet shown, output is left out and the page says so; the log on the host
keeps everything (Save, or ``claude-remote logs``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject

from app.remote.client import Client
from app.remote.errors import RemoteError
from app.remote.logfeed import LogFeed
from hostd.protocol import RpcError

from ..tasks import Tasks, error_text
from .viewer import LogViewer

log = logging.getLogger(__name__)

# What the page shows at first: enough to see how the agent got here, little
# enough to arrive at once (a few hundred KB at most).
INITIAL_LINES = 2000
# Each "Load earlier output": a step that reads in well under a second.
EARLIER_LINES = 20_000
# About a second of the decoder's ~25 MB/s: beyond it the viewer is behind.
MAX_PENDING = 16 * 1024 * 1024


class LogLink(QObject):
    def __init__(
        self,
        viewer: LogViewer,
        sandbox_id: str,
        client_of: Callable[[], Client | None],
        tasks: Tasks,
    ) -> None:
        super().__init__(viewer)
        self.viewer = viewer
        self.sandbox_id = sandbox_id
        self._client_of = client_of
        self.tasks = tasks
        self.feed: LogFeed | None = None
        self.skipped = 0  # characters left out since the viewer last caught up
        self._jobs: set[asyncio.Task[None]] = set()  # cancelled when the tab closes
        self._closed = False
        viewer.earlier_requested.connect(
            lambda: self._spawn(self._earlier(), "reading earlier output")
        )
        viewer.set_earlier_available(False)

    @property
    def started(self) -> bool:
        return self.feed is not None

    def start(self) -> None:
        """Subscribe to the log (the page is shown for the first time, or the
        host is connected again after the page could not start)."""
        if self.feed is not None:
            return
        client = self._client_of()
        if client is None or client.state.phase != "connected":
            self.viewer.set_earlier_available(False)
            return
        if self._closed:
            return
        self.feed = LogFeed(client, self.sandbox_id, self._append, self.viewer.prepend)
        self._spawn(self._start(self.feed), "following the log")

    async def close(self) -> None:
        """The tab closes: the log is no longer followed, and nothing touches the
        page after this returns (it is deleted next)."""
        self._closed = True
        jobs = list(self._jobs)
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        feed, self.feed = self.feed, None
        if feed is not None:
            await feed.stop()

    # -- internals -----------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        if self._closed:
            coro.close()
            return
        job = asyncio.ensure_future(coro)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        self.tasks.spawn(job, what)

    async def _start(self, feed: LogFeed) -> None:
        self.viewer.set_earlier_busy(True)
        try:
            await feed.start(INITIAL_LINES)
        except (RemoteError, RpcError) as exc:
            if self.feed is feed:
                self.feed = None  # tried again when the page is shown again
            await feed.stop()
            self.viewer.append(f"\r\n[the log could not be read: {error_text(exc)}]\r\n")
            return
        finally:
            self.viewer.set_earlier_busy(False)
        self.viewer.set_earlier_available(feed.has_earlier)

    async def _earlier(self) -> None:
        feed = self.feed
        if feed is None:
            return
        self.viewer.set_earlier_busy(True)
        try:
            await feed.earlier(EARLIER_LINES)
        except (RemoteError, RpcError) as exc:
            self.viewer.append(f"\r\n[earlier output could not be read: {error_text(exc)}]\r\n")
        finally:
            self.viewer.set_earlier_busy(False)
            self.viewer.set_earlier_available(feed.has_earlier)

    def _append(self, text: str) -> None:
        if self._closed:
            return
        if self.viewer.pending() > MAX_PENDING:
            self.skipped += len(text)
            return
        if self.skipped:
            self.viewer.append(
                f"\r\n[… {self.skipped:,} characters of output left out: more came than this "
                "page could show; the log on the host has them all …]\r\n"
            )
            self.skipped = 0
        self.viewer.append(text)
