"""The two ends of a hostd conversation, sans-IO (in the manner of h11).

Feed received bytes with ``receive_data`` and get events back; ask for the
bytes of an outgoing message and write them yourself. Nothing here reads,
writes, sleeps or spawns.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from . import framing
from .errors import InvalidRequest, ParseError, RpcError
from .messages import (
    BadMessage,
    Id,
    Incoming,
    Notification,
    Reply,
    Request,
    decode_json,
    error_obj,
    notification_obj,
    parse_reply,
    parse_request,
    request_obj,
    result_obj,
)

# A batch is answered as a whole, so its size bounds how much one line can make
# the server do at once. 1000 is far beyond what any client here sends (none
# batches today) and small enough that an accidental giant array is refused.
MAX_BATCH = 1000


@dataclass(frozen=True)
class Batch:
    """A JSON array of messages: answer with one array of the responses."""

    items: list[Incoming]


ServerEvent = Request | Notification | BadMessage | Batch


class ServerConnection:
    """The server end: bytes in, requests out; results in, bytes out."""

    def __init__(self, max_line: int = framing.MAX_LINE_BYTES) -> None:
        self._lines = framing.LineBuffer(max_line)

    def receive_data(self, data: bytes) -> list[ServerEvent]:
        events: list[ServerEvent] = []
        for line in self._lines.feed(data):
            if isinstance(line, framing.LineTooLong):
                events.append(
                    BadMessage(
                        None,
                        InvalidRequest(
                            f"line of {line.size} bytes is over the "
                            f"{self._lines.max_line} byte cap; it was skipped",
                            {"size": line.size, "max": self._lines.max_line},
                        ),
                    )
                )
                continue
            events.append(self._parse_line(line))
        return events

    def _parse_line(self, line: bytes) -> ServerEvent:
        try:
            obj = decode_json(line)
        except ParseError as exc:
            return BadMessage(None, exc)
        if isinstance(obj, list):
            if not obj:
                return BadMessage(
                    None, InvalidRequest("empty batch: an array needs at least one request")
                )
            if len(obj) > MAX_BATCH:
                return BadMessage(
                    None, InvalidRequest(f"batch of {len(obj)} is over the limit of {MAX_BATCH}")
                )
            return Batch([parse_request(item) for item in obj])
        return parse_request(obj)

    @staticmethod
    def result(rid: Id, result: Any) -> bytes:
        return framing.encode(result_obj(rid, result))

    @staticmethod
    def error(rid: Id, error: RpcError) -> bytes:
        return framing.encode(error_obj(rid, error))

    @staticmethod
    def notification(method: str, params: dict[str, Any]) -> bytes:
        return framing.encode(notification_obj(method, params))

    @staticmethod
    def batch(responses: list[dict[str, Any]]) -> bytes:
        """The answer to a batch; empty bytes when it held only notifications."""
        return framing.encode(responses) if responses else b""


@dataclass(frozen=True)
class Garbage:
    """A line from the server that is not JSON-RPC; kept for the error message."""

    text: str


ClientEvent = Reply | Notification | Garbage


class ClientConnection:
    """The client end: calls out as bytes; replies and notifications in."""

    def __init__(self, max_line: int = framing.MAX_LINE_BYTES) -> None:
        self._lines = framing.LineBuffer(max_line)
        self._ids = itertools.count(1)

    def request(self, method: str, params: dict[str, Any] | None = None) -> tuple[int, bytes]:
        rid = next(self._ids)
        return rid, framing.encode(request_obj(rid, method, params))

    @staticmethod
    def notify(method: str, params: dict[str, Any] | None = None) -> bytes:
        return framing.encode(notification_obj(method, params))

    def receive_data(self, data: bytes) -> list[ClientEvent]:
        events: list[ClientEvent] = []
        for line in self._lines.feed(data):
            if isinstance(line, framing.LineTooLong):
                events.append(Garbage(f"<line of {line.size} bytes over the cap>"))
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                events.append(Garbage(line[:200].decode("utf-8", "replace")))
                continue
            for item in obj if isinstance(obj, list) else [obj]:
                parsed = parse_reply(item)
                if parsed is None:
                    events.append(Garbage(json.dumps(item)[:200]))
                else:
                    events.append(parsed)
        return events
