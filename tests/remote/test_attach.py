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
import pytest

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


class OuterTmux:
    """The person's own tmux, on a socket of its own: one pane running ``argv``
    (tmux gives it TMUX and TMUX_PANE, as any pane inside tmux has)."""

    def __init__(
        self, where: Path, argv: list[str], env: dict[str, str], cwd: Path | str = REPO
    ) -> None:
        where.mkdir(exist_ok=True)
        conf = where / "outer.conf"
        # The pane stays once its program ends, so its exit status can be read.
        conf.write_text("set -g remain-on-exit on\nset -g status off\n")
        self.tmux = ["tmux", "-S", str(where / "outer.sock")]
        subprocess.run(
            [*self.tmux, "-f", str(conf), "new-session", "-d", "-s", "outer",
             "-x", "100", "-y", "30", "-c", str(cwd), "--", *argv],
            env=env, check=True,
        )  # fmt: skip

    def _ask(self, *args: str) -> str:
        res = subprocess.run([*self.tmux, *args], capture_output=True, text=True, check=True)
        return res.stdout

    def screen(self, history: int = 0) -> str:
        return self._ask("capture-pane", "-p", "-t", "outer", "-S", str(-history))

    def shows(self, needle: str) -> str:
        return wait_for(lambda: needle in (s := self.screen()) and s, what=f"{needle!r}")

    def exit_status(self) -> int:
        def status() -> str | None:
            dead, *code = self._ask("display-message", "-p", "-t", "outer",
                                    "#{pane_dead} #{pane_dead_status}").split()  # fmt: skip
            if dead == "1" and not code:
                # tmux 3.3a can miss the SIGCHLD of its pane's program: any
                # child of the server ending makes it reap them all.
                self._ask("run-shell", "true")
            return code[0] if code else None

        return int(wait_for(status, what="the outer pane's program to end"))

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


@pytest.mark.parametrize("where", [["--local"], ["--host", "testhost"]], ids=["local", "ssh"])
def test_attach_to_an_exited_sandbox_from_inside_tmux(remote: Remote, where: list[str]) -> None:
    env = {**remote.env, "HOSTD_STATE_DIR": str(remote.state_dir)}
    res = remote.cli(*where, "create", "ex", "none", str(remote.project),
                     "--agent", "sh -c 'echo goodbye; exit 3'", env=env)  # fmt: skip
    assert res.returncode == 1 and "ex: the agent exited at once with status 3" in res.stderr
    [rec] = json.loads((remote.state_dir / "state.json").read_text())["sandboxes"].values()

    # Run from a shell in the person's tmux: TMUX is set (the script ends 9 if not).
    in_tmux = ["sh", "-c", 'test -n "$TMUX" || exit 9; exec "$@"', "sh"]
    attach = [sys.executable, "-m", "app.cli", *where, "attach", "ex"]
    outer = OuterTmux(remote.root / "outer", [*in_tmux, *attach], env)
    try:
        screen = outer.shows("[ex]")  # the sandbox's tmux status line, inside the person's
        assert "Pane is dead (status 3" in screen
        # The tmux client that attached has no TMUX: not nested in the person's.
        pids = subprocess.run(
            ["tmux", "-S", rec["tmux_socket"], "list-clients", "-F", "#{client_pid}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        environ = Path(f"/proc/{pids[0]}/environ").read_bytes().split(b"\0")
        assert not [v for v in environ if v.startswith((b"TMUX=", b"TMUX_PANE="))]
        subprocess.run([*outer.tmux, "send-keys", "-t", "outer", "C-b", "d"], check=True)
        assert outer.exit_status() == 0
        # tmux's "Pane is dead" line under it scrolled it up a line.
        assert "[detached (from session ex)]" in outer.screen(history=5)
    finally:
        outer.close()
