"""The client library: asyncio only, no Qt. The CLI and the GUI both stand on it.

- :mod:`.client`: RPC calls, notifications, reconnection, connection state
- :mod:`.local`: hostd as a local child process
- :mod:`.ssh`: hostd over one persistent SSH connection per host (paramiko)
- :mod:`.profiles`: host profiles and how a host name is resolved
"""
