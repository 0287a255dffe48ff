"""``claude-sandbox-hostd`` / ``python -m hostd``: serve one client on stdin/stdout.

Here the parts are put together: the services, the subscriptions registry
(writing to the loop's outbox), the handlers, and the loop that dispatches
to them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from . import __version__
from .sandbox.lifecycle import Manager
from .sandbox.paths import StatePaths, default_state_dir
from .server.handlers import Handlers
from .server.loop import ServerLoop
from .server.services import Services
from .server.subscriptions import Subscriptions

log = logging.getLogger("hostd")

BANNER = """\
claude-sandbox hostd {version}: JSON-RPC 2.0, one request per line. State: {state}
Try:  {{"jsonrpc": "2.0", "id": 1, "method": "hello"}}
      {{"jsonrpc": "2.0", "id": 2, "method": "sandbox.list"}}
More in docs/protocol.md. Ctrl-D ends the session; sandboxes keep running.
"""


def take_stdio() -> tuple[int, int]:
    """Move the protocol onto private fds and make 0 and 1 harmless.

    After this, fd 0 is /dev/null and fd 1 is stderr: a stray print, or a
    child process that inherits them, can neither read requests nor corrupt
    the stream of responses.
    """
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    try:
        os.dup2(2, 1)
    except OSError:  # no stderr at all: send stray output nowhere
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    os.close(devnull)
    return proto_in, proto_out


async def serve(manager: Manager, in_fd: int, out_fd: int) -> int:
    """Serve one client until end of input or a signal."""
    services = Services(manager)
    server = ServerLoop(in_fd, out_fd, encode_pool=services.fast_pool)
    subscriptions = Subscriptions(services, server.outbox)
    handlers = Handlers(services, subscriptions)

    async def stop() -> None:
        subscriptions.close()
        await services.stop()

    return await server.run(handlers.call, on_start=services.start, on_stop=stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="claude-sandbox-hostd",
        description="Serve the claude-sandbox protocol (JSON-RPC 2.0, one message per line) "
        "on stdin/stdout. Logs go to stderr.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where records, logs and runtime files live "
        "(default: $HOSTD_STATE_DIR, else ~/.local/state/claude-sandbox)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("HOSTD_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, args.log_level),
        format="hostd[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    in_fd, out_fd = take_stdio()
    state_dir = args.state_dir or default_state_dir()
    try:
        manager = Manager(StatePaths(state_dir.absolute()))
    except OSError as exc:
        log.error("cannot use the state folder %s: %s", state_dir, exc)
        return 1
    if os.isatty(in_fd):
        sys.stderr.write(BANNER.format(version=__version__, state=manager.paths.root))
    rc = asyncio.run(serve(manager, in_fd, out_fd))
    # Everything is answered and written. A worker thread still stuck on the
    # host (a kill that waits, a file that blocks) must not keep hostd alive:
    # the interpreter would join it at exit.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(rc)


if __name__ == "__main__":
    sys.exit(main())
