"""How long sandbox.create takes to answer: an agent that is not found against
one that runs.

Run on demand:  .venv/bin/python tests/bench/bench_create.py [--runs 5]

For the built-in bubblewrap launcher (when bwrap is here) and for `none`, in
the same run: the median time to the create's answer for an agent that is
missing (answered `exited`, code 127, as soon as the pane's process ends)
and for one that keeps running (answered `running` once the settle wait,
spec.SETTLE_S, has passed), and their ratio, failing over running.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hostd.protocol import spec
from tests.helpers import Hostd

AGENTS = {"missing": "no-such-agent-xyz", "running": "sleep 600"}
EXPECTED = {"missing": "exited", "running": "running"}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def timed_creates(h: Hostd, backend: str, project: Path, kind: str, runs: int) -> list[float]:
    took = []
    for i in range(runs):
        t0 = time.perf_counter()
        sb = h.call("sandbox.create", name=f"{backend[:4]}-{kind}-{i}", backend=backend,
                    project_dir=str(project), agent=AGENTS[kind], geometry="320x240")  # fmt: skip
        took.append(time.perf_counter() - t0)
        assert sb["status"] == EXPECTED[kind], sb
        h.call("sandbox.delete", id=sb["id"])
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="csb-", dir="/tmp"))
    project = root / "project"
    project.mkdir()
    home = root / "home"
    home.mkdir()
    backends = (["bubblewrap"] if shutil.which("bwrap") else []) + ["none"]
    # The real PATH: bubblewrap is served by the built-in launcher when there
    # is no claude-sandbox on it.
    h = Hostd(root / "state", {"PATH": os.environ["PATH"], "HOME": str(home)})
    try:
        # Warm: libtmux imported, the backends probed once.
        timed_creates(h, "none", project, "missing", 1)
        print(f"sandbox.create to its answer, median of {args.runs} "
              f"(settle wait {spec.SETTLE_S:.1f} s):")  # fmt: skip
        for backend in backends:
            missing = statistics.median(timed_creates(h, backend, project, "missing", args.runs))
            running = statistics.median(timed_creates(h, backend, project, "running", args.runs))
            print(f"  {backend:11} agent missing (exited 127): {ms(missing)}   "
                  f"agent running: {ms(running)}   ratio {missing / running:.2f}x")  # fmt: skip
        h.close()
    finally:
        if h.proc.poll() is None:
            h.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
