"""JSON-RPC 2.0 message objects: parsing and building. No I/O.

Parsing is strict where strictness catches mistakes a person makes typing
requests by hand (a missing ``jsonrpc``, ``param`` for ``params``) and says
exactly what was wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidParams, InvalidRequest, ParseError, RpcError

Id = str | int | None

_REQUEST_KEYS = frozenset({"jsonrpc", "id", "method", "params"})


@dataclass(frozen=True)
class Request:
    """A call that expects exactly one response."""

    id: Id
    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """A message without an id: no response is sent for it."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BadMessage:
    """A message that could not be taken; ``id`` is what to answer it with."""

    id: Id
    error: RpcError


@dataclass(frozen=True)
class Reply:
    """A response, as a client sees it: a result or an error."""

    id: Id
    result: Any = None
    error: RpcError | None = None


Incoming = Request | Notification | BadMessage


def decode_json(line: bytes) -> Any:
    """Decode one line of JSON, raising :class:`ParseError` with the reason."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ParseError("invalid JSON: nested too deeply") from None


def _usable_id(obj: dict[str, Any]) -> Id:
    value = obj.get("id")
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


def parse_request(obj: Any) -> Incoming:
    """Classify one decoded message sent to a server."""
    if not isinstance(obj, dict):
        kind = type(obj).__name__ if obj is not None else "null"
        return BadMessage(None, InvalidRequest(f"a request must be a JSON object, not {kind}"))
    rid = _usable_id(obj)
    if obj.get("jsonrpc") != "2.0":
        if "jsonrpc" not in obj:
            msg = 'missing "jsonrpc": "2.0"'
        else:
            msg = f'"jsonrpc" must be "2.0", not {json.dumps(obj["jsonrpc"])}'
        return BadMessage(rid, InvalidRequest(msg, {"field": "jsonrpc"}))
    extra = sorted(set(obj) - _REQUEST_KEYS)
    if extra:
        return BadMessage(
            rid,
            InvalidRequest(
                f"unknown member {extra[0]!r} in request (allowed: id, jsonrpc, method, params)",
                {"field": extra[0]},
            ),
        )
    if "id" in obj and obj["id"] is not None and rid is None:
        return BadMessage(
            None, InvalidRequest('"id" must be a string, an integer or null', {"field": "id"})
        )
    method = obj.get("method")
    if not isinstance(method, str) or not method:
        return BadMessage(
            rid, InvalidRequest('"method" must be a non-empty string', {"field": "method"})
        )
    params = obj.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        if isinstance(params, list):
            err: RpcError = InvalidParams(
                "params must be an object of named parameters, not an array", "params"
            )
        else:
            err = InvalidRequest('"params" must be an object', {"field": "params"})
        if "id" not in obj:
            return Notification(method, {})
        return BadMessage(rid, err)
    if "id" not in obj:
        return Notification(method, params)
    return Request(rid, method, params)


def parse_reply(obj: Any) -> Reply | Notification | None:
    """Classify one decoded message sent to a client; None when it is neither."""
    if not isinstance(obj, dict) or obj.get("jsonrpc") != "2.0":
        return None
    if "method" in obj and "id" not in obj:
        method = obj["method"]
        params = obj.get("params", {})
        if not isinstance(method, str) or not isinstance(params, dict):
            return None
        return Notification(method, params)
    if "id" not in obj:
        return None
    rid = obj["id"]
    if "error" in obj:
        return Reply(rid, error=RpcError.from_obj(obj["error"]))
    if "result" in obj:
        return Reply(rid, result=obj["result"])
    return None


def request_obj(rid: Id, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params:
        obj["params"] = params
    return obj


def notification_obj(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        obj["params"] = params
    return obj


def result_obj(rid: Id, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def error_obj(rid: Id, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": error.to_obj()}
