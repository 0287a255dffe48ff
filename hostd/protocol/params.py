"""Checking a request's params against what a method takes.

Each method declares its params once; a request that is missing one, has an
unknown one, or has one of the wrong type is answered -32602 with a message
that names the field, before the handler runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InvalidParams

_MISSING = object()

_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "an integer", list: "an array",
               dict: "an object", float: "a number"}  # fmt: skip
_PLURALS = {str: "strings", bool: "booleans", int: "integers", list: "arrays", dict: "objects",
            float: "numbers"}  # fmt: skip


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


@dataclass(frozen=True)
class Param:
    kind: type
    default: Any = _MISSING
    item_type: type | None = None  # for arrays
    nullable: bool = False

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        ok = isinstance(value, self.kind) and not (
            self.kind in (int, float) and isinstance(value, bool)
        )
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            raise InvalidParams(
                f"param {name!r} must be {_TYPE_NAMES[self.kind]}, not {_json_type(value)}", name
            )
        if self.item_type is not None:
            for i, item in enumerate(value):
                if not isinstance(item, self.item_type):
                    raise InvalidParams(
                        f"param {name!r} must hold only {_PLURALS[self.item_type]}; "
                        f"item {i} is {_json_type(item)}",
                        name,
                    )
        return value


def bind(method: str, spec: dict[str, Param], params: dict[str, Any]) -> dict[str, Any]:
    """Checked keyword arguments for a handler, defaults filled in."""
    unknown = sorted(set(params) - set(spec))
    if unknown:
        allowed = ", ".join(spec) or "none"
        raise InvalidParams(
            f"unknown param {unknown[0]!r} for {method} (it takes: {allowed})", unknown[0]
        )
    out: dict[str, Any] = {}
    for name, p in spec.items():
        if name in params:
            out[name] = p.check(name, params[name])
        elif p.required:
            raise InvalidParams(f"missing param {name!r} for {method}", name)
        else:
            out[name] = p.default
    return out
