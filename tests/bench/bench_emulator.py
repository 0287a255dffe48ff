"""Emulator figures: plain pyte against app.ui.terminal's Emulator on what tmux really sends.

Run on demand:  .venv/bin/python tests/bench/bench_emulator.py [--lines 700000] [--runs 5]
                [--save FILE | --load FILE]
(needs tmux)

The stream is recorded here from a real tmux: a private server
(``-f /dev/null``, its own socket) with a 120x40 session running
``bash --norc -i``, a ``tmux attach`` client in a pty of that size, and
``seq 1 N`` typed with ``send-keys``; everything the client writes is read
as fast as it comes until the prompt after the output is back. That is the
stream a TerminalWidget attached to tmux gets during a burst: tmux redraws
the client's screen rather than forwarding every line.

Printed, in the same run: MB/s of plain pyte (``pyte.Screen`` and
``pyte.ByteStream``) and of the Emulator, each fed in the widget's 16 KB
slices, best of ``--runs``, alternating so load on the machine hits both
alike; their ratio; and whether the two screens end equal cell for cell
(pyte's nine fields; pyte lacks SU, which tmux uses, so a difference can be
pyte's and the check against ``Emulator(fast=False)`` is the exact one).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import pyte

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.ui.terminal.emulator import Emulator
from app.ui.terminal.widget import SLICE_BYTES

COLS, ROWS = 120, 40
MARK = b"DONE-2"  # what `echo DONE-$((1+1))` prints; the typed command line shows no "DONE-2"


def record(lines: int) -> bytes:
    """What a tmux client attached at 120x40 writes while ``seq 1 lines`` runs."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-emu-"))
    sock = str(tmp / "sock")
    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", "TMUX": ""}
    env.pop("TMUX")
    tmux = ["tmux", "-f", "/dev/null", "-S", sock]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "b", "-x", str(COLS), "-y", str(ROWS), "bash --norc -i"],
        check=True, env=env,
    )  # fmt: skip
    pid, fd = pty.fork()
    if pid == 0:  # the child: the attached client
        os.execvpe("tmux", [*tmux, "attach", "-t", "b"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    out = bytearray()
    try:
        _read_until_quiet(fd, out, quiet=0.5, limit=10)  # the first full redraw
        start = len(out)
        subprocess.run(
            [*tmux, "send-keys", "-t", "b", f"seq 1 {lines}; echo DONE-$((1+1))", "Enter"],
            check=True, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while MARK not in out[start:] and time.monotonic() < deadline:
            _read_until_quiet(fd, out, quiet=0.05, limit=1)
        if MARK not in out[start:]:
            raise SystemExit("tmux never printed the end mark")
        _read_until_quiet(fd, out, quiet=0.5, limit=10)  # the prompt and the last redraw
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
        shutil.rmtree(tmp, ignore_errors=True)
    return bytes(out)


def _read_until_quiet(fd: int, out: bytearray, quiet: float, limit: float) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], quiet)
        if not ready:
            return
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the client went away
            return
        if not chunk:
            return
        out += chunk


def plain_pyte(data: bytes) -> pyte.Screen:
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    for i in range(0, len(data), SLICE_BYTES):
        stream.feed(data[i : i + SLICE_BYTES])
    return screen


def emulator(data: bytes, fast: bool = True) -> pyte.Screen:
    emu = Emulator(COLS, ROWS, fast=fast)
    for i in range(0, len(data), SLICE_BYTES):
        emu.feed(data[i : i + SLICE_BYTES])
    return emu.screen


def cells(screen: pyte.Screen, fields: int) -> list[list[tuple[object, ...]]]:
    return [
        [tuple(screen.buffer[y][x])[:fields] for x in range(screen.columns)]
        for y in range(screen.lines)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=700_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--save", type=Path, help="keep the recording here")
    ap.add_argument("--load", type=Path, help="measure this recording instead of making one")
    args = ap.parse_args()

    if args.load:
        data = args.load.read_bytes()
    else:
        t0 = time.monotonic()
        data = record(args.lines)
        print(f"recorded {len(data):,} bytes from tmux {_tmux_version()} at {COLS}x{ROWS} "
              f"(seq 1 {args.lines}) in {time.monotonic() - t0:.1f} s")  # fmt: skip
    if args.save:
        args.save.write_bytes(data)

    best = {"plain pyte": float("inf"), "Emulator": float("inf")}
    runs = {"plain pyte": plain_pyte, "Emulator": emulator}
    for _ in range(args.runs):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run(data)
            best[name] = min(best[name], time.perf_counter() - t0)
    mb = len(data) / 1e6
    for name, seconds in best.items():
        ms = seconds * 1000
        print(f"  {name:<11} {mb / seconds:6.2f} MB/s   ({ms:7.1f} ms, best of {args.runs})")
    print(f"  ratio       {best['plain pyte'] / best['Emulator']:6.2f}x")
    fast = emulator(data)
    exact = cells(fast, 10) == cells(emulator(data, fast=False), 10)
    print(f"  same cells as Emulator(fast=False): {exact}")
    print(f"  same cells as plain pyte (9 fields): {cells(fast, 9) == cells(plain_pyte(data), 9)}")


def _tmux_version() -> str:
    return subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
