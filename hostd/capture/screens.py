"""Screenshots on request (``sandbox.screenshot``) and as a stream (``screenshots``).

The stream captures every running sandbox on a cadence and pushes a frame
only when its scaled picture differs from the last one sent to this client:
an idle display costs a grab and a hash, and no bytes on the wire. Captures
share a small worker pool, so hostd's CPU stays bounded as sandboxes grow.
A capture still pending for a sandbox, or a frame of it the client has not
yet read, makes the stream skip that sandbox for the tick: a slow client gets
the latest picture, never a queue.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..observe.periodic import Periodic
from ..protocol import methods as m
from ..protocol.errors import InvalidParams, InvalidState, RpcError
from ..sandbox.lifecycle import Manager
from ..sandbox.records import Record
from .frames import Thumb, check_format, check_max_width, encode, grab_vm, grab_x, thumb

log = logging.getLogger(__name__)

# subscribe {screenshot: {...}} defaults and bounds: a tile is ~480 px wide;
# 0.25 s is the fastest cadence worth its CPU for a glance view.
DEFAULT_INTERVAL_S = 2.0
MIN_INTERVAL_S = 0.25
MAX_INTERVAL_S = 3600.0
DEFAULT_MAX_WIDTH = 480
DEFAULT_FORMAT = "jpeg"
# screenshot.widths: a bigger picture for the few sandboxes a client shows
# large (a sandbox's own view). A client shows a handful at once; 256 bounds
# what a confused or hostile one can make hostd keep.
MAX_WIDTHS = 256
CAPTURABLE = (m.STATUS_RUNNING, m.STATUS_EXITED)


class Screens:
    """Takes a sandbox's picture, X or VM, scaled; blocking work in ``pool``."""

    def __init__(self, manager: Manager, pool: Executor) -> None:
        self.manager = manager
        self.pool = pool

    async def thumb(self, rec: Record, max_width: int | None) -> Thumb:
        if rec["status"] not in CAPTURABLE:
            raise InvalidState(
                f"sandbox {rec['name']!r} is {rec['status']}: it has no screen to capture",
                {"status": rec["status"]},
            )
        loop = asyncio.get_running_loop()
        if rec["backend"] == "vm":
            workdir = self.manager.paths.runtime_dir(rec["id"])
            image = await grab_vm(Path(rec["qmp_socket"]), workdir, self.pool)
            return await loop.run_in_executor(self.pool, thumb, image, max_width)
        if not rec.get("display"):
            raise InvalidState(f"sandbox {rec['name']!r} has no display", {"status": rec["status"]})
        xauth = self.manager.paths.runtime_dir(rec["id"]) / "xauthority"

        def work() -> Thumb:
            return thumb(grab_x(rec["display"], xauth), max_width)

        return await loop.run_in_executor(self.pool, work)

    async def screenshot(self, ref: str, max_width: int | None, fmt: str) -> dict[str, Any]:
        """The ``sandbox.screenshot`` method."""
        check_format(fmt)
        width, note = check_max_width(max_width)
        loop = asyncio.get_running_loop()
        rec = await loop.run_in_executor(self.pool, self.manager.record, ref)
        shot = await self.thumb(rec, width)
        data, blank = await loop.run_in_executor(self.pool, finish, shot, fmt)
        w, h = shot.size
        result: dict[str, Any] = {
            "format": fmt,
            "width": w,
            "height": h,
            "blank": blank,
            "data": base64.b64encode(data).decode(),
        }
        if note:
            result["note"] = note
        return result


def finish(shot: Thumb, fmt: str) -> tuple[bytes, bool]:
    """Encoding and the blank check: only for frames that will be sent."""
    return encode(shot.image, fmt), shot.is_blank()


@dataclass(frozen=True)
class StreamSettings:
    interval_s: float = DEFAULT_INTERVAL_S
    max_width: int = DEFAULT_MAX_WIDTH
    format: str = DEFAULT_FORMAT
    # Sandbox id -> max_width for that sandbox instead of ``max_width``.
    widths: tuple[tuple[str, int], ...] = ()
    # Set when the max_width asked for was capped; subscribe's reply says so.
    note: str | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, obj: dict[str, Any] | None) -> StreamSettings:
        obj = dict(obj or {})
        unknown = sorted(set(obj) - {"interval_s", "max_width", "format", "widths"})
        if unknown:
            raise InvalidParams(
                f"unknown screenshot setting {unknown[0]!r} "
                "(interval_s, max_width, format, widths)",
                "screenshot",
            )
        interval = obj.get("interval_s", DEFAULT_INTERVAL_S)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            raise InvalidParams("screenshot.interval_s must be a number", "screenshot")
        if not MIN_INTERVAL_S <= interval <= MAX_INTERVAL_S:
            raise InvalidParams(
                f"screenshot.interval_s must be between {MIN_INTERVAL_S} "
                f"and {MAX_INTERVAL_S:.0f} s",
                "screenshot",
            )
        width = obj.get("max_width", DEFAULT_MAX_WIDTH)
        if isinstance(width, bool) or not isinstance(width, int):
            raise InvalidParams("screenshot.max_width must be an integer", "screenshot")
        capped, note = check_max_width(width)
        fmt = obj.get("format", DEFAULT_FORMAT)
        if not isinstance(fmt, str):
            raise InvalidParams("screenshot.format must be a string", "screenshot")
        check_format(fmt)
        assert capped is not None
        widths, widths_note = _parse_widths(obj.get("widths"))
        return cls(float(interval), capped, fmt, widths, note or widths_note)

    def width_of(self, sandbox_id: str) -> int:
        return dict(self.widths).get(sandbox_id, self.max_width)


