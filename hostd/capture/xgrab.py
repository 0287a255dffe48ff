"""The root window's pixels of a local X display, over the X11 wire, with a deadline.

Pillow's XCB grab blocks inside libxcb while holding Python's GIL: one
display that stops answering (a stopped or wedged Xvfb) froze every thread
of hostd, the whole control channel with it, until that display answered.
Here the two requests a grab needs (the connection set-up and one GetImage)
go over a Unix socket from Python, so a wait releases the GIL and gives up
at a deadline. It needs no X library, and the cookie is handed in directly,
so no ``$XAUTHORITY`` file or environment variable is shared between threads.

Only what Xvfb as hostd starts it serves is read: a TrueColor root of depth
24 or 32 at 32 bits a pixel, either byte order.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

from PIL import Image

COOKIE_NAME = b"MIT-MAGIC-COOKIE-1"
SOCKET_DIR = "/tmp/.X11-unix"
_GET_IMAGE = 73
_Z_PIXMAP = 2
_ALL_PLANES = 0xFFFFFFFF


class XGrabError(OSError):
    """The display could not be read; the message says why."""


def display_socket(display: str) -> str:
    """':51' or ':51.0' -> the path of that display's local socket."""
    number = display.lstrip(":").split(".")[0]
    if not display.startswith(":") or not number.isdigit():
        raise XGrabError(f"not a local display: {display!r}")
    return f"{SOCKET_DIR}/X{number}"


def grab(display: str, cookie: bytes, timeout: float = 5.0) -> Image.Image:
    """The whole root window of ``display`` as an RGB image.

    Raises XGrabError if the display refuses, is gone, or does not answer
    within ``timeout`` seconds in all.
    """
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        _step(sock, deadline, display)
        try:
            sock.connect(display_socket(display))
        except OSError as exc:
            raise _gone(display, exc.strerror) from None
        try:
            screen = _set_up(sock, cookie, deadline, display)
        except struct.error:
            raise XGrabError(f"display {display} sent a malformed set-up reply") from None
        return _get_image(sock, screen, deadline, display)


@dataclass(frozen=True)
class _Screen:
    root: int
    width: int
    height: int
    depth: int
    bpp: int
    lsb_first: bool
    red_mask: int


def _set_up(sock: socket.socket, cookie: bytes, deadline: float, display: str) -> _Screen:
    # Little-endian client, protocol 11.0, MIT-MAGIC-COOKIE-1.
    head = struct.pack("<BxHHHHxx", 0x6C, 11, 0, len(COOKIE_NAME), len(cookie))
    _send(sock, head + _pad(COOKIE_NAME) + _pad(cookie), deadline, display)
    status, reason_len, _major, _minor, words = struct.unpack(
        "<BBHHH", _recv(sock, 8, deadline, display)
    )
    body = _recv(sock, words * 4, deadline, display)
    if status != 1:
        # Failed (0) gives the reason's length in the header; Authenticate (2)
        # pads its reason with NULs.
        reason = body[:reason_len] if status == 0 else body.rstrip(b"\0")
        text = reason.decode("latin-1", "replace").strip() or "no reason given"
        raise XGrabError(f"display {display} refused the connection: {text}")
    (vendor_len,) = struct.unpack_from("<H", body, 16)
    n_screens, n_formats, image_order = struct.unpack_from("<BBB", body, 20)
    if n_screens < 1:
        raise XGrabError(f"display {display} has no screen")
    pos = 32 + _padded(vendor_len)
    bpp_of = {}
    for _i in range(n_formats):
        depth, bpp = struct.unpack_from("<BB", body, pos)
        bpp_of[depth] = bpp
        pos += 8
    root, _cmap, _white, _black, _masks, width, height = struct.unpack_from("<IIIIIHH", body, pos)
    root_visual, _backing, _unders, depth, n_depths = struct.unpack_from("<IBBBB", body, pos + 32)
    red_mask = _visual_red_mask(body, pos + 40, n_depths, root_visual)
    return _Screen(
        root=root,
        width=width,
        height=height,
        depth=depth,
        bpp=bpp_of.get(depth, 0),
        lsb_first=image_order == 0,
        red_mask=red_mask,
    )


def _visual_red_mask(body: bytes | bytearray, pos: int, n_depths: int, visual: int) -> int:
    for _d in range(n_depths):
        _depth, n_visuals = struct.unpack_from("<BxH", body, pos)
        pos += 8
        for _v in range(n_visuals):
            vid, _class, _bits, _entries, red, _green, _blue = struct.unpack_from(
                "<IBBHIII", body, pos
            )
            if vid == visual:
                return int(red)
            pos += 24
    return 0


def _get_image(sock: socket.socket, s: _Screen, deadline: float, display: str) -> Image.Image:
    if s.bpp != 32 or s.depth not in (24, 32) or s.red_mask != 0xFF0000:
        raise XGrabError(f"display {display}: cannot read depth {s.depth} at {s.bpp} bits a pixel")
    request = struct.pack(
        "<BBHIhhHHI", _GET_IMAGE, _Z_PIXMAP, 5, s.root, 0, 0, s.width, s.height, _ALL_PLANES
    )
    _send(sock, request, deadline, display)
    head = _recv(sock, 32, deadline, display)
    if head[0] == 0:
        raise XGrabError(f"display {display} answered GetImage with X error {head[1]}")
    (words,) = struct.unpack_from("<I", head, 4)
    size = s.width * s.height * 4
    if not size <= words * 4 <= size + 4096:  # a bad length must not size our buffer
        raise XGrabError(f"display {display} sent {words * 4} bytes for a {size}-byte image")
    data = _recv(sock, words * 4, deadline, display)
    raw = "BGRX" if s.lsb_first else "XRGB"
    return Image.frombuffer("RGB", (s.width, s.height), data, "raw", raw, s.width * 4, 1)


def _send(sock: socket.socket, data: bytes, deadline: float, display: str) -> None:
    _step(sock, deadline, display)
    try:
        sock.sendall(data)
    except TimeoutError:
        raise _late(display) from None
    except OSError as exc:
        raise _gone(display, exc.strerror) from None


def _recv(sock: socket.socket, n: int, deadline: float, display: str) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        _step(sock, deadline, display)
        try:
            k = sock.recv_into(view[got:])
        except TimeoutError:
            raise _late(display) from None
        except OSError as exc:
            raise _gone(display, exc.strerror) from None
        if k == 0:
            raise _gone(display, "connection closed")
        got += k
    return buf


def _step(sock: socket.socket, deadline: float, display: str) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _late(display)
    sock.settimeout(left)


def _gone(display: str, why: str | None) -> XGrabError:
    return XGrabError(f"display {display} is not answering ({why}); is its Xvfb gone?")


def _late(display: str) -> XGrabError:
    return XGrabError(f"display {display} did not answer in time; is its Xvfb stopped or stuck?")


def _padded(n: int) -> int:
    return (n + 3) & ~3


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (_padded(len(data)) - len(data))
