"""The wire as a client sees it: a real hostd process over pipes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hostd.protocol import MAX_LINE_BYTES
from tests.helpers import Hostd


def test_hello_reports_protocol_backends_and_capabilities(hostd: Hostd) -> None:
    hello = hostd.call("hello", client="pytest")
    assert hello["protocol"] == 1
    assert hello["user"] and hello["hostname"]
    by_name = {b["name"]: b for b in hello["backends"]}
    assert set(by_name) == {"bubblewrap", "container", "vm", "none"}
    assert by_name["none"]["available"] is True
    assert by_name["none"]["isolated"] is False
    assert "no isolation" in by_name["none"]["detail"]
    # The stub launcher on PATH serves bubblewrap; no VM launcher is there.
    assert by_name["bubblewrap"]["available"] is True
    assert by_name["bubblewrap"]["launcher"].endswith("/claude-sandbox")
    assert by_name["vm"]["available"] is False
    assert "claude-sandbox-vm not found" in by_name["vm"]["detail"]
    assert "sandbox.create" in hello["capabilities"]
    assert hello["warnings"] == []


def test_garbage_gets_parse_error_and_hostd_keeps_serving(hostd: Hostd) -> None:
    hostd.send_raw(b"this is not json\n")
    line = hostd.next_line()
    assert line["id"] is None and line["error"]["code"] == -32700
    assert hostd.call("sandbox.list") == []


@pytest.mark.parametrize(
    ("message", "code", "needle"),
    [
        (5, -32600, "a request must be a JSON object"),
        ({"id": 9, "method": "hello"}, -32600, "jsonrpc"),
        ({"jsonrpc": "2.0", "id": 9, "method": "sandbox.explode"}, -32601, "sandbox.explode"),
        ({"jsonrpc": "2.0", "id": 9, "method": "sandbox.get"}, -32602, "missing param 'id'"),
        (
            {"jsonrpc": "2.0", "id": 9, "method": "sandbox.get", "params": {"id": 5}},
            -32602,
            "must be a string",
        ),
        (
            {"jsonrpc": "2.0", "id": 9, "method": "sandbox.list", "params": {"x": 1}},
            -32602,
            "unknown param 'x'",
        ),
        (
            {"jsonrpc": "2.0", "id": 9, "method": "sandbox.get", "params": {"id": ""}},
            -32602,
            "empty",
        ),
        (
            {"jsonrpc": "2.0", "id": 9, "method": "sandbox.get", "params": {"id": "ab"}},
            -32602,
            "at least 4",
        ),
        (
            {"jsonrpc": "2.0", "id": 9, "method": "sandbox.get", "params": {"id": "abcdef"}},
            -32001,
            "abcdef",
        ),
        (
            {
                "jsonrpc": "2.0",
                "id": 9,
                "method": "sandbox.logs",
                "params": {"id": "abcd", "tail": True},
            },
            -32602,
            "integer",
        ),
        (
            {"jsonrpc": "2.0", "id": 9, "method": "subscribe", "params": {"topics": ["weather"]}},
            -32602,
            "unknown topic",
        ),
        (
            {"jsonrpc": "2.0", "id": 9, "method": "subscribe", "params": {"topics": "sandboxes"}},
            -32602,
            "array",
        ),
    ],
)
def test_bad_requests_get_a_clear_error(
    hostd: Hostd, message: object, code: int, needle: str
) -> None:
    hostd.send_raw(json.dumps(message).encode() + b"\n")
    line = hostd.next_line()
    assert line["error"]["code"] == code, line
    assert needle in line["error"]["message"]
    if isinstance(message, dict) and "jsonrpc" in message:
        assert line["id"] == 9


def test_invalid_params_name_the_field(hostd: Hostd) -> None:
    err = hostd.error("sandbox.create", name="ok", backend="none", project_dir=5)
    assert err.code == -32602 and err.data == {"field": "project_dir"}


def test_line_over_32_mib_is_refused_and_the_connection_goes_on(hostd: Hostd) -> None:
    big = (
        b'{"jsonrpc":"2.0","id":1,"method":"hello","params":{"client":"'
        + b"x" * MAX_LINE_BYTES
        + b'"}}\n'
    )
    hostd.send_raw(big + b'{"jsonrpc":"2.0","id":2,"method":"sandbox.list"}\n')
    first = hostd.next_line()
    assert first["error"]["code"] == -32600 and "cap" in first["error"]["message"]
    assert hostd.next_line() == {"jsonrpc": "2.0", "id": 2, "result": []}


def test_batch_is_answered_as_an_array_without_the_notifications(hostd: Hostd) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": "a", "method": "sandbox.list"},
        {"jsonrpc": "2.0", "method": "sandbox.list"},
        {"jsonrpc": "2.0", "id": "b", "method": "nope"},
        7,
    ]
    hostd.send_raw(json.dumps(batch).encode() + b"\n")
    answer = hostd.next_line()
    assert isinstance(answer, list) and len(answer) == 3
    assert answer[0] == {"jsonrpc": "2.0", "id": "a", "result": []}
    assert answer[1]["id"] == "b" and answer[1]["error"]["code"] == -32601
    assert answer[2]["id"] is None and answer[2]["error"]["code"] == -32600


def test_a_batch_of_only_notifications_gets_no_answer(hostd: Hostd) -> None:
    hostd.send_raw(b'[{"jsonrpc":"2.0","method":"sandbox.list"}]\n')
    hostd.send_raw(b'{"jsonrpc":"2.0","id":3,"method":"sandbox.list"}\n')
    assert hostd.next_line()["id"] == 3


def test_stdin_and_stdout_are_taken_off_the_protocol(hostd: Hostd) -> None:
    hostd.call("hello")
    fd = Path(f"/proc/{hostd.proc.pid}/fd")
    assert os.readlink(fd / "0") == "/dev/null"
    # fd 1 is stderr now: a stray print or an inherited stdout cannot reach the wire
    assert os.readlink(fd / "1") == os.readlink(fd / "2")


def test_end_of_input_ends_hostd_cleanly(hostd: Hostd) -> None:
    hostd.call("hello")
    assert hostd.close() == 0
    assert "Traceback" not in hostd.stderr_text


def test_system_metrics_are_plausible(hostd: Hostd) -> None:
    m = hostd.call("system.metrics")
    assert 0 <= m["cpu_percent"] <= 100
    assert 0 < m["memory_used"] < m["memory_total"]
    assert 0 < m["disk_used"] < m["disk_total"]
    assert len(m["load"]) == 3
    assert m["net_rx_bytes"] >= 0 and m["net_tx_bytes"] >= 0
