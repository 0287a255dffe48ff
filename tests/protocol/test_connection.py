"""Both ends of the protocol joined by a fake link (plain bytes), as h11's tests do."""

from __future__ import annotations

import json

import pytest

from hostd.protocol import (
    BadMessage,
    Batch,
    ClientConnection,
    Garbage,
    Notification,
    Reply,
    Request,
    ServerConnection,
)
from hostd.protocol import errors as e
from hostd.protocol.connection import MAX_BATCH


def one(server: ServerConnection, line: bytes) -> object:
    events = server.receive_data(line)
    assert len(events) == 1
    return events[0]


def test_request_round_trip_between_client_and_server() -> None:
    client, server = ClientConnection(), ServerConnection()
    rid, data = client.request("sandbox.get", {"id": "abcd"})
    event = one(server, data)
    assert event == Request(rid, "sandbox.get", {"id": "abcd"})
    assert client.receive_data(server.result(rid, {"ok": True})) == [Reply(rid, {"ok": True})]


def test_error_reply_becomes_the_specific_error_class() -> None:
    client, server = ClientConnection(), ServerConnection()
    rid, _ = client.request("sandbox.get", {"id": "nope"})
    [reply] = client.receive_data(
        server.error(rid, e.NoSuchSandbox("no sandbox 'nope'", {"id": "nope"}))
    )
    assert isinstance(reply, Reply)
    assert isinstance(reply.error, e.NoSuchSandbox)
    assert reply.error.code == -32001 and reply.error.data == {"id": "nope"}


def test_notifications_reach_the_client() -> None:
    client = ClientConnection()
    data = ServerConnection.notification("sandbox.removed", {"id": "x"})
    assert client.receive_data(data) == [Notification("sandbox.removed", {"id": "x"})]


def test_client_ids_are_unique() -> None:
    client = ClientConnection()
    ids = {client.request("hello")[0] for _ in range(100)}
    assert len(ids) == 100


@pytest.mark.parametrize(
    ("line", "code", "needle"),
    [
        (b"{not json", -32700, "invalid JSON"),
        (b"\xff\xfe", -32700, "not UTF-8"),
        (b"42", -32600, "not int"),
        (b"null", -32600, "not null"),
        (b'"hello"', -32600, "not str"),
        (b'{"id": 1, "method": "hello"}', -32600, "jsonrpc"),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "hello"}', -32600, '"1.0"'),
        (b'{"jsonrpc": "2.0", "id": 1}', -32600, "method"),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 5}', -32600, "method"),
        (b'{"jsonrpc": "2.0", "id": {}, "method": "hello"}', -32600, "id"),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "x", "param": {}}', -32600, "'param'"),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": [1]}', -32602, "array"),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "x", "params": 3}', -32600, "params"),
        (b"[]", -32600, "empty batch"),
        (b"[" + b"[[" * 100000 + b"]", -32700, "invalid JSON"),
    ],
)
def test_bad_messages_get_the_right_code_and_say_what_is_wrong(
    line: bytes, code: int, needle: str
) -> None:
    event = one(ServerConnection(), line + b"\n")
    assert isinstance(event, BadMessage)
    assert event.error.code == code
    assert needle in event.error.message


def test_bad_request_is_answered_with_its_id_when_the_id_is_usable() -> None:
    event = one(ServerConnection(), b'{"jsonrpc": "1.0", "id": "r7", "method": "hello"}\n')
    assert isinstance(event, BadMessage) and event.id == "r7"
    answer = json.loads(ServerConnection.error(event.id, event.error))
    assert answer["id"] == "r7" and answer["error"]["code"] == -32600


def test_line_over_the_cap_is_an_invalid_request_and_the_next_line_still_works() -> None:
    server = ServerConnection(max_line=64)
    events = server.receive_data(
        b'{"x": "' + b"a" * 100 + b'"}\n{"jsonrpc":"2.0","id":1,"method":"hello"}\n'
    )
    assert isinstance(events[0], BadMessage) and events[0].error.code == -32600
    assert "cap" in events[0].error.message
    assert events[1] == Request(1, "hello", {})


def test_batch_items_are_classified_one_by_one() -> None:
    line = (
        json.dumps(
            [
                {"jsonrpc": "2.0", "id": 1, "method": "hello"},
                {"jsonrpc": "2.0", "method": "ping"},
                5,
            ]
        ).encode()
        + b"\n"
    )
    event = one(ServerConnection(), line)
    assert isinstance(event, Batch)
    assert event.items[0] == Request(1, "hello", {})
    assert event.items[1] == Notification("ping", {})
    assert isinstance(event.items[2], BadMessage) and event.items[2].error.code == -32600


def test_oversized_batch_is_refused() -> None:
    items = [{"jsonrpc": "2.0", "id": i, "method": "hello"} for i in range(MAX_BATCH + 1)]
    event = one(ServerConnection(), json.dumps(items).encode() + b"\n")
    assert isinstance(event, BadMessage) and "limit" in event.error.message


def test_batch_reply_reaches_the_client_as_separate_replies() -> None:
    client = ClientConnection()
    data = ServerConnection.batch(
        [
            {"jsonrpc": "2.0", "id": 1, "result": 1},
            {"jsonrpc": "2.0", "id": 2, "error": {"code": -32601, "message": "unknown method"}},
        ]
    )
    replies = client.receive_data(data)
    assert replies[0] == Reply(1, 1)
    assert isinstance(replies[1], Reply) and isinstance(replies[1].error, e.MethodNotFound)
    assert ServerConnection.batch([]) == b""


def test_client_reports_lines_that_are_not_json_rpc() -> None:
    events = ClientConnection().receive_data(b'Welcome to my shell!\n{"a": 1}\n')
    assert [type(ev) for ev in events] == [Garbage, Garbage]
    assert "Welcome" in events[0].text  # type: ignore[union-attr]


def test_unknown_error_codes_keep_their_code() -> None:
    err = e.RpcError.from_obj({"code": -31999, "message": "odd"})
    assert err.code == -31999 and err.message == "odd"
