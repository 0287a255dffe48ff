"""What a round reports: where it is while it runs, and what it did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .plan import Conflict, Mode
from .review import Held
from .rsync import Progress


@dataclass(frozen=True)
class SyncProgress:
    """Where a round is: ``phase`` is listing, comparing, moving, sending,
    receiving or saving; ``transfer`` is rsync's latest report while sending
    or receiving."""

    phase: str
    transfer: Progress | None = None


ProgressCallback = Callable[[SyncProgress], None]


@dataclass
class SyncResult:
    """What one round did. ``sent`` went from here to the server, ``received``
    the other way; deletions are files moved to that side's trash."""

    mode: Mode
    local: str
    remote: str
    host: str
    started_at: str = ""
    finished_at: str = ""
    sent: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    deleted_local: list[str] = field(default_factory=list)
    deleted_remote: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # Each side's trash folder for this round, when something went there.
    trash: dict[str, str] = field(default_factory=dict)
    # Left for the next round: changed again while this one ran.
    deferred: list[str] = field(default_factory=list)
    # Incoming changes to files that configure or run code here, not carried
    # out: they wait for the person (app.remote.sync.review).
    held: list[Held] = field(default_factory=list)
    cancelled: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.sent or self.received or self.deleted_local or self.deleted_remote
        ) or bool(self.conflicts or self.held)

    def to_obj(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "local": self.local,
            "remote": self.remote,
            "host": self.host,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "sent": self.sent,
            "received": self.received,
            "deleted_local": self.deleted_local,
            "deleted_remote": self.deleted_remote,
            "conflicts": [c.to_obj() for c in self.conflicts],
            "trash": self.trash,
            "deferred": self.deferred,
            "held": [h.to_obj() for h in self.held],
            "cancelled": self.cancelled,
        }


def now() -> str:
    """This moment as a round's timestamps give it (UTC, milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
