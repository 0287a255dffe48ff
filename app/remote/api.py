"""hostd's methods as typed calls on a :class:`~app.remote.client.Client`.

    api = HostApi(client)
    sandbox = await api.create("demo", "bubblewrap", "/srv/demo")
    print((await api.logs(sandbox["id"], tail=20))["text"])

One method per hostd method, with its params as arguments and its answer
typed (:mod:`hostd.protocol.wire`). Each call is checked against
:data:`hostd.protocol.spec.METHODS` before it is sent, so a wrong one fails
at once, here, with the :class:`~hostd.protocol.errors.InvalidParams` hostd
would answer. Only the params given are sent: an argument left at None is
left out, and hostd fills in the spec's default, so a default lives in the
spec and nowhere else.

A :class:`HostApi` holds nothing but its client: make one wherever there is
a client (``HostApi(client)``), as often as convenient. Subscriptions stay
on the client, which renews them after a reconnection.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, cast

from hostd.protocol import methods as m
from hostd.protocol import wire
from hostd.protocol.params import bind
from hostd.protocol.spec import METHODS

from .client import DEFAULT_TIMEOUT_S, LIFECYCLE_TIMEOUT_S, Client
from .errors import ConnectionLost, NotConnected

log = logging.getLogger(__name__)

# The method ``list`` hides the builtin in the class's own annotations.
Strings = list[str]
Items = list[Any]


class HostApi:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(
        self, method: str, params: dict[str, Any], timeout: float = DEFAULT_TIMEOUT_S
    ) -> Any:
        """``method`` with ``params``, those that are not None, checked
        against the spec (:class:`InvalidParams` before anything is sent)."""
        given = {k: v for k, v in params.items() if v is not None}
        bind(method, METHODS[method], given)
        return await self.client.call(method, given, timeout)

    # -- the host ------------------------------------------------------------------------

    def hello(self) -> wire.Hello:
        """What hostd said when the client connected (again, after a reconnection)."""
        if self.client.hello is None:
            raise NotConnected(f"not connected to {self.client.host.describe()} yet")
        return cast(wire.Hello, self.client.hello)

    async def system_metrics(self) -> dict[str, Any]:
        """The host's load: cpu, memory, disk, load average, network counters."""
        result: dict[str, Any] = await self.call(m.SYSTEM_METRICS, {})
        return result

    # -- sandboxes -----------------------------------------------------------------------

    async def list(self) -> list[wire.Sandbox]:
        """Every sandbox on the host, newest first."""
        result: list[wire.Sandbox] = await self.call(m.SANDBOX_LIST, {})
        return result

    async def get(self, id: str) -> wire.Sandbox:
        """The sandbox ``id`` names: a unique id prefix or its name."""
        result: wire.Sandbox = await self.call(m.SANDBOX_GET, {"id": id})
        return result

    async def create(
        self,
        name: str,
        backend: str,
        project_dir: str,
        *,
        network: bool | None = None,
        agent: str | None = None,
        geometry: str | None = None,
        client_token: str | None = None,
        ssh_agent: bool | None = None,
        timeout: float = LIFECYCLE_TIMEOUT_S,
    ) -> wire.Sandbox:
        """Create a sandbox and start its agent, exactly once even across a
        dropped connection.

        The request carries a ``client_token`` (a new one unless given); when
        the link drops before the answer came, the create is sent again with
        the same token after the reconnection, and hostd answers with the
        sandbox the first one made. ``timeout`` bounds all tries together.
        ``ssh_agent=True`` forwards the SSH agent of hostd's environment into
        the sandbox (the agent can then log in as the person wherever their
        keys let it, while it runs); None leaves it to hostd's default (off).
        """
        params: dict[str, Any] = {
            "name": name,
            "backend": backend,
            "project_dir": project_dir,
            "network": network,
            "agent": agent,
            "geometry": geometry,
            "client_token": client_token or str(uuid.uuid4()),
            "ssh_agent": ssh_agent,
        }
        client = self.client
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                result: wire.Sandbox = await self.call(
                    m.SANDBOX_CREATE, params, max(0.0, deadline - loop.time())
                )
                return result
            except ConnectionLost:
                if not client.reconnect or client.closing or loop.time() >= deadline:
                    raise
                log.info("connection lost during create of %r; retrying with its token", name)
                await asyncio.sleep(0)  # let the reconnection begin before asking again

    async def stop(self, id: str, timeout: float = LIFECYCLE_TIMEOUT_S) -> wire.Sandbox:
        """Stop the sandbox's processes; its record stays."""
        result: wire.Sandbox = await self.call(m.SANDBOX_STOP, {"id": id}, timeout)
        return result

    async def start(self, id: str, timeout: float = LIFECYCLE_TIMEOUT_S) -> wire.Sandbox:
        """Start a stopped, dead or exited sandbox again."""
        result: wire.Sandbox = await self.call(m.SANDBOX_START, {"id": id}, timeout)
        return result

    async def delete(self, id: str, timeout: float = LIFECYCLE_TIMEOUT_S) -> dict[str, Any]:
        """Stop the sandbox and remove it with its log; the answer names its ``id``."""
        result: dict[str, Any] = await self.call(m.SANDBOX_DELETE, {"id": id}, timeout)
        return result

    async def logs(
        self,
        id: str,
        tail: int | None = None,
        *,
        after: int | None = None,
        before: int | None = None,
    ) -> wire.Logs:
        """The terminal output so far (its last ``tail`` lines, if given), or
        of the bytes ``[after, before)`` of the log."""
        params = {"id": id, "tail": tail, "after": after, "before": before}
        result: wire.Logs = await self.call(m.SANDBOX_LOGS, params)
        return result

    async def pane(
        self, id: str, escapes: bool | None = None, timeout: float = DEFAULT_TIMEOUT_S
    ) -> wire.Pane:
        """The agent's terminal as it shows now (with colour escapes, if asked)."""
        params = {"id": id, "escapes": escapes}
        result: wire.Pane = await self.call(m.SANDBOX_PANE, params, timeout)
        return result

    async def screenshot(
        self, id: str, max_width: int | None = None, format: str | None = None
    ) -> wire.Screenshot:
        """One frame of the sandbox's display."""
        params = {"id": id, "max_width": max_width, "format": format}
        result: wire.Screenshot = await self.call(m.SANDBOX_SCREENSHOT, params)
        return result

    async def metrics(self, id: str) -> dict[str, Any]:
        """The sandbox's activity, processes and (for Claude Code) tokens."""
        result: dict[str, Any] = await self.call(m.SANDBOX_METRICS, {"id": id})
        return result

    async def send_keys(self, id: str, keys: Strings) -> dict[str, Any]:
        """Type ``keys`` (tmux key names) into the agent's terminal."""
        result: dict[str, Any] = await self.call(m.SANDBOX_SEND_KEYS, {"id": id, "keys": keys})
        return result

    async def answer(
        self, id: str, request: str, decision: str, message: str | None = None
    ) -> wire.Answer:
        """Allow or deny what the sandbox's agent asks (its activity's
        ``request.id``); ``message`` goes with a deny. A request no longer
        pending is refused (InvalidState, ``data.state`` says why)."""
        params = {"id": id, "request": request, "decision": decision, "message": message}
        result: wire.Answer = await self.call(m.SANDBOX_ANSWER, params)
        return result

    async def attach_command(self, id: str, features: Strings | None = None) -> Strings:
        """The command line that attaches a terminal on the host to the sandbox's tmux.

        ``features``: what the terminal can do beyond its TERM (tmux's -T names,
        ``spec.TERMINAL_FEATURES``), sent only when given.
        """
        params: dict[str, Any] = {"id": id}
        if features:
            params["features"] = features
        result = await self.call(m.SANDBOX_ATTACH_COMMAND, params)
        argv: Strings = result["argv"]
        return argv

    async def scroll(self, id: str, lines: int) -> None:
        """Scroll the sandbox's terminal ``lines`` back in its history (forward if < 0)."""
        await self.call(m.SANDBOX_SCROLL, {"id": id, "lines": lines})

    # -- folders (sync) ----------------------------------------------------------------

    async def fs_list(
        self, root: str, paths: Strings | None = None, timeout: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """``{root, entries, ignore_files}``: the tree under ``root`` as the
        sync rules see it, or with ``paths`` only those paths' entries."""
        result: dict[str, Any] = await self.call(m.FS_LIST, {"root": root, "paths": paths}, timeout)
        return result

    async def fs_hash(
        self, root: str, paths: Strings, timeout: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, str | None]:
        """Each path's sha256 (None: not a regular file, or missing)."""
        result = await self.call(m.FS_HASH, {"root": root, "paths": paths}, timeout)
        hashes: dict[str, str | None] = result["hashes"]
        return hashes

    async def fs_trash(
        self,
        root: str,
        pair: str,
        stamp: str,
        items: Items,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> dict[str, Any]:
        """``{trash_dir, moved, changed}``: each item still as given moved to the trash."""
        params = {"root": root, "pair": pair, "stamp": stamp, "items": items}
        result: dict[str, Any] = await self.call(m.FS_TRASH, params, timeout)
        return result

    async def fs_rename(
        self, root: str, items: Items, timeout: float = DEFAULT_TIMEOUT_S
    ) -> dict[str, Any]:
        """``{renamed, changed}``: each item still as given moved to its ``to``."""
        result: dict[str, Any] = await self.call(
            m.FS_RENAME, {"root": root, "items": items}, timeout
        )
        return result

    async def fs_mkdir(self, root: str, timeout: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
        """``{root, created}``: the folder and its parents, made if missing."""
        result: dict[str, Any] = await self.call(m.FS_MKDIR, {"root": root}, timeout)
        return result
