"""A tmux server of its own per sandbox, driven through libtmux.

Each sandbox gets a tmux server on a socket inside its 0700 runtime folder,
so other users cannot reach it and one sandbox's tmux cannot disturb another.
The server reads a config file written by hostd (never the person's
``~/.tmux.conf``), which turns ``remain-on-exit`` on before any command runs:
a launcher that fails at once keeps its pane, and its exit status, to read.

The pane's first process is a fixed gate script that waits on a tmux
``wait-for`` channel and then execs the launcher argv. hostd opens the log
pipe (``pipe-pane``) and only then opens the gate, so the log holds every byte
the launcher writes, even one that prints and exits immediately. The launcher
argv is passed as arguments, never spliced into a shell string.

The server starts with the environment it is given (:mod:`.environ`'s
allow-list), never hostd's: a tmux server hands its own environment to every
pane, and libtmux would start it with hostd's. So the first command, which
starts the server, is run here with that environment; later ones only talk
to the running server.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..protocol.errors import ProcessFailed
from .paths import create_private_file
from .procs import ProcRef
from .tools import require

if TYPE_CHECKING:
    import libtmux
    from libtmux.common import tmux_cmd

CONFIG = """\
# Written by claude-sandbox hostd for this sandbox's private tmux server.
set -g remain-on-exit on
set -g history-limit 50000
set -g exit-empty off
# A client that attaches later (the person, from their desktop or an SSH
# login) must not copy its SSH_AUTH_SOCK, DISPLAY and the like into the
# session, where a new pane would inherit them.
set -g update-environment ""
# Panes get DISPLAY and XAUTHORITY from their session (new-session -e) or not
# at all: never hostd's own, which may name the person's desktop display.
set-environment -gu DISPLAY
set-environment -gu XAUTHORITY
"""

# "$1" tmux binary, "$2" socket, "$3" channel; the rest is the launcher argv.
# A constant: nothing from a request is ever pasted into it.
_GATE = '"$1" -S "$2" wait-for "$3" || exit 125; shift 3; exec "$@"'
_GATE_CHANNEL = "claude-sandbox-go"

# A dead pane's exit status can trail pane_dead by a moment; tmux fills it in
# when it reaps the child. Two seconds is an order of magnitude beyond that,
# with the nudge below.
DEAD_STATUS_WAIT_S = 2.0

# tmux starts a server and a session in milliseconds; a minute means it hangs.
START_TIMEOUT_S = 60.0

DEFAULT_SIZE = (200, 50)  # columns, rows; an attaching client resizes it


@dataclass(frozen=True)
class Session:
    socket: Path
    name: str
    pane_id: str
    server: ProcRef
    pane: ProcRef


@dataclass(frozen=True)
class PaneState:
    dead: bool
    status: int | None


def require_tmux() -> str:
    return require("tmux")


def session_name_for(name: str) -> str:
    # tmux turns '.' and ':' in session names into '_'; do it ourselves so the
    # recorded name is the one tmux uses.
    return name.replace(".", "_").replace(":", "_")


def server_for(socket: Path, config: Path | None = None) -> libtmux.Server:
    # Imported here: libtmux costs ~40 ms to import, and hostd's cold start
    # (to the hello reply) does not need it.
    import libtmux

    return libtmux.Server(socket_path=str(socket), config_file=str(config) if config else None)


def start(
    runtime_dir: Path,
    session: str,
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    log_file: Path,
    server_env: Mapping[str, str],
    size: tuple[int, int] = DEFAULT_SIZE,
) -> Session:
    """Start the sandbox's tmux server and session running ``argv``.

    ``server_env`` is the whole environment of the server (and so of the
    pane), ``env`` what the session adds. On any failure the tmux server is
    killed before the error is raised.
    """
    tmux_bin = require_tmux()
    socket = runtime_dir / "tmux.sock"
    config = runtime_dir / "tmux.conf"
    create_private_file(config, CONFIG.encode())
    server = server_for(socket, config)
    env_args: list[str] = []
    for key, value in env.items():
        env_args += ["-e", f"{key}={value}"]
    cols, rows = size
    first = [
        tmux_bin, "-S", str(socket), "-f", str(config),
        "new-session", "-d", "-P", "-F", "#{pane_id} #{pane_pid} #{pid}",
        "-s", session, "-x", str(cols), "-y", str(rows), "-c", cwd, *env_args,
        "--", "sh", "-c", _GATE, "claude-sandbox-gate",
        tmux_bin, str(socket), _GATE_CHANNEL, *argv,
    ]  # fmt: skip
    try:
        res = subprocess.run(
            first, env=dict(server_env), capture_output=True, text=True,
            stdin=subprocess.DEVNULL, timeout=START_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        kill_server(socket)
        raise ProcessFailed(f"tmux could not start the session: {exc}") from None
    lines = res.stdout.splitlines()
    if res.returncode != 0 or not lines:
        kill_server(socket)
        err = res.stderr.strip() or f"exit status {res.returncode}"
        raise ProcessFailed(f"tmux could not start the session: {err}")
    try:
        pane_id, pane_pid, server_pid = lines[0].split()
        result = Session(
            socket, session, pane_id, ProcRef.of(int(server_pid)), ProcRef.of(int(pane_pid))
        )
        # Appending (>>) keeps the log of earlier runs of a restarted sandbox.
        pipe = f"exec cat >> {shlex.quote(str(log_file))}"
        _check(server.cmd("pipe-pane", "-t", pane_id, "-o", pipe), "pipe the pane to its log")
        _check(server.cmd("wait-for", "-S", _GATE_CHANNEL), "start the launcher")
    except BaseException:
        kill_server(socket)
        raise
    return result


def kill_server(socket: Path) -> None:
    if socket.exists():
        server_for(socket).cmd("kill-server")


def server_pids(socket: Path) -> list[int]:
    """The tmux server's pid and its panes' pids, asked of the server itself."""
    if not socket.exists():
        return []
    res = server_for(socket).cmd("list-panes", "-a", "-F", "#{pid} #{pane_pid}")
    if res.returncode != 0:
        return []
    return sorted({int(p) for line in res.stdout for p in line.split() if p.isdigit()})


def pane_state(socket: Path, pane_id: str) -> PaneState | None:
    """The pane's state, or None when its server or pane is gone."""
    server = server_for(socket)
    deadline = time.monotonic() + DEAD_STATUS_WAIT_S
    while True:
        res = server.cmd("display-message", "-p", "-t", pane_id, "#{pane_dead} #{pane_dead_status}")
        if res.returncode != 0 or not res.stdout:
            return None
        fields = res.stdout[0].split()
        dead = fields[0] == "1"
        if not dead:
            return PaneState(False, None)
        if len(fields) > 1 and fields[1].lstrip("-").isdigit():
            return PaneState(True, int(fields[1]))
        if time.monotonic() > deadline:
            return PaneState(True, None)
        # tmux 3.3a sometimes misses the SIGCHLD of a pane that exits right
        # after it starts: the pane shows dead, its process stays a zombie and
        # the status never comes. Any child of the server exiting makes it
        # reap every exited child, so run a no-op job to get the status.
        server.cmd("run-shell", "true")
        time.sleep(0.05)


