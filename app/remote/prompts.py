"""What the SSH layer asks a person, as async callbacks the front end supplies.

The CLI asks on the terminal; the GUI will show a dialog. A callback left out
means "nobody to ask" (a script, CI): an unknown host key is refused with a
message saying how to accept it, and an encrypted key or a password is
skipped and named in the authentication error.

The SSH work runs on a worker thread; :class:`Asker` brings each question to
the event loop and waits there for the answer, so a callback is an ordinary
coroutine on the loop (it may await a dialog) and never runs on the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .ssh.known_hosts import Decision, HostKeyQuestion

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")

HostKeyCallback = Callable[[HostKeyQuestion], Awaitable[Decision]]
# Gets the prompt ("Enter passphrase for key '/home/ann/.ssh/id_ed25519': ");
# returns the secret, or None when the person declined.
SecretCallback = Callable[[str], Awaitable[str | None]]

# A person may take a while to compare a fingerprint; sshd's LoginGraceTime
# (default 120 s) ends the connection first anyway.
ANSWER_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Prompts:
    host_key: HostKeyCallback | None = None
    passphrase: SecretCallback | None = None
    password: SecretCallback | None = None
    # Said after refusing an unknown host key with nobody to ask: how this
    # front end lets a person accept it.
    unknown_key_hint: str | None = None

    @property
    def interactive(self) -> bool:
        return self.host_key is not None


class Asker:
    """Runs a prompt callback on the loop from the SSH worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def ask(self, callback: Callable[[A], Awaitable[T]], arg: A, on_error: T) -> T:
        """The callback's answer; ``on_error`` (a refusal) when asking failed,
        so a broken front end can never mean yes."""

        async def run() -> T:
            return await callback(arg)

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)
        try:
            return future.result(ANSWER_TIMEOUT_S)
        except Exception as exc:
            log.warning("could not ask the person: %s: %s", type(exc).__name__, exc)
            future.cancel()
            return on_error
