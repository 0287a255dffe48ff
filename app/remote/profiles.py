"""Host profiles, and how a host name becomes a :class:`Host`.

A profile names a host and says how to reach it (an ``~/.ssh/config`` alias
or ``[user@]host[:port]``) and how hostd is started there. Profiles live in
``~/.config/claude-sandbox/hosts.toml`` (``$XDG_CONFIG_HOME`` honoured)::

    [hosts.lab]
    destination = "lab"                       # an alias: ~/.ssh/config applies
    hostd_command = "claude-sandbox-hostd"

A name is looked up as a profile first, then as an ``~/.ssh/config`` alias,
then taken as ``[user@]host[:port]``; ``local`` (or no name) is this machine.
claude-remote's default host comes from ``$CLAUDE_REMOTE_HOST``, then the
``host = NAME`` line of ``~/.config/claude-remote/config``.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from .errors import ConfigError
from .launch import DEFAULT_HOSTD_COMMAND
from .local import LocalHost
from .prompts import Prompts
from .ssh.config import SshConfig, SshTarget, parse_destination
from .ssh.host import SshHost

log = logging.getLogger(__name__)

LOCAL = "local"
_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONFIG_LINE = re.compile(r"^\s*host\s*=\s*(.*?)\s*$")

Origin = Literal["local", "profile", "alias", "address"]


@dataclass(frozen=True)
class Profile:
    """A host by name. ``destination`` is an alias or ``[user@]host[:port]``;
    ``identity_file`` and ``proxy_jump``, when set, take the place of what
    ``~/.ssh/config`` says for it (as ``ssh -i`` and ``ssh -J`` would)."""

    name: str
    destination: str
    hostd_command: str = DEFAULT_HOSTD_COMMAND
    identity_file: str | None = None
    proxy_jump: str | None = None

    def target(self, ssh: SshConfig) -> SshTarget:
        target = ssh.resolve(self.destination)
        if self.identity_file:
            path = Path(self.identity_file).expanduser()
            target = replace(target, identity_files=(path,), identities_only=True)
        if self.proxy_jump:
            jumps = tuple(j.strip() for j in self.proxy_jump.split(",") if j.strip())
            target = replace(target, proxy_jump=jumps, proxy_command=None)
        return target


def config_home(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg)
    return (home or Path.home()) / ".config"


class Profiles:
    """The profiles file: read, add, remove, import from ``~/.ssh/config``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls, home: Path | None = None, env: Mapping[str, str] | None = None) -> Profiles:
        return cls(config_home(home, env) / "claude-sandbox" / "hosts.toml")

    def load(self) -> dict[str, Profile]:
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read host profiles from {self.path}: {exc}") from exc
        hosts = data.get("hosts", {})
        if not isinstance(hosts, dict):
            raise ConfigError(f"{self.path}: [hosts] must be a table")
        out: dict[str, Profile] = {}
        for name, entry in hosts.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("destination"), str):
                raise ConfigError(f'{self.path}: [hosts.{name}] needs destination = "..."')
            command = entry.get("hostd_command", DEFAULT_HOSTD_COMMAND)
            if not isinstance(command, str) or not command.strip():
                raise ConfigError(
                    f"{self.path}: [hosts.{name}] hostd_command must be a non-empty string"
                )
            extra: dict[str, str] = {}
            for key in ("identity_file", "proxy_jump"):
                value = entry.get(key)
                if value is not None and not isinstance(value, str):
                    raise ConfigError(f"{self.path}: [hosts.{name}] {key} must be a string")
                if value:
                    extra[key] = value
            out[name] = Profile(name, entry["destination"], command, **extra)
        return out

    def add(self, profile: Profile) -> None:
        check_name(profile.name)
        parse_destination(profile.destination)  # refuse what could never connect
        if not profile.hostd_command.strip():
            raise ConfigError("the hostd command is empty")
        profiles = self.load()
        profiles[profile.name] = profile
        self._save(profiles)

    def remove(self, name: str) -> bool:
        profiles = self.load()
        if profiles.pop(name, None) is None:
            return False
        self._save(profiles)
        return True

    def import_aliases(self, ssh: SshConfig, names: list[str] | None = None) -> list[Profile]:
        """A profile per alias (all of them when ``names`` is None), pointing at
        the alias, so later edits of ``~/.ssh/config`` still apply. Existing
        profiles are left as they are."""
        aliases = ssh.aliases()
        for name in names or []:
            if name not in aliases:
                raise ConfigError(
                    f"no Host {name} in ~/.ssh/config (aliases: {', '.join(aliases) or 'none'})"
                )
        profiles = self.load()
        added = []
        for alias in names or aliases:
            if alias in profiles or not _NAME_RE.match(alias):
                continue
            profiles[alias] = Profile(alias, alias)
            added.append(profiles[alias])
        if added:
            self._save(profiles)
        return added

    def _save(self, profiles: dict[str, Profile]) -> None:
        lines = [
            "# claude-sandbox host profiles. `claude-remote hosts add/import/rm` edits this file;",
            "# editing it by hand is fine too.",
        ]
        for p in sorted(profiles.values(), key=lambda p: p.name):
            lines += ["", f"[hosts.{_key(p.name)}]", f"destination = {_toml_str(p.destination)}"]
            lines.append(f"hostd_command = {_toml_str(p.hostd_command)}")
            if p.identity_file:
                lines.append(f"identity_file = {_toml_str(p.identity_file)}")
            if p.proxy_jump:
                lines.append(f"proxy_jump = {_toml_str(p.proxy_jump)}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


def with_user_and_port(destination: str, user: str | None, port: int | None) -> str:
    """``destination`` with ``user`` and ``port`` put in (``[user@]host[:port]``),
    as the window's Add host dialog composes them. ConfigError when the
    destination names another user or port already: which one was meant?"""
    dest = parse_destination(destination)
    if user is not None:
        user = user.strip()
        if not user or "@" in user or any(c.isspace() for c in user):
            raise ConfigError(f"not a user name: {user!r}")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"not a port: {port} (1 to 65535)")
    for what, given, there in (("user", user, dest.user), ("port", port, dest.port)):
        if given is not None and there is not None and given != there:
            raise ConfigError(
                f"{destination!r} names {what} {there} already, and --{what} says {given}"
            )
    host = f"[{dest.host}]" if ":" in dest.host else dest.host  # an IPv6 address
    user = user or dest.user
    port = port or dest.port
    return (f"{user}@" if user else "") + host + (f":{port}" if port else "")