def send_keys(socket: Path, pane_id: str, keys: list[str]) -> None:
    # "--" so that a key such as "-X" is sent, not taken as a flag.
    _check(server_for(socket).cmd("send-keys", "-t", pane_id, "--", *keys), "send keys")


def capture(socket: Path, pane_id: str, escapes: bool = False) -> dict[str, object]:
    """The pane's visible screen: ``{text, cols, rows, cursor: [x, y]}``.

    ``text`` has one line per row (trailing blank rows dropped); with
    ``escapes`` it keeps the colours and attributes as terminal escapes.
    """
    server = server_for(socket)
    fmt = "#{pane_width} #{pane_height} #{cursor_x} #{cursor_y} #{pane_dead}"
    info = server.cmd("display-message", "-p", "-t", pane_id, fmt)
    _check(info, "read the pane's size")
    cols, rows, cx, cy, dead = (int(v) for v in info.stdout[0].split())
    # When a pane dies, tmux writes "Pane is dead" on a new last line, which
    # scrolls the screen's top line into the history; take it back.
    first = ["-S", "-1"] if dead else []
    res = server.cmd("capture-pane", "-p", "-t", pane_id, *first, *(["-e"] if escapes else []))
    _check(res, "capture the pane")
    return {"text": "\n".join(res.stdout), "cols": cols, "rows": rows, "cursor": [cx, cy]}


