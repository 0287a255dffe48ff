"""How the app's terminal keeps up: a burst of output, and keystroke echo over SSH.

Run on demand:  .venv/bin/python tests/bench/bench_terminal.py [--lines 700000] [--keys 50]

1. Burst. A real local hostd, a sandbox (backend none) running an
   interactive bash; ``seq 1 N; echo END-$((1+1))`` is typed into it.
   (a) a plain reader of the same attach (``open_attach`` gives a LocalPty
       running ``tmux attach``), no emulation: time until ``END-2`` arrives;
   (b) the real TerminalWidget (offscreen) attached through TerminalLink as
       the app does: time until its screen shows ``END-2`` under ``N`` with
       nothing left to parse, with a 10 ms QTimer on the GUI thread measuring
       how late the loop runs meanwhile (what a person feels as lag).
   Alternately, 3 runs each; medians, and the ratio (b)/(a).
2. Keystroke to echo over SSH. A loopback sshd (throwaway keys, as in the
   tests), a sandbox on it with an interactive bash.
   (a) the widget over the host's one SSH connection (SshHost, Client,
       TerminalLink): from a key press (QTest) until the widget has repainted
       the prompt line with one more ``x``;
   (b) ``ssh -t testhost tmux ... attach-session`` in a local pty: from
       writing ``x`` until one more ``x`` byte arrived.
   Alternated in blocks of 10 keys (never both attached: tmux would size the
   window to the latest client). Median, p95, ratio (a)/(b); for (a), where
   the time goes, stage by stage; and how long TerminalLink.close() takes
   over SSH (what closing a tab waits for).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import select
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil
import qasync
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.remote.api import HostApi
from app.remote.client import Client
from app.remote.local import LocalHost
from app.remote.profiles import Profile, Profiles, open_host
from app.remote.ssh.host import SshHost
from app.remote.terminal import open_attach
from app.ui.attach import FEATURES, Phase, TerminalLink
from app.ui.tasks import Tasks
from app.ui.terminal.widget import TerminalWidget
from tests.remote.sshd import hostd_command, keygen, start_sshd, write_client_home

SHELL = "bash --norc --noprofile -i"
COLS, ROWS = 120, 40
TICK_MS = 10  # the lateness probe, as in bench_gui
RUNS = 3  # burst runs of each kind, alternated
BLOCK = 10  # keys per block before the other client takes its turn
CLEAR_EVERY = 20  # keys between Ctrl+U (the prompt line would wrap at 120)
DEADLINE_S = 120.0  # any single wait; a burst of 700k lines takes seconds, not minutes
CTRL_U = b"\x15"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def until(cond: Callable[[], bool], what: str, poll: float = 0.005) -> None:
    end = time.monotonic() + DEADLINE_S
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(poll)


class Lateness:
    """A 10 ms QTimer on the GUI thread; how late each tick fires (ms)."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0

    def start(self) -> None:
        self.late.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        return list(self.late)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now


