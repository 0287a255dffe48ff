"""The sandboxes of every connected host, as one Qt list model.

Rows are keyed by (host, sandbox id). Everything a tile shows lives in a
:class:`Tile`: the Sandbox object, the latest frame (or the terminal text
when the display is blank), the latest metrics, whether its host is stale,
and a step under way. The model only holds data; the delegate paints it.

The activity comes two ways: in every metrics tick, and in a
``sandbox.changed`` push the moment it changes (a permission asked, answered).
Whichever came last is the truth, so a push is written over the metrics' copy:
otherwise a tile would show a request answered a second ago until the next tick.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QImage

from .labels import label_of
from .plain import tip

TileRole = Qt.ItemDataRole.UserRole + 1
# The kinds of request sandbox.answer answers: a permission (hooks, or a
# Claude Code dialog by keys) and a y/n line in the pane (y or n, by keys).
ANSWERABLE = ("permission", "question")
Key = tuple[str, str]  # (host name, sandbox id)
Index = QModelIndex | QPersistentModelIndex
# The tooltip says the whole request; hostd cuts each input string to 2000
# characters (the spec's request.input), and a tooltip longer than two such
# screens is no longer read.
TOOLTIP_REQUEST_CHARS = 4000
# Tile.token_counts' names, and the keys of hostd's metrics ``claude`` totals.
TOKEN_FIELDS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache_read", "cache_read_tokens"),
    ("cache_write", "cache_creation_tokens"),
)


@dataclass
class Tile:
    host: str
    sandbox: dict[str, Any]
    frame: QImage | None = None
    blank: bool = True
    pane_text: str | None = None
    metrics: dict[str, Any] | None = None
    stale_since: datetime | None = None
    busy: str | None = None  # "stopping…": a step under way, shown on the tile
    error: str | None = None  # the last action's failure, shown until the next change
    # (request id, "allow" | "deny") once this window's answer was taken: its
    # buttons stay away until the activity says the request is over.
    answered: tuple[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return (self.host, self.sandbox["id"])

    @property
    def name(self) -> str:
        return str(self.sandbox.get("name", ""))

    @property
    def status(self) -> str:
        return str(self.sandbox.get("status", ""))

    @property
    def activity(self) -> dict[str, Any] | None:
        if self.metrics and self.metrics.get("activity"):
            act: dict[str, Any] = self.metrics["activity"]
            return act
        act2 = self.sandbox.get("activity")
        return act2 if isinstance(act2, dict) else None

    @property
    def waiting(self) -> bool:
        """Running and waiting for the person (framed, counted, notified)."""
        return self.status == "running" and (self.activity or {}).get("state") == "waiting"

    @property
    def reason(self) -> str:
        """Why it waits, as hostd said it (one line: "Bash: rm -rf build/")."""
        return " ".join(str((self.activity or {}).get("reason") or "").split())

    @property
    def request(self) -> dict[str, Any] | None:
        """The request it waits on (``activity.request``), while it waits."""
        req = (self.activity or {}).get("request")
        if not self.waiting or not isinstance(req, dict) or not isinstance(req.get("id"), str):
            return None
        return req

    @property
    def answerable(self) -> dict[str, Any] | None:
        """The request the window can answer, not yet answered from here: a
        permission (Allow, Deny) or a yes/no question in the pane (Yes, No)."""
        req = self.request
        if req is None or req.get("kind") not in ANSWERABLE:
            return None
        if self.answer_given is not None:
            return None
        return req

    @property
    def answer_given(self) -> str | None:
        """ "allow" or "deny" if this window answered the request pending now."""
        req = self.request
        if self.answered is None or req is None or self.answered[0] != req["id"]:
            return None
        return self.answered[1]

    @property
    def tokens(self) -> int | None:
        """The tile's figure: input + output tokens of its Claude Code sessions
        (the cache's reads and writes are in :attr:`token_counts`)."""
        counts = self.token_counts
        return None if counts is None else counts["input"] + counts["output"]

    @property
    def token_counts(self) -> dict[str, int] | None:
        """input, output, cache_read, cache_write: the metrics push's ``claude``
        totals (main sessions and sub-agents), or None with no Claude Code."""
        claude = (self.metrics or {}).get("claude")
        if not claude:
            return None
        return {name: int(claude.get(key) or 0) for name, key in TOKEN_FIELDS}

    @property
    def exit_code(self) -> int | None:
        code = self.sandbox.get("exit_code")
        return code if isinstance(code, int) else None

    @property
    def last_lines(self) -> list[str]:
        """The pane's last lines when the agent exited (hostd keeps them in the
        record; [] from a hostd or a record without them)."""
        lines = self.sandbox.get("last_lines")
        if self.status != "exited" or not isinstance(lines, list):
            return []
        return [str(line) for line in lines]


class SandboxModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self._tiles: list[Tile] = []
        self._rows: dict[Key, int] = {}

    # -- Qt model API ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._tiles)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._tiles):
            return None
        tile = self._tiles[index.row()]
        if role == TileRole:
            return tile
        if role == Qt.ItemDataRole.DisplayRole:
            return tile.name
        if role == Qt.ItemDataRole.ToolTipRole:
            sb = tile.sandbox
            lines = [
                f"{sb.get('name')} on {label_of(tile.host)}",
                f"{sb.get('backend')} · {sb.get('status')}",
            ]
            lines.append(str(sb.get("project_dir", "")))
            if sb.get("ssh_agent"):
                lines.append("Your SSH agent is forwarded into it")
            if sb.get("claude_config"):
                # Where its Claude Code sessions are (its own config, not yours).
                lines.append(f"Claude config and sessions: {sb['claude_config']}")
            if tile.status == "exited":
                lines.append("")
                code = tile.exit_code
                said = "The agent exited" + ("" if code is None else f" with status {code}")
                lines.append(f"{said}; its last lines:" if tile.last_lines else f"{said}.")
                lines.extend(f"  {line}" for line in tile.last_lines)
            if tile.waiting:
                lines.append("")
                lines.append(f"Waiting: {request_text(tile.request) or tile.reason or 'for you'}")
            if tile.error:
                lines.append(f"Error: {tile.error}")
            # Agent text (a command, a file name) is shown as written, never as HTML.
            return tip("\n".join(lines))
        return None

    # -- updates -----------------------------------------------------------------------

    def tile(self, key: Key) -> Tile | None:
        row = self._rows.get(key)
        return self._tiles[row] if row is not None else None

    def tiles(self) -> list[Tile]:
        return list(self._tiles)

    def upsert(self, host: str, sandbox: dict[str, Any]) -> None:
        key = (host, sandbox["id"])
        row = self._rows.get(key)
        if row is None:
            row = len(self._tiles)
            self.beginInsertRows(QModelIndex(), row, row)
            self._tiles.append(Tile(host, sandbox))
            self._rows[key] = row
            self.endInsertRows()
            return
        tile = self._tiles[row]
        if tile.sandbox.get("status") != sandbox.get("status"):
            tile.error = None
            if sandbox.get("status") != "running":
                tile.frame, tile.blank = None, True
        before = tile.request
        tile.sandbox = sandbox
        act = sandbox.get("activity")
        if isinstance(act, dict) and tile.metrics:
            tile.metrics = {**tile.metrics, "activity": act}  # the newer of the two
        tile.stale_since = None
        self._request_moved(tile, before)
        self._changed(row)

    def replace_host(self, host: str, sandboxes: list[dict[str, Any]]) -> None:
        """The full list for a host (after a connect): add, update, and drop the rest."""
        ids = {sb["id"] for sb in sandboxes}
        for tile in [t for t in self._tiles if t.host == host and t.sandbox["id"] not in ids]:
            self.remove(host, tile.sandbox["id"])
        for sb in sandboxes:
            self.upsert(host, sb)

    def remove(self, host: str, sid: str) -> None:
        row = self._rows.get((host, sid))
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._tiles[row]
        self._rows = {t.key: i for i, t in enumerate(self._tiles)}
        self.endRemoveRows()

    def set_frame(self, key: Key, image: QImage, blank: bool) -> None:
        tile = self.tile(key)
        if tile is not None:
            tile.frame, tile.blank = image, blank
            self._changed(self._rows[key])

    def set_pane_text(self, key: Key, text: str | None) -> None:
        tile = self.tile(key)
        if tile is not None and tile.pane_text != text:
            tile.pane_text = text
            self._changed(self._rows[key])

    def set_metrics(self, key: Key, metrics: dict[str, Any]) -> None:
        tile = self.tile(key)
        if tile is not None and tile.metrics != metrics:
            before = tile.request
            tile.metrics = metrics
            self._request_moved(tile, before)
            self._changed(self._rows[key])

    def set_busy(self, key: Key, busy: str | None, error: str | None = None) -> None:
        tile = self.tile(key)
        if tile is not None:
            tile.busy = busy
            tile.error = error
            self._changed(self._rows[key])

    def set_answered(self, key: Key, request: str, decision: str) -> None:
        """This window's answer to ``request`` was taken: its buttons go now,
        not only when the push saying so comes."""
        tile = self.tile(key)
        if tile is not None:
            tile.answered = (request, decision)
            self._changed(self._rows[key])

    def set_sync(self, key: Key, badge: str) -> None:
        tile = self.tile(key)
        if tile is not None and tile.extra.get("sync") != badge:
            tile.extra["sync"] = badge
            self._changed(self._rows[key])

    def set_host_stale(self, host: str, since: datetime | None) -> None:
        """Grey a host's tiles (its connection is down) or bring them back."""
        for row, tile in enumerate(self._tiles):
            if tile.host == host and tile.stale_since != since:
                tile.stale_since = since if since is None else (tile.stale_since or since)
                self._changed(row)

    def drop_host(self, host: str) -> None:
        for tile in [t for t in self._tiles if t.host == host]:
            self.remove(host, tile.sandbox["id"])

    @staticmethod
    def _request_moved(tile: Tile, before: dict[str, Any] | None) -> None:
        """A new request: what was said about the last one (answered, refused) goes."""
        now = tile.request
        if now is not None and (before is None or before.get("id") != now.get("id")):
            tile.answered = None
            tile.error = None

    def _changed(self, row: int) -> None:
        idx = self.index(row)
        self.dataChanged.emit(idx, idx, [TileRole])


def request_text(req: dict[str, Any] | None) -> str:
    """A request in full, for a tooltip: "Bash: <the whole command>"; '' without a tool.

    The activity's reason is cut to 200 characters; the request's input holds
    the whole value (up to hostd's 2000 characters a string)."""
    if not req or not req.get("tool"):
        return ""
    tool = str(req["tool"])
    inp = req.get("input")
    if not isinstance(inp, dict):
        return tool
    for field_name in ("command", "file_path", "url"):
        if isinstance(inp.get(field_name), str):
            detail = inp[field_name]
            break
    else:
        detail = json.dumps(inp, ensure_ascii=False, separators=(",", ":"))
    # Control and format characters (a right-to-left override turning the
    # command around) are the agent's to send, not to show.
    text = "".join(
        c if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf") else " "
        for c in f"{tool}: {detail}"
    )
    if len(text) > TOOLTIP_REQUEST_CHARS:
        text = text[: TOOLTIP_REQUEST_CHARS - 1] + "…"
    return text


SORT_KEYS = ("name", "host", "status", "created", "activity")
_ACTIVITY_ORDER = {"waiting": 0, "working": 1, "idle": 2, "exited": 3}
_STATUS_ORDER = {"running": 0, "exited": 1, "dead": 2, "stopped": 3}


class TileFilter(QSortFilterProxyModel):
    """Filter by host, status and name; sort by a chosen key (held while the
    pointer is over the grid: :meth:`hold`)."""

    def __init__(self) -> None:
        super().__init__()
        self.host: str | None = None
        self.status: str | None = None
        self.text = ""
        self.sort_key = "name"
        self._held: dict[Key, int] | None = None  # the order held while the pointer is over
        self.setDynamicSortFilter(True)
        self.sort(0)

    def set_filter(
        self, *, host: str | None = None, status: str | None = None, text: str | None = None
    ) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateFilter is deprecated there
            self.beginFilterChange()
        self.host, self.status = host, status
        if text is not None:
            self.text = text.strip().lower()
        if hasattr(self, "endFilterChange"):
            self.endFilterChange()
        else:
            self.invalidateFilter()

    def set_sort_key(self, key: str) -> None:
        self.sort_key = key
        self._held = None  # a key chosen is an order asked for: shown at once
        self.invalidate()
        self.sort(0)

    def hold(self, on: bool) -> None:
        """Hold the order as it is now (the pointer is over the grid: a tile
        must not move from under it when an activity changes), or let go and
        sort again. While held, a tile keeps its place, a new one goes last,
        and filtering goes on as usual."""
        if on:
            if self._held is None:
                self._held = {
                    self.index(row, 0).data(TileRole).key: row for row in range(self.rowCount())
                }
            return
        if self._held is not None:
            self._held = None
            self.invalidate()
            self.sort(0)

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        tile: Tile = self.sourceModel().index(row, 0, parent).data(TileRole)
        if self.host and tile.host != self.host:
            return False
        if self.status and tile.status != self.status:
            return False
        return not self.text or self.text in tile.name.lower()

    def lessThan(self, left: Index, right: Index) -> bool:
        a: Tile = left.data(TileRole)
        b: Tile = right.data(TileRole)
        if self._held is not None:
            held_a, held_b = self._held.get(a.key), self._held.get(b.key)
            if held_a is not None or held_b is not None:  # held ones first, in their order
                return held_b is None or (held_a is not None and held_a < held_b)
        return bool(_sort_value(a, self.sort_key) < _sort_value(b, self.sort_key))


def _sort_value(t: Tile, key: str) -> tuple[Any, ...]:
    if key == "host":
        return (t.host.lower(), t.name.lower())
    if key == "status":
        return (_STATUS_ORDER.get(t.status, 9), t.name.lower())
    if key == "created":
        # Newest first, like sandbox.list.
        return (_negate(str(t.sandbox.get("created_at") or "")), t.name.lower())
    if key == "activity":
        state = (t.activity or {}).get("state", "")
        return (_ACTIVITY_ORDER.get(state, 9), t.name.lower())
    return (t.name.lower(), t.host.lower())


def _negate(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)