def capture_text(socket: Path, pane_id: str) -> str:
    """The pane's visible text alone: one tmux call (the metrics tick's)."""
    res = server_for(socket).cmd("capture-pane", "-p", "-t", pane_id)
    _check(res, "capture the pane")
    return "\n".join(res.stdout)


def capture_tail(socket: Path, pane_id: str, history: int) -> list[str]:
    """The pane's screen and up to ``history`` lines before it, wrapped lines
    joined (-J): what a dead pane last showed."""
    res = server_for(socket).cmd("capture-pane", "-p", "-J", "-t", pane_id, "-S", str(-history))
    _check(res, "capture the pane")
    return list(res.stdout)


def attach_argv(socket: Path, session: str, features: list[str] | None = None) -> list[str]:
    """The command that attaches a terminal; ``features`` are tmux's -T names
    (spec.TERMINAL_FEATURES) that the terminal has beyond its TERM's terminfo."""
    extra = ["-T", ",".join(features)] if features and _has_dash_t() else []
    return [require_tmux(), *extra, "-S", str(socket), "attach-session", "-t", f"={session}"]


@functools.cache
def _has_dash_t() -> bool:
    """Whether this tmux takes -T (3.2 and later; Debian 11 has 3.1c).

    Without it the features are left out: the terminal then gets what its
    TERM promises, 256 colours instead of true colour, and still works.
    """
    out = subprocess.run([require_tmux(), "-V"], capture_output=True, text=True).stdout
    match = re.search(r"(\d+)\.(\d+)", out)  # "tmux 3.3a", "tmux next-3.4"
    return match is None or (int(match[1]), int(match[2])) >= (3, 2)


def scroll(socket: Path, pane_id: str, lines: int) -> None:
    """Scroll the pane ``lines`` back into its history (forward when negative).

    What a terminal's wheel does when the program in it did not ask for the
    mouse: tmux's copy mode, entered with -e so that scrolling back to the
    bottom leaves it; a full-screen program (the alternate screen) gets the
    arrow keys instead, as xterm's alternateScroll sends them.
    """
    server = server_for(socket)
    info = server.cmd("display-message", "-p", "-t", pane_id, "#{alternate_on} #{pane_in_mode}")
    _check(info, "read the pane's mode")
    alternate, in_mode = (v == "1" for v in info.stdout[0].split())
    count = ["-N", str(abs(lines))]
    if alternate and not in_mode:
        _check(server.cmd("send-keys", *count, "-t", pane_id, "Up" if lines > 0 else "Down"),
               "send the arrow keys")  # fmt: skip
    elif lines > 0:
        _check(server.cmd("copy-mode", "-e", "-t", pane_id), "enter copy mode")
        _check(server.cmd("send-keys", "-X", *count, "-t", pane_id, "scroll-up"), "scroll")
    elif in_mode:
        _check(server.cmd("send-keys", "-X", *count, "-t", pane_id, "scroll-down"), "scroll")


def _check(res: tmux_cmd, what: str) -> None:
    if res.returncode != 0:
        raise ProcessFailed(f"tmux could not {what}: {_err(res)}")


def _err(res: tmux_cmd) -> str:
    return "; ".join(res.stderr) or f"exit status {res.returncode}"