def check_name(name: str) -> None:
    if not _NAME_RE.match(name) or name == LOCAL:
        raise ConfigError(
            f"bad profile name {name!r}: 1 to 64 letters, digits, '.', '_' or '-' (and not 'local')"
        )


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_str(name)


def _toml_str(value: str) -> str:
    """A TOML basic string (escapes per the TOML 1.0 spec)."""
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def default_host(env: Mapping[str, str] | None = None, home: Path | None = None) -> str | None:
    """``$CLAUDE_REMOTE_HOST``, else the last ``host = NAME`` in claude-remote's config:
    ``$XDG_CONFIG_HOME/claude-remote/config`` if there is one, else
    ``~/.config/claude-remote/config``, where the old CLI read it."""
    env = os.environ if env is None else env
    if env.get("CLAUDE_REMOTE_HOST"):
        return env["CLAUDE_REMOTE_HOST"].strip()
    candidates = [config_home(home, env), (home or Path.home()) / ".config"]
    text = None
    for folder in dict.fromkeys(candidates):
        path = folder / "claude-remote" / "config"
        try:
            text = path.read_text(encoding="utf-8")
            break
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
    if text is None:
        return None
    found = None
    for line in text.splitlines():
        match = _CONFIG_LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            found = match.group(1).strip("'\"") or None
    return found


@dataclass
class Resolved:
    host: LocalHost | SshHost
    origin: Origin


def open_host(
    name: str | None,
    *,
    home: Path | None = None,
    prompts: Prompts | None = None,
    ssh_config: SshConfig | None = None,
    profiles: Profiles | None = None,
) -> Resolved:
    """The host a name means (nothing is connected yet)."""
    if name is None or name == LOCAL:
        return Resolved(LocalHost(), "local")
    profiles = profiles or Profiles.default(home)
    ssh = ssh_config or SshConfig(home)
    known = profiles.load()
    if name in known:
        profile = known[name]
        return Resolved(
            SshHost(name, profile.target(ssh), ssh, prompts, profile.hostd_command), "profile"
        )
    if ssh.has_alias(name):
        return Resolved(SshHost(name, ssh.resolve(name), ssh, prompts), "alias")
    try:
        target = ssh.resolve(name)
    except ConfigError as exc:
        raise ConfigError(
            f"{name!r} is not a host profile (see `claude-remote hosts`), not an alias in "
            f"~/.ssh/config, and not [user@]host[:port]: {exc}"
        ) from exc
    return Resolved(SshHost(name, target, ssh, prompts), "address")
