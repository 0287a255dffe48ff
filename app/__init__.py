"""claude-sandbox's client side: the desktop app and claude-remote.

``app/remote`` is the asyncio client library (no Qt); ``app/cli.py`` is
claude-remote on top of it; ``app/ui`` (the Qt widgets) arrives with its
issue. hostd never imports anything from here.
"""
