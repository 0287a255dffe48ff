"""claude-remote's terminal side: questions on the terminal, and ``attach``.

Questions (host key, passphrase, password) are asked on ``/dev/tty`` as
OpenSSH does, so they work with stdin or stdout redirected; with no
controlling terminal (a script, CI) there is nobody to ask and the SSH layer
refuses instead. Attaching over SSH puts the local terminal in raw mode and
relays bytes to a PTY channel on the host's one connection, resizing it on
SIGWINCH; the terminal is restored whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
import termios
import tty

from app.remote.client import Client
from app.remote.prompts import Prompts
from app.remote.ssh.known_hosts import Decision, HostKeyQuestion
from app.remote.terminal import TERM, open_attach

log = logging.getLogger(__name__)

TTY = "/dev/tty"


def have_tty() -> bool:
    try:
        fd = os.open(TTY, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def terminal_prompts(accept_hint: str) -> Prompts:
    """Prompts on the controlling terminal, or none when there is none."""
    if not have_tty():
        return Prompts(unknown_key_hint=accept_hint)
    return Prompts(
        host_key=_ask_host_key,
        passphrase=_ask_secret,
        password=_ask_secret,
        unknown_key_hint=accept_hint,
    )


async def _ask_host_key(question: HostKeyQuestion) -> Decision:
    return await asyncio.get_running_loop().run_in_executor(None, _host_key_dialogue, question)


def _host_key_dialogue(question: HostKeyQuestion) -> Decision:
    where = f" to {question.save_to}" if question.save_to else ""
    fd = os.open(TTY, os.O_RDWR | os.O_NOCTTY)
    try:
        _say(
            fd,
            f"{question.text()}\n"
            "Are you sure you want to continue connecting?\n"
            f"  yes   accept and remember it (added{where})\n"
            "  once  accept for this connection only\n"
            "  no    refuse\n",
        )
        for _ in range(3):
            _say(fd, "(yes/once/no/[fingerprint])? ")
            answer = _read_line(fd).strip()
            if answer in ("yes", "y") or answer == question.fingerprint:
                return Decision.ACCEPT_AND_SAVE
            if answer in ("once", "o"):
                return Decision.ACCEPT_ONCE
            if answer in ("no", "n", ""):
                return Decision.REFUSE
            _say(fd, "Please type 'yes', 'once', 'no' or the fingerprint.\n")
        return Decision.REFUSE
    finally:
        os.close(fd)


def _say(fd: int, text: str) -> None:
    data = text.replace("\n", "\r\n" if not _cooked(fd) else "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _cooked(fd: int) -> bool:
    try:
        return bool(termios.tcgetattr(fd)[1] & termios.OPOST)
    except termios.error:
        return True


def _read_line(fd: int) -> str:
    """One line from the terminal (in its normal, line-edited mode)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


async def _ask_secret(prompt: str) -> str | None:
    def ask() -> str | None:
        try:
            return getpass.getpass(prompt) or None  # getpass reads /dev/tty
        except (EOFError, OSError):
            return None

    return await asyncio.get_running_loop().run_in_executor(None, ask)


async def attach_over_ssh(client: Client, sandbox: str) -> int | None:
    """Relay this terminal to the sandbox's tmux in a PTY on the client's host.

    Returns the remote exit status (tmux exits 0 on detach), or None when the
    connection dropped.
    """
    fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
    cols, rows = _size(fd_out)
    session = await open_attach(client, sandbox, cols, rows, term=os.environ.get("TERM") or TERM)
    loop = asyncio.get_running_loop()
    saved = termios.tcgetattr(fd_in)

    def output(data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd_out, view) :]
            except BlockingIOError:
                continue

    def typed() -> None:
        try:
            data = os.read(fd_in, 65536)
        except OSError:
            data = b""
        if data:
            session.write(data)
        else:
            loop.remove_reader(fd_in)
            session.send_eof()

    try:
        tty.setraw(fd_in)
        session.start(output)
        loop.add_reader(fd_in, typed)
        loop.add_signal_handler(signal.SIGWINCH, lambda: session.resize(*_size(fd_out)))
        status = await session.wait()
    finally:
        loop.remove_reader(fd_in)
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGWINCH)
        termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)
        await session.close()
    return None if status is None or status < 0 else status


def _size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
        return size.columns, size.lines
    except OSError:
        return 80, 24
