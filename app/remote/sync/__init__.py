"""Push, pull, two-way sync and watch of a folder here with a folder on a host.

:mod:`.syncer` runs a round (list both sides, plan, apply, save the base)
and :mod:`.result` is what it reports;
:mod:`.plan` decides what moves, :mod:`.review` holds back incoming
changes to files that configure or run code here, :mod:`.apply` carries a
plan out, :mod:`.check` checks what the server's side reports,
:mod:`.rsync` transfers, :mod:`.sides` are the two folders' operations,
:mod:`.state` is what a pair remembers, :mod:`.targets` names the folders
of a pair, and :mod:`.watch` runs rounds whenever either side changes.
"""
