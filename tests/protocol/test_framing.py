"""Framing: lines in, lines out, with a cap. No I/O."""

from __future__ import annotations

import json

from hostd.protocol import LineBuffer, LineTooLong, encode


def test_lines_split_across_chunks_are_joined() -> None:
    buf = LineBuffer()
    assert buf.feed(b'{"a":') == []
    assert buf.feed(b"1}\n{") == [b'{"a":1}']
    assert buf.feed(b'"b":2}\n') == [b'{"b":2}']


def test_several_lines_in_one_chunk_and_blank_lines_skipped() -> None:
    assert LineBuffer().feed(b"1\n\n  \n2\r\n3\n") == [b"1", b"2", b"3"]


def test_line_over_cap_is_reported_once_and_the_stream_goes_on() -> None:
    buf = LineBuffer(max_line=10)
    out = buf.feed(b"x" * 8)
    out += buf.feed(b"y" * 8)
    out += buf.feed(b"z" * 100 + b"\nok\n")
    assert out == [LineTooLong(116), b"ok"]
    assert buf.pending == 0


def test_line_exactly_at_cap_passes() -> None:
    assert LineBuffer(max_line=4).feed(b"abcd\nabcde\n") == [b"abcd", LineTooLong(5)]


def test_encode_is_one_line_even_for_text_with_line_separators() -> None:
    data = encode({"text": "a\nb\u2028c"})
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == {"text": "a\nb\u2028c"}
