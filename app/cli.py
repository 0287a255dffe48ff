"""claude-remote: sandboxes on a host, from the shell.

    claude-remote [--host NAME | --local] COMMAND [ARGS] [--json]

One persistent connection per run (SSH, or a local hostd child process);
every command is one or two calls on it. Exit statuses and how errors are
said (text on stderr, or JSON on stdout with --json): :mod:`app.cli_errors`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys

from hostd.protocol import RpcError
from hostd.protocol import methods as m
from hostd.protocol.errors import METHOD_NOT_FOUND
from hostd.protocol.spec import DEFAULT_AGENT, DEFAULT_GEOMETRY
from hostd.protocol.version import __version__

from . import cli_hosts, cli_sync, cli_waiting
from . import cli_output as out
from .cli_errors import (
    INTERRUPTED,
    OK,
    PIPE_CLOSED,
    REFUSED,
    UNREACHABLE,
    USAGE,
    ArgumentError,
    Parser,
    UsageError,
    argument_error,
    error,
    errors_as_json,
    wants_json,
)
from .cli_terminal import attach_over_ssh, have_tty, terminal_prompts
from .cli_text import strip_controls
from .remote import selfcmd
from .remote.api import HostApi
from .remote.client import Client
from .remote.cost import CostSum, estimate, sum_costs
from .remote.create_flow import create_sandbox
from .remote.errors import ConfigError, RemoteError
from .remote.local import LocalHost
from .remote.probes import probe_tools
from .remote.profiles import (
    LOCAL,
    default_host,
    open_host,
)
from .remote.ssh.host import SshHost
from .remote.sync.result import SyncResult
from .remote.sync.state import SyncError
from .remote.terminal import attach_env

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="claude-remote",
        description="Create, watch and steer sandboxes on a host running claude-sandbox-hostd.",
        epilog="Host: --host, else $CLAUDE_REMOTE_HOST, else `host = NAME` in "
        "~/.config/claude-remote/config, else this machine. NAME is a host profile "
        "(claude-remote hosts), an ~/.ssh/config alias, or [user@]host[:port]. "
        "Exit status: 0 ok, 1 the host said no, 2 usage, 3/4 wait timed out/ended, "
        "5 a sync left conflicts, 255 connection failed. With --json, errors are JSON on "
        'stdout: {"error": {"code", "message", "data"}}.',
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--host", metavar="NAME", help="the host to use")
    where.add_argument("--local", action="store_true", help="this machine (a local hostd)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def cmd(name: str, help_: str, aliases: list[str] | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, aliases=aliases or [], parents=[common])

    p = cmd("create", "create a sandbox and start its agent")
    p.add_argument("name", help="1-64 letters, digits, '.', '_', '-'; unique on the host")
    p.add_argument("backend", help="bubblewrap, container, vm or none (see doctor)")
    p.add_argument("dir", help="the project directory on the host")
    p.add_argument("--no-network", action="store_true", help="no network inside the sandbox")
    p.add_argument(
        "--agent", metavar="CMD", help=f"the agent's command line (default: {DEFAULT_AGENT})"
    )
    p.add_argument("--geometry", metavar="WxH", help=f"display size (default {DEFAULT_GEOMETRY})")
    p.add_argument(
        "--ssh-agent",
        action="store_true",
        help="forward your SSH agent into the sandbox: while it runs, the agent can log in "
        "as you wherever your keys let you (it never sees the keys); off without it",
    )
    p.add_argument(
        "--sync",
        metavar="LOCAL",
        help="push this folder here into DIR (made if missing) before the sandbox starts",
    )
    cmd("list", "list sandboxes, newest first", ["ls"])
    for name, help_, aliases in (
        ("attach", "attach this terminal to a sandbox's tmux (detach: C-b d)", []),
        ("stop", "stop a sandbox (its record stays)", []),
        ("start", "start a stopped, dead or exited sandbox again", []),
        ("delete", "stop a sandbox and remove it with its log", ["rm"]),
    ):
        cmd(name, help_, aliases).add_argument("id", help="a unique id prefix or the name")
    p = cmd("logs", "print a sandbox's terminal output")
    p.add_argument("id", help="a unique id prefix or the name")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    p.add_argument("--tail", type=int, metavar="N", help="only the last N lines")
    p.add_argument(
        "--raw",
        action="store_true",
        help="the output exactly as the terminal got it, escape sequences and all "
        "(by default they are removed: they would act on this terminal)",
    )
    p = cmd("metrics", "the host's load (or a sandbox's, where hostd offers it)")
    p.add_argument("id", nargs="?", help="a sandbox (id prefix or name)")
    cmd("doctor", "what the host has: hostd, tools, backends and why not")
    cli_sync.add_parsers(cmd)
    cli_waiting.add_parsers(cmd)
    cli_hosts.add_parsers(cmd, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # argparse's own complaints come before --json is parsed: read it first.
    errors_as_json(wants_json(argv))
    try:
        args = build_parser().parse_args(argv)
    except ArgumentError as exc:
        return argument_error(exc)
    errors_as_json(args.json)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(stream=sys.stderr, level=level, format="claude-remote: %(message)s")
    # paramiko logs a dropped link as an ERROR with a traceback-ish line; the
    # person gets our own message about it instead, unless they asked for more.
    paramiko_level = [logging.CRITICAL, logging.WARNING, logging.DEBUG][min(args.verbose, 2)]
    logging.getLogger("paramiko").setLevel(paramiko_level)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`claude-remote list --json | head -1`): stop
        # quietly, as a command killed by SIGPIPE would. Python's own flush of
        # stdout at exit must not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return PIPE_CLOSED
    except UsageError as exc:
        return error(str(exc), USAGE)
    except ConfigError as exc:
        return error(str(exc), USAGE)


async def run(args: argparse.Namespace) -> int:
    if args.command == "hosts":
        return cli_hosts.hosts_command(args)
    name = LOCAL if args.local else (args.host or default_host())
    shown = "" if name in (None, LOCAL) else f"--host {name} "
    hint = (
        f"To accept it, check the fingerprint with the host's administrator, then run "
        f"`claude-remote {shown}doctor` in a terminal and answer yes."
    )
    resolved = open_host(name, prompts=terminal_prompts(hint))
    host = resolved.host
    follow = (args.command == "logs" and args.follow) or args.command == "watch"
    client = Client(host, client_name=f"claude-remote {__version__}", reconnect=follow)
    try:
        try:
            await client.connect()
        except RemoteError as exc:
            note = ""
            if resolved.origin == "address" and "resolve" in str(exc):
                note = f"\n({name!r} is not a host profile or an ~/.ssh/config alias either.)"
            return error(f"{exc}{note}", UNREACHABLE)
        try:
            return await COMMANDS[args.command](client, args)
        except RpcError as exc:
            return error(exc.message, REFUSED, code=exc.code, data=exc.data)
        except RemoteError as exc:
            return error(str(exc), UNREACHABLE)
    finally:
        await client.close()
        await host.close()


# -- commands ----------------------------------------------------------------------------


async def cmd_create(client: Client, args: argparse.Namespace) -> int:
    project = args.dir
    if isinstance(client.host, LocalHost):
        project = os.path.abspath(project)
    elif not project.startswith("/"):
        raise UsageError(
            f"DIR must be an absolute path on {client.host.describe()}, not {project!r}"
        )

    def pushed(result: SyncResult) -> None:
        if not args.json:
            cli_sync.print_result(result, client)

    try:
        sandbox = await create_sandbox(
            client,
            args.name,
            args.backend,
            project,
            network=not args.no_network,
            agent=args.agent,
            geometry=args.geometry,
            ssh_agent=True if args.ssh_agent else None,
            push_from=args.sync,
            on_pushed=pushed,
        )
    except SyncError as exc:  # only the push raises it, and then nothing was created
        return cli_sync.push_failed(exc)
    exited = sandbox["status"] == m.STATUS_EXITED
    host_words = selfcmd.host_words(
        None if isinstance(client.host, LocalHost) else client.host.name
    )
    if args.json:
        out.print_json(sandbox)
    elif exited:
        code = sandbox["exit_code"]
        lines = [f"{sandbox['name']}: the agent exited at once with status {code}"]
        lines += [f"  {strip_controls(line)}" for line in sandbox.get("last_lines") or []]
        lines.append("the sandbox is kept, to read its log, 'start' it again or 'rm' it")
        lines.append(f"logs: {selfcmd.command_line(host_words, 'logs', sandbox['name'])}")
        print("\n".join(lines), file=sys.stderr)
    else:
        print(f"created {out.describe(sandbox)} on {client.host.describe()}")
        out.print_where(sandbox)
        print(f"attach: {selfcmd.attach_command_line(host_words, sandbox['name'])}")
    return REFUSED if exited else OK


async def cmd_list(client: Client, args: argparse.Namespace) -> int:
    sandboxes = await HostApi(client).list()
    if args.json:
        out.print_json(sandboxes)
    elif not sandboxes:
        print(f"no sandboxes on {client.host.describe()}")
    else:
        out.print_table(sandboxes)
    return OK


async def cmd_lifecycle(client: Client, args: argparse.Namespace) -> int:
    api = HostApi(client)
    if args.command in ("delete", "rm"):
        deleted = await api.delete(args.id)
        out.print_json(deleted) if args.json else print(f"deleted {args.id} ({deleted['id']})")
        return OK
    stopping = args.command == "stop"
    result = await (api.stop(args.id) if stopping else api.start(args.id))
    if args.json:
        out.print_json(result)
    else:
        print(f"{'stopped' if stopping else 'started'} {out.describe(result)}")
    return OK


async def cmd_attach(client: Client, args: argparse.Namespace) -> int:
    if not (os.isatty(0) and os.isatty(1)):
        raise UsageError("attach needs a terminal (stdin and stdout)")
    host = client.host
    if isinstance(host, SshHost):
        status = await attach_over_ssh(client, args.id)
        if status is None:
            return error(f"the connection to {host.describe()} was lost", UNREACHABLE)
        return status
    argv = await HostApi(client).attach_command(args.id)
    await client.close()  # nothing more to ask hostd; tmux talks to its own socket
    env = attach_env()
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: subprocess.call(argv, env=env)
    )


async def cmd_logs(client: Client, args: argparse.Namespace) -> int:
    api = HostApi(client)
    if not args.follow:
        result = await api.logs(args.id, args.tail)
        if not args.raw:
            result = {**result, "text": strip_controls(str(result.get("text", "")))}
        if args.json:
            out.print_json(result)
        else:
            out.write_text(result["text"])
        return OK
    sandbox = await api.get(args.id)
    return await out.follow_logs(client, sandbox, args.tail, args.json, raw=args.raw)


async def cmd_metrics(client: Client, args: argparse.Namespace) -> int:
    if args.id is not None:
        if not client.has_capability(m.SANDBOX_METRICS):
            version = (client.hello or {}).get("version", "?")
            return error(
                f"hostd {version} on {client.host.describe()} does not offer per-sandbox metrics "
                "(sandbox.metrics) yet; `claude-remote metrics` without an id shows the host's.",
                REFUSED,
                code=METHOD_NOT_FOUND,  # what that hostd would answer
                data={"method": m.SANDBOX_METRICS},
            )
        api = HostApi(client)
        result = await api.metrics(args.id)
        if args.json:
            cost = estimate(result.get("claude"))
            out.print_json({**result, "cost": cost.to_json() if cost is not None else None})
            return OK
        sandbox = await api.get(args.id)
        print(f"sandbox   {out.describe(sandbox)}")
        out.print_where(sandbox, label_width=10)
        out.print_sandbox_metrics(result)
        return OK
    result = await HostApi(client).system_metrics()
    costs = await _host_costs(client)
    if args.json:
        out.print_json({**result, "cost": costs.to_json()} if costs is not None else result)
    else:
        out.print_system_metrics(client.host.describe(), result, costs)
    return OK


async def _host_costs(client: Client) -> CostSum | None:
    """The estimated cost of the host's Claude sandboxes, from the first
    metrics push: one measuring pass over all of them. sandbox.metrics per
    sandbox would be slower: hostd answers those one at a time, and looks at
    a running sandbox it has not seen twice, half a second apart."""
    if not client.has_capability(f"topic:{m.TOPIC_METRICS}"):
        return None
    push = await cli_waiting.first_metrics_push(client)
    if push is None:
        limit = cli_waiting.FIRST_PUSH_TIMEOUT_S
        print(f"claude-remote: no metrics from hostd within {limit:.0f} s; the cost is left out",
              file=sys.stderr)  # fmt: skip
        return None
    sandboxes = push.get("sandboxes") or {}
    return sum_costs(estimate(s.get("claude")) for s in sandboxes.values())


async def cmd_doctor(client: Client, args: argparse.Namespace) -> int:
    host = client.host
    tools = await probe_tools(host if isinstance(host, SshHost) else None)
    hello = client.hello or {}
    if args.json:
        out.print_json(
            {
                "host": host.describe(),
                "hello": hello,
                "tools": [{"name": t.name, "path": t.path, "version": t.version} for t in tools],
            }
        )
    else:
        out.print_doctor(host.describe(), hello, tools)
    return OK


COMMANDS = {
    "create": cmd_create,
    "list": cmd_list,
    "ls": cmd_list,
    "attach": cmd_attach,
    "stop": cmd_lifecycle,
    "start": cmd_lifecycle,
    "delete": cmd_lifecycle,
    "rm": cmd_lifecycle,
    "logs": cmd_logs,
    "metrics": cmd_metrics,
    "doctor": cmd_doctor,
    "sync": cli_sync.cmd_sync,
    "watch": cli_sync.cmd_watch,
    **cli_waiting.COMMANDS,
}


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["have_tty", "main"]
