"""Would hostd take this create? Asked before any work is done for it.

``create --sync`` and the New sandbox dialog's "push first" fill the project
folder before they ask hostd to create the sandbox. A create that hostd then
refuses (a bad or taken name, a backend it cannot run) would have written
files into a folder for nothing, possibly one that already held a project.
So the refusals that do not depend on the folder are checked first, with
hostd's own rule and words: the name rule (shared, hostd/protocol/names.py),
the backends from hostd's hello, the sandboxes it lists. hostd still checks
everything again when the create comes.
"""

from __future__ import annotations

from hostd.protocol.errors import BackendUnavailable, InvalidParams
from hostd.protocol.names import check_name

from .api import HostApi
from .client import Client


async def check_create(client: Client, name: str, backend: str, network: bool = True) -> None:
    """Raise the error hostd would give for this name, backend and network."""
    check_name(name)
    hello = client.hello or {}
    backends = {b.get("name"): b for b in hello.get("backends") or [] if isinstance(b, dict)}
    if backends:
        found = backends.get(backend)
        if found is None:
            known = ", ".join(str(n) for n in backends)
            raise InvalidParams(f"unknown backend {backend!r}; one of: {known}", "backend")
        if not found.get("available"):
            raise BackendUnavailable(
                f"backend {backend!r} is not available on this host: {found.get('detail')}",
                {"backend": backend},
            )
    if backend == "none" and not network:
        raise InvalidParams(
            "backend 'none' has no isolation, so it cannot turn the network off; "
            "choose an isolating backend or network: true",
            "network",
        )
    listed = await HostApi(client).list()
    if any(s.get("name") == name for s in listed):
        raise InvalidParams(f"a sandbox named {name!r} already exists on this host", "name")
