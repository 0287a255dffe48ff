"""Escapes tried from inside hostd's built-in bubblewrap sandbox: blocked or ESCAPED.

Run on demand:

    .venv/bin/python tests/bench/escapes.py [--repo PATH]

It starts that checkout's hostd (``python -m hostd`` with cwd=PATH, and
PATH/.venv/bin/python when there is one) with a made-up person's HOME, an
SSH agent socket and desktop variables in its environment, runs the probe
agent (tests/stubs/claude-escape-probe) in a ``bubblewrap`` sandbox beside a
second one whose display it tries to reach, and prints one row per escape.
It speaks only JSON-RPC to hostd, and asks only what every version has
(hello, sandbox.create/get/delete with name, backend, project_dir, agent),
so it runs against an older checkout too. The verdicts come from the
person's files on the host (hashed before and after), not the probe's word.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hostd.claude.files import sanitize_path
from tests.hostd.escape_probe import (
    PROBE_NAME,
    SECRET_ENV,
    hashes,
    judge,
    make_person,
    make_project,
    table,
)

REPO = Path(__file__).resolve().parents[2]
# A sandbox is up in well under a second; the probe runs in about one.
DEADLINE_S = 60.0


class Rpc:
    """hostd as a child process, one JSON request per line."""

    def __init__(self, repo: Path, env: dict[str, str]) -> None:
        venv = repo / ".venv" / "bin" / "python"
        python = str(venv) if venv.exists() else sys.executable
        self.proc = subprocess.Popen(
            [python, "-m", "hostd"], cwd=str(repo), env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.next_id = 0

    def call(self, method: str, **params: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.next_id += 1
        req = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.proc.stdin.write(json.dumps(req).encode() + b"\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"hostd ended while answering {method}")
            msg = json.loads(line)
            if msg.get("id") != self.next_id:
                continue  # a notification
            if "error" in msg:
                raise SystemExit(f"{method} failed: {msg['error']['message']}")
            return msg["result"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=DEADLINE_S)


def wait_exited(rpc: Rpc, sid: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        sb: dict[str, Any] = rpc.call("sandbox.get", id=sid)
        if sb["status"] == "exited":
            return sb
        time.sleep(0.1)
    raise SystemExit("the probe did not finish")


def commit_of(repo: Path) -> str:
    res = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%h %s"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    return res.stdout.strip() or "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose hostd runs")
    args = parser.parse_args()
    repo = args.repo.resolve()
    root = Path(tempfile.mkdtemp(prefix="cse-", dir="/tmp"))  # short: socket paths
    agent_sock = socket.socket(socket.AF_UNIX)
    agent_sock.bind(str(root / "agent.sock"))
    agent_sock.listen()
    rpc: Rpc | None = None
    try:
        person = make_person(root)
        project = make_project(root)
        env = {**os.environ, "HOME": str(person), "SSH_AUTH_SOCK": str(root / "agent.sock"),
               "HOSTD_STATE_DIR": str(root / "state"), **SECRET_ENV}  # fmt: skip
        rpc = Rpc(repo, env)
        be = {b["name"]: b for b in rpc.call("hello")["backends"]}["bubblewrap"]
        if not (be["available"] and be["detail"].startswith("built-in")):
            raise SystemExit(f"bubblewrap is not the built-in launcher here: {be['detail']}")
        other = rpc.call("sandbox.create", name="other", backend="bubblewrap",
                         project_dir=str(project), agent=f"./{PROBE_NAME} --idle")  # fmt: skip
        before = hashes(person, project)
        agent = shlex.join([f"./{PROBE_NAME}", other["display"].lstrip(":"),
                            sanitize_path(str(project))])  # fmt: skip
        sb = rpc.call("sandbox.create", name="probe", backend="bubblewrap",
                      project_dir=str(project), agent=agent)  # fmt: skip
        done = wait_exited(rpc, sb["id"])
        out = project / "escapes.json"
        if not out.exists():
            raise SystemExit(f"the probe wrote no result (exit status {done['exit_code']})")
        result = json.loads(out.read_text())
        verdicts = judge(result, person, project, before, hashes(person, project))
        print(f"hostd of {repo} ({commit_of(repo)}), as uid {os.getuid()}")
        print(table(verdicts))
        escaped = sum(v.escaped for v in verdicts)
        print(f"{escaped} of {len(verdicts)} escaped")
        return 1 if escaped else 0
    finally:
        if rpc is not None:
            # Sandboxes outlive hostd: delete them all, whatever happened.
            for left in rpc.call("sandbox.list"):
                rpc.call("sandbox.delete", id=left["id"])
            rpc.close()
        agent_sock.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
