"""The release of claude-sandbox: hostd and its clients ship together.

Here, in the protocol, because both halves print it (``--version``, ``hello``)
and the client imports nothing else of hostd. It must equal pyproject.toml's
version (a test checks).
"""

from __future__ import annotations

__version__ = "0.1.0"
