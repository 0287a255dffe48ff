"""How the log viewer keeps up with a flood of pane output, against QPlainTextEdit.

Run on demand:  .venv/bin/python tests/bench/bench_logview.py [--runs 3] [--phase 1.5]

Lines like a real log (generated, seeded): 40% plain, 50% with a dim
timestamp and a green level, 8% red errors with a 256-colour word, 2% long
(500-3,000 characters); ~117 characters a line on average. Two widgets,
each in its own window (offscreen), 900x600, under the app's event loop
(qasync on Qt's), with a 1 ms precise QTimer measuring how late the loop
runs (what a person feels as lag):

(a) LogViewer(max_lines=100,000), fed with ``append``;
(b) the obvious alternative: a read-only QPlainTextEdit with
    ``setMaximumBlockCount(100,000)``, no wrapping, each chunk's escapes
    stripped by a regex and added with ``appendPlainText`` (which keeps
    it scrolled to the end, as following does).

1. Absorbing 100,000 lines, given in chunks of 1,000 lines one per loop
   turn as fast as the loop turns: time until all are held and painted,
   and the lateness meanwhile. The widget is then full (the bound in play
   for what follows).
2. Sustained rate. Every 10 ms a feeder hands the widget the lines owed at
   a target rate (as pane output arrives: chunks, not lines); rates climb
   x1.5 from 10,000 lines/s, each for ``--phase`` seconds, until one fails,
   then twice more halfway (in ratio) between the last pass and the fail.
   A rate is sustained when the lateness p95 stays <= 30 ms and the widget
   has caught up (nothing left to decode, repainted) within 0.25 s of the
   feeding stopping. Reported: the highest sustained rate.

Alternately (a) then (b), ``--runs`` times; ranges over the runs and the
ratio of medians (a)/(b). Also the resident memory each widget added,
full with 100,000 lines (measured in the first run, each before the other
existed, after a gc).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil
import qasync
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QWidget

from app.ui.logview.viewer import LogViewer

MAX_LINES = 100_000
SIZE = (900, 600)
PROBE_MS = 1  # the lateness probe's period
FEED_MS = 10  # how often output arrives in a flood (a reader's chunk every 10 ms)
LATE_P95_MS = 30.0  # the goal: lateness p95 at most this
CATCH_UP_S = 0.25  # a sustained rate leaves no more backlog than this
START_RATE, STEP = 10_000, 1.5
REFINE = 2  # after the first failure, two more rates between it and the last success
MAX_RATE = 3_000_000  # the ladder stops here whatever happens
CHUNK_LINES = 1_000  # figure 1's chunks
# What the alternative strips: CSI, OSC (BEL or ST), DCS/SOS/PM/APC, two-byte
# escapes, C0 controls but LF and tab. The obvious regex, as one would write it.
ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_].*?\x1b\\"
    r"|\x1b[ -/]*[0-~]|[\x00-\x08\x0b-\x1f\x7f]"
)


def log_lines(n: int, seed: int = 1) -> list[str]:
    r = random.Random(seed)
    out = []
    for i in range(n):
        k = r.random()
        if k < 0.4:
            out.append(f"plain line {i} " + "x" * r.randint(20, 70) + "\n")
        elif k < 0.9:
            out.append(
                f"\x1b[2m2024-05-01 12:{i // 60 % 60:02d}:{i % 60:02d}\x1b[0m \x1b[32mINFO\x1b[0m "
                f"request {i} handled in {r.randint(1, 900)} ms " + "y" * r.randint(10, 40) + "\n"
            )
        elif k < 0.98:
            out.append(f"\x1b[1;31mERROR\x1b[0m \x1b[38;5;208mretry\x1b[39m {i} " + "z" * 40 + "\n")
        else:
            out.append("long " + "w" * r.randint(500, 3000) + "\n")
    return out


def pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


class Probe:
    """A 1 ms precise QTimer; how late each tick fires (ms)."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0

    def start(self) -> None:
        self.late = []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        return self.late

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late.append(max(0.0, (now - self._last) * 1000 - PROBE_MS))
        self._last = now


