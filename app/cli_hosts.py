"""claude-remote hosts: host profiles (no connection is made).

    claude-remote hosts [list]                        profiles and ~/.ssh/config aliases
    claude-remote hosts add NAME DEST [--user U] [--port P] [--identity KEY] [--jump HOST]
                            [--command CMD]
    claude-remote hosts import [ALIAS...]             a profile for each alias
    claude-remote hosts rm NAME

``hosts add`` makes the profile the window's Add host makes
(:mod:`app.remote.profiles` has the format).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from . import cli_output as out
from .cli_errors import OK, REFUSED, UsageError, error
from .remote.launch import DEFAULT_HOSTD_COMMAND
from .remote.profiles import Profile, Profiles, check_name, default_host, with_user_and_port
from .remote.ssh.config import SshConfig, parse_destination


def add_parsers(cmd: Any, common: argparse.ArgumentParser) -> None:
    p = cmd("hosts", "host profiles and ~/.ssh/config aliases")
    hosts = p.add_subparsers(dest="hosts_command", metavar="ACTION")
    hosts.add_parser("list", help="list profiles and aliases (the default)", parents=[common])
    h = hosts.add_parser("add", help="add or replace a profile", parents=[common])
    h.add_argument("name")
    h.add_argument("destination", help="an ~/.ssh/config alias or [user@]host[:port]")
    h.add_argument(
        "--command", dest="hostd_command", metavar="CMD", help="how to start hostd there"
    )
    h.add_argument("--user", metavar="USER", help="log in as USER (ssh -l)")
    h.add_argument("--port", type=int, metavar="PORT", help="sshd's port there (ssh -p)")
    h.add_argument(
        "--identity", metavar="KEY", help="log in with this private key file only (ssh -i)"
    )
    h.add_argument(
        "--jump", metavar="HOST[,HOST]", help="connect through these jump hosts (ssh -J)"
    )
    h = hosts.add_parser("import", help="a profile for each ~/.ssh/config alias", parents=[common])
    h.add_argument("aliases", nargs="*", help="only these (default: all)")
    h = hosts.add_parser("rm", help="remove a profile", parents=[common])
    h.add_argument("name")


def profile_from_args(args: argparse.Namespace) -> Profile:
    """``hosts add``'s profile, as the window's Add host makes it."""
    check_name(args.name)
    destination = args.destination
    if args.user is not None or args.port is not None:
        destination = with_user_and_port(destination, args.user, args.port)
    identity = None
    if args.identity is not None:
        # Kept as typed when it starts with ~ (expanded at each connect, as
        # ~/.ssh/config's are); a relative path is relative to here, now.
        identity = (
            args.identity if args.identity.startswith("~") else os.path.abspath(args.identity)
        )
        if not os.path.isfile(os.path.expanduser(identity)):
            raise UsageError(f"--identity: no key file {identity}")
    jump = args.jump.strip() if args.jump is not None else None
    if jump is not None:
        for hop in jump.split(","):
            parse_destination(hop)  # ConfigError says what is wrong with it
    return Profile(
        args.name,
        destination,
        args.hostd_command or DEFAULT_HOSTD_COMMAND,
        identity_file=identity,
        proxy_jump=jump or None,
    )


def hosts_command(args: argparse.Namespace) -> int:
    profiles = Profiles.default()
    ssh = SshConfig()
    action = args.hosts_command or "list"
    if action == "add":
        profile = profile_from_args(args)
        profiles.add(profile)
        if args.json:
            out.print_json({"saved": vars(profile), "path": str(profiles.path)})
        else:
            print(f"saved profile {args.name} in {profiles.path}: {out.describe_profile(profile)}")
        return OK
    if action == "rm":
        if not profiles.remove(args.name):
            return error(f"no profile named {args.name!r} in {profiles.path}", REFUSED)
        out.print_json({"removed": args.name}) if args.json else print(
            f"removed profile {args.name}"
        )
        return OK
    if action == "import":
        added = profiles.import_aliases(ssh, args.aliases or None)
        if args.json:
            out.print_json({"imported": [vars(p) for p in added]})
        else:
            names = ", ".join(p.name for p in added) or "none new"
            print(f"imported {len(added)} alias(es): {names}")
        return OK
    known = profiles.load()
    aliases = [a for a in ssh.aliases() if a not in known]
    default = default_host()
    if args.json:
        out.print_json(
            {
                "default": default,
                "profiles": [vars(p) for p in known.values()],
                "ssh_aliases": aliases,
            }
        )
        return OK
    out.print_hosts(known, aliases, default, profiles.path)
    return OK
