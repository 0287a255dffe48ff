"""JSON-RPC error codes and one exception class per code.

The codes from -32700 to -32603 are JSON-RPC 2.0's own; -32001 and below are
this project's (docs/protocol.md, "Errors", lists them). Every error carries
a message a person can act on and, where it helps, ``data`` naming what was
wrong.
"""

from __future__ import annotations

from typing import Any, ClassVar

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

NO_SUCH_SANDBOX = -32001
AMBIGUOUS_ID = -32002
INVALID_STATE = -32003
BACKEND_UNAVAILABLE = -32004
PROCESS_FAILED = -32005


class RpcError(Exception):
    """An error that becomes a JSON-RPC error object on the wire."""

    code: ClassVar[int] = INTERNAL_ERROR

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            obj["data"] = self.data
        return obj

    @staticmethod
    def from_obj(obj: Any) -> RpcError:
        """Rebuild the most specific error class from a wire error object."""
        if not isinstance(obj, dict):
            return InternalError(f"malformed error object: {obj!r}")
        code = obj.get("code")
        message = obj.get("message")
        if not isinstance(message, str):
            message = repr(message)
        cls = _BY_CODE.get(code) if isinstance(code, int) else None
        if cls is None:
            err = RpcError(message, obj.get("data"))
            err.code = code if isinstance(code, int) else INTERNAL_ERROR  # type: ignore[misc]
            return err
        err = cls.__new__(cls)
        RpcError.__init__(err, message, obj.get("data"))
        return err

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.message!r})"


class ParseError(RpcError):
    code = PARSE_ERROR


class InvalidRequest(RpcError):
    code = INVALID_REQUEST


class MethodNotFound(RpcError):
    code = METHOD_NOT_FOUND


class InvalidParams(RpcError):
    code = INVALID_PARAMS

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, {"field": field} if field else None)

    @property
    def field(self) -> str | None:
        """The param that was wrong, when the error names one."""
        return self.data.get("field") if isinstance(self.data, dict) else None


class InternalError(RpcError):
    code = INTERNAL_ERROR


class NoSuchSandbox(RpcError):
    code = NO_SUCH_SANDBOX


class AmbiguousId(RpcError):
    code = AMBIGUOUS_ID


class InvalidState(RpcError):
    code = INVALID_STATE


class BackendUnavailable(RpcError):
    code = BACKEND_UNAVAILABLE


class ProcessFailed(RpcError):
    code = PROCESS_FAILED


_BY_CODE: dict[int, type[RpcError]] = {
    cls.code: cls
    for cls in (
        ParseError,
        InvalidRequest,
        MethodNotFound,
        InvalidParams,
        InternalError,
        NoSuchSandbox,
        AmbiguousId,
        InvalidState,
        BackendUnavailable,
        ProcessFailed,
    )
}
