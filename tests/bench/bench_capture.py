"""Capture figures: our thumbnail pipeline against ImageMagick's `import`.

Run on demand:  .venv/bin/python tests/bench/bench_capture.py [--sandboxes 10] [--seconds 30]
(needs imagemagick for `import` and `display`: apt install imagemagick)

On one busy 1920x1080 display (a detailed picture), in the same run:
- CPU ms and bytes per frame: (a) our pipeline (grab, scale to 480 px, JPEG),
  (b) `import -window root png:-` at full size (what the old system ran), the
  bare grab alone (ours over the X11 wire, and Pillow's XCB grab);
- bytes per second pushed for an idle display under a `screenshots` subscription;
- hostd's CPU with N sandboxes whose pictures change, streamed at 1 frame/s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from PIL import Image, ImageGrab

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hostd.capture.frames import grab_x, thumb
from hostd.capture.screens import finish
from tests.helpers import Hostd, wait_for


def detailed_picture(path: Path, seed: int) -> None:
    size = (1920, 1080)
    fractal = Image.effect_mandelbrot(size, (-2 + seed * 0.1, -1.2, 1, 1.2), 100).convert("RGB")
    noise = Image.effect_noise(size, 60 + seed).convert("RGB")
    Image.blend(fractal, noise, 0.4).save(path)


def child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def per_frame(fn, runs: int) -> tuple[float, int]:
    t0 = time.process_time()
    size = 0
    for _ in range(runs):
        size = fn()
    return (time.process_time() - t0) / runs * 1000, size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandboxes", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="csc-", dir="/tmp"))
    pictures = [root / f"pic{i}.png" for i in range(2)]
    for i, p in enumerate(pictures):
        detailed_picture(p, i)
    project = root / "project"
    project.mkdir()
    h = Hostd(root / "state")
    try:
        sb = h.call("sandbox.create", name="busy", backend="none", project_dir=str(project),
                    agent=f"sh -c 'display -window root {pictures[0]}; sleep 3600'")  # fmt: skip
        xauth = Path(sb["tmux_socket"]).parent / "xauthority"
        env = {**os.environ, "DISPLAY": sb["display"], "XAUTHORITY": str(xauth)}
        os.environ["XAUTHORITY"] = str(xauth)
        wait_for(lambda: not thumb(ImageGrab.grab(xdisplay=sb["display"]), 64).is_blank(),
                 what="picture")  # fmt: skip

        def ours() -> int:
            """A frame that changed: grab, scale, hash, blank check, encode."""
            data, _blank = finish(thumb(grab_x(sb["display"], xauth), 480), "jpeg")
            return len(data)

        def bare() -> int:
            return grab_x(sb["display"], xauth).size[0]

        def pillow() -> int:
            return ImageGrab.grab(xdisplay=sb["display"]).size[0]

        ours_ms, ours_bytes = per_frame(ours, args.runs)
        bare_ms, _ = per_frame(bare, args.runs)
        pillow_ms, _ = per_frame(pillow, args.runs)
        c0 = child_cpu()
        imp_bytes = 0
        for _ in range(5):
            imp_bytes = len(subprocess.run(["import", "-window", "root", "png:-"], env=env,
                                           capture_output=True, check=True).stdout)  # fmt: skip
        imp_ms = (child_cpu() - c0) / 5 * 1000
        print("per frame, 1920x1080 busy display:")
        print(f"  (a) ours: grab+scale 480+jpeg  {ours_ms:7.1f} ms CPU  {ours_bytes:>9,} bytes")
        print(f"  (b) import -window root png:-  {imp_ms:7.1f} ms CPU  {imp_bytes:>9,} bytes")
        print(f"      bare grab (X11 wire)       {bare_ms:7.1f} ms CPU")
        print(f"      bare grab (Pillow XCB)     {pillow_ms:7.1f} ms CPU")
        print(f"  (b)/(a): {imp_ms / ours_ms:.0f}x cheaper, {imp_bytes / ours_bytes:.0f}x smaller; "
              f"ours/bare grab: {ours_ms / bare_ms:.2f}x; "
              f"wire grab/Pillow grab: {bare_ms / pillow_ms:.2f}x")  # fmt: skip

        # Idle display under subscription: after the first frame, nothing more.
        h.call(
            "subscribe", topics=["screenshots"], screenshot={"interval_s": 0.25, "max_width": 480}
        )
        wait_for(lambda: any(n.method == "screenshot" for n in h.seen))
        before = sum(len(n.params["data"]) for n in h.seen if n.method == "screenshot")
        time.sleep(10)
        after = sum(len(n.params["data"]) for n in h.seen if n.method == "screenshot")
        print(f"idle display at 4 captures/s: {(after - before) / 10:.0f} bytes/s pushed")
        h.call("unsubscribe", topics=["screenshots"])
        h.call("sandbox.delete", id="busy")

        # N sandboxes whose pictures change every second, streamed at 1 fps.
        flip = (f"sh -c 'while true; do display -window root {pictures[0]}; sleep 1; "
                f"display -window root {pictures[1]}; sleep 1; done'")  # fmt: skip
        for i in range(args.sandboxes):
            h.call("sandbox.create", name=f"s{i}", backend="none", project_dir=str(project),
                   agent=flip)  # fmt: skip
        time.sleep(3)
        h.call(
            "subscribe", topics=["screenshots"], screenshot={"interval_s": 1.0, "max_width": 480}
        )
        time.sleep(3)
        proc = psutil.Process(h.proc.pid)
        n0 = sum(n.method == "screenshot" for n in h.seen)
        b0 = sum(len(n.params["data"]) for n in h.seen if n.method == "screenshot")
        t0, cpu0 = time.monotonic(), sum(proc.cpu_times()[:2])
        time.sleep(args.seconds)
        elapsed, cpu = time.monotonic() - t0, sum(proc.cpu_times()[:2]) - cpu0
        n = sum(n.method == "screenshot" for n in h.seen) - n0
        b = sum(len(n.params["data"]) for n in h.seen if n.method == "screenshot") - b0
        print(f"{args.sandboxes} sandboxes, pictures changing, 1 frame/s: hostd CPU "
              f"{cpu / elapsed * 100:.1f}% of one core; {n / elapsed:.1f} frames/s pushed, "
              f"{b / elapsed / 1024:.0f} KiB/s")  # fmt: skip
        for s in h.call("sandbox.list"):
            h.call("sandbox.delete", id=s["id"])
    finally:
        h.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
