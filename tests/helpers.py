"""Test helpers: a real hostd subprocess over pipes, and waiting on conditions."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil

from hostd.protocol import ClientConnection, Garbage, Notification, Reply, RpcError

REPO = Path(__file__).resolve().parent.parent
STUBS = REPO / "tests" / "stubs"
T = TypeVar("T")

# Generous: the machines are shared and noisy. Tests wait on conditions and
# return as soon as they hold; the deadline only bounds a real failure.
DEADLINE_S = 30.0


def wait_for(
    cond: Callable[[], T], timeout: float = DEADLINE_S, interval: float = 0.05, what: str = ""
) -> T:
    """Poll ``cond`` until it returns something truthy; return that."""
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or cond}")
        time.sleep(interval)


class Hostd:
    """A hostd child process, driven the way a client drives it: lines on pipes."""

    def __init__(
        self, state_dir: Path, env: dict[str, str] | None = None, args: list[str] | None = None
    ):
        self.state_dir = state_dir
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["HOSTD_STATE_DIR"] = str(state_dir)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hostd", *(args or [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=str(REPO),
        )
        self.conn = ClientConnection()
        self.replies: dict[Any, Reply] = {}
        self.garbage: list[str] = []
        self.raw_lines: list[bytes] = []
        self.notifications: queue.Queue[Notification] = queue.Queue()
        self.seen: list[Notification] = []
        self.stderr = bytearray()
        self._cond = threading.Condition()
        self._eof = False
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # -- sending -------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> int:
        rid, data = self.conn.request(method, params)
        self.send_raw(data)
        return rid

    def reply(self, rid: Any, timeout: float = DEADLINE_S) -> Reply:
        with self._cond:
            ok = self._cond.wait_for(lambda: rid in self.replies or self._eof, timeout)
            if rid in self.replies:
                return self.replies.pop(rid)
        raise AssertionError(
            f"no reply to {rid} ({'hostd ended' if ok else 'timeout'}); stderr:\n{self.stderr_text}"
        )

    def call(self, method: str, timeout: float = DEADLINE_S, **params: Any) -> Any:
        """Call and return the result; an error reply raises it as RpcError."""
        reply = self.reply(self.request(method, params or None), timeout)
        if reply.error is not None:
            raise reply.error
        return reply.result

    def error(self, method: str, **params: Any) -> RpcError:
        """Call expecting an error reply; return it."""
        reply = self.reply(self.request(method, params or None))
        assert reply.error is not None, f"{method} succeeded unexpectedly: {reply.result!r}"
        return reply.error

    def next_line(self, timeout: float = DEADLINE_S) -> Any:
        """The next raw line hostd wrote, decoded (for wire-level tests)."""
        with self._cond:
            self._cond.wait_for(lambda: self.raw_lines or self._eof, timeout)
            if not self.raw_lines:
                raise AssertionError("hostd wrote nothing more")
            return json.loads(self.raw_lines.pop(0))

    def wait_notification(
        self, pred: Callable[[Notification], bool], timeout: float = DEADLINE_S
    ) -> Notification:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for a notification")
            try:
                note = self.notifications.get(timeout=left)
            except queue.Empty:
                continue
            if pred(note):
                return note

    # -- ending ----------------------------------------------------------------------

    def close(self, timeout: float = DEADLINE_S) -> int:
        """End input (EOF) and wait for hostd to exit; returns its exit status."""
        if self.proc.stdin and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        return self.proc.wait(timeout)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode(errors="replace")

    # -- reader threads ----------------------------------------------------------------

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = b""
        while True:
            data = os.read(fd, 1 << 20)
            with self._cond:
                if not data:
                    self._eof = True
                    self._cond.notify_all()
                    return
                buf += data
                *lines, buf = buf.split(b"\n")
                self.raw_lines.extend(line for line in lines if line)
                for event in self.conn.receive_data(data):
                    if isinstance(event, Reply):
                        self.replies[event.id] = event
                    elif isinstance(event, Notification):
                        self.notifications.put(event)
                        self.seen.append(event)
                    elif isinstance(event, Garbage):
                        self.garbage.append(event.text)
                self._cond.notify_all()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            self.stderr += chunk


def processes_mentioning(text: str) -> list[psutil.Process]:
    """Live processes whose command line or environment mentions ``text``."""
    found = []
    for p in psutil.process_iter(["cmdline", "environ", "status"]):
        try:
            if p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            hay = (
                " ".join(p.info["cmdline"] or [])
                + " "
                + " ".join(f"{k}={v}" for k, v in (p.info["environ"] or {}).items())
            )
        except psutil.Error:
            continue
        if text in hay and p.pid != os.getpid():
            found.append(p)
    return found


def delete_all_sandboxes(state_dir: Path, env: dict[str, str] | None = None) -> None:
    """Delete every sandbox in a state folder, through a hostd of its own."""
    if not state_dir.exists():
        return
    cleaner = Hostd(state_dir, env)
    try:
        for sb in cleaner.call("sandbox.list"):
            cleaner.call("sandbox.delete", id=sb["id"])
    finally:
        cleaner.close()


def assert_nothing_left(state_dir: Path, wait: float = DEADLINE_S) -> None:
    """Fail (after killing them) if processes of a state folder outlive a test.

    hostd processes whose input ended finish on their own: they get ``wait``.
    """
    try:
        wait_for(lambda: not processes_mentioning(str(state_dir)), wait, what="processes to end")
    except AssertionError:
        left = processes_mentioning(str(state_dir))
        for p in left:
            p.kill()
        raise AssertionError(
            f"processes left behind: {[p.info['cmdline'] for p in left]}"
        ) from None


def pane_tty_size(socket: str, session: str) -> str:
    """``rows cols`` of the terminal a tmux session's pane runs in: what a
    program in it sees (tmux sets it a moment after the window's size)."""
    tty = subprocess.run(
        ["tmux", "-S", socket, "display-message", "-p", "-t", f"={session}:", "#{pane_tty}"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if not tty:
        return ""
    return subprocess.run(
        ["stty", "-F", tty, "size"], capture_output=True, text=True
    ).stdout.strip()
