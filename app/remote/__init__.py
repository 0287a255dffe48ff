"""The client library: asyncio only, no Qt. The CLI and the GUI both stand on it.

- :mod:`.client`: RPC calls, notifications, reconnection, connection state
- :mod:`.api`: hostd's methods as typed calls, checked against the spec before sending
- :mod:`.local`: hostd as a local child process
- :mod:`.ssh`: hostd over one persistent SSH connection per host (paramiko)
- :mod:`.profiles`: host profiles and how a host name is resolved
- :mod:`.sync`: push, pull, two-way sync and watch of a folder here with one on a host
- :mod:`.create_flow`: a create, with the project folder pushed from here first if asked
"""
