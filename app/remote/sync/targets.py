"""Which two folders a pair is: the names a person gives, resolved and checked.

The CLI's ``REMOTE`` (a sandbox, ``SANDBOX:sub/dir``, an absolute path, or
nothing for the folder last synced with) becomes a folder on the host; each
root is checked (the local one is a folder, the host's exists or is made,
and hostd there can sync); and the host gets its name in a pair's identity.
"""

from __future__ import annotations

import os
from pathlib import Path

from hostd.protocol import RpcError
from hostd.protocol import methods as m

from ..api import HostApi
from ..client import Client
from ..local import LocalHost
from .state import SyncError, remembered, state_home


def host_name(client: Client) -> str:
    """The host's name in a pair's identity (``local`` for this machine)."""
    return "local" if isinstance(client.host, LocalHost) else client.host.name


async def prepare_remote_root(client: Client, root: str, create: bool) -> str:
    """The server folder, resolved (and made, with ``create``); checks that
    hostd offers what a sync needs."""
    for method in (m.FS_LIST, m.FS_TRASH, m.FS_RENAME, m.FS_HASH):
        if not client.has_capability(method):
            version = (client.hello or {}).get("version", "?")
            raise SyncError(
                f"hostd {version} on {client.host.describe()} cannot sync ({method} missing): "
                "install the same claude-sandbox version there"
            )
    if not root.startswith("/"):
        raise SyncError(f"the folder on {client.host.describe()} must be absolute, not {root!r}")
    try:
        api = HostApi(client)
        res = await (api.fs_mkdir(root) if create else api.fs_list(root, []))
    except RpcError as exc:
        raise SyncError(f"{client.host.describe()}: {exc.message}") from exc
    return str(res["root"])


def local_root(path: str | Path) -> str:
    """This machine's folder, absolute with links resolved; it must exist."""
    real = os.path.realpath(os.path.expanduser(str(path)))
    if not os.path.isdir(real):
        raise SyncError(f"{path} is not a folder on this machine")
    return real


async def resolve_remote(
    client: Client, spec: str | None, local: str | Path, state_dir: Path | None = None
) -> str:
    """The server folder that ``spec`` names: an absolute path; a sandbox (id
    prefix or name) meaning its project folder; ``SANDBOX:sub/dir`` for a
    folder inside it; or None for the folder ``local`` was last synced with
    on this host."""
    if spec is None:
        pairs = remembered(state_dir or state_home(), local_root(local), host_name(client))
        if not pairs:
            raise SyncError(
                f"{local} was never synced with {client.host.describe()}: say which folder "
                "there (a sandbox, SANDBOX:subdir, or an absolute path)",
                retryable=False,
            )
        return str(pairs[0]["remote"])
    if spec.startswith("/"):
        return spec
    ref, _, sub = spec.partition(":")
    try:
        sandbox = await HostApi(client).get(ref)
    except RpcError as exc:
        raise SyncError(f"{spec!r}: {exc.message}") from exc
    root = str(sandbox["project_dir"])
    if not sub:
        return root
    parts = sub.strip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise SyncError(f"{spec!r}: the folder inside the sandbox must be a plain relative path")
    return root.rstrip("/") + "/" + "/".join(parts)
