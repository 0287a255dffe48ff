"""The two sides of a sync behind one interface: this machine's folder (the
functions of :mod:`treesync.tree` and :mod:`treesync.moves`, run on a worker thread) and the
server's (the same functions, as hostd's ``fs.*`` methods)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from hostd.protocol import RpcError
from hostd.protocol import methods as m
from treesync import moves, tree
from treesync.tree import Entry

from ..api import HostApi
from ..client import Client
from . import check
from .state import PairState, SyncError

T = TypeVar("T")

# A listing of a big tree (100,000 files) takes seconds on a slow disk; a
# hash of large files longer. Generous, since a sync must not give up on a
# big project, and cancel ends it sooner when a person wants.
FS_TIMEOUT_S = 600.0


@dataclass
class Listing:
    entries: dict[str, Entry]
    ignore_files: dict[str, str]


@dataclass
class Trashed:
    moved: list[str]
    changed: list[str]
    trash_dir: str


class LocalSide:
    def __init__(self, root: str, state: PairState) -> None:
        self.root = root
        self._state = state

    async def listing(self) -> Listing:
        entries, ignore = await self._run(tree.list_tree, self.root)
        return Listing({e["path"]: e for e in entries}, ignore)

    async def stat(self, paths: list[str]) -> dict[str, Entry]:
        found = await self._run(tree.stat_paths, self.root, paths)
        return {e["path"]: e for e in found}

    async def hash(self, paths: list[str]) -> dict[str, str | None]:
        return await self._run(tree.hash_paths, self.root, paths)

    async def trash(self, items: list[Entry], stamp: str) -> Trashed:
        def work() -> Trashed:
            self._state.prune_trash()
            trash_dir = self._state.trash_dir(stamp)
            if items:
                trash_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            moved, changed = moves.trash(self.root, str(trash_dir), items)
            return Trashed(moved, changed, str(trash_dir))

        return await self._run(work)

    async def rename(self, items: list[Entry]) -> tuple[list[str], list[str]]:
        return await self._run(moves.rename, self.root, items)

    @staticmethod
    async def _run(fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
        except OSError as exc:  # a folder here that cannot be read: say so, touch nothing
            raise SyncError(f"this machine: {exc.strerror or exc}", retryable=False) from exc


class RemoteSide:
    def __init__(self, client: Client, root: str, pair: str) -> None:
        self.client = client
        self.root = root
        self.pair = pair
        self._api = HostApi(client)

    # Every answer is checked (app.remote.sync.check) before the round uses
    # it: the host is where the agent runs.

    async def listing(self) -> Listing:
        res = await self._call(self._api.fs_list(self.root, timeout=FS_TIMEOUT_S))
        return Listing(*check.listing(res, self._where))

    async def stat(self, paths: list[str]) -> dict[str, Entry]:
        if not paths:
            return {}
        res = await self._call(self._api.fs_list(self.root, paths, FS_TIMEOUT_S))
        return check.stat(res, paths, self._where)

    async def hash(self, paths: list[str]) -> dict[str, str | None]:
        if not paths:
            return {}
        params = {"root": self.root, "paths": paths}
        res = await self._call(self._api.call(m.FS_HASH, params, FS_TIMEOUT_S))
        return check.hashes(res, paths, self._where)

    @property
    def _where(self) -> str:
        return f"hostd on {self.client.host.describe()} (for {self.root})"

    async def trash(self, items: list[Entry], stamp: str) -> Trashed:
        res = await self._call(self._api.fs_trash(self.root, self.pair, stamp, items, FS_TIMEOUT_S))
        return Trashed(res["moved"], res["changed"], res["trash_dir"])

    async def rename(self, items: list[Entry]) -> tuple[list[str], list[str]]:
        if not items:
            return [], []
        res = await self._call(self._api.fs_rename(self.root, items, FS_TIMEOUT_S))
        return res["renamed"], res["changed"]

    async def _call(self, call: Awaitable[T]) -> T:
        """``call``'s answer; hostd's refusal as a :class:`SyncError`."""
        try:
            return await call
        except RpcError as exc:
            raise SyncError(f"{self.client.host.describe()}: {exc.message}") from exc
