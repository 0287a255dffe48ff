"""The writer: a slow reader gets every response and only the latest frame."""

from __future__ import annotations

import os
import threading

from hostd.server.outbox import Outbox


def read_all(fd: int, out: list[bytes]) -> None:
    while chunk := os.read(fd, 1 << 16):
        out.append(chunk)


def test_slow_reader_gets_every_response_but_only_the_latest_frame() -> None:
    r, w = os.pipe()
    box = Outbox(w)
    big = b"x" * (256 * 1024) + b"\n"  # more than a pipe holds: the writer blocks
    box.put(big)
    for i in range(5):
        box.put_latest(("screenshot", "a"), f"frame-a-{i}\n".encode())
    box.put_latest(("screenshot", "b"), b"frame-b-0\n")
    box.put(b"response-1\n")
    assert box.pending_latest(("screenshot", "a"))
    got: list[bytes] = []
    reader = threading.Thread(target=read_all, args=(r, got))
    reader.start()
    box.close()
    os.close(w)
    reader.join(10)
    os.close(r)
    lines = b"".join(got).split(b"\n")
    assert lines[0] == big[:-1]
    assert lines[1:-1] == [b"response-1", b"frame-a-4", b"frame-b-0"]


def test_a_closed_reader_marks_the_outbox_broken_and_tells() -> None:
    r, w = os.pipe()
    told = threading.Event()
    box = Outbox(w, on_broken=told.set)
    os.close(r)
    box.put(b"hello\n")
    assert told.wait(5)
    assert box.broken
    box.put(b"more\n")  # dropped quietly: nobody is listening
    box.close()
    os.close(w)