class PaintCounter(QObject):
    """Counts paint events of one widget, with the time of the last one."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.last = 0.0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
            self.last = time.perf_counter()
        return False


@dataclass
class Probe:
    """The widget, instrumented: bytes fed, and a check run after each repaint."""

    widget: TerminalWidget
    fed: int = 0
    feeds: list[float] = field(default_factory=list)  # times of feed() calls
    parses: list[tuple[float, bytes]] = field(default_factory=list)  # (time, slice)
    on_repaint: Callable[[], None] | None = None
    paints: PaintCounter = field(default_factory=PaintCounter)
    record: bool = False  # keep feed/parse times (figure 2 only: a burst would be many)
    repaint_began: float = 0.0  # when the last _repaint_dirty began
    repaint_lines: int = 0  # and how many lines it found dirty
    repaint_ended: float = 0.0  # and when it returned (before on_repaint's check)

    def __post_init__(self) -> None:
        w = self.widget
        feed, repaint, emu_feed = w.feed, w._repaint_dirty, w._emu.feed

        def fed(data: bytes) -> None:
            self.fed += len(data)
            if self.record:
                self.feeds.append(time.perf_counter())
            feed(data)

        def parsed(data: bytes) -> None:
            emu_feed(data)
            if self.record:
                self.parses.append((time.perf_counter(), data))

        def repainted() -> None:
            self.repaint_began = time.perf_counter()
            self.repaint_lines = len(w._emu.screen.dirty)
            repaint()
            self.repaint_ended = time.perf_counter()
            if self.on_repaint is not None:
                self.on_repaint()

        # Instance attributes shadow the methods: TerminalLink hands
        # ``widget.feed`` to the PTY at attach time, and the widget calls
        # ``self._repaint_dirty`` / ``self._emu.feed`` by attribute.
        w.feed = fed  # type: ignore[method-assign]
        w._repaint_dirty = repainted  # type: ignore[method-assign]
        w._emu.feed = parsed  # type: ignore[method-assign]
        w.installEventFilter(self.paints)


def lines_of(widget: TerminalWidget) -> list[str]:
    return [line.rstrip() for line in widget.screen_lines()]


def line_text(widget: TerminalWidget, y: int) -> str:
    """One line of the screen, rstripped: cheaper than ``screen_lines()``, which
    builds all of them (milliseconds, which would count in the figures)."""
    emu = widget.emulator
    if not 0 <= y < emu.rows:
        return ""
    row = emu.screen.buffer[y]
    return "".join(row[x].data for x in range(emu.cols)).rstrip()


def cursor_line(widget: TerminalWidget) -> str:
    return line_text(widget, widget.emulator.screen.cursor.y)


def make_widget() -> tuple[TerminalWidget, Probe]:
    w = TerminalWidget(cols=COLS, rows=ROWS)
    r = w._renderer
    w.resize(int(COLS * r.cell_width) + 1, int(ROWS * r.cell_height) + 1)
    w.show()
    w.activateWindow()
    w.setFocus()
    QApplication.processEvents()
    assert w.grid_size() == (COLS, ROWS), w.grid_size()
    return w, Probe(w)


async def attach_link(w: TerminalWidget, host: str, sid: str, client: Client) -> TerminalLink:
    link = TerminalLink(w, host, sid, lambda: client, lambda: "running", Tasks(print))
    link.attach()
    await until(lambda: link.phase is Phase.ATTACHED, "the link to attach")
    await until(lambda: any(lines_of(w)[:-1]), "tmux's first redraw")
    return link


async def detach_link(link: TerminalLink) -> None:
    await link.close()
    link.deleteLater()


async def clear_widget(w: TerminalWidget, probe: Probe) -> None:
    """``clear`` typed in, and the screen shows only the prompt (and tmux's status line)."""
    w.send.emit(b"clear\r")

    def cleared() -> bool:
        lines = lines_of(w)
        return w.pending() == 0 and bool(lines[0]) and not any(lines[1:-1])

    await until(cleared, "the screen to clear")
    await asyncio.sleep(0.3)  # tmux's status line and cursor settle


# -- figure 1: burst ------------------------------------------------------------------


async def burst_plain(client: Client, sid: str, command: bytes) -> tuple[float, int]:
    term = await open_attach(client, sid, COLS, ROWS, FEATURES)
    got = bytearray()
    total = 0
    seen = asyncio.Event()
    marker = b""

    def on_data(data: bytes) -> None:
        nonlocal total
        total += len(data)
        if marker:
            got.extend(data)
            if marker in got[-(len(data) + 16) :]:
                seen.set()
            elif len(got) > 1 << 16:
                del got[: -(1 << 10)]

    term.start(on_data)
    try:
        await asyncio.sleep(0.5)  # attached: tmux drew the screen
        marker = b"READY-5"
        term.write(b"clear; echo READY-$((2+3))\r")
        await asyncio.wait_for(seen.wait(), DEADLINE_S)
        await asyncio.sleep(0.3)
        seen.clear()
        got.clear()
        marker, total = b"END-2", 0
        t0 = time.perf_counter()
        term.write(command)
        await asyncio.wait_for(seen.wait(), DEADLINE_S)
        return time.perf_counter() - t0, total
    finally:
        await term.close()


async def burst_widget(
    client: Client, sid: str, command: bytes, lines: int
) -> tuple[float, int, list[float]]:
    w, probe = make_widget()
    link = await attach_link(w, "local", sid, client)
    try:
        await clear_widget(w, probe)
        done = asyncio.get_running_loop().create_future()
        last = str(lines)

        def final() -> None:
            # bash's prompt comes after END-2: the cursor is on the line below it.
            y = w.emulator.screen.cursor.y
            if done.done() or w.pending() or line_text(w, y - 1) != "END-2":
                return
            if line_text(w, y - 2) == last:
                done.set_result(probe.repaint_ended)

        probe.on_repaint = final
        probe.fed = 0
        lateness = Lateness()
        lateness.start()
        t0 = time.perf_counter()
        w.send.emit(command)
        t1 = await asyncio.wait_for(done, DEADLINE_S)
        late = lateness.stop()
        probe.on_repaint = None
        return t1 - t0, probe.fed, late
    finally:
        await detach_link(link)
        w.close()
        w.deleteLater()


async def figure_burst(state: Path, project: Path, lines: int) -> list[str]:
    client = Client(LocalHost(env={"HOSTD_STATE_DIR": str(state)}))
    await client.connect()
    api = HostApi(client)
    sid = (await api.create("burst", "none", str(project), agent=SHELL))["id"]
    out = []
    try:
        await asyncio.sleep(1.0)  # bash is up
        command = f"seq 1 {lines}; echo END-$((1+1))\r".encode()
        plain: list[tuple[float, int]] = []
        widget: list[tuple[float, int, list[float]]] = []
        for i in range(RUNS):
            plain.append(await burst_plain(client, sid, command))
            widget.append(await burst_widget(client, sid, command, lines))
            print(
                f"  run {i + 1}: (a) {ms(plain[-1][0])} {plain[-1][1]:>9} B   "
                f"(b) {ms(widget[-1][0])} {widget[-1][1]:>9} B   "
                f"lateness p95 {pct(widget[-1][2], 95):6.1f} ms max {max(widget[-1][2]):6.1f} ms",
                flush=True,
            )
        a = statistics.median(t for t, _ in plain)
        b = statistics.median(t for t, _, _ in widget)
        mid = sorted(widget, key=lambda r: r[0])[len(widget) // 2]
        late = mid[2]
        out += [
            f"1. burst: seq 1 {lines} in a {COLS}x{ROWS} attach, medians of {RUNS} runs",
            f"(a) plain reader, END-2 arrived    {ms(a)}   "
            f"{statistics.median(n for _, n in plain):>9.0f} bytes",
            f"(b) TerminalWidget, final screen   {ms(b)}   "
            f"{statistics.median(n for _, n, _ in widget):>9.0f} bytes fed",
            f"    lateness during (b), median run: p50 {pct(late, 50):5.1f} ms  "
            f"p95 {pct(late, 95):5.1f} ms  max {max(late):6.1f} ms  ({len(late)} ticks)  "
            f"(goal p95 <= 50 ms)",
            f"    ratio (b)/(a)                  {b / a:8.2f}x",
        ]
    finally:
        await api.delete(sid)
        await client.close()
    return out


# -- figure 2: keystroke to echo over SSH -----------------------------------------------


@dataclass
class Stages:
    """For one key in the widget path: when each step first saw it (perf_counter)."""

    t0: float
    write: float = 0.0  # the channel's send (or the writer thread's sendall) began
    written: float = 0.0  # and returned
    recv: float = 0.0  # the reader thread's recv returned the echo
    feed: float = 0.0  # widget.feed on the GUI thread
    parse: float = 0.0  # the emulator parsed it
    repaint_began: float = 0.0  # _repaint_dirty began
    repaint: float = 0.0  # _repaint_dirty drew the line with the x
    lines: int = 0  # the dirty lines it painted
    paint: float = 0.0  # the next paintEvent blitted it


def instrument_channel(link: TerminalLink, sends: list[list[float]],
                       recvs: list[float]) -> None:  # fmt: skip
    term: Any = link._term
    chan = term.chan
    send, sendall, recv = chan.send, chan.sendall, chan.recv

    def timed(original: Any) -> Any:
        def sending(data: bytes) -> Any:
            # The start is noted before sending: the echo can be repainted
            # before this thread gets the GIL back to note the end.
            times = [time.perf_counter(), float("nan")]
            sends.append(times)
            result = original(data)
            times[1] = time.perf_counter()
            return result

        return sending

    def timed_recv(n: int) -> bytes:
        data: bytes = recv(n)
        recvs.append(time.perf_counter())
        return data

    # The reader thread is already blocked in the original recv: the wrapper
    # times from its next call on (the first echo is taken after a warm-up).
    # sendall: the writer thread's (ChannelIO._write); send, in case a write
    # ever goes out on the GUI thread.
    chan.send = timed(send)
    chan.sendall = timed(sendall)
    chan.recv = timed_recv


def first_after(times: list[float], t: float) -> float:
    return next((x for x in times if x >= t), float("nan"))


async def keys_widget(w: TerminalWidget, probe: Probe, link: TerminalLink,
                      keys: int, start: int) -> tuple[list[float], list[Stages]]:  # fmt: skip
    sends: list[list[float]] = []
    recvs: list[float] = []
    instrument_channel(link, sends, recvs)
    probe.record = True
    loop = asyncio.get_running_loop()
    times, stages = [], []
    for k in range(start, start + keys):
        if (k and k % CLEAR_EVERY == 0) or k == start:
            w.send.emit(CTRL_U)
            await until(lambda: "x" not in cursor_line(w) and not w.pending(), "Ctrl+U")
            await asyncio.sleep(0.05)
        want = cursor_line(w).count("x") + 1
        done: asyncio.Future[float] = loop.create_future()

        def check(want: int = want, done: asyncio.Future[float] = done) -> None:
            if not done.done() and cursor_line(w).count("x") >= want:
                done.set_result(probe.repaint_ended)

        probe.on_repaint = check
        paints = probe.paints.count
        t0 = time.perf_counter()
        QTest.keyClick(w, Qt.Key.Key_X)
        t1 = await asyncio.wait_for(done, DEADLINE_S)
        times.append(t1 - t0)
        st = Stages(t0, repaint=t1, repaint_began=probe.repaint_began, lines=probe.repaint_lines)
        await until(lambda p=paints, t=t1: probe.paints.count > p and probe.paints.last > t,
                    "a paint", poll=0.001)  # fmt: skip
        st.paint = probe.paints.last
        st.write, st.written = next((x for x in sends if x[0] >= t0), [float("nan")] * 2)
        st.recv = first_after(recvs, st.write)
        st.feed = first_after(probe.feeds, st.recv)
        st.parse = next((t for t, d in probe.parses if t >= st.feed and b"x" in d), float("nan"))
        stages.append(st)
        probe.feeds.clear()
        probe.parses.clear()
        await asyncio.sleep(0.02)  # a person's keys are tens of ms apart
    probe.on_repaint = None
    probe.record = False
    return times, stages


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class SshPty:
    """``ssh -t testhost <attach argv>`` in a local pty, read without emulation."""

    def __init__(self, config: Path, home: Path, argv: list[str]) -> None:
        master, slave = os.openpty()
        _set_size(slave, COLS, ROWS)
        env = {**os.environ, "HOME": str(home), "TERM": "xterm-256color"}
        env.pop("TMUX", None)
        self.proc = subprocess.Popen(
            ["ssh", "-F", str(config), "-o", "BatchMode=yes", "-t", "testhost", shlex.join(argv)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.fd = master

    def read_until(self, cond: Callable[[bytes], bool], quiet: float = 0.0) -> bytes:
        """Read until ``cond(all read so far)``; then, with ``quiet``, until
        nothing came for that long."""
        got = bytearray()
        end = time.monotonic() + DEADLINE_S
        while not cond(bytes(got)):
            if time.monotonic() > end:
                raise TimeoutError(f"ssh pty: got {bytes(got[-200:])!r}")
            r, _, _ = select.select([self.fd], [], [], 1.0)
            if r:
                got += os.read(self.fd, 1 << 16)
        while quiet:
            r, _, _ = select.select([self.fd], [], [], quiet)
            if not r:
                break
            got += os.read(self.fd, 1 << 16)
        return bytes(got)

    def keys(self, keys: int, start: int) -> list[float]:
        times = []
        for k in range(start, start + keys):
            if k % CLEAR_EVERY == 0 or k == start:
                os.write(self.fd, CTRL_U)
                self.read_until(lambda b: True, quiet=0.2)
            t0 = time.perf_counter()
            os.write(self.fd, b"x")
            self.read_until(lambda b: b"x" in b)
            times.append(time.perf_counter() - t0)
            self.read_until(lambda b: True, quiet=0.02)
        return times

    def close(self) -> None:
        os.close(self.fd)  # ssh's terminal hangs up: it exits, tmux's client detaches
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def figure_keys(root: Path, project: Path, keys: int) -> list[str]:
    state = root / "ssh-state"
    user_key = keygen(root / "id_user")
    sshd = start_sshd(root / "sshd", [user_key])
    home = root / "home"
    write_client_home(home, sshd, user_key, extra=f"    UserKnownHostsFile {home}/.ssh/known_hosts")
    profiles = Profiles.default(home, {})
    profiles.add(Profile("testhost", "testhost", hostd_command(state)))
    config = home / ".ssh" / "config"
    loop = asyncio.get_running_loop()
    host = open_host("testhost", home=home, profiles=profiles).host
    assert isinstance(host, SshHost)
    client = Client(host)
    sid = ""
    out = []
    try:
        await client.connect()
        api = HostApi(client)
        sid = (await api.create("keys", "none", str(project), agent=SHELL))["id"]
        argv = await api.attach_command(sid, list(FEATURES))
        await asyncio.sleep(1.0)  # bash is up
        w, probe = make_widget()
        widget_times: list[float] = []
        ssh_times: list[float] = []
        stages: list[Stages] = []
        detach: list[float] = []  # TerminalLink.close(), what closing a tab waits for
        # A warm-up key each way (first channel data, first paints) not counted.
        for start in range(0, keys, BLOCK):
            n = min(BLOCK, keys - start)
            link = await attach_link(w, "testhost", sid, client)
            await asyncio.sleep(0.3)
            if start == 0:
                await keys_widget(w, probe, link, 1, 0)
            t, s = await keys_widget(w, probe, link, n, start)
            widget_times += t
            stages += s
            t0 = time.perf_counter()
            await detach_link(link)
            detach.append(time.perf_counter() - t0)
            pty = SshPty(config, home, argv)
            try:
                await loop.run_in_executor(None, pty.read_until, lambda b: b"[keys]" in b, 0.3)
                if start == 0:
                    await loop.run_in_executor(None, pty.keys, 1, 0)
                ssh_times += await loop.run_in_executor(None, pty.keys, n, start)
            finally:
                await loop.run_in_executor(None, pty.close)
        w.close()
        a_med, b_med = statistics.median(widget_times), statistics.median(ssh_times)
        a_p95, b_p95 = pct(widget_times, 95), pct(ssh_times, 95)
        out += [
            f"2. keystroke to echo over SSH, {keys} keys each, alternated in blocks of {BLOCK}",
            f"(a) widget (TerminalLink, SshHost)  median {ms(a_med)}  p95 {ms(a_p95)}",
            f"(b) ssh -t tmux attach, raw pty     median {ms(b_med)}  p95 {ms(b_p95)}",
            f"    ratio (a)/(b)                   median {a_med / b_med:7.2f}x     "
            f"p95 {a_p95 / b_p95:7.2f}x   (goal: within 1.2x)",
            "    (a) by stage, median (from the key press):",
        ]
        parts = [
            ("key press -> channel send", lambda s: s.write - s.t0),
            ("send itself", lambda s: s.written - s.write),
            ("send done -> echo recv'd", lambda s: s.recv - s.written),
            ("recv -> widget.feed (loop)", lambda s: s.feed - s.recv),
            ("feed -> parsed", lambda s: s.parse - s.feed),
            ("parsed -> _repaint_dirty", lambda s: s.repaint_began - s.parse),
            ("_repaint_dirty itself", lambda s: s.repaint - s.repaint_began),
            ("repainted -> paintEvent", lambda s: s.paint - s.repaint),
        ]
        for name, part in parts:
            vals = [v for v in (part(s) for s in stages) if v == v]  # NaN: not seen
            if vals:
                out.append(f"      {name:30} {ms(statistics.median(vals))}  "
                           f"p95 {ms(pct(vals, 95))}  ({len(vals)})")  # fmt: skip
        closing = ms(statistics.median(detach))
        out.append(f"    detaching (a), TerminalLink.close() over SSH: median {closing}")
        dirty = statistics.median(s.lines for s in stages)
        out.append(f"      (lines _repaint_dirty painted per key: median {dirty:.0f})")
    finally:
        if sid:
            with contextlib.suppress(Exception):
                await HostApi(client).delete(sid)
        await client.close()
        await host.close()
        sshd.stop()
    return out


async def run(root: Path, lines: int, keys: int) -> None:
    project = root / "p"
    project.mkdir()
    print(f"burst of {lines} lines, {RUNS} runs each; then {keys} keys each way", flush=True)
    report = await figure_burst(root / "state", project, lines)
    print("\n".join(report), flush=True)
    report = await figure_keys(root, project, keys)
    print("\n".join(report), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=700_000)
    parser.add_argument("--keys", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cbt-", dir="/tmp"))
    os.environ["XDG_CONFIG_HOME"] = str(root / "config")
    os.environ.pop("SSH_AUTH_SOCK", None)
    app = QApplication([])
    app.setQuitOnLastWindowClosed(False)  # the widgets come and go; the loop runs on
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run(root, args.lines, args.keys))
    finally:
        loop.close()  # and its executor's QThreads: Qt aborts on exit if one still runs
        left = [
            p
            for p in psutil.process_iter(["cmdline"])
            if str(root) in " ".join(p.info["cmdline"] or [])
        ]
        for p in left:  # only ever this run's own: their command lines name its folder
            print(f"left running, killed: {p.pid} {' '.join(p.info['cmdline'])}")
            with contextlib.suppress(psutil.Error):
                p.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