def _parse_widths(obj: Any) -> tuple[tuple[tuple[str, int], ...], str | None]:
    """``screenshot.widths``: ``{sandbox id: max_width}``, checked like ``max_width``."""
    if obj is None:
        return (), None
    if not isinstance(obj, dict):
        raise InvalidParams("screenshot.widths must be an object of id: width", "screenshot")
    if len(obj) > MAX_WIDTHS:
        raise InvalidParams(
            f"screenshot.widths names {len(obj)} sandboxes; at most {MAX_WIDTHS}", "screenshot"
        )
    out: list[tuple[str, int]] = []
    note = None
    for sid, width in sorted(obj.items()):
        if not sid or len(sid) > 200:
            raise InvalidParams("screenshot.widths has an empty or overlong id", "screenshot")
        if isinstance(width, bool) or not isinstance(width, int):
            raise InvalidParams(f"screenshot.widths[{sid!r}] must be an integer", "screenshot")
        capped, capped_note = check_max_width(width)
        assert capped is not None
        note = note or capped_note
        out.append((sid, capped))
    return tuple(out), note


Push = Callable[[Hashable, str, dict[str, Any]], None]


class ScreenshotStream(Periodic):
    """One client's ``screenshots`` subscription."""

    def __init__(
        self,
        screens: Screens,
        settings: StreamSettings,
        push_latest: Push,
        unsent: Callable[[Hashable], bool],
    ) -> None:
        super().__init__("screenshots", settings.interval_s)
        self.screens = screens
        self.settings = settings
        self._push = push_latest
        self._unsent = unsent
        self._sent: dict[str, bytes] = {}  # sandbox id -> digest of the last frame sent
        self._seq: dict[str, int] = {}
        self._busy: set[str] = set()
        self._failing: dict[str, str] = {}  # sandbox id -> the error last logged
        self._captures: set[asyncio.Task[None]] = set()

    def update(self, settings: StreamSettings) -> None:
        if settings.max_width != self.settings.max_width or settings.format != self.settings.format:
            self._sent.clear()  # a different picture: send each sandbox's anew
        else:
            for sid in set(dict(settings.widths)) | set(dict(self.settings.widths)):
                if settings.width_of(sid) != self.settings.width_of(sid):
                    self._sent.pop(sid, None)  # its picture changes size: send it anew
        self.settings = settings
        self.interval = settings.interval_s
        self.wake()

    def stop(self) -> None:
        super().stop()
        for task in list(self._captures):
            task.cancel()  # no frame after unsubscribe

    async def step(self) -> None:
        loop = asyncio.get_running_loop()
        records = await loop.run_in_executor(self.screens.pool, self.screens.manager.records)
        live = {sid: r for sid, r in records.items() if r["status"] == m.STATUS_RUNNING}
        for gone in set(self._sent) - set(live):
            self._sent.pop(gone, None)
        for sid, rec in live.items():
            if sid in self._busy or self._unsent(("screenshot", sid)):
                continue
            self._busy.add(sid)
            task = loop.create_task(self._capture(rec))
            self._captures.add(task)
            task.add_done_callback(self._captures.discard)

    async def _capture(self, rec: Record) -> None:
        sid = rec["id"]
        settings = self.settings
        try:
            shot = await self.screens.thumb(rec, settings.width_of(sid))
            if self._sent.get(sid) == shot.digest:
                return
            loop = asyncio.get_running_loop()
            data, blank = await loop.run_in_executor(
                self.screens.pool, finish, shot, settings.format
            )
            if self._failing.pop(sid, None) is not None:
                log.info("capture of %s works again", rec["name"])
            self._sent[sid] = shot.digest
            seq = self._seq[sid] = self._seq.get(sid, 0) + 1
            w, h = shot.size
            self._push(
                ("screenshot", sid),
                m.SCREENSHOT,
                {
                    "id": sid,
                    "seq": seq,
                    "format": settings.format,
                    "width": w,
                    "height": h,
                    "blank": blank,
                    "data": base64.b64encode(data).decode(),
                },
            )
        except RpcError as exc:
            # Logged once per sandbox and kind of failure, not every tick.
            if self._failing.get(sid) != exc.message:
                self._failing[sid] = exc.message
                log.warning("cannot capture %s: %s", rec["name"], exc.message)
        except Exception:
            if self._failing.get(sid) != "crash":
                self._failing[sid] = "crash"
                log.exception("capturing %s failed", rec["name"])
        finally:
            self._busy.discard(sid)
