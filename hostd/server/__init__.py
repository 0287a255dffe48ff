"""Serving one client: the services built once, the subscriptions registry,
the method handlers, the writer, and a loop of read, dispatch and answer."""

from __future__ import annotations
