"""claude-remote watch over the real sshd, as a person runs it: both sides
busy at once, a kill in the middle of a transfer, Ctrl+C."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from tests.helpers import REPO, wait_for
from tests.remote.conftest import Remote
from tests.sync.conftest import tree

STRESS_S = 20.0


def start_watch(remote: Remote, local: Path, there: Path, state: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--host", "testhost", "watch", str(local), str(there),
         "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**remote.env, "XDG_STATE_HOME": str(state)},
        cwd=str(REPO),
        start_new_session=True,
    )  # fmt: skip
    return proc


def rounds_of(proc: subprocess.Popen[str]) -> tuple[list[dict[str, object]], threading.Thread]:
    rounds: list[dict[str, object]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            rounds.append(json.loads(line))

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return rounds, t


def trash_texts(state: Path, remote: Remote) -> set[str]:
    tops = [*state.glob("claude-sandbox/sync/*/trash"), remote.state_dir / "sync-trash"]
    return {p.read_text() for top in tops for p in top.rglob("*") if p.is_file()}


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    return proc.wait(60)


def test_both_sides_busy_for_20_seconds_lose_nothing(remote: Remote, short_tmp: Path) -> None:
    local, there, state = short_tmp / "here", remote.project / "there", short_tmp / "xdg"
    local.mkdir()
    there.mkdir()
    proc = start_watch(remote, local, there, state)
    rounds, reader = rounds_of(proc)
    wait_for(lambda: rounds, 60, what="the first round")
    own: dict[str, dict[str, str | None]] = {"L": {}, "R": {}}
    shared_last: dict[str, dict[str, str]] = {"L": {}, "R": {}}

    def work(side: str, root: Path, seed: int) -> None:
        rnd = random.Random(seed)
        n = 0
        end = time.monotonic() + STRESS_S
        while time.monotonic() < end:
            n += 1
            mine = [k for k, v in own[side].items() if v is not None]
            op = rnd.random()
            if op < 0.35 or not mine:
                name = f"{side}-{n}.txt"
                text = f"{side} wrote {name} #{n}"
            elif op < 0.7:
                name = rnd.choice(mine)
                text = f"{side} edited {name} #{n}"
            elif op < 0.85:
                name = rnd.choice(mine)
                (root / name).unlink()
                own[side][name] = None
                time.sleep(rnd.uniform(0.02, 0.08))
                continue
            else:
                name = f"shared-{rnd.randrange(3)}.txt"
                text = f"{side} wrote {name} #{n}"
                shared_last[side][name] = text
                (root / name).write_text(text)
                time.sleep(rnd.uniform(0.02, 0.08))
                continue
            (root / name).write_text(text)
            own[side][name] = text
            time.sleep(rnd.uniform(0.02, 0.08))

    threads = [
        threading.Thread(target=work, args=("L", local, 1)),
        threading.Thread(target=work, args=("R", there, 2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: tree(local) == tree(there), 90, interval=0.5, what="both sides to agree")
    time.sleep(1.5)  # and stay agreed: no round left to run
    assert tree(local) == tree(there)
    status = stop(proc)
    reader.join(10)
    # A round that failed (and was tried again) is an error line, with what
    # it did before it failed (rsync says 23 for a file deleted under it).
    errors: list[Any] = [r["error"] for r in rounds if "error" in r]
    rounds = [r for r in rounds if "error" not in r]
    # 5 when a round left conflicts (both wrote a shared file at once), else 0.
    conflicted = any(r["conflicts"] for r in rounds) or any(
        ((e.get("data") or {}).get("result") or {}).get("conflicts") for e in errors
    )
    assert status == (5 if conflicted else 0), proc.stderr.read() if proc.stderr else ""

    final = tree(local)
    for side in ("L", "R"):
        for name, text in own[side].items():
            assert final.get(name) == text, (side, name)
    assert not [n for n in final if n.startswith(("L-", "R-")) and ".conflict-" in n]
    kept = set(final.values()) | trash_texts(state, remote)
    for side in ("L", "R"):
        for name, text in shared_last[side].items():
            assert text in kept, (side, name, text)
    reported = {
        c["copy"]
        for r in rounds
        for c in r["conflicts"]  # type: ignore[union-attr]
        if c["copy"]  # type: ignore[index]
    }
    copies = {n for n in final if ".conflict-" in n}
    assert copies <= reported


def test_a_watch_killed_mid_transfer_and_started_again_loses_nothing(
    remote: Remote, short_tmp: Path
) -> None:
    local, there, state = short_tmp / "here", remote.project / "there", short_tmp / "xdg"
    local.mkdir()
    there.mkdir()
    (there / "agent.txt").write_text("written by the agent before the kill")
    proc = start_watch(remote, local, there, state)
    rounds_of(proc)
    wait_for(lambda: (local / "agent.txt").exists(), 60, what="the first round")
    blobs = {f"big{i:02d}.bin": os.urandom(4 << 20) for i in range(25)}
    for name, data in blobs.items():
        (local / name).write_bytes(data)

    def mid_transfer() -> bool:
        names = os.listdir(there)
        arrived = [n for n in names if n.startswith("big")]
        temps = [n for n in names if n.startswith(".big")]
        return bool(temps) or 0 < len(arrived) < len(blobs)

    wait_for(mid_transfer, 60, interval=0.005, what="a transfer under way")
    proc.kill()
    proc.wait(30)
    # Its rsync dies with it (PR_SET_PDEATHSIG), removing its temporary file.
    wait_for(
        lambda: not [p for p in psutil.process_iter(["cmdline"])
                     if str(there) in " ".join(p.info["cmdline"] or [])],
        30, what="rsync to end",
    )  # fmt: skip
    (local / "after the kill.txt").write_text("edited while nothing watched")
    proc = start_watch(remote, local, there, state)
    rounds_of(proc)
    want = {n: hashlib.sha256(d).hexdigest() for n, d in blobs.items()}

    def done() -> bool:
        got = {
            n: hashlib.sha256((there / n).read_bytes()).hexdigest()
            for n in os.listdir(there)
            if n.startswith("big")
        }
        return got == want and (there / "after the kill.txt").exists()

    wait_for(done, 120, interval=0.5, what="the restarted watch to finish")
    assert stop(proc) == 0
    assert sorted(os.listdir(there)) == sorted(os.listdir(local))
    assert (local / "agent.txt").read_text() == "written by the agent before the kill"
    assert not [n for n in os.listdir(there) if n.startswith(".")]


def test_sync_command_prints_what_moved_and_json(remote: Remote, short_tmp: Path) -> None:
    local = short_tmp / "here"
    local.mkdir()
    (local / "hello world.txt").write_text("hi")
    env = {"XDG_STATE_HOME": str(short_tmp / "xdg")}
    dest = remote.project / "p"
    res = remote.cli("--host", "testhost", "sync", str(local), str(dest), "--push", env=env)
    assert res.returncode == 1 and "not a directory" in res.stderr
    dest.mkdir()
    res = remote.cli("--host", "testhost", "sync", str(local), str(dest), "--push", env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        f"{local} -> testhost (root@127.0.0.1:{remote.sshd.port}):{dest}",
        "  sent 1: hello world.txt",
    ]
    (dest / "hello world.txt").write_text("changed there")
    (local / "hello world.txt").write_text("changed here")
    # REMOTE left out: the folder this one was synced with last time.
    res = remote.cli("--host", "testhost", "sync", str(local), "--json", env=env)
    assert res.returncode == 5, res.stderr  # a sync that left a conflict
    out = json.loads(res.stdout)
    assert [c["path"] for c in out["conflicts"]] == ["hello world.txt"]
    assert sorted(tree(local).values()) == ["changed here", "changed there"]


def test_create_sync_pushes_only_for_a_create_hostd_will_take(
    remote: Remote, short_tmp: Path
) -> None:
    local = short_tmp / "here"
    local.mkdir()
    (local / "main.py").write_text("print('hi')\n")
    env = {"XDG_STATE_HOME": str(short_tmp / "xdg")}

    def create(name: str, project: Path, backend: str = "none") -> subprocess.CompletedProcess[str]:
        return remote.cli("--host", "testhost", "create", name, backend, str(project),
                          "--agent", "sleep 600", "--sync", str(local), env=env)  # fmt: skip

    # Refused before anything is pushed: no folder made, no file written.
    for name, backend, needle in [
        ("bad name", "none", "name contains ' '"),
        ("ok", "vm", "backend 'vm' is not available"),
    ]:
        res = create(name, remote.project / "refused", backend)
        assert res.returncode == 1 and needle in res.stderr, res.stderr
        assert not (remote.project / "refused").exists()
    res = create("first", remote.project / "one")
    assert res.returncode == 0, res.stderr
    assert (remote.project / "one" / "main.py").read_text() == "print('hi')\n"
    assert re.search(r"^attach: \S*claude-remote --host testhost attach first$", res.stdout, re.M)
    # A name already taken: the other project folder is left alone.
    (remote.project / "two").mkdir()
    res = create("first", remote.project / "two")
    assert res.returncode == 1 and "already exists" in res.stderr
    assert list((remote.project / "two").iterdir()) == []
