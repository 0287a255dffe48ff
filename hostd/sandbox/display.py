"""A private X display per sandbox: Xvfb with an authority cookie.

Xvfb picks a free display number itself (``-displayfd``), so two hostd
processes creating sandboxes at once never race for the same number. It only
accepts clients that present the sandbox's cookie (``-auth``, never ``-ac``),
so other users of the server cannot connect to a sandbox's display.
"""

from __future__ import annotations

import os
import secrets
import select
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..protocol.errors import ProcessFailed
from .paths import create_private_file
from .procs import ProcRef, terminate, tree
from .tools import require

# Xvfb is ready in 0.1-0.3 s here; on a loaded machine with twenty starting at
# once it has been seen to take a few seconds. 20 s is far beyond both.
XVFB_READY_TIMEOUT_S = 20.0

# Xauthority entry (libXau format): big-endian family, then four
# length-prefixed fields. FamilyWild with an empty display number matches any
# display, so the file can be written before Xvfb has chosen its number.
FAMILY_WILD = 0xFFFF
COOKIE_NAME = b"MIT-MAGIC-COOKIE-1"


@dataclass(frozen=True)
class Display:
    name: str  # ":51"
    xauthority: Path
    process: ProcRef


def xauth_entry(cookie: bytes, number: bytes = b"") -> bytes:
    out = struct.pack(">H", FAMILY_WILD)
    for field in (b"", number, COOKIE_NAME, cookie):
        out += struct.pack(">H", len(field)) + field
    return out


def parse_geometry(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080); ValueError with the reason otherwise."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError("geometry must look like 1920x1080")
    w, h = int(parts[0]), int(parts[1])
    # Xvfb's own limit is 32767; 8192 keeps a framebuffer under 256 MiB.
    if not (64 <= w <= 8192 and 64 <= h <= 8192):
        raise ValueError("geometry must be between 64x64 and 8192x8192")
    return w, h


def require_xvfb() -> str:
    return require("Xvfb")


def start(runtime_dir: Path, geometry: tuple[int, int]) -> Display:
    """Start Xvfb for a sandbox; raises ProcessFailed with Xvfb's stderr."""
    xvfb = require_xvfb()
    xauth = runtime_dir / "xauthority"
    create_private_file(xauth, xauth_entry(secrets.token_bytes(16)))
    err_path = runtime_dir / "xvfb.log"
    w, h = geometry
    argv = [
        xvfb, "-displayfd", "", "-auth", str(xauth), "-nolisten", "tcp", "-noreset",
        "-screen", "0", f"{w}x{h}x24",
    ]  # fmt: skip
    rfd, wfd = os.pipe()
    argv[2] = str(wfd)
    try:
        create_private_file(err_path)  # 0600 from the start, like every file here
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                pass_fds=(wfd,),
                start_new_session=True,  # outlives hostd and the SSH session
                cwd="/",
            )
    except OSError as exc:
        os.close(rfd)
        os.close(wfd)
        raise ProcessFailed(f"could not start Xvfb: {exc}") from exc
    os.close(wfd)
    try:
        number = _read_display_number(rfd, proc, err_path)
        ref = ProcRef.of(proc.pid)
    except BaseException:
        proc.kill()  # Xvfb has no children of its own
        proc.wait()
        raise
    finally:
        os.close(rfd)
    return Display(f":{number}", xauth, ref)


def stop(display_proc: ProcRef | None) -> None:
    terminate(tree([display_proc]))


def _read_display_number(rfd: int, proc: subprocess.Popen[bytes], err_path: Path) -> int:
    deadline = time.monotonic() + XVFB_READY_TIMEOUT_S
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProcessFailed(
                f"Xvfb did not become ready within {XVFB_READY_TIMEOUT_S:.0f} s"
                + _stderr_tail(err_path)
            )
        ready, _, _ = select.select([rfd], [], [], left)
        if not ready:
            continue
        chunk = os.read(rfd, 64)
        if not chunk:
            proc.wait(timeout=2)
            raise ProcessFailed(
                f"Xvfb exited with status {proc.returncode} before it was ready"
                + _stderr_tail(err_path)
            )
        buf += chunk
    text = buf.strip()
    if not text.isdigit():
        raise ProcessFailed(f"Xvfb reported an odd display number {text!r}")
    return int(text)


def _stderr_tail(err_path: Path) -> str:
    try:
        text = err_path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return f": {text[-2000:]}" if text else ""
