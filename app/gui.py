"""``claude-sandbox-gui`` / ``python -m app``: the desktop app."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

# qasync picks its Qt binding from QT_API; this app is PySide6.
os.environ.setdefault("QT_API", "pyside6")

import qasync
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app.remote.profiles import LOCAL

from .ui.window import MainWindow

log = logging.getLogger("app")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="claude-sandbox-gui",
        description="Watch and steer coding agents in sandboxes on your servers.",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true",
                       help="open this machine (hostd as a child process)")  # fmt: skip
    where.add_argument(
        "--host",
        metavar="NAME",
        help="open a host profile, an ~/.ssh/config alias or [user@]host[:port]",
    )
    p.add_argument("--log-level", default=os.environ.get("CLAUDE_SANDBOX_LOG", "WARNING"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Claude Sandbox")
    app.setOrganizationName("claude-sandbox")
    app.setDesktopFileName("claude-sandbox")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(QSettings())
    window.show()
    if args.local:
        names = [LOCAL]
    elif args.host:
        names = [args.host]
    else:
        names = window.hosts_to_reopen()
    window.open_hosts(names)

    # SIGTERM and SIGINT close the window like Ctrl+Q. Python runs signal
    # handlers only between bytecodes, so a timer lets it in while Qt waits.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, window.close))
    tick = QTimer()
    tick.start(200)
    tick.timeout.connect(lambda: None)

    with loop:
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        loop.run_until_complete(closed.wait())
    return 0


if __name__ == "__main__":
    sys.exit(main())
