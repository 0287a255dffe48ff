"""One terminal widget attached to one sandbox's tmux, across drops and restarts.

The link owns the PTY (``app.remote.terminal``): the widget's bytes go to it,
its output goes to the widget, a resize of the widget resizes it and so tmux.
When the PTY ends the link says why in the terminal and knows what brings it
back: a dropped connection reattaches when the host is connected again, a
stopped sandbox when it runs again, a detach (tmux's C-b d) when the person
presses Enter. Closing the link detaches; the sandbox keeps running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import Enum

from PySide6.QtCore import QObject, Signal

from app.remote.api import HostApi
from app.remote.client import Client
from app.remote.errors import RemoteError
from app.remote.terminal import Terminal, open_attach
from hostd.protocol.errors import RpcError

from .labels import label_of
from .tasks import Tasks, error_text
from .terminal.widget import TerminalWidget

log = logging.getLogger(__name__)

# What the widget does beyond xterm-256color's terminfo (tmux's -T names):
# true colour, and synchronized output (tmux brackets each redraw, and the
# widget paints it whole instead of half-drawn).
FEATURES = ("RGB", "sync")
# A PTY that ends without an exit status while the host still looks connected
# (the connection is going, and the client has not noticed yet) is attached
# again after this long, up to RETRIES times; after that, Enter does it.
RETRY_S = 1.0
RETRIES = 3
# A terminal attached this long that ends without a status gets its quick
# retries afresh; one that keeps dying at once runs out of them.
STABLE_S = 30.0
ATTACHABLE = ("running", "exited")  # sandbox.attach_command's rule
# Output not parsed yet beyond this pauses reading until the widget has caught
# up: about half a second of the emulator's ~1.6 MB/s. tmux then sees a slow
# reader and sends the screen as it ends up, not every byte in between; memory
# stays bounded under endless output.
BACKLOG_MAX = 1 << 20
MAX_SCROLL = 50_000  # sandbox.scroll's bound (tmux's history-limit)


class Phase(Enum):
    ATTACHING = "attaching"
    ATTACHED = "attached"
    DETACHED = "detached"  # the person detached (C-b d): Enter attaches again
    DISCONNECTED = "disconnected"  # the host is gone: back when it is
    ENDED = "ended"  # the sandbox is not running: back when it runs
    FAILED = "failed"  # attaching failed: Enter tries again
    CLOSED = "closed"


class TerminalLink(QObject):
    phase_changed = Signal(object)  # Phase

    def __init__(
        self,
        widget: TerminalWidget,
        host: str,
        sandbox_id: str,
        client_of: Callable[[], Client | None],
        status_of: Callable[[], str | None],
        tasks: Tasks,
    ) -> None:
        super().__init__(widget)
        self.widget = widget
        self.host = host
        self.sandbox_id = sandbox_id
        self._client_of = client_of
        self._status_of = status_of
        self._tasks = tasks
        self.phase = Phase.DETACHED
        self._term: Terminal | None = None
        self._retries = 0
        self._scroll = 0  # wheel lines not yet sent to hostd
        self._scrolling = False
        self._when_shown = False  # attach() came while the terminal was hidden
        self._attempt = 0  # which attach is the current one: a stale one closes what it got
        self._attached_at = 0.0  # loop time of the last attach
        widget.send.connect(self._typed)
        widget.resized.connect(self._resized)
        widget.scroll_requested.connect(self._scroll_requested)
        widget.drained.connect(self._drained)
        self._paused = False

    @property
    def deferred(self) -> bool:
        """Asked to attach while hidden: it attaches when the terminal shows."""
        return self._when_shown and self.phase is Phase.DETACHED

    # -- what the tab tells it -----------------------------------------------------------

    def attach(self) -> None:
        """Attach now if it is not attached or on its way; a terminal that is
        not shown (a tab behind another) attaches when it is, at its size."""
        if self.phase in (Phase.ATTACHING, Phase.ATTACHED, Phase.CLOSED):
            return
        if self.widget.usable_size() is None:
            self._when_shown = True
            self.phase_changed.emit(self.phase)  # the header says it waits to be shown
            return
        self._when_shown = False
        self._attempt += 1
        self._set(Phase.ATTACHING, "Attaching…")
        self._tasks.spawn(self._attach(self._attempt), f"attaching to {self.sandbox_id[:8]}")

    def host_connected(self, connected: bool) -> None:
        if connected and self.phase is Phase.DISCONNECTED:
            self._retries = 0
            self.attach()
        elif (
            not connected
            and self.phase not in (Phase.CLOSED, Phase.ATTACHING)
            and (self._term is None)
        ):  # an attach under way fails or succeeds by itself
            self._set(Phase.DISCONNECTED, self._disconnected_text())

    def sandbox_status(self, status: str | None) -> None:
        if status in ATTACHABLE and self.phase is Phase.ENDED:
            self.attach()
        elif status not in ATTACHABLE and self.phase in (Phase.DETACHED, Phase.FAILED):
            # A stop kills tmux before the status says so: the terminal ended
            # looking like a detach. It comes back when the sandbox runs again.
            self._set(Phase.ENDED, self._ended_text(status))

    async def close(self) -> None:
        """Detach for good (the tab closes); the sandbox keeps running."""
        self.phase = Phase.CLOSED
        term, self._term = self._term, None
        if term is not None:
            await term.close()

    # -- internals -----------------------------------------------------------------------

    async def _attach(self, attempt: int) -> None:
        client = self._client_of()
        if client is None or client.state.phase != "connected":
            self._set(Phase.DISCONNECTED, self._disconnected_text())
            return
        status = self._status_of()
        if status not in ATTACHABLE:
            self._set(Phase.ENDED, self._ended_text(status))
            return
        cols, rows = self.widget.usable_size() or self.widget.grid_size()
        try:
            term = await open_attach(client, self.sandbox_id, cols, rows, FEATURES)
        except (RpcError, RemoteError, OSError) as exc:
            if attempt != self._attempt or self.phase is Phase.CLOSED:
                return
            if client.state.phase != "connected":  # it dropped meanwhile: back when it is
                self._set(Phase.DISCONNECTED, self._disconnected_text())
            else:
                self._set(Phase.FAILED, f"Could not attach: {error_text(exc)}\n"
                          "Press Enter to try again.")  # fmt: skip
            return
        if attempt != self._attempt or self.phase is not Phase.ATTACHING:
            await term.close()  # the tab closed, or another attach took over, meanwhile
            return
        self._term = term
        self._attached_at = asyncio.get_running_loop().time()
        self.widget.reset()
        self._paused = False
        term.start(lambda data: self._output(term, data), lambda: self._ended(term))
        self._set(Phase.ATTACHED, None)
        size = self.widget.usable_size()
        if size is not None and size != (cols, rows):  # resized on the way
            term.resize(*size)

    def _ended(self, term: Terminal) -> None:
        if term is not self._term:
            return
        self._term = None
        if self.phase is Phase.CLOSED:
            return
        client = self._client_of()
        connected = client is not None and client.state.phase == "connected"
        status = self._status_of()
        log.info("terminal of %s ended: status %s, %s", self.sandbox_id[:8], term.exit_status,
                 term.end_reason)  # fmt: skip
        if asyncio.get_running_loop().time() - self._attached_at > STABLE_S:
            self._retries = 0  # it held: a new drop gets its quick retries again
        if not connected or (term.exit_status is None and self._retries < RETRIES):
            self._set(Phase.DISCONNECTED, self._disconnected_text())
            if connected:  # the client has not noticed the drop yet, or it was brief
                self._retries += 1
                asyncio.get_running_loop().call_later(RETRY_S, self._retry)
        elif status not in ATTACHABLE:
            self._set(Phase.ENDED, self._ended_text(status))
        else:
            self._retries = 0
            self._set(Phase.DETACHED, "Detached. Press Enter to attach again.")

    def _output(self, term: Terminal, data: bytes) -> None:
        if term is not self._term:
            return
        self.widget.feed(data)
        if not self._paused and self.widget.pending() > BACKLOG_MAX:
            self._paused = True
            term.pause_reading()

    def _drained(self) -> None:
        if self._paused and self._term is not None:
            self._paused = False
            self._term.resume_reading()

    def _retry(self) -> None:
        if self.phase is Phase.DISCONNECTED:
            client = self._client_of()
            if client is not None and client.state.phase == "connected":
                self.attach()

    def _set(self, phase: Phase, text: str | None) -> None:
        self.phase = phase
        self.widget.set_status(text)
        self.phase_changed.emit(phase)

    def _disconnected_text(self) -> str:
        return f"Disconnected from {label_of(self.host)}. Attaching again when it is back…"

    def _ended_text(self, status: str | None) -> str:
        if status is None:
            return "This sandbox is gone."
        return f"The sandbox is {status}. Its terminal comes back when it runs again."

    def _typed(self, data: bytes) -> None:
        if self._term is not None:
            self._term.write(data)
        elif b"\r" in data and self.phase in (Phase.DETACHED, Phase.FAILED):
            self._retries = 0
            self.attach()

    def _resized(self, cols: int, rows: int) -> None:
        if self._term is not None:
            self._term.resize(cols, rows)
        elif self._when_shown:
            self.attach()

    def _scroll_requested(self, lines: int) -> None:
        """Wheel turns go to hostd one call at a time, added up meanwhile."""
        if self._term is None:
            return
        self._scroll += lines
        if not self._scrolling:
            self._scrolling = True
            self._tasks.spawn(self._send_scroll(), "scrolling")

    async def _send_scroll(self) -> None:
        try:
            while self._scroll and self.phase is Phase.ATTACHED:
                lines, self._scroll = self._scroll, 0
                client = self._client_of()
                if client is None:
                    break
                try:
                    await HostApi(client).scroll(
                        self.sandbox_id, max(-MAX_SCROLL, min(MAX_SCROLL, lines))
                    )
                except (RpcError, RemoteError) as exc:
                    log.info("scrolling %s failed: %s", self.sandbox_id[:8], exc)
                    break
        finally:
            self._scroll = 0
            self._scrolling = False
