"""What a round is about to write, saved before its transfers, and how the
next round recognises what arrived if the round was cut short (killed
between its transfers and its save: see rule 4 in
:mod:`app.remote.sync.syncer`).

rsync gives each copy the sender's exact mtime, which no one else's file
has: a file found with it is what was sent, not a file new on that side.
"""

from __future__ import annotations

from collections.abc import Mapping

from treesync.tree import Entry, Signature, signature

from .plan import Base, Plan, Side, other
from .state import Sending


def about_to_send(plan: Plan) -> Sending:
    """The files ``plan`` is about to write, by name: where each comes from
    and its signature there. A one-way conflict copy is left out: it is kept
    out of the base even when it arrives (see Applier._transfer)."""
    return {
        c.dest: (c.source, sig)
        for c in plan.copies
        if c.entry["type"] == "file"
        and (c.dest == c.path or c.after is not None)
        and (sig := signature(c.entry)) is not None
    }


def recognise(
    sending: Sending,
    base: dict[str, Base],
    local: Mapping[str, Entry],
    remote: Mapping[str, Entry],
) -> None:
    """Record in ``base`` the files a round cut short had written, found in
    this round's listings: the sender's side as it was listed then, so
    whatever it did since (an edit, a deletion) is carried over."""
    listed: dict[Side, Mapping[str, Entry]] = {"local": local, "remote": remote}
    for path, (source, sig) in sending.items():
        side: Side = "local" if source == "local" else "remote"
        dest = other(side)
        got = listed[dest].get(path)
        if not is_copy_of(sig, got):
            continue  # not what was sent: this round compares as usual
        assert got is not None
        if signature(listed[side].get(path)) == sig and got["size"] != sig[1]:
            # The sender is as listed, so only a whole copy can be its copy:
            # this is a file that merely shares its mtime (a coarse clock,
            # touch -r), from before the transfer.
            continue
        b = base.get(path) or Base(None, None)
        base[path] = b.with_side(side, sig).with_side(dest, signature(got))


def is_copy_of(listed: Signature | None, got: Entry | None) -> bool:
    """Whether ``got`` has the listed file's exact mtime, which rsync gives
    its copy and a file of anyone else's would not have: rsync's copy of it,
    whole or torn (its length another, the sender rewritten as it was read)."""
    return (
        listed is not None
        and got is not None
        and got["type"] == "file"
        and listed[0] == "file"
        and got["mtime_ns"] == listed[2]
    )
