"""Sync latency and idle cost, over a real sshd on loopback.

    .venv/bin/python tests/bench/bench_sync.py        # IDLE_S=60 by default

Prints: local save -> file on the server (p50, p95; goal <= 1 s), server
change -> file here (goal <= 2.5 s), and the CPU of an idle watch over
IDLE_S seconds (client and hostd), beside the old way measured in the same
run: `rsync -a --delete` over ssh every 2 s (its CPU while nothing changes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.remote.client import Client
from app.remote.profiles import Profile, Profiles, open_host
from app.remote.sync.syncer import Syncer
from app.remote.sync.watch import run_watch
from tests.remote.sshd import hostd_command, keygen, start_sshd, write_client_home

N = 15
IDLE_S = float(os.environ.get("IDLE_S", "60"))


async def wait_file(path: Path, text: str, timeout: float = 10) -> float:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if path.read_text() == text:
                return time.monotonic()
        except OSError:
            pass
        await asyncio.sleep(0.005)
    raise TimeoutError(path)


def cpu_of(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="csb-"))
    key = keygen(root / "id")
    sshd = start_sshd(root / "sshd", [key])
    home = root / "home"
    write_client_home(home, sshd, key)
    os.environ["HOME"] = str(home)
    Profiles.default(home, {}).add(Profile("bench", "testhost", hostd_command(root / "state")))
    local, there = root / "here", root / "there"
    local.mkdir()
    there.mkdir()
    for i in range(200):  # a small project
        (local / f"file{i}.txt").write_text(f"content {i}\n" * 50)
    host = open_host("bench", home=home).host
    client = Client(host)
    await client.connect()
    try:
        async with Syncer(client, local, str(there), state_dir=root / "syncstate") as s:
            task = asyncio.ensure_future(run_watch(s))
            await wait_file(there / "file199.txt", "content 199\n" * 50, 60)
            await asyncio.sleep(1.5)
            up, down = [], []
            for i in range(N):
                t0 = time.monotonic()
                (local / "edit.txt").write_text(f"local {i}")
                up.append(await wait_file(there / "edit.txt", f"local {i}") - t0)
                await asyncio.sleep(0.6)
                t0 = time.monotonic()
                (there / "agent.txt").write_text(f"remote {i}")
                down.append(await wait_file(local / "agent.txt", f"remote {i}") - t0)
                await asyncio.sleep(0.6)
            await asyncio.sleep(2)
            me = psutil.Process()
            hostds = [p for p in psutil.process_iter(["cmdline"])
                      if "hostd" in " ".join(p.info["cmdline"] or [])
                      and str(root) in " ".join(p.info["cmdline"] or [])]  # fmt: skip
            c0, h0 = cpu_of([me]), cpu_of(hostds)
            await asyncio.sleep(IDLE_S)
            idle_client, idle_hostd = cpu_of([me]) - c0, cpu_of(hostds) - h0
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # The same ssh settings, without the Syncer's shared connection
            # (its control socket and config file go when the Syncer closes).
            rsh = re.sub(r"-o Control\w+=\S+ ?", "", s._ssh.rsh() if s._ssh else "ssh")
            if s._ssh:
                shutil.copy(s._ssh.config_file, root / "ssh_config")
                rsh = rsh.replace(s._ssh.config_file, str(root / "ssh_config"))
    finally:
        await client.close()
        await host.close()
    # The old way: a pull with rsync --delete every 2 s, nothing changing.
    ticks = int(IDLE_S / 2)
    t_cpu0 = psutil.Process().cpu_times()
    for _ in range(ticks):
        subprocess.run(["rsync", "-a", "--delete", "-e", rsh,
                        f"127.0.0.1:{there}/", f"{local}/"], check=True)  # fmt: skip
        time.sleep(2)
    t_cpu1 = psutil.Process().cpu_times()
    poll_cpu = (t_cpu1.children_user + t_cpu1.children_system) - (
        t_cpu0.children_user + t_cpu0.children_system
    )

    def q(xs: list[float], p: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]

    print(
        f"local save -> server:  p50 {statistics.median(up) * 1000:.0f} ms, "
        f"p95 {q(up, 0.95) * 1000:.0f} ms (goal <= 1000 ms; {N} saves)"
    )
    print(
        f"server change -> here: p50 {statistics.median(down) * 1000:.0f} ms, "
        f"p95 {q(down, 0.95) * 1000:.0f} ms (goal <= 2500 ms; old way: up to 2000 ms + a scan)"
    )
    print(
        f"idle watch over {IDLE_S:.0f} s: client {idle_client:.2f} s CPU, "
        f"hostd {idle_hostd:.2f} s CPU"
    )
    print(
        f"old way (rsync --delete every 2 s, client side only) over {IDLE_S:.0f} s: "
        f"{poll_cpu:.2f} s CPU ({ticks} scans; "
        f"{poll_cpu / max(idle_client + idle_hostd, 0.01):.0f}x the watch)"
    )
    sshd.stop()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
