"""``claude-sandbox-gui`` / ``python -m app``: the desktop app."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

# qasync picks its Qt binding from QT_API; this app is PySide6.
os.environ.setdefault("QT_API", "pyside6")

import qasync
from PySide6.QtCore import QMessageLogContext, QSettings, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from app import main_thread_gc
from app.remote.profiles import LOCAL

from .ui.hub import CLOSE_TIMEOUT_S
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
    main_thread_gc.take_over()
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    qInstallMessageHandler(qt_message)
    # "Unable to detect a launcher for file://…": a link the desktop cannot
    # open; the window says so itself (Help → README), in words for a person.
    logging.getLogger("qt.qpa.services").setLevel(logging.ERROR)
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
    # handlers only between bytecodes, so a timer lets it in while Qt waits;
    # the same timer collects Python's garbage cycles, on this thread only
    # (app.main_thread_gc: one freed on a worker thread crashes Qt).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, window.close))
    tick = QTimer()
    tick.start(200)
    tick.timeout.connect(main_thread_gc.collect)

    with loop:
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        loop.run_until_complete(closed.wait())
        loop.run_until_complete(finish_tasks())
    return 0


async def finish_tasks() -> None:
    """What is still running once the window has closed every host (a tab's
    terminal letting go, a reader ending) is cancelled and awaited, as
    asyncio.run does: a task left pending when the loop closes is logged as
    "Task was destroyed but it is pending!" on the way out."""
    me = asyncio.current_task()
    rest = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for task in rest:
        task.cancel()
    if rest:
        log.debug("cancelling %d tasks still running at quit", len(rest))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await asyncio.gather(*rest, return_exceptions=True)


def qt_message(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's own messages go to the log, at their level, under "qt" and their
    category: --log-level rules them too, and they read like the app's
    (``WARNING qt.qpa.xcb: ...``)."""
    category = context.category or "default"
    if category == "default":
        name = "qt"
    else:
        name = category if category.startswith("qt.") else f"qt.{category}"
    logger = logging.getLogger(name)
    logger.log(_QT_LEVELS.get(mode, logging.WARNING), "%s", message)


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


if __name__ == "__main__":
    sys.exit(main())
