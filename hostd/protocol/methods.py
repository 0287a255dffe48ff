"""Method, notification and topic names: the contract, named once for both
halves (docs/protocol.md describes each)."""

from __future__ import annotations

PROTOCOL_VERSION = 1

# Requests (client -> hostd)
HELLO = "hello"
SANDBOX_LIST = "sandbox.list"
SANDBOX_GET = "sandbox.get"
SANDBOX_CREATE = "sandbox.create"
SANDBOX_STOP = "sandbox.stop"
SANDBOX_START = "sandbox.start"
SANDBOX_DELETE = "sandbox.delete"
SANDBOX_LOGS = "sandbox.logs"
SANDBOX_SCREENSHOT = "sandbox.screenshot"
SANDBOX_PANE = "sandbox.pane"
SANDBOX_METRICS = "sandbox.metrics"
SANDBOX_SEND_KEYS = "sandbox.send_keys"
SANDBOX_ANSWER = "sandbox.answer"
SANDBOX_ATTACH_COMMAND = "sandbox.attach_command"
SANDBOX_SCROLL = "sandbox.scroll"
SYSTEM_METRICS = "system.metrics"
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
FS_LIST = "fs.list"
FS_HASH = "fs.hash"
FS_TRASH = "fs.trash"
FS_RENAME = "fs.rename"
FS_MKDIR = "fs.mkdir"

# Notifications (hostd -> client)
SANDBOX_CHANGED = "sandbox.changed"
SANDBOX_REMOVED = "sandbox.removed"
SCREENSHOT = "screenshot"
METRICS = "metrics"
LOG = "log"
FS_CHANGED = "fs.changed"

# Subscription topics. ``logs:`` and ``fs:`` take a sandbox id and a path.
TOPIC_SANDBOXES = "sandboxes"
TOPIC_SCREENSHOTS = "screenshots"
TOPIC_METRICS = "metrics"
TOPIC_LOGS_PREFIX = "logs:"
TOPIC_FS_PREFIX = "fs:"

STATUS_RUNNING = "running"
STATUS_STOPPED = "stopped"
STATUS_DEAD = "dead"
STATUS_EXITED = "exited"
STATUSES = (STATUS_RUNNING, STATUS_STOPPED, STATUS_DEAD, STATUS_EXITED)

# An activity's source, and the ways a request is answered (docs/protocol.md, sandbox.answer).
SOURCE_HOOKS = "hooks"
SOURCE_PANE = "pane"
SOURCE_SESSION = "session"
SOURCE_PROCESS = "process"
VIA_HOOKS = "hooks"
VIA_KEYS = "keys"
DECISIONS = ("allow", "deny")
