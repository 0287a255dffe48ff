"""Drive a real hostd over stdio through a whole sandbox lifecycle.

    python3 drive_hostd.py HOSTD_COMMAND...

Used by the NixOS VM test (nix/tests/hostd.nix) against the installed
``claude-sandbox-hostd``, and by tests/test_nix.py against this checkout's
hostd, so the script the VM test runs is itself tested in CI. Standard
library only: the VM has a plain python3.

It expects ``claude-sandbox`` on PATH to be the stub launcher of
tests/stubs (which prints how it was called and runs the agent), creates a
``bubblewrap`` sandbox with the network off, and checks what a client
would see: hello, create, list, logs, stop, start, delete, and no process
left behind. Exits 0 on success; an AssertionError says what went wrong.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from typing import Any

# Generous: the VM test machine is slow and shared. Each wait returns as
# soon as its condition holds; the deadline only bounds a real failure.
DEADLINE_S = 60.0


class Client:
    def __init__(self, argv: list[str], state_dir: str) -> None:
        env = {**os.environ, "HOSTD_STATE_DIR": state_dir}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.next_id = 0
        self.buf = b""

    def call(self, method: str, **params: Any) -> Any:
        self.next_id += 1
        rid = self.next_id
        msg = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()
        while True:
            reply = self._read_message()
            if reply.get("id") != rid:
                continue  # a notification
            if "error" in reply:
                raise AssertionError(f"{method} failed: {reply['error']}")
            return reply["result"]

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(DEADLINE_S)

    def _read_message(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + DEADLINE_S
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            if not ready:
                raise AssertionError("hostd did not answer in time")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise AssertionError("hostd ended")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message


def wait_for(what: str, cond: Any) -> Any:
    end = time.monotonic() + DEADLINE_S
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def processes_mentioning(text: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if text.encode() in cmdline or text.encode() in environ:
            found.append(int(pid))
    return found


def main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write(__doc__ or "")
        return 2
    with tempfile.TemporaryDirectory(prefix="cs-drive-") as tmp:
        state = os.path.join(tmp, "state")
        project = os.path.join(tmp, "my project")
        os.mkdir(project)
        c = Client(argv, state)

        hello = c.call("hello", client="drive_hostd.py")
        backends = {b["name"]: b for b in hello["backends"]}
        assert backends["bubblewrap"]["available"], backends["bubblewrap"]
        assert backends["bubblewrap"]["launcher"].endswith("/claude-sandbox")
        assert backends["none"]["isolated"] is False

        sb = c.call("sandbox.create", name="drive", backend="bubblewrap", project_dir=project,
                    network=False, agent="sh -c 'echo agent-ran in $PWD; sleep 600'")  # fmt: skip
        assert sb["status"] == "running" and sb["display"], sb
        text = wait_for(
            "the agent's output",
            lambda: "agent-ran" in (t := c.call("sandbox.logs", id="drive")["text"]) and t,
        )
        launched = "launcher=claude-sandbox flags=[ --no-network --claude-config ] agent=sh"
        assert launched in text, text
        assert f"agent-ran in {project}" in text, text
        assert [s["name"] for s in c.call("sandbox.list")] == ["drive"]

        assert c.call("sandbox.stop", id="drive")["status"] == "stopped"
        assert c.call("sandbox.start", id=sb["id"][:8])["status"] == "running"
        assert c.call("sandbox.delete", id="drive") == {"id": sb["id"]}
        assert c.call("sandbox.list") == []
        assert c.close() == 0
        wait_for("no process left behind", lambda: not processes_mentioning(state))
    print("drive_hostd: lifecycle ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
