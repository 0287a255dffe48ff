"""claude-sandbox's client side: the desktop app and claude-remote.

``app/remote`` is the asyncio client library (no Qt); ``app/cli.py`` is
claude-remote on it; ``app/ui`` and ``app/gui.py`` are the desktop app.
hostd never imports anything from here.
"""
