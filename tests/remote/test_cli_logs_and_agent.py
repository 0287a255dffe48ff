"""claude-remote logs removes terminal control sequences unless --raw (also
with -f); create --ssh-agent asks for the agent to be forwarded; where a
sandbox keeps its Claude config is shown where a sandbox is described."""

from __future__ import annotations

import json

from app.cli_output import print_where
from app.cli_text import Cleaner, strip_controls
from tests.helpers import wait_for
from tests.remote.conftest import Remote
from tests.remote.test_cli import cli_process

ESC = "\x1b"
# Colours, a clear and a cursor move, an OSC title (BEL-ended and ST-ended),
# OSC 52 (the clipboard), a DCS, a charset switch, a BEL, a backspace, C1
# CSI, a progress line rewritten with \r, and \r\n line ends.
NASTY = (
    f"{ESC}[1;31mred{ESC}[0m plain{ESC}[2J{ESC}[10;5H moved\r\n"
    f"{ESC}]0;evil title\x07{ESC}]52;c;ZXZpbA=={ESC}\\{ESC}P+q544e{ESC}\\"
    f"{ESC}(Bbell\x07 back\x08space \x9b31mc1\r\n"
    "progress 10%\rprogress 100%\n"
    "tab\there\n"
)
CLEAN = "red plain moved\nbell backspace c1\nprogress 10%\nprogress 100%\ntab\there\n"


def test_control_sequences_are_removed_and_the_text_kept() -> None:
    assert strip_controls(NASTY) == CLEAN
    assert strip_controls("caf\u00e9 \u2713 \U0001f600\n") == "caf\u00e9 \u2713 \U0001f600\n"
    # Bidi controls would reorder the rest of the line ("Trojan Source").
    assert strip_controls("ok \u202egnp.exe\u202c \u2066x\u2069\n") == "ok gnp.exe x\n"
    # Cut anywhere, fed in two pieces (logs -f), the same text comes out.
    for cut in range(len(NASTY) + 1):
        c = Cleaner()
        assert c.feed(NASTY[:cut]) + c.feed(NASTY[cut:]) + c.flush() == CLEAN, cut
    # One character at a time, too.
    c = Cleaner()
    assert "".join(c.feed(ch) for ch in NASTY) + c.flush() == CLEAN
    # An OSC that never ends does not stop the output for ever.
    c = Cleaner()
    out = c.feed(f"{ESC}]0;" + "x" * 70_000) + c.feed("more\n")
    assert out.endswith("more\n") and ESC not in out


def test_print_where_shows_the_claude_config_only_when_hostd_says(capsys) -> None:  # type: ignore[no-untyped-def]
    print_where({"id": "x", "claude_config": None})  # type: ignore[typeddict-item]
    assert capsys.readouterr().out == ""
    print_where({"id": "x", "claude_config": "/srv/state/claude/5f0c"})  # type: ignore[typeddict-item]
    assert capsys.readouterr().out == (
        "claude config: /srv/state/claude/5f0c (its sessions: /srv/state/claude/5f0c/projects)\n"
    )


def test_logs_strip_control_sequences_unless_raw_also_when_following(remote: Remote) -> None:
    h = ("--host", "testhost")
    script = remote.project / "nasty.py"
    # The agent writes NASTY once, then waits (its terminal keeps it in the log).
    script.write_text(
        f"import sys, time\nsys.stdout.write({NASTY!r})\nsys.stdout.flush()\ntime.sleep(600)\n"
    )
    agent = f"python3 {script}"
    res = remote.cli(*h, "create", "nasty", "none", str(remote.project), "--agent", agent)
    assert res.returncode == 0, res.stderr
    wait_for(lambda: "tab" in remote.cli(*h, "logs", "nasty").stdout, what="the agent's output")
    raw = remote.cli(*h, "logs", "nasty", "--raw").stdout
    assert "]0;evil title\x07" in raw and f"{ESC}[1;31m" in raw  # --raw: as the terminal got it
    clean = remote.cli(*h, "logs", "nasty").stdout
    for bad in (ESC, "\x07", "\x08", "\x9b", "\r", "evil title", "ZXZpbA"):
        assert bad not in clean, repr(bad)
    assert "red plain moved" in clean and "progress 100%" in clean and "tab\there" in clean
    as_json = json.loads(remote.cli(*h, "logs", "nasty", "--json").stdout)["text"]
    assert ESC not in as_json and "bell backspace c1" in as_json

    follower = cli_process(remote, *h, "logs", "nasty", "-f")
    try:
        assert follower.stdout is not None
        seen = b""
        while b"tab\there" not in seen:
            line = follower.stdout.readline()
            assert line, "logs -f ended early"
            seen += line
        text = seen.decode()
        assert ESC not in text and "\x07" not in text and "red plain moved" in text
    finally:
        follower.kill()
        follower.wait()
    assert remote.cli(*h, "rm", "nasty").returncode == 0


def test_create_with_ssh_agent_asks_for_it_and_without_does_not(remote: Remote) -> None:
    h = ("--host", "testhost")
    on = remote.cli(*h, "create", "fwd", "none", str(remote.project), "--agent", "sleep 600",
                    "--ssh-agent", "--json")  # fmt: skip
    assert on.returncode == 0, on.stderr
    assert json.loads(on.stdout)["ssh_agent"] is True
    off = remote.cli(*h, "create", "nofwd", "none", str(remote.project), "--agent", "sleep 600")
    assert off.returncode == 0, off.stderr
    listed = {s["name"]: s for s in json.loads(remote.cli(*h, "list", "--json").stdout)}
    assert listed["fwd"]["ssh_agent"] is True and listed["nofwd"]["ssh_agent"] is False
    help_text = remote.cli("create", "--help").stdout
    assert "--ssh-agent" in help_text and "log in" in help_text
    for name in ("fwd", "nofwd"):
        assert remote.cli(*h, "rm", name).returncode == 0
