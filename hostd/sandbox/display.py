"""A private X display per sandbox: Xvfb with an authority cookie.

hostd picks a free display number by claiming its abstract socket name
(:func:`_claim_number`), so two hostd processes creating sandboxes at once
never race for the same number, and waits for Xvfb on ``-displayfd``. It only
accepts clients that present the sandbox's cookie (``-auth``, never ``-ac``),
so other users of the server cannot connect to a sandbox's display. It
listens on its path socket only (``-nolisten tcp -nolisten local``): the
abstract socket ``@/tmp/.X11-unix/X<n>`` would be reachable from every
sandbox that shares the host's network namespace, while the path socket is
bound only into the sandbox it belongs to.
"""

from __future__ import annotations

import os
import secrets
import select
import socket
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
# Display numbers tried when another X server, in a mount namespace of its
# own, has the one picked; and the highest number looked at (Xvfb's own).
DISPLAY_TRIES = 8
MAX_DISPLAY = 32768

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
    create_private_file(err_path)  # 0600 from the start, like every file here
    lowest = 0
    for _ in range(DISPLAY_TRIES):
        number, holder = _claim_number(lowest)
        try:
            proc = _start_xvfb(xvfb, number, holder, xauth, err_path, geometry)
        except _Taken:
            lowest = number + 1  # an X server of another mount namespace has it
            continue
        finally:
            holder.close()
        return Display(f":{number}", xauth, proc)
    raise ProcessFailed(f"found no free X display number in {DISPLAY_TRIES} tries")


class _Taken(Exception):
    pass


def _claim_number(lowest: int) -> tuple[int, socket.socket]:
    """The lowest free display number from ``lowest``, and its abstract name, held.

    Xvfb listens on its path socket only, but X clients try the abstract name
    ``@/tmp/.X11-unix/X<n>`` first: whoever held it would get the sandbox's
    clients, and their cookie. So hostd binds the name (bound, never
    listening: a connection is refused) and hands it to Xvfb, which holds it
    as long as it runs. Binding it is atomic, so two hostd processes never
    pick one number.
    """
    for number in range(lowest, MAX_DISPLAY):
        if os.path.lexists(f"/tmp/.X{number}-lock") or os.path.lexists(f"/tmp/.X11-unix/X{number}"):
            continue
        holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            holder.bind(f"\0/tmp/.X11-unix/X{number}")
        except OSError:
            holder.close()
            continue
        return number, holder
    raise ProcessFailed("found no free X display number")


def _start_xvfb(
    xvfb: str,
    number: int,
    holder: socket.socket,
    xauth: Path,
    err_path: Path,
    geometry: tuple[int, int],
) -> ProcRef:
    w, h = geometry
    rfd, wfd = os.pipe()
    argv = [
        xvfb, f":{number}", "-displayfd", str(wfd), "-auth", str(xauth),
        "-nolisten", "tcp", "-nolisten", "local", "-noreset",
        "-screen", "0", f"{w}x{h}x24",
    ]  # fmt: skip
    try:
        with open(err_path, "ab") as err:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                pass_fds=(wfd, holder.fileno()),
                start_new_session=True,  # outlives hostd and the SSH session
                cwd="/",
            )
    except OSError as exc:
        os.close(rfd)
        os.close(wfd)
        raise ProcessFailed(f"could not start Xvfb: {exc}") from exc
    os.close(wfd)
    try:
        got = _read_display_number(rfd, proc, err_path)
        if got != number:
            raise ProcessFailed(f"Xvfb took display :{got}, not :{number}")
        return ProcRef.of(proc.pid)
    except ProcessFailed as exc:
        proc.kill()  # Xvfb has no children of its own
        proc.wait()
        if "already active" in str(exc):
            raise _Taken from None
        raise
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        os.close(rfd)


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
