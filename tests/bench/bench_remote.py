"""Client figures: sandbox.list round trips, and claude-remote's wall time.

Run on demand:  .venv/bin/python tests/bench/bench_remote.py [--sandboxes 10] [--calls 200]

Against a real sshd on a loopback port (throwaway keys, as in the tests) and
this worktree's hostd, with N sandboxes on it:
- (a) sandbox.list over local pipes (LocalHost, one hostd child)
- (b) sandbox.list over the persistent SSH channel (SshHost, paramiko)
- (c) a new `ssh -p PORT host <hostd command>` process per call, sending one
      list request and reading one reply: what a per-command CLI pays
- the ratio (c)/(b) (goal: at least 20x, so that keeping one channel open is
  clearly worth its complexity)
- the wall time of `claude-remote --host testhost list`, a whole CLI run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.remote.client import Client
from app.remote.local import LocalHost
from app.remote.profiles import Profile, Profiles, open_host
from tests.helpers import REPO, Hostd
from tests.remote.sshd import (
    client_env,
    hostd_command,
    keygen,
    start_sshd,
    write_client_home,
)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f} ms"


async def list_round_trips(client: Client, calls: int) -> list[float]:
    await client.connect()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        await client.call("sandbox.list")
        times.append(time.perf_counter() - t0)
    await client.close()
    return times


def one_ssh_process(config: Path, command: str) -> float:
    request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sandbox.list"}) + "\n"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        ["ssh", "-F", str(config), "-o", "BatchMode=yes", "testhost", command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(request.encode())
    proc.stdin.flush()
    reply = json.loads(proc.stdout.readline())
    elapsed = time.perf_counter() - t0
    assert "result" in reply, reply
    proc.stdin.close()
    proc.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandboxes", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--processes", type=int, default=15, help="runs of (c) and of the CLI")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="csb-", dir="/tmp"))
    state = root / "state"
    project = root / "proj"
    project.mkdir()
    user_key = keygen(root / "id_user")
    sshd = start_sshd(root / "sshd", [user_key])
    home = root / "home"
    write_client_home(home, sshd, user_key, extra=f"    UserKnownHostsFile {home}/.ssh/known_hosts")
    command = hostd_command(state)
    Profiles.default(home, {}).add(Profile("testhost", "testhost", command))
    os.environ["HOME"] = str(home)
    os.environ.pop("SSH_AUTH_SOCK", None)
    setup = Hostd(state)
    try:
        for i in range(args.sandboxes):
            setup.call(
                "sandbox.create",
                name=f"s{i}",
                backend="none",
                project_dir=str(project),
                agent="sleep 3600",
            )
        print(
            f"{args.sandboxes} sandboxes; {args.calls} calls per persistent channel; "
            f"{args.processes} runs per process-per-call figure"
        )

        local = asyncio.run(
            list_round_trips(Client(LocalHost(env={"HOSTD_STATE_DIR": str(state)})), args.calls)
        )

        async def over_ssh() -> list[float]:
            host = open_host("testhost", home=home).host
            try:
                return await list_round_trips(Client(host), args.calls)
            finally:
                await host.close()

        persistent = asyncio.run(over_ssh())
        per_call = [
            one_ssh_process(home / ".ssh" / "config", command) for _ in range(args.processes)
        ]
        cli = []
        for _ in range(args.processes):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "app.cli", "--host", "testhost", "list"],
                env=client_env(home),
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            cli.append(time.perf_counter() - t0)

        a, b, c = (statistics.median(x) for x in (local, persistent, per_call))
        print(f"(a) sandbox.list, local pipes          median {ms(a)}")
        print(f"(b) sandbox.list, persistent SSH       median {ms(b)}")
        print(f"(c) new ssh + hostd process per call   median {ms(c)}")
        print(f"    ratio (c)/(b)                      {c / b:9.0f}x   (goal: >= 20x)")
        print(
            f"claude-remote --host testhost list     median {ms(statistics.median(cli))}"
            f"  (min {ms(min(cli))})"
        )
    finally:
        for sb in setup.call("sandbox.list"):
            setup.call("sandbox.delete", id=sb["id"])
        setup.close()
        sshd.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
