"""claude-sandbox's client side: the desktop app and claude-remote.

``app/remote`` (the asyncio client library, no Qt) and ``app/ui`` (the Qt
widgets) arrive with their issues; hostd never imports anything from here.
"""
