"""A stand-in hostd whose whole-folder ``fs.list`` answers are doctored.

Why a fake: the client must refuse a listing that no hostd of this project
can be made to send (a ``../x`` path, a file under a symlink, an entry whose
folder is missing, a type that is not one), because the host it talks to is
where the agent runs, and the agent may have replaced hostd there. A real
hostd lists by :mod:`treesync` and never sends one, so the only way to test
the client's refusal is a process that speaks the protocol and lies.

It lies as little as it can: it runs the real hostd (``python -m hostd``,
same environment) as its child and passes every byte through, both ways,
except the answers to ``fs.list`` calls without ``paths`` (whole listings),
to which it applies ``$DOCTOR_FS_LIST``: a JSON object with ``add`` (entries
appended) and ``replace`` (entries by path, replacing the real ones).
Standard library only; newline-delimited JSON, as hostd's framing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any


def main() -> int:
    doctor: dict[str, Any] = json.loads(os.environ.get("DOCTOR_FS_LIST", "{}"))
    child = subprocess.Popen(
        [sys.executable, "-m", "hostd"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdin is not None and child.stdout is not None
    listings: set[Any] = set()  # ids of the whole-folder fs.list calls under way
    lock = threading.Lock()

    def upstream() -> None:
        assert child.stdin is not None
        for line in sys.stdin.buffer:
            try:
                msg = json.loads(line)
            except ValueError:
                msg = None
            whole = isinstance(msg, dict) and msg.get("method") == "fs.list"
            if whole and (msg.get("params") or {}).get("paths") is None:  # type: ignore[union-attr]
                with lock:
                    listings.add(msg.get("id"))  # type: ignore[union-attr]
            child.stdin.write(line)
            child.stdin.flush()
        child.stdin.close()  # end of input: hostd finishes and exits

    threading.Thread(target=upstream, daemon=True).start()
    out = sys.stdout.buffer
    for line in child.stdout:
        try:
            msg = json.loads(line)
        except ValueError:
            msg = None
        if isinstance(msg, dict) and "result" in msg:
            with lock:
                ours = msg.get("id") in listings
                listings.discard(msg.get("id"))
            if ours and isinstance(msg["result"], dict):
                line = json.dumps({**msg, "result": doctored(msg["result"], doctor)}).encode()
                line += b"\n"
        out.write(line)
        out.flush()
    return child.wait()


def doctored(result: dict[str, Any], doctor: dict[str, Any]) -> dict[str, Any]:
    replace = {e["path"]: e for e in doctor.get("replace", [])}
    entries = [replace.pop(e["path"], e) for e in result.get("entries", [])]
    entries += list(replace.values()) + list(doctor.get("add", []))
    return {**result, "entries": entries}


if __name__ == "__main__":
    sys.exit(main())
