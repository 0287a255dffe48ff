"""SSH for the client library: hostd over one persistent paramiko connection.

The ``~/.ssh/config`` reading (:mod:`.config`), logging in (:mod:`.auth`),
host keys (:mod:`.known_hosts`), the connection with its keepalives and
jump hosts (:mod:`.connection`), channels as hostd streams and terminals
(:mod:`.channels`), and the :class:`~.host.SshHost` that puts them
together. The only place in ``app`` that imports paramiko.
"""
