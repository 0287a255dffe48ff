"""Pictures of a sandbox's screen: grabbing X or a VM, scaling and encoding,
for one screenshot on request or the ``screenshots`` stream."""

from __future__ import annotations
