"""The window's background work: coroutines run on the loop, none lost, none silent.

A Qt slot cannot await, so it hands a coroutine to :meth:`Tasks.spawn`. The
set keeps a reference until it ends (asyncio keeps only a weak one), and a
coroutine that fails with an error nobody caught is logged with its
traceback and shown in the window: a bug must never vanish into the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class Tasks:
    def __init__(self, show_error: Callable[[str], None]) -> None:
        self._show_error = show_error
        self.pending: set[asyncio.Future[Any]] = set()

    def spawn(self, aw: Awaitable[Any], what: str = "") -> None:
        future = asyncio.ensure_future(aw)
        self.pending.add(future)

        def done(f: asyncio.Future[Any]) -> None:
            self.pending.discard(f)
            if f.cancelled() or f.exception() is None:
                return
            exc = f.exception()
            log.error("%s failed: %r", what or "a task", exc, exc_info=exc)
            self._show_error(f"Something went wrong{' ' + what if what else ''}: {exc}")

        future.add_done_callback(done)

    def __bool__(self) -> bool:
        return bool(self.pending)


def error_text(exc: BaseException) -> str:
    """What to tell the person: the server's own message where there is one."""
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__
