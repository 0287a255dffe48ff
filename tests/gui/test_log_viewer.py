"""The log viewer's decoder, driven by feeding text.

Text given to ``Decoder.feed`` stands in for the byte stream of a
sandbox's pane output, split wherever a test likes.
"""

from __future__ import annotations

import ast
from pathlib import Path

from app.ui.logview import ansi
from app.ui.logview.ansi import (
    BOLD,
    DIM,
    LINE_CAP,
    REVERSE,
    UNDERLINE,
    Decoder,
    Style,
    runs,
    unpack,
)

# Output as a TUI, a shell prompt and a progress bar write it: every kind of
# escape the decoder must remove, around text that must survive.
NOISY = (
    "\x1b]0;claude: ~/proj\x07\x1b[?1049h\x1b[?25l\x1b[>4;2m\x1b[2J\x1b[H"
    "\x1b[1;31mred bold\x1b[0m then \x1b[38;5;70m256\x1b[39m and \x1b[38;2;1;2;3mrgb\x1b[m\r\n"
    "\x1bP+q544e\x1b\\\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\\x1b(B\x1b)0\x1b7\x1b8\x1b=\x1b>"
    "\x1b[3;5Hmoved\x1b[K\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[2 q\x07\x0e\x0f end\n"
    "get 10%\rget 55%\rget 100%\n"
)
NOISY_TEXT = ["red bold then 256 and rgb", "movedlink  end", "get 100%"]


def decode(*chunks: str) -> list[str]:
    d = Decoder()
    lines = [line for chunk in chunks for line in d.feed(chunk)]
    partial = d.partial()[0]
    return [text for text, _ in lines] + ([partial] if partial else [])


# -- the decoder, no Qt -------------------------------------------------------------


def test_the_decoder_module_imports_no_qt() -> None:
    tree = ast.parse(Path(ansi.__file__).read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.split(".")[0] in ("PySide6", "shiboken6", "qasync")]


def test_every_escape_is_removed_whole() -> None:
    assert decode(NOISY) == NOISY_TEXT


def test_escapes_split_at_any_point_leave_no_fragment() -> None:
    for i in range(len(NOISY) + 1):
        assert decode(NOISY[:i], NOISY[i:]) == NOISY_TEXT, f"split at {i}: {NOISY[:i]!r}"
    # Three pieces, split around each escape's introducer and parameters.
    for i in range(0, len(NOISY), 3):
        for j in range(i, min(i + 12, len(NOISY))):
            assert decode(NOISY[:i], NOISY[i:j], NOISY[j:]) == NOISY_TEXT, (i, j)
    assert decode(*NOISY) == NOISY_TEXT  # a character at a time


def test_sgr_sets_colours_and_attributes_that_carry_across_lines() -> None:
    d = Decoder()
    lines = d.feed(
        "\x1b[31mred\x1b[91mbright\x1b[38;5;200mi200\x1b[38;2;10;20;30mrgb"
        "\x1b[38:2::40:50:60mcolon\x1b[44;1;2;4;7mall\n"
        "still\x1b[22;24;27;39;49mreset\x1b[0m again\n"
    )
    got = [[(line[0][s:e], unpack(st)) for s, e, st in runs(line)] for line in lines]
    everything = BOLD | DIM | UNDERLINE | REVERSE
    assert got[0] == [
        ("red", Style(1)),
        ("bright", Style(9)),
        ("i200", Style(200)),
        ("rgb", Style((10, 20, 30))),
        ("colon", Style((40, 50, 60))),
        ("all", Style((40, 50, 60), 4, everything)),
    ]
    assert got[1] == [("still", Style((40, 50, 60), 4, everything)), ("reset again", Style())]


def test_private_and_unknown_sgr_change_no_style() -> None:
    d = Decoder()
    (line,) = d.feed("\x1b[>4;2mkeys\x1b[?1mstill\x1b[5;8;53mblink\n")
    assert line == ("keysstillblink", ())


def test_carriage_return_overwrites_and_backspace_steps_back() -> None:
    assert decode("Downloading 10%\rDownloading 75%\r\n") == ["Downloading 75%"]
    assert decode("long status text\rshort\n") == ["shortstatus text"]  # as a terminal shows it
    assert decode("long status text\rshort\x1b[K\n") == ["short"]
    assert decode("⠋ work\x1b[2K\x1b[1G⠙ work\x1b[2K\x1b[1G✔ done\n") == ["✔ done"]
    assert decode("abc\b\bXY\n") == ["aXY"]
    assert decode("a\tb\n", "1234567890\tc\n") == ["a       b", "1234567890      c"]


def test_overwriting_keeps_the_style_of_each_character() -> None:
    d = Decoder()
    (line,) = d.feed("\x1b[32mgreen\x1b[0m plain\r\x1b[31mRE\x1b[0m\n")
    assert [(line[0][s:e], unpack(st).fg) for s, e, st in runs(line)] == [
        ("RE", 1),
        ("een", 2),
        (" plain", None),
    ]


def test_a_pathological_line_is_cut_at_the_cap() -> None:
    d = Decoder()
    lines = d.feed("\x1b[33m" + "y" * (2 * LINE_CAP + 5) + "\x1b[0m tail\n")
    assert [len(text) for text, _ in lines] == [LINE_CAP, LINE_CAP, 10]
    assert all(unpack(spans[1]).fg == 3 for _, spans in lines)
    assert lines[2][0] == "yyyyy tail"


def test_an_unterminated_string_swallows_only_itself() -> None:
    d = Decoder()
    assert d.feed("before\x1b]0;" + "t" * 100_000) == []
    assert d.partial()[0] == "before"
    assert [text for text, _ in d.feed("itle\x07 after\n")] == ["before after"]
