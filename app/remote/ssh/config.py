"""What OpenSSH would do for a host name: ``~/.ssh/config`` and destinations.

paramiko parses the config files; this module adds what it leaves out and
OpenSSH users rely on (``Include``, the default identity files, the known
hosts options) and turns a destination (an alias, ``[user@]host[:port]``,
``ssh://user@host:port``) into one :class:`SshTarget` with every setting
the connection needs.
"""

from __future__ import annotations

import getpass
import glob
import io
import logging
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from ..errors import ConfigError

log = logging.getLogger(__name__)

SYSTEM_CONFIG = Path("/etc/ssh/ssh_config")
# OpenSSH's READCONF_MAX_DEPTH: Include nested deeper than this is a loop.
MAX_INCLUDE_DEPTH = 16
# OpenSSH 9.2's default identities, in its order (ssh_config(5), IdentityFile).
DEFAULT_IDENTITIES = (
    "id_rsa",
    "id_ecdsa",
    "id_ecdsa_sk",
    "id_ed25519",
    "id_ed25519_sk",
    "id_xmss",
    "id_dsa",
)
# ConnectTimeout unset: OpenSSH waits for the kernel (minutes). A person
# waiting at a prompt gives up long before; 15 s answers "is it there?".
DEFAULT_CONNECT_TIMEOUT_S = 15.0
# ServerAliveInterval unset: OpenSSH sends none. One every 15 s keeps NAT and
# firewall mappings alive (their idle timeouts are commonly 30 s to minutes)
# and notices a dead link within a minute or so.
DEFAULT_KEEPALIVE_S = 15

_HOST_RE = re.compile(r"^[A-Za-z0-9._%:\-]+$")  # names, IPv4 and IPv6 literals
_INCLUDE_RE = re.compile(r"^\s*include(?:\s*=\s*|\s+)(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Destination:
    user: str | None
    host: str
    port: int | None


@dataclass(frozen=True)
class SshTarget:
    """Everything needed to connect to one host, after ``~/.ssh/config``."""

    name: str  # as the person wrote it: an alias or a host name
    hostname: str
    port: int
    user: str
    identity_files: tuple[Path, ...]
    identities_only: bool = False
    proxy_jump: tuple[str, ...] = ()
    proxy_command: str | None = None
    user_known_hosts: tuple[Path, ...] = ()
    global_known_hosts: tuple[Path, ...] = ()
    hash_known_hosts: bool = False
    strict_host_key_checking: str = "ask"  # ask, yes, accept-new, no
    host_key_alias: str | None = None
    keepalive_s: int = DEFAULT_KEEPALIVE_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    password_auth: bool = True
    pubkey_auth: bool = True
    kbd_interactive_auth: bool = True
    options: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        """user@host:port, the way a person reads it."""
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{self.user}@{host}:{self.port}"


def parse_destination(text: str) -> Destination:
    """``[user@]host[:port]``, ``[user@][v6addr]:port`` or ``ssh://[user@]host[:port]``."""
    raw = text.strip()
    if raw.startswith("ssh://"):
        raw = raw[len("ssh://") :].rstrip("/")
    if not raw or raw.startswith("-") or any(c.isspace() for c in raw):
        raise ConfigError(f"not a host: {text!r} (expected [user@]host[:port])")
    user: str | None = None
    if "@" in raw:
        user, raw = raw.rsplit("@", 1)
        if not user:
            raise ConfigError(f"empty user name in {text!r}")
    port: int | None = None
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep:
            raise ConfigError(f"unclosed '[' in {text!r}")
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"unexpected {rest!r} after the address in {text!r}")
            port = _port(rest[1:], text)
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
        port = _port(port_text, text)
    else:
        host = raw  # a bare IPv6 address has several colons and no port
    if not host or not _HOST_RE.match(host):
        raise ConfigError(f"not a valid host name: {host!r} (in {text!r})")
    return Destination(user, host, port)


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"not a valid port: {text!r} (in {whole!r})")
    return int(text)


