"""Pictures of a sandbox's screen: X displays grabbed in process, VMs through QMP.

The system this replaces ran ImageMagick's ``import`` for a full-size PNG of
every display every 2 s (~270 ms of CPU and ~2.9 MB a frame). Here a frame is
grabbed in process (one X11 GetImage on the display's socket), shrunk with an integer box
reduction (cheap, and a good filter) plus a small final resize, and encoded
at thumbnail size: a few ms of CPU and a few tens of KB.

X displays are read over the X11 wire by :mod:`hostd.capture.xgrab`, with the
sandbox's own cookie and a deadline: a display that stops answering costs its
own capture, never the rest of hostd.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import secrets
import struct
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..protocol.errors import InvalidParams, ProcessFailed
from ..sandbox.display import COOKIE_NAME
from . import xgrab

log = logging.getLogger(__name__)

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
# Thumbnails are looked at small; 80 keeps text legible at a fraction of 95's size.
JPEG_QUALITY = 80
WEBP_QUALITY = 80
# Wider than any screen hostd makes (8192, display.parse_geometry): asking for
# more is capped, and the answer says so.
MAX_WIDTH_CAP = 8192
# A VM that does not answer QMP in this long is stuck or gone; QEMU answers a
# screendump of a 1080p screen in well under a second even under TCG.
QMP_TIMEOUT_S = 5.0
# Xvfb sends a 1080p screen in a few ms; one that takes seconds is stopped.
GRAB_TIMEOUT_S = 5.0


class CaptureError(ProcessFailed):
    """The picture could not be taken (display gone, VM not answering)."""


@dataclass(frozen=True)
class Thumb:
    """A scaled picture, hashed so unchanged frames need no more work."""

    image: Image.Image
    digest: bytes
    source: Image.Image

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def is_blank(self) -> bool:
        """One flat colour on the whole screen: nothing drawn yet.

        Any variation in the thumbnail means the screen has some. A flat
        thumbnail may still hide a fine pattern that the box filter averaged
        away, so only then is the full picture checked.
        """
        return _flat(self.image) and (self.image is self.source or _flat(self.source))


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidParams(f"unknown format {fmt!r}; one of: {', '.join(FORMATS)}", "format")
    return fmt


def check_max_width(max_width: int | None) -> tuple[int | None, str | None]:
    """The width to use, and a note when the one asked for was capped."""
    if max_width is None:
        return None, None
    if max_width <= 0:
        raise InvalidParams(f"max_width must be positive, not {max_width}", "max_width")
    if max_width > MAX_WIDTH_CAP:
        return MAX_WIDTH_CAP, f"max_width {max_width} is more than {MAX_WIDTH_CAP}; capped"
    return max_width, None


def scale(im: Image.Image, max_width: int | None) -> Image.Image:
    """Shrink to at most ``max_width`` wide, keeping the aspect; never enlarge."""
    w, h = im.size
    if max_width is None or w <= max_width:
        return im
    factor = w // max_width
    if factor >= 2:
        im = im.reduce(factor)  # box filter by an integer factor: cheap
        w, h = im.size
    if w > max_width:
        im = im.resize((max_width, max(1, round(h * max_width / w))), Image.Resampling.BILINEAR)
    return im


def thumb(im: Image.Image, max_width: int | None) -> Thumb:
    im = im.convert("RGB") if im.mode != "RGB" else im
    small = scale(im, max_width)
    return Thumb(small, hashlib.blake2b(small.tobytes(), digest_size=16).digest(), im)


def _flat(im: Image.Image) -> bool:
    return all(lo == hi for lo, hi in im.getextrema())  # type: ignore[misc]


def encode(im: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        im.save(out, "JPEG", quality=JPEG_QUALITY)
    elif fmt == "webp":
        im.save(out, "WEBP", quality=WEBP_QUALITY, method=0)  # method 0: fastest
    else:
        im.save(out, "PNG", compress_level=1)  # level 1: ~5x faster than 6, ~10% larger
    return out.getvalue()


def grab_x(display: str, xauthority: Path) -> Image.Image:
    """The whole screen of a sandbox's X display, authorised with its cookie."""
    try:
        cookie = read_cookie(xauthority)
    except (OSError, struct.error) as exc:
        raise CaptureError(f"cannot read the display's cookie: {exc}") from None
    try:
        return xgrab.grab(display, cookie, GRAB_TIMEOUT_S)
    except xgrab.XGrabError as exc:
        raise CaptureError(str(exc)) from None


def read_cookie(xauthority: Path) -> bytes:
    """The MIT-MAGIC-COOKIE-1 data in a sandbox's authority file."""
    data = xauthority.read_bytes()
    pos = 2
    fields = []
    for _ in range(4):
        (n,) = struct.unpack_from(">H", data, pos)
        fields.append(data[pos + 2 : pos + 2 + n])
        pos += 2 + n
    if fields[2] != COOKIE_NAME:
        raise OSError(f"{xauthority} holds no {COOKIE_NAME.decode()}")
    return fields[3]


async def grab_vm(
    qmp_socket: Path, workdir: Path, pool: Executor | None = None, timeout: float = QMP_TIMEOUT_S
) -> Image.Image:
    """A VM's screen through QMP ``screendump``: PNG where QEMU has it (7.1+), else PPM."""
    from qemu.qmp import ExecuteError, QMPClient, QMPError

    if not qmp_socket.exists():
        raise CaptureError(f"the VM's QMP socket {qmp_socket} does not exist (is QEMU running?)")
    target = workdir / f".screendump-{secrets.token_hex(4)}"
    client = QMPClient("claude-sandbox-hostd")
    try:
        async with asyncio.timeout(timeout):
            await client.connect(str(qmp_socket))
            try:
                await client.execute("screendump", {"filename": str(target), "format": "png"})
            except ExecuteError as exc:
                if "format" not in str(exc).lower() and "parameter" not in str(exc).lower():
                    raise
                await client.execute("screendump", {"filename": str(target)})  # PPM
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, _load, target)
    except TimeoutError:
        raise CaptureError(f"the VM did not answer QMP within {timeout:.0f} s") from None
    except (QMPError, OSError) as exc:
        raise CaptureError(f"cannot take the VM's screendump over QMP: {exc}") from None
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()
        target.unlink(missing_ok=True)


def _load(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return im.convert("RGB")
