"""Every method's params, their types and their defaults: the one place for them.

hostd checks each request against this table before a handler runs (a
missing, unknown or mistyped param is -32602 naming the field); the client
checks its calls against it before sending; docs/protocol.md lists exactly
these methods and params (a test compares them). A default lives here and
nowhere else: code that needs one imports it.
"""

from __future__ import annotations

from . import methods as m
from .params import Param

DEFAULT_AGENT = "claude"
DEFAULT_GEOMETRY = "1920x1080"
DEFAULT_NETWORK = True
# The person's SSH agent lets whoever holds it log in wherever the person can:
# never handed to an agent unless asked for, sandbox by sandbox.
DEFAULT_SSH_AGENT = False
DEFAULT_SCREENSHOT_FORMAT = "png"
# sandbox.answer's message: what a person types in a line edit, and what
# Claude Code shows the model as the reason of a refusal.
MAX_ANSWER_MESSAGE = 2000

# sandbox.create and sandbox.start wait this long after the launcher starts
# (less if its pane's process ends first): an agent that ends within it is
# answered as exited, with its exit code and last lines, instead of running.
# HOSTD_SETTLE_S in hostd's environment sets another wait, up to SETTLE_S_MAX
# (the test suite's hostds wait less: its many creates would pay the second).
SETTLE_S = 1.0
SETTLE_S_MAX = 10.0
# The agents hello says it finds on hostd's PATH (hello's commands): what a
# client offers as the default agent.
AGENT_PROBES = ("claude", "bash", "sh")

# What an attaching terminal may say it can do beyond its TERM's terminfo
# (tmux's -T, tmux 3.2 and later): tmux then sends those sequences to it. The
# names are tmux's own (the "terminal-features" option in tmux(1)).
TERMINAL_FEATURES = frozenset(
    ("256", "bpaste", "ccolour", "clipboard", "cstyle", "extkeys", "focus", "margins", "mouse",
     "overline", "rectfill", "RGB", "strikethrough", "sync", "title", "usstyle")
)  # fmt: skip


_ID = Param(str)

METHODS: dict[str, dict[str, Param]] = {
    m.HELLO: {"client": Param(str, None)},
    m.SANDBOX_LIST: {},
    m.SANDBOX_GET: {"id": _ID},
    m.SANDBOX_CREATE: {
        "name": Param(str),
        "backend": Param(str),
        "project_dir": Param(str),
        "network": Param(bool, DEFAULT_NETWORK),
        "agent": Param(str, DEFAULT_AGENT),
        "geometry": Param(str, DEFAULT_GEOMETRY),
        "client_token": Param(str, None, nullable=True),
        "ssh_agent": Param(bool, DEFAULT_SSH_AGENT),
    },
    m.SANDBOX_STOP: {"id": _ID},
    m.SANDBOX_START: {"id": _ID},
    m.SANDBOX_DELETE: {"id": _ID},
    m.SANDBOX_LOGS: {
        "id": _ID,
        "tail": Param(int, None, nullable=True),
        "after": Param(int, None, nullable=True),
        "before": Param(int, None, nullable=True),
    },
    m.SANDBOX_SCREENSHOT: {
        "id": _ID,
        "max_width": Param(int, None, nullable=True),
        "format": Param(str, DEFAULT_SCREENSHOT_FORMAT),
    },
    m.SANDBOX_PANE: {"id": _ID, "escapes": Param(bool, False)},
    m.SANDBOX_METRICS: {"id": _ID},
    m.SANDBOX_SEND_KEYS: {"id": _ID, "keys": Param(list, item_type=str)},
    m.SANDBOX_ANSWER: {
        "id": _ID,
        "request": Param(str),
        "decision": Param(str),
        "message": Param(str, None, nullable=True),
    },
    m.SANDBOX_ATTACH_COMMAND: {
        "id": _ID,
        "features": Param(list, None, item_type=str, nullable=True),
    },
    m.SANDBOX_SCROLL: {"id": _ID, "lines": Param(int)},
    m.SYSTEM_METRICS: {},
    m.SUBSCRIBE: {
        "topics": Param(list, item_type=str),
        "screenshot": Param(dict, None, nullable=True),
        "metrics": Param(dict, None, nullable=True),
    },
    m.UNSUBSCRIBE: {"topics": Param(list, item_type=str)},
    m.FS_LIST: {"root": Param(str), "paths": Param(list, None, item_type=str, nullable=True)},
    m.FS_HASH: {"root": Param(str), "paths": Param(list, item_type=str)},
    m.FS_TRASH: {
        "root": Param(str),
        "pair": Param(str),
        "stamp": Param(str),
        "items": Param(list, item_type=dict),
    },
    m.FS_MKDIR: {"root": Param(str)},
    m.FS_RENAME: {"root": Param(str), "items": Param(list, item_type=dict)},
}

# What a hostd of this version serves besides its methods (hello's capabilities).
TOPICS = (
    m.TOPIC_SANDBOXES,
    m.TOPIC_SCREENSHOTS,
    m.TOPIC_METRICS,
    m.TOPIC_LOGS_PREFIX + "<id>",
    m.TOPIC_FS_PREFIX + "<path>",
)
# Features added to existing methods, so a client knows it may use them:
# subscribe's screenshot.widths, byte offsets on log streams and sandbox.logs,
# and create/start answering an agent that ends at once as exited (SETTLE_S).
FEATURES = ("screenshot.widths", "log.offsets", "create.settle")
CAPABILITIES = sorted(METHODS) + [f"topic:{t}" for t in TOPICS] + ["batch", *FEATURES]
