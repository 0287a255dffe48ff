"""``claude-remote attach`` in a real terminal: what the person sees and types."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pyte

from tests.helpers import DEADLINE_S, REPO, wait_for
from tests.remote.conftest import Remote

AGENT = "sh -c 'echo type here; exec cat'"


class Terminal:
    """A PTY with claude-remote in it, rendered by pyte as a screen would be."""

    def __init__(self, argv: list[str], env: dict[str, str], cols: int = 100, rows: int = 30):
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become claude-remote at once
            os.chdir(REPO)
            os.execve(sys.executable, [sys.executable, "-m", "app.cli", *argv], env)
        self.set_size(cols, rows)
        self.status: int | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.stream.feed(data)

    def set_size(self, cols: int, rows: int) -> None:
        with self.lock:
            self.screen.resize(rows, cols)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def shows(self, needle: str, count: int = 1) -> str:
        return wait_for(
            lambda: self.text().count(needle) >= count and self.text(),
            what=f"{needle!r} on the screen",
        )

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self) -> int:
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
            time.sleep(0.05)
        raise AssertionError(f"claude-remote did not exit; screen:\n{self.text()}")

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)


def tmux_client_size(remote_state: Path, name: str) -> str:
    rec = next(
        s
        for s in json.loads((remote_state / "state.json").read_text())["sandboxes"].values()
        if s["name"] == name
    )
    out = subprocess.run(
        [
            "tmux",
            "-S",
            rec["tmux_socket"],
            "list-clients",
            "-F",
            "#{client_width}x#{client_height}",
        ],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def attach_and_drive(argv: list[str], env: dict[str, str], state_dir: Path) -> None:
    term = Terminal(argv, {**env, "TERM": "xterm"})
    try:
        term.shows("type here")
        term.shows("[att]")  # tmux's status line: we are inside tmux
        term.type(b"hello-pty\r")
        term.shows("hello-pty", 2)  # the terminal's echo, then cat's
        term.set_size(120, 40)
        wait_for(lambda: tmux_client_size(state_dir, "att") == "120x40", what="tmux to resize")
        term.type(b"\x02d")  # C-b d: detach
        assert term.wait() == 0
        assert "[detached" in term.text()
        # The terminal is back in cooked mode.
        assert termios.tcgetattr(term.fd)[3] & termios.ECHO
    finally:
        term.close()


def test_attach_over_ssh_in_a_real_terminal(remote: Remote) -> None:
    h = ["--host", "testhost"]
    res = remote.cli(*h, "create", "att", "none", str(remote.project), "--agent", AGENT)
    assert res.returncode == 0, res.stderr
    attach_and_drive([*h, "attach", "att"], remote.env, remote.state_dir)
    # hostd and the terminal shared one login.
    assert remote.sshd.log.count("Accepted publickey") == 2  # create's run, attach's run


def test_attach_in_local_mode_runs_tmux_directly(remote: Remote) -> None:
    env = {**remote.env, "HOSTD_STATE_DIR": str(remote.state_dir)}
    res = remote.cli(
        "--local", "create", "att", "none", str(remote.project), "--agent", AGENT, env=env
    )
    assert res.returncode == 0, res.stderr
    attach_and_drive(["--local", "attach", "att"], env, remote.state_dir)


def test_attach_without_a_terminal_is_a_usage_error(remote: Remote) -> None:
    res = remote.cli("--host", "testhost", "attach", "whatever")
    assert res.returncode == 2 and "attach needs a terminal" in res.stderr


def test_cli_asks_about_an_unknown_host_key_on_the_terminal(remote: Remote) -> None:
    remote.known_hosts.write_text("")
    term = Terminal(["--host", "testhost", "list"], {**remote.env, "TERM": "xterm"})
    try:
        screen = term.shows("(yes/once/no/[fingerprint])?")
        assert "can't be established" in screen and "ED25519 key fingerprint is SHA256:" in screen
        term.type(b"yes\r")
        assert term.wait() == 0
        assert term.shows("no sandboxes on testhost")
    finally:
        term.close()
    saved = remote.known_hosts.read_text()
    assert remote.sshd.host_pub.split()[1] in saved
    # Known now: the next run asks nothing, even without a terminal.
    assert remote.cli("--host", "testhost", "list").returncode == 0
