"""The hosts the window works with: opening and closing them, and keeping the
sandbox model and the host list in step with what each host says."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.remote.client import ConnectionState
from app.remote.errors import ConfigError, HostKeyChanged, RemoteError
from app.remote.local import LocalHost
from app.remote.profiles import LOCAL, Profiles, open_host
from app.remote.prompts import Prompts
from app.remote.streams import Host
from hostd.protocol import RpcError

from .history import MetricsHistory
from .hostlist import HostList, HostRow
from .labels import label_of as label_of  # re-exported: older imports name the hub
from .model import SandboxModel
from .session import HostSession

log = logging.getLogger(__name__)

# Quitting waits this long for hostd processes and SSH connections to close
# (hostd exits at end of input in well under a second); then it goes anyway.
CLOSE_TIMEOUT_S = 4.0


class Hub(QObject):
    message = Signal(str, bool)  # text for the status bar / banner, is it an error
    key_changed = Signal(str, str)  # host, OpenSSH's warning: shown as a dialog
    opened = Signal(str)  # a host connected for the first time
    closing = Signal(str)  # a host is being disconnected (its sync panels stop)
    listed = Signal(str)  # a host listed its sandboxes (the model has them)
    connected = Signal(str, bool)  # a host's connection is up, or down (reconnecting, failed)
    frame_data = Signal(str, str, bytes, QImage, bool)  # every frame's bytes, for screen pages
    # A sandbox's own tab asks to answer its request: (key, "allow" | "deny" |
    # "deny-message", the widget a message dialog opens over); the window's
    # sandbox actions answer it, as for the tile's buttons.
    answer_requested = Signal(object, str, object)

    def __init__(
        self,
        model: SandboxModel,
        hosts: HostList,
        prompts: Prompts,
        profiles: Profiles,
        frame_width: Callable[[], int],
        local_command: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.hosts = hosts
        self.prompts = prompts
        self.profiles = profiles
        self.frame_width = frame_width
        self.local_command = local_command
        self.sessions: dict[str, HostSession] = {}
        # The last minutes of every connected host's and sandbox's metrics,
        # for the sandbox's Details page and the host view (kept while connected).
        self.history = MetricsHistory()
        self._opening: dict[str, asyncio.Task[None]] = {}

    # -- the host list -------------------------------------------------------------------

    def known_hosts(self) -> list[str]:
        """Local first, then every profile (for the sidebar)."""
        try:
            names = sorted(self.profiles.load())
        except ConfigError as exc:
            self.message.emit(str(exc), True)
            names = []
        return [LOCAL, *names]

    def refresh_rows(self) -> None:
        known = self.known_hosts()
        for name in known:
            if self.hosts.host_row(name) is None:
                self.hosts.set_row(HostRow(name, label_of(name)))
        for name in self.hosts.names():
            if name not in known and name not in self.sessions:
                self.hosts.remove(name)

    # -- opening and closing -------------------------------------------------------------

    def open(self, name: str) -> asyncio.Task[None]:
        """Connect to a host (in the background); the sidebar shows how it goes."""
        if name in self._opening and not self._opening[name].done():
            return self._opening[name]
        task = asyncio.ensure_future(self._open(name))
        self._opening[name] = task
        return task

    async def close(self, name: str, keep_row: bool = False) -> None:
        """Disconnect (the person asked): its tiles go; its sandboxes keep running."""
        session = self.sessions.pop(name, None)
        task = self._opening.pop(name, None)
        if task is not None and not task.done():
            task.cancel()
        self.closing.emit(name)
        if session is not None:
            await session.stop()
        self.model.drop_host(name)
        self.history.drop_host(name)
        if not keep_row:
            self._row(name, phase="idle", state_text="not connected", metrics=None, sandboxes=0)

    async def close_all(self) -> None:
        sessions, self.sessions = list(self.sessions.values()), {}
        for task in self._opening.values():
            task.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await asyncio.gather(*(s.stop() for s in sessions), return_exceptions=True)

    async def update_frame_width(self) -> None:
        width = self.frame_width()
        for session in list(self.sessions.values()):
            with contextlib.suppress(RemoteError, Exception):
                await session.set_frame_width(width)

    # -- internals -----------------------------------------------------------------------

    def _host(self, name: str) -> Host:
        if name == LOCAL:
            return LocalHost(self.local_command) if self.local_command else LocalHost()
        return open_host(name, prompts=self.prompts, profiles=self.profiles).host

    async def _open(self, name: str) -> None:
        if name in self.sessions:
            return
        if self.hosts.host_row(name) is None:
            self.hosts.set_row(HostRow(name, label_of(name)))
        self._row(name, phase="connecting", state_text="connecting…")
        try:
            host = self._host(name)
        except ConfigError as exc:
            self._row(name, phase="failed", state_text=f"failed: {exc}")
            self.message.emit(f"{label_of(name)}: {exc}", True)
            return
        session = HostSession(name, host, self.frame_width())
        self._wire(session)
        self.sessions[name] = session
        try:
            await session.start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # RemoteError, RpcError, OSError, or a bug: all shown
            if self.sessions.get(name) is not session:
                return  # disconnected (or quitting) meanwhile: nothing to tell
            self.sessions.pop(name, None)
            await session.stop()
            if not isinstance(exc, (RemoteError, RpcError, OSError)):
                log.exception("connecting to %s failed", name)
            self._failed(name, getattr(exc, "message", None) or str(exc) or type(exc).__name__,
                         isinstance(exc, HostKeyChanged))  # fmt: skip
            return
        for warning in (session.client.hello or {}).get("warnings", []):
            self.message.emit(f"{label_of(name)}: {warning}", True)
        self.opened.emit(name)

    def _wire(self, s: HostSession) -> None:
        s.state_changed.connect(self._on_state)
        s.sandboxes_reset.connect(self._on_reset)
        s.sandbox_changed.connect(self._on_changed)
        s.sandbox_removed.connect(self._on_removed)
        s.frame.connect(self._on_frame)
        s.frame_data.connect(self.frame_data)
        s.pane_text.connect(lambda host, sid, text: self.model.set_pane_text((host, sid), text))
        s.metrics.connect(self._on_metrics)
        s.problem.connect(lambda host, text: self.message.emit(f"{label_of(host)}: {text}", True))

    def _failed(self, name: str, reason: str, key_changed: bool) -> None:
        first = reason.strip().splitlines()[0] if reason.strip() else "unknown"
        self._row(name, phase="failed", state_text=f"failed: {first}")
        if key_changed:
            self.key_changed.emit(name, reason)
        self.message.emit(f"Could not connect to {label_of(name)}: {reason}", True)

    async def reopen(self, name: str) -> None:
        """Connect again to a host whose connection failed for good."""
        await self.close(name, keep_row=True)
        self.open(name)

    def _on_state(self, host: str, state: ConnectionState) -> None:
        text = str(state)
        if state.phase == "connected":
            text = "connected"
        self._row(host, phase=state.phase, state_text=text)
        session = self.sessions.get(host)
        if state.phase == "failed" and session is not None and session.started:
            # Reconnecting gave up (a changed key, a refused login, hostd
            # gone): say so in the window, not only in the host list.
            reason = state.reason or "the connection failed"
            self._failed(host, reason, "REMOTE HOST IDENTIFICATION HAS CHANGED" in reason)
        if state.phase in ("reconnecting", "failed"):
            self.model.set_host_stale(host, datetime.now())
            self.connected.emit(host, False)
        elif state.phase == "connected":
            self.model.set_host_stale(host, None)
            self.connected.emit(host, True)

    def _on_reset(self, host: str, sandboxes: list[dict[str, Any]]) -> None:
        self.model.replace_host(host, sandboxes)
        self.model.set_host_stale(host, None)
        for sb in sandboxes:
            self._apply_known_frame(host, sb["id"])
        self._count(host)
        self.listed.emit(host)

    def _on_changed(self, host: str, sb: dict[str, Any]) -> None:
        new = self.model.tile((host, sb["id"])) is None
        self.model.upsert(host, sb)
        if new:
            self._apply_known_frame(host, sb["id"])
        self._count(host)

    def _apply_known_frame(self, host: str, sid: str) -> None:
        """A frame can come before its tile does (hostd sends only changes)."""
        session = self.sessions.get(host)
        known = session.frames.get(sid) if session is not None else None
        if known is not None:
            self.model.set_frame((host, sid), *known)

    def _on_removed(self, host: str, sid: str) -> None:
        self.model.remove(host, sid)
        self.history.drop_sandbox(host, sid)
        self._count(host)

    def _on_frame(self, host: str, sid: str, image: QImage, blank: bool) -> None:
        self.model.set_frame((host, sid), image, blank)

    def _on_metrics(self, host: str, params: dict[str, Any]) -> None:
        self.history.add(host, params, time.time())
        self._row(host, metrics=params.get("system"))
        for sid, metrics in (params.get("sandboxes") or {}).items():
            self.model.set_metrics((host, sid), metrics)

    def _count(self, host: str) -> None:
        session = self.sessions.get(host)
        self._row(host, sandboxes=len(session.sandboxes) if session else 0)

    def _row(self, name: str, **changes: Any) -> None:
        row = self.hosts.host_row(name) or HostRow(name, label_of(name))
        self.hosts.set_row(dataclasses.replace(row, **changes))
