"""The method table in hostd/protocol/spec.py: what docs/protocol.md says, and
what hostd and the client check requests against. No I/O but reading the doc."""

from __future__ import annotations

import json
import re

import pytest

from hostd.protocol import methods as m
from hostd.protocol import spec
from hostd.protocol.errors import InvalidParams
from hostd.protocol.params import Param, bind
from tests.helpers import REPO

JSON_TYPES = {str: "string", bool: "boolean", int: "integer", list: "array", dict: "object"}


def doc_cell(name: str, p: Param) -> str:
    kind = JSON_TYPES[p.kind]
    if p.item_type is not None:
        kind = f"[{JSON_TYPES[p.item_type]}]"
    return f"`{name}: {kind}`" if p.required else f"`{name}: {kind} = {json.dumps(p.default)}`"


def doc_table() -> dict[str, str]:
    """The rows of the Methods table in docs/protocol.md: method -> params cell."""
    text = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = text.split("\n## Methods\n", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `([a-z_.]+)` \| (.*) \|$", section, re.M)
    return dict(rows)


def test_the_doc_lists_exactly_the_methods_and_params_of_the_table() -> None:
    documented = doc_table()
    want = {
        method: ", ".join(doc_cell(n, p) for n, p in params.items()) or "none"
        for method, params in spec.METHODS.items()
    }
    assert sorted(documented) == sorted(want), "methods in the doc and the table differ"
    for method, cell in want.items():
        assert documented[method] == cell, f"docs/protocol.md's row for {method}"


def test_every_method_has_a_section_in_the_doc() -> None:
    text = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    headings = " ".join(re.findall(r"^### (.*)$", text, re.M))
    for method in spec.METHODS:
        assert f"`{method}`" in headings, f"no ### section names {method}"


def test_defaults_are_filled_in_and_strangers_refused() -> None:
    got = bind(m.SANDBOX_CREATE, spec.METHODS[m.SANDBOX_CREATE],
               {"name": "a", "backend": "none", "project_dir": "/tmp"})  # fmt: skip
    assert got["agent"] == spec.DEFAULT_AGENT and got["network"] is True
    assert got["geometry"] == spec.DEFAULT_GEOMETRY and got["client_token"] is None
    with pytest.raises(InvalidParams, match=r"unknown param 'colour' for sandbox\.get"):
        bind(m.SANDBOX_GET, spec.METHODS[m.SANDBOX_GET], {"id": "x", "colour": 1})
    with pytest.raises(InvalidParams, match="param 'keys' must hold only strings; item 1"):
        bind(m.SANDBOX_SEND_KEYS, spec.METHODS[m.SANDBOX_SEND_KEYS], {"id": "x", "keys": ["a", 1]})


def test_capabilities_name_every_method_and_topic() -> None:
    assert set(spec.METHODS) <= set(spec.CAPABILITIES)
    assert "topic:logs:<id>" in spec.CAPABILITIES and "batch" in spec.CAPABILITIES
