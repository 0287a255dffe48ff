"""Creating a sandbox, with its project folder filled from here first if asked.

``claude-remote create --sync LOCAL`` and the New sandbox dialog's "push
first" both push a folder of this machine into the project folder before the
agent starts, so that it starts on the files and not on an empty folder.
This is that one flow: check that hostd would take the create (nothing is
written for a create it would refuse), push, create. Nothing is printed or
shown: the push reports through the callbacks, and a failure is raised for
the caller to show.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hostd.protocol import wire
from hostd.protocol.spec import DEFAULT_NETWORK

from .api import HostApi
from .client import Client
from .create_check import check_create
from .sync.result import ProgressCallback, SyncResult
from .sync.syncer import Syncer


async def create_sandbox(
    client: Client,
    name: str,
    backend: str,
    project_dir: str,
    *,
    network: bool | None = None,
    agent: str | None = None,
    geometry: str | None = None,
    ssh_agent: bool | None = None,
    push_from: str | Path | None = None,
    on_progress: ProgressCallback | None = None,
    on_pushed: Callable[[SyncResult], None] | None = None,
) -> wire.Sandbox:
    """Create the sandbox ``name`` on ``client``'s host; returns it as hostd does.

    With ``push_from`` (a folder here), first check the create as hostd
    would (:func:`~app.remote.create_check.check_create`), then make
    ``project_dir`` if missing and push the folder into it, reporting the
    push's progress to ``on_progress`` and its result to ``on_pushed``
    (before the create is sent). ``network``, ``agent``, ``geometry`` and
    ``ssh_agent`` left at None take hostd's defaults.

    Raises :class:`~app.remote.sync.state.SyncError` when the push failed
    (nothing was created), :class:`~hostd.protocol.RpcError` when hostd
    (or the check first) refused the create, and another
    :class:`~app.remote.errors.RemoteError` when the link failed.
    """
    if push_from:  # an empty name is no folder: nothing to push
        wants_network = DEFAULT_NETWORK if network is None else network
        await check_create(client, name, backend, network=wants_network)
        async with Syncer(
            client, push_from, project_dir, on_progress=on_progress, create_remote=True
        ) as syncer:
            result = await syncer.push()
        if on_pushed is not None:
            on_pushed(result)
    return await HostApi(client).create(
        name,
        backend,
        project_dir,
        network=network,
        agent=agent,
        geometry=geometry,
        ssh_agent=ssh_agent,
    )
