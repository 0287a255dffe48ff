"""hostd figures: cold start, list round trip with 50 sandboxes, create-to-running.

Run on demand:  .venv/bin/python tests/bench/bench_hostd.py [--sandboxes 50] [--calls 500]

Each figure is printed beside the obvious alternative measured in the same
run, and their ratio:
- cold start to the hello reply   vs  `python -c pass` (the interpreter alone)
- sandbox.list on a live channel  vs  a new hostd process per call (what a
                                      per-command CLI pays, even before SSH)
- create to running               vs  starting Xvfb (-displayfd) and a tmux
                                      session by hand, with nothing else
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import Hostd


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def cold_start(state: Path, runs: int) -> tuple[float, float]:
    starts, bare = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        h = Hostd(state)
        h.call("hello")
        starts.append(time.perf_counter() - t0)
        h.close()
    return statistics.median(starts), statistics.median(bare)


def one_shot_list(state: Path) -> float:
    t0 = time.perf_counter()
    h = Hostd(state)
    h.call("sandbox.list")
    h.close()
    return time.perf_counter() - t0


def raw_create(where: Path) -> float:
    """The floor: Xvfb until ready, then a detached tmux session, nothing else."""
    where.mkdir()
    t0 = time.perf_counter()
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "320x240x24"],
                            pass_fds=(w,), stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(w)
    os.read(r, 16)
    os.close(r)
    sock = str(where / "t.sock")
    subprocess.run(["tmux", "-S", sock, "new-session", "-d", "sleep", "600"], check=True)
    took = time.perf_counter() - t0
    subprocess.run(["tmux", "-S", sock, "kill-server"], check=False)
    xvfb.kill()
    xvfb.wait()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandboxes", type=int, default=50)
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="csb-", dir="/tmp"))
    state = root / "state"
    project = root / "project"
    project.mkdir()
    try:
        start, bare = cold_start(state, args.runs)
        print(f"cold start to hello (median of {args.runs}): {ms(start)}   "
              f"python -c pass: {ms(bare)}   ratio {start / bare:.1f}x")  # fmt: skip

        h = Hostd(state)
        creates = []
        for i in range(args.sandboxes):
            t0 = time.perf_counter()
            h.call("sandbox.create", name=f"b{i}", backend="none", project_dir=str(project),
                   agent="sleep 600", geometry="320x240")  # fmt: skip
            creates.append(time.perf_counter() - t0)
        raws = [raw_create(root / f"raw{i}") for i in range(10)]
        c50 = statistics.median(creates)
        r50 = statistics.median(raws)
        p95 = pct(creates, 0.95)
        print(f"create to running (median of {args.sandboxes}): {ms(c50)}   p95 {ms(p95)}   "
              f"bare Xvfb+tmux: {ms(r50)}   ratio {c50 / r50:.2f}x")  # fmt: skip

        lists = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            assert len(h.call("sandbox.list")) == args.sandboxes
            lists.append(time.perf_counter() - t0)
        shots = [one_shot_list(state) for _ in range(10)]
        l50, s50 = statistics.median(lists), statistics.median(shots)
        print(f"sandbox.list with {args.sandboxes} sandboxes over pipes: p50 {ms(l50)}  "
              f"p95 {ms(pct(lists, 0.95))}   new hostd per call: {ms(s50)}   "
              f"ratio {s50 / l50:.0f}x")  # fmt: skip

        for sb in h.call("sandbox.list"):
            h.call("sandbox.delete", id=sb["id"])
        h.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
