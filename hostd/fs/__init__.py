"""The ``fs.*`` methods and ``fs:`` watches: a folder's tree on this host, as the
client's sync reads and changes it."""

from __future__ import annotations