class Paints(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


class Subject:
    """One widget under test: how to give it text, and whether it has caught up."""

    name = ""

    def __init__(self) -> None:
        self.paints = Paints()
        self.widget = self._make()
        self.widget.resize(*SIZE)
        self.widget.show()
        self.viewport().installEventFilter(self.paints)

    def _make(self) -> QWidget:
        raise NotImplementedError

    def viewport(self) -> QWidget:
        raise NotImplementedError

    def give(self, text: str) -> None:
        raise NotImplementedError

    def caught_up(self) -> bool:
        return True

    def lines(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()


class Viewer(Subject):
    name = "LogViewer"
    widget: LogViewer

    def _make(self) -> QWidget:
        return LogViewer(max_lines=MAX_LINES)

    def viewport(self) -> QWidget:
        return self.widget._area.viewport()

    def give(self, text: str) -> None:
        self.widget.append(text)

    def caught_up(self) -> bool:
        w = self.widget
        return w.pending() == 0 and not w._frame_timer.isActive()

    def lines(self) -> int:
        return self.widget._store.rows()


class PlainEdit(Subject):
    name = "QPlainTextEdit"
    widget: QPlainTextEdit

    def _make(self) -> QWidget:
        w = QPlainTextEdit()
        w.setReadOnly(True)
        w.setMaximumBlockCount(MAX_LINES)
        w.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        return w

    def viewport(self) -> QWidget:
        return self.widget.viewport()

    def give(self, text: str) -> None:
        self.widget.appendPlainText(ESCAPES.sub("", text).removesuffix("\n"))

    def lines(self) -> int:
        return self.widget.blockCount()


async def until(cond: Callable[[], bool], deadline_s: float, poll: float = 0.002) -> bool:
    end = time.perf_counter() + deadline_s
    while not cond():
        if time.perf_counter() > end:
            return False
        await asyncio.sleep(poll)
    return True


async def painted_after(s: Subject, deadline_s: float) -> bool:
    """Caught up, then one more paint (what is held is on the screen)."""
    if not await until(s.caught_up, deadline_s):
        return False
    seen = s.paints.count
    s.viewport().update()
    return await until(lambda: s.paints.count > seen, deadline_s)


@dataclass
class Result:
    absorb_s: float = 0.0
    absorb_p95: float = 0.0
    rate: float = 0.0  # highest sustained, lines/s
    ladder: list[tuple[int, float, bool]] = field(default_factory=list)  # (rate, p95, caught up)


async def absorb(s: Subject, lines: list[str], probe: Probe) -> tuple[float, float]:
    chunks = ["".join(lines[i : i + CHUNK_LINES]) for i in range(0, len(lines), CHUNK_LINES)]
    probe.start()
    t0 = time.perf_counter()
    for chunk in chunks:
        s.give(chunk)
        await asyncio.sleep(0)  # one chunk per loop turn
    if not await painted_after(s, 120):
        raise SystemExit(f"{s.name} never caught up with 100,000 lines")
    took = time.perf_counter() - t0
    late = probe.stop()
    assert s.lines() >= MAX_LINES - 1, s.lines()
    return took, pct(late, 95)


async def at_rate(
    s: Subject, lines: list[str], probe: Probe, rate: float, phase_s: float
) -> tuple[float, bool]:
    """Feed at ``rate`` lines/s for ``phase_s``; (lateness p95 ms, caught up in time)."""
    sent = 0
    start = int(rate) % len(lines)  # somewhere else in the lines each phase
    feeder = QTimer()
    feeder.setTimerType(Qt.TimerType.PreciseTimer)
    feeder.setInterval(FEED_MS)
    t0 = time.perf_counter()

    def feed() -> None:
        nonlocal sent
        owed = int(rate * (time.perf_counter() - t0)) - sent
        if owed > 0:  # the lines owed so far: a late tick gets a bigger chunk
            at = (start + sent) % len(lines)
            s.give("".join(lines[at : at + owed]))
            sent += owed

    feeder.timeout.connect(feed)
    probe.start()
    feeder.start()
    await asyncio.sleep(phase_s)
    feeder.stop()
    caught = await painted_after(s, CATCH_UP_S)
    p95 = pct(probe.stop(), 95)
    if not caught:
        await until(s.caught_up, 60)  # drain before the next phase
    return p95, caught


async def sustained(s: Subject, lines: list[str], probe: Probe, phase_s: float) -> Result:
    """Climb the ladder until a rate fails, then halve the gap (in ratio) REFINE times."""
    res = Result()
    rate, failed = float(START_RATE), 0.0
    while rate <= MAX_RATE:
        p95, caught = await at_rate(s, lines, probe, rate, phase_s)
        res.ladder.append((int(rate), p95, caught))
        if not (caught and p95 <= LATE_P95_MS):
            failed = rate
            break
        res.rate = rate
        rate *= STEP
    for _ in range(REFINE if failed and res.rate else 0):
        rate = (res.rate * failed) ** 0.5
        p95, caught = await at_rate(s, lines, probe, rate, phase_s)
        res.ladder.append((int(rate), p95, caught))
        if caught and p95 <= LATE_P95_MS:
            res.rate = rate
        else:
            failed = rate
    return res


async def one_run(
    kind: type[Subject], lines: list[str], phase_s: float, mem: dict[str, float]
) -> Result:
    probe = Probe()
    gc.collect()
    before = rss_mb()
    s = kind()
    await asyncio.sleep(0.1)
    res = Result()
    res.absorb_s, res.absorb_p95 = await absorb(s, lines[:MAX_LINES], probe)
    gc.collect()
    mem.setdefault(s.name, rss_mb() - before)
    got = await sustained(s, lines, probe, phase_s)
    res.rate, res.ladder = got.rate, got.ladder
    s.close()
    await asyncio.sleep(0.1)
    return res


def span(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if lo == hi else f"{format(lo, fmt)} to {format(hi, fmt)}"


async def main(args: argparse.Namespace) -> None:
    lines = log_lines(400_000)
    chars = sum(map(len, lines)) / len(lines)
    print(f"{len(lines):,} generated lines, {chars:.0f} characters each on average; "
          f"widgets {SIZE[0]}x{SIZE[1]}, max {MAX_LINES:,} lines")  # fmt: skip
    results: dict[str, list[Result]] = {Viewer.name: [], PlainEdit.name: []}
    mem: dict[str, float] = {}
    for run in range(args.runs):
        for kind in (Viewer, PlainEdit):
            res = await one_run(kind, lines, args.phase, mem)
            results[kind.name].append(res)
            ladder = " ".join(
                f"{r / 1000:.0f}k:{p95:.0f}ms{'' if c else '(behind)'}" for r, p95, c in res.ladder
            )
            print(f"run {run + 1} {kind.name:<15} absorb {res.absorb_s:6.2f} s "
                  f"(p95 late {res.absorb_p95:5.1f} ms)  sustained {res.rate:>9,.0f} lines/s   "
                  f"[{ladder}]", flush=True)  # fmt: skip

    print(f"\nover {args.runs} runs (ranges):")
    for name, rs in results.items():
        print(f"  {name:<15} absorb 100k lines {span([r.absorb_s for r in rs], '.2f')} s, "
              f"p95 lateness meanwhile {span([r.absorb_p95 for r in rs], '.1f')} ms; "
              f"sustained with p95 <= {LATE_P95_MS:.0f} ms: "
              f"{span([r.rate for r in rs], ',.0f')} lines/s; "
              f"RSS added, full: {mem.get(name, 0):.0f} MB")  # fmt: skip
    a, b = results[Viewer.name], results[PlainEdit.name]
    med = statistics.median
    rate_b = med([r.rate for r in b])
    ratio = med([r.rate for r in a]) / rate_b if rate_b else float("inf")
    print(
        f"  ratio (a)/(b): sustained rate {ratio:.1f}x, "
        f"absorb time {med([r.absorb_s for r in b]) / med([r.absorb_s for r in a]):.1f}x faster"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--phase", type=float, default=1.5, help="seconds at each rate")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # each widget is a window, closed in turn
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main(args))


if __name__ == "__main__":
    cli()
