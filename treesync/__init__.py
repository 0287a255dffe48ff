"""treesync: the rules and disk operations of a sync, shared by hostd and the client.

Standard library only (a test holds it to that): hostd serves these as the
``fs.*`` methods on the server's side of a pair of folders, and the client
runs the same functions on its own side, so both sides follow one set of
rules. :mod:`.rules` decides which paths a sync considers, :mod:`.tree`
lists, stats and hashes, :mod:`.moves` moves files aside only while they
are what the caller saw, :mod:`.files` writes state files atomically and
locks them.
"""
