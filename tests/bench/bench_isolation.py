"""The cost of isolation: the built-in bubblewrap launcher against `none`.

Run on demand:  .venv/bin/python tests/bench/bench_isolation.py [--runs 20]

For each backend, in the same run and alternating so that machine load hits
both alike, two figures per sandbox:
- create reply   the sandbox.create round trip (Xvfb ready, tmux started,
                 launcher let through the gate): what a client waits for
- agent running  from sending create until the agent, inside its sandbox,
                 has written a file in the project: the isolation's full
                 start-up cost (python -I, bwrap's namespaces and mounts)
and their ratio, built-in over `none`. Also the one-time check hello makes
of bwrap (once per hostd process and bwrap binary).

hostd runs with a PATH without the Nix launcher, so `bubblewrap` is the
built-in one (the script refuses to run otherwise).
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

# Polling the marker file every millisecond adds at most that to a figure
# of tens of milliseconds.
POLL_S = 0.001
# A sandbox start takes well under a second here; 30 s means it is broken.
START_TIMEOUT_S = 30.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def one(h: Hostd, backend: str, project: Path, i: int) -> tuple[float, float]:
    marker = project / f"started-{backend}-{i}"
    agent = f"sh -c 'touch started-{backend}-{i}; exec sleep 600'"
    t0 = time.perf_counter()
    sb = h.call("sandbox.create", name=f"{backend}-{i}", backend=backend,
                project_dir=str(project), agent=agent, geometry="320x240")  # fmt: skip
    replied = time.perf_counter() - t0
    deadline = t0 + START_TIMEOUT_S
    while not marker.exists():
        if time.perf_counter() > deadline:
            logs = h.call("sandbox.logs", id=sb["id"])["text"]
            raise SystemExit(f"{backend}: the agent did not start: {logs}")
        time.sleep(POLL_S)
    running = time.perf_counter() - t0
    h.call("sandbox.delete", id=sb["id"])
    return replied, running


def bwrap_check() -> float:
    """What hello's one-time check of bwrap costs: the same command, timed."""
    bwrap = shutil.which("bwrap")
    assert bwrap is not None
    argv = [bwrap, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--", "/bin/true"]
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="csi-", dir="/tmp"))
    project = root / "project"
    project.mkdir()
    env = {"PATH": os.environ["PATH"]}  # no tests/stubs: the built-in launcher serves
    try:
        t0 = time.perf_counter()
        h = Hostd(root / "state", env)
        hello = h.call("hello")
        first_hello = time.perf_counter() - t0
        t0 = time.perf_counter()
        h.call("hello")
        second_hello = time.perf_counter() - t0
        be = {b["name"]: b for b in hello["backends"]}["bubblewrap"]
        if not (be["available"] and be["detail"].startswith("built-in")):
            raise SystemExit(f"bubblewrap is not served by the built-in launcher: {be['detail']}")

        figures: dict[str, list[tuple[float, float]]] = {"none": [], "bubblewrap": []}
        for i in range(args.runs):
            for backend in figures:
                figures[backend].append(one(h, backend, project, i))
        h.close()

        med = {
            b: (statistics.median(r for r, _ in f), statistics.median(a for _, a in f))
            for b, f in figures.items()
        }
        print(f"median of {args.runs} creates each, alternating backends")
        print(f"{'':14}{'create reply':>14}{'agent running':>16}")
        for b in ("none", "bubblewrap"):
            label = "built-in bwrap" if b == "bubblewrap" else "none"
            print(f"{label:14}{ms(med[b][0]):>14}{ms(med[b][1]):>16}")
        (nr, na), (br, ba) = med["none"], med["bubblewrap"]
        print(f"{'ratio':14}{br / nr:>13.2f}x{ba / na:>15.2f}x")
        print(f"isolation adds {ms(ba - na)} to agent running")
        check = bwrap_check()
        print(f"first hello (hostd start + the bwrap check): {ms(first_hello)}   "
              f"second hello: {ms(second_hello)}   the check alone: {ms(check)}")  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
