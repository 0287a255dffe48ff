"""The objects on the wire, typed: what hostd sends and clients read.

TypedDicts, so they stay the plain JSON objects they are (nothing to
convert), while both halves name their fields once and mypy checks the
uses. docs/protocol.md describes each field.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Request(TypedDict):
    """What a waiting agent asks: a permission (``kind`` ``permission``, from
    Claude Code's hooks with the ``tool`` and its ``input``; or a dialog on
    screen) or a y/n question on screen (``question``). ``via`` says how
    sandbox.answer answers it: ``hooks`` (the hook gets the decision) or
    ``keys`` (typed into the pane)."""

    id: str
    kind: str
    tool: str | None
    input: dict[str, Any] | None
    via: str


class Activity(TypedDict):
    """What the agent is doing: ``working``, ``waiting`` (for the person,
    ``reason`` says why), ``idle`` or ``exited``; ``since`` is when that began;
    ``source`` what said so (``hooks``, ``pane``, ``session``, ``process``);
    ``request`` what a waiting agent asks, if it can be answered from afar."""

    state: str
    reason: str | None
    since: str | None
    source: str
    request: Request | None


class Sandbox(TypedDict):
    id: str
    name: str
    backend: str
    project_dir: str
    status: str  # methods.STATUSES
    exit_code: int | None
    display: str | None
    tmux_socket: str | None
    tmux_session: str | None
    qmp_socket: str | None
    claude_config: str | None  # the sandbox's own Claude config folder on the host
    network: bool
    ssh_agent: bool  # the person's SSH agent is forwarded into it
    agent: str
    geometry: str
    created_at: str
    started_at: str | None
    stopped_at: str | None
    # The pane's last non-blank lines when the agent exited (at most 10, each
    # at most 300 characters); null while running or never exited.
    last_lines: list[str] | None
    activity: Activity | None  # null while no one looks (not running, or no look of late)


# The Sandbox fields a record stores; ``activity`` is what hostd sees now.
RECORD_FIELDS = tuple(k for k in Sandbox.__annotations__ if k != "activity")


class Answer(TypedDict):
    """sandbox.answer's result."""

    id: str
    request: str
    decision: str
    via: str


class Backend(TypedDict):
    name: str
    available: bool
    launcher: str | None
    detail: str
    isolated: bool


class Hello(TypedDict):
    protocol: int
    version: str
    hostname: str
    user: str
    backends: list[Backend]
    capabilities: list[str]
    state_dir: str
    warnings: list[str]
    # Where each of spec.AGENT_PROBES is on hostd's PATH, null when not there
    # (newer hostd only).
    commands: NotRequired[dict[str, str | None]]


class Logs(TypedDict):
    text: str
    truncated: bool
    start: NotRequired[int]  # byte offsets of the text in the log (newer hostd only)
    end: NotRequired[int]


class Pane(TypedDict):
    text: str
    cols: int
    rows: int
    cursor: list[int]


class Screenshot(TypedDict, total=False):
    format: str
    width: int
    height: int
    blank: bool
    data: str  # base64
    note: str  # only when max_width was capped
