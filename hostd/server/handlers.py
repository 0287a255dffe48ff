"""The methods hostd answers: params, checks, and which pool runs the work.

Lifecycle work (starting and stopping processes) runs in the ``slow`` pool;
reads run in the ``fast`` pool, so a create that takes seconds never delays a
``sandbox.list``.

:meth:`Handlers.call` is what the server loop dispatches to; it needs no
process or wire, only the services and the subscriptions registry.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import shutil
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from .. import __version__
from ..fs import methods as fsmethods
from ..observe import answer
from ..observe.sysmetrics import system_metrics
from ..protocol import methods as m
from ..protocol import spec, wire
from ..protocol.errors import InvalidParams, MethodNotFound
from ..protocol.params import bind
from ..sandbox import backends
from .services import Services
from .subscriptions import Subscriptions

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[..., Awaitable[Any]]

MAX_KEYS = 1000  # send_keys: far more than a prompt answer needs
MAX_TAIL = 1_000_000
MAX_SCROLL = 50_000  # the history tmux keeps (history-limit in sandbox.tmux's config)


class Handlers:
    def __init__(self, services: Services, subscriptions: Subscriptions) -> None:
        self.services = services
        self.subscriptions = subscriptions
        self.manager = services.manager
        # Each method's params and defaults are in protocol.spec, checked before
        # the handler runs; this says only who answers it.
        self.table: dict[str, Handler] = {
            m.HELLO: self.hello,
            m.SANDBOX_LIST: self.sandbox_list,
            m.SANDBOX_GET: self.sandbox_get,
            m.SANDBOX_CREATE: self.sandbox_create,
            m.SANDBOX_STOP: self.sandbox_stop,
            m.SANDBOX_START: self.sandbox_start,
            m.SANDBOX_DELETE: self.sandbox_delete,
            m.SANDBOX_LOGS: self.sandbox_logs,
            m.SANDBOX_SCREENSHOT: self.screenshot,
            m.SANDBOX_PANE: self.pane,
            m.SANDBOX_METRICS: self.sandbox_metrics,
            m.SANDBOX_SEND_KEYS: self.send_keys,
            m.SANDBOX_ANSWER: self.sandbox_answer,
            m.SANDBOX_ATTACH_COMMAND: self.attach_command,
            m.SANDBOX_SCROLL: self.scroll,
            m.SYSTEM_METRICS: self.system_metrics,
            m.SUBSCRIBE: self.subscribe,
            m.UNSUBSCRIBE: self.unsubscribe,
            m.FS_LIST: self.fs_list,
            m.FS_HASH: self.fs_hash,
            m.FS_TRASH: self.fs_trash,
            m.FS_MKDIR: self.fs_mkdir,
            m.FS_RENAME: self.fs_rename,
        }
        assert set(self.table) == set(spec.METHODS), "a method without a handler, or one too many"

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Answer one request: its result, or an :class:`RpcError` raised
        (-32601 for an unknown method, -32602 naming the field of a bad param)."""
        fn = self.table.get(method)
        if fn is None:
            raise MethodNotFound(f"unknown method {method!r}", {"method": method})
        return await fn(**bind(method, spec.METHODS[method], params))

    # -- helpers ---------------------------------------------------------------------

    async def _fast(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._run(self.services.fast_pool, fn, *args)

    async def _slow(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self._run(self.services.slow_pool, fn, *args)
        finally:
            self.services.monitor.poke()

    @staticmethod
    async def _run(pool: Executor, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    # -- methods ---------------------------------------------------------------------

    async def hello(self, client: str | None) -> wire.Hello:
        if client:
            log.info("client: %s", client[:200])

        def gather() -> wire.Hello:
            return {
                "protocol": m.PROTOCOL_VERSION,
                "version": __version__,
                "hostname": socket.gethostname(),
                "user": getpass.getuser(),
                "backends": [b.to_obj() for b in backends.probe_all()],
                "capabilities": spec.CAPABILITIES,
                "state_dir": str(self.manager.paths.root),
                "warnings": self.manager.store.warnings(),
                "commands": {name: shutil.which(name) for name in spec.AGENT_PROBES},
            }

        return await self._fast(gather)

    # A Sandbox's activity is read from files (the hook events): decorated in the pool.

    async def sandbox_list(self) -> list[wire.Sandbox]:
        decorate = self.services.decorate
        return await self._fast(lambda: [decorate(v) for v in self.manager.views()])

    async def sandbox_get(self, id: str) -> wire.Sandbox:
        return await self._fast(lambda: self.services.decorate(self.manager.get(_ref(id))))

    async def sandbox_metrics(self, id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(
            self.services.metrics_pool, self.services.metrics.one, _ref(id)
        )
        self.services.monitor.poke()  # the activity it saw may be news
        return result

    async def sandbox_create(self, **kwargs: Any) -> wire.Sandbox:
        decorate = self.services.decorate
        return await self._slow(lambda: decorate(self.manager.create(**kwargs)))

    async def sandbox_stop(self, id: str) -> wire.Sandbox:
        return await self._slow(lambda: self.services.decorate(self.manager.stop(_ref(id))))

    async def sandbox_start(self, id: str) -> wire.Sandbox:
        return await self._slow(lambda: self.services.decorate(self.manager.start(_ref(id))))

    async def sandbox_delete(self, id: str) -> dict[str, Any]:
        result = await self._slow(self.manager.delete, _ref(id))
        self.subscriptions.drop_log_follower(result["id"])
        return result

    async def sandbox_logs(
        self, id: str, tail: int | None, after: int | None, before: int | None
    ) -> dict[str, Any]:
        if tail is not None and not 0 <= tail <= MAX_TAIL:
            raise InvalidParams(f"tail must be between 0 and {MAX_TAIL} lines", "tail")
        for name, value in (("after", after), ("before", before)):
            if value is not None and value < 0:
                raise InvalidParams(f"{name} must be a byte offset, 0 or more", name)
        if after is not None and before is not None and after > before:
            raise InvalidParams("after must not be past before", "after")
        return await self._fast(self.manager.logs, _ref(id), tail, after, before)

    async def screenshot(self, id: str, max_width: int | None, format: str) -> dict[str, Any]:
        return await self.services.screens.screenshot(_ref(id), max_width, format)

    async def pane(self, id: str, escapes: bool) -> dict[str, Any]:
        return await self._fast(self.manager.pane, _ref(id), escapes)

    async def send_keys(self, id: str, keys: list[str]) -> dict[str, Any]:
        if not keys:
            raise InvalidParams("keys is empty", "keys")
        if len(keys) > MAX_KEYS:
            raise InvalidParams(f"at most {MAX_KEYS} keys per call", "keys")
        return await self._fast(self.manager.send_keys, _ref(id), keys)

    async def sandbox_answer(
        self, id: str, request: str, decision: str, message: str | None
    ) -> wire.Answer:
        answer.check(request, decision, message)  # before looking the sandbox up
        ref = _ref(id)
        activities = self.services.metrics.activities
        result = await self._fast(
            lambda: answer.answer(self.manager, activities, ref, request, decision, message)
        )
        self.services.monitor.poke()  # keys typed may change the pane at once
        return result

    async def attach_command(self, id: str, features: list[str] | None) -> dict[str, Any]:
        unknown = sorted(set(features or ()) - spec.TERMINAL_FEATURES)
        if unknown:
            known = ", ".join(sorted(spec.TERMINAL_FEATURES))
            raise InvalidParams(f"unknown terminal feature {unknown[0]!r} (known: {known})",
                                "features")  # fmt: skip
        return await self._fast(self.manager.attach_command, _ref(id), features)

    async def scroll(self, id: str, lines: int) -> dict[str, Any]:
        if not 0 < abs(lines) <= MAX_SCROLL:
            raise InvalidParams(f"lines must be 1 to {MAX_SCROLL} either way, not 0", "lines")
        return await self._fast(self.manager.scroll, _ref(id), lines)

    async def system_metrics(self) -> dict[str, Any]:
        return await self._fast(system_metrics)

    async def subscribe(
        self,
        topics: list[str],
        screenshot: dict[str, Any] | None,
        metrics: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return await self.subscriptions.subscribe(topics, screenshot, metrics)

    async def unsubscribe(self, topics: list[str]) -> dict[str, Any]:
        await self.subscriptions.unsubscribe(topics)
        return {}

    # Tree walks and hashing read the disk: the slow pool, so a big listing
    # never queues in front of a sandbox.list.

    async def fs_list(self, root: str, paths: list[str] | None) -> dict[str, Any]:
        return await self._run(self.services.slow_pool, fsmethods.fs_list, root, paths)

    async def fs_hash(self, root: str, paths: list[str]) -> dict[str, Any]:
        return await self._run(self.services.slow_pool, fsmethods.fs_hash, root, paths)

    async def fs_trash(
        self, root: str, pair: str, stamp: str, items: list[dict[str, Any]]
    ) -> dict[str, Any]:
        state_root = self.manager.paths.root
        return await self._run(
            self.services.slow_pool, fsmethods.fs_trash, state_root, root, pair, stamp, items
        )

    async def fs_mkdir(self, root: str) -> dict[str, Any]:
        return await self._run(self.services.fast_pool, fsmethods.fs_mkdir, root)

    async def fs_rename(self, root: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return await self._run(self.services.slow_pool, fsmethods.fs_rename, root, items)


def _ref(value: str) -> str:
    if not value:
        raise InvalidParams("id is empty", "id")
    return value
