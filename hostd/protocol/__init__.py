"""hostd's wire protocol: JSON-RPC 2.0 over newline-delimited JSON, sans-IO.

Standard library only: this is the one part of hostd that the client (app/)
imports, so it must not drag the server's dependencies along.
"""

from __future__ import annotations

from . import errors, methods
from .connection import Batch, ClientConnection, ClientEvent, Garbage, ServerConnection, ServerEvent
from .errors import RpcError
from .framing import MAX_LINE_BYTES, LineBuffer, LineTooLong, encode
from .messages import BadMessage, Notification, Reply, Request

__all__ = [
    "MAX_LINE_BYTES",
    "BadMessage",
    "Batch",
    "ClientConnection",
    "ClientEvent",
    "Garbage",
    "LineBuffer",
    "LineTooLong",
    "Notification",
    "Reply",
    "Request",
    "RpcError",
    "ServerConnection",
    "ServerEvent",
    "encode",
    "errors",
    "methods",
]