class SshConfig:
    """The person's OpenSSH client configuration, user file first."""

    def __init__(self, home: Path | None = None, files: list[Path] | None = None) -> None:
        self.home = home or Path.home()
        self.files = files if files is not None else [self.home / ".ssh/config", SYSTEM_CONFIG]
        self._config = paramiko.SSHConfig()
        self._aliases: list[str] = []
        for path in self.files:
            base = path.parent
            text = self._read(path, base, 0)
            if text is None:
                continue
            try:
                self._config.parse(io.StringIO(text))
            except paramiko.ssh_exception.ConfigParseError as exc:
                raise ConfigError(f"{path}: {exc}") from exc
            if path != SYSTEM_CONFIG:
                self._aliases += _literal_hosts(text)

    def aliases(self) -> list[str]:
        """``Host`` names without wildcards or negation, in file order."""
        return list(dict.fromkeys(self._aliases))

    def has_alias(self, name: str) -> bool:
        return name in self._aliases

    def resolve(self, destination: str) -> SshTarget:
        dest = parse_destination(destination)
        opts = self._config.lookup(dest.host)
        try:
            port = dest.port or int(opts.get("port", 22))
        except ValueError as exc:
            raise ConfigError(f"bad Port for {dest.host} in ~/.ssh/config: {exc}") from exc
        user = dest.user or opts.get("user") or getpass.getuser()
        identities = [Path(p).expanduser() for p in opts.get("identityfile", [])]
        explicit = bool(identities)
        if not explicit:
            identities = [self.home / ".ssh" / n for n in DEFAULT_IDENTITIES]
        jump = opts.get("proxyjump")
        proxy_command = opts.get("proxycommand")
        return SshTarget(
            name=destination,
            hostname=opts.get("hostname", dest.host),
            port=port,
            user=user,
            identity_files=tuple(identities),
            identities_only=_yes(opts.get("identitiesonly")) and explicit,
            proxy_jump=tuple(j.strip() for j in jump.split(",") if j.strip())
            if jump and jump.lower() != "none"
            else (),
            proxy_command=proxy_command
            if proxy_command and proxy_command.lower() != "none"
            else None,
            user_known_hosts=self._paths(
                opts.get("userknownhostsfile"), "~/.ssh/known_hosts ~/.ssh/known_hosts2"
            ),
            global_known_hosts=self._paths(
                opts.get("globalknownhostsfile"),
                "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2",
            ),
            hash_known_hosts=_yes(opts.get("hashknownhosts")),
            strict_host_key_checking=_strict(opts.get("stricthostkeychecking")),
            host_key_alias=opts.get("hostkeyalias"),
            keepalive_s=_int(opts.get("serveraliveinterval"), DEFAULT_KEEPALIVE_S),
            connect_timeout_s=float(
                _int(opts.get("connecttimeout"), int(DEFAULT_CONNECT_TIMEOUT_S))
            ),
            password_auth=not _no(opts.get("passwordauthentication")),
            pubkey_auth=not _no(opts.get("pubkeyauthentication")),
            kbd_interactive_auth=not _no(opts.get("kbdinteractiveauthentication")),
            options={k: str(v) for k, v in opts.items()},
        )

    # -- reading ----------------------------------------------------------------------

    def _read(self, path: Path, base: Path, depth: int) -> str | None:
        """The file's text with ``Include`` lines replaced by what they include."""
        if depth > MAX_INCLUDE_DEPTH:
            raise ConfigError(f"{path}: Include nested more than {MAX_INCLUDE_DEPTH} deep")
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        out: list[str] = []
        for line in text.splitlines():
            match = _INCLUDE_RE.match(line)
            if not match:
                out.append(line)
                continue
            for pattern in shlex.split(match.group(1)):
                expanded = Path(
                    pattern.replace("~", str(self.home), 1) if pattern.startswith("~") else pattern
                )
                if not expanded.is_absolute():
                    expanded = base / expanded
                for found in sorted(glob.glob(str(expanded))):
                    included = self._read(Path(found), base, depth + 1)
                    if included is not None:
                        out.append(included)
        return "\n".join(out) + "\n"

    def _paths(self, value: str | None, default: str) -> tuple[Path, ...]:
        words = shlex.split(value) if value else default.split()
        if words == ["none"]:
            return ()
        return tuple(Path(str(self.home) + w[1:]) if w.startswith("~") else Path(w) for w in words)


def _literal_hosts(text: str) -> list[str]:
    names: list[str] = []
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if len(words) == 2 and words[0].lower() == "host":
            names += [n for n in shlex.split(words[1]) if not any(c in n for c in "*?!")]
    return names


def _yes(value: str | None) -> bool:
    return bool(value) and str(value).lower() in ("yes", "true")


def _no(value: str | None) -> bool:
    return bool(value) and str(value).lower() in ("no", "false")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        log.warning("ignoring a non-numeric ssh option value %r", value)
        return default


def _strict(value: str | None) -> str:
    v = (value or "ask").lower()
    if v in ("yes", "true"):
        return "yes"
    if v in ("no", "off", "false"):
        return "no"
    if v == "accept-new":
        return "accept-new"
    return "ask"
