"""Host key checking the OpenSSH way: ``known_hosts`` files and fingerprints.

A key is *known* when a line for the host holds exactly that key, *changed*
when a line for the host holds another key of the same type (refused, always,
with OpenSSH's warning), *revoked* when a ``@revoked`` line holds it, and
*unknown* otherwise: then the person decides (accept once, accept and save,
refuse). A key is written to known_hosts only when the person said so, in the
form OpenSSH would write (``[host]:port`` for a port other than 22, hashed
when ``HashKnownHosts`` is on).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import logging
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import paramiko

log = logging.getLogger(__name__)


class Decision(enum.Enum):
    ACCEPT_ONCE = "once"
    ACCEPT_AND_SAVE = "save"
    REFUSE = "refuse"


class Status(enum.Enum):
    KNOWN = "known"
    UNKNOWN = "unknown"
    CHANGED = "changed"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Line:
    path: Path
    lineno: int
    key_type: str
    blob: bytes


@dataclass(frozen=True)
class Verdict:
    status: Status
    offending: Line | None = None  # the line that holds the old key
    other_types: tuple[str, ...] = ()  # key types known for this host, for the message


@dataclass(frozen=True)
class HostKeyQuestion:
    """What a person needs to decide about an unknown host key."""

    host: str  # as in known_hosts: "lab.example.com" or "[10.0.0.5]:2222"
    address: str  # what was connected to, for the message
    key_type: str  # ED25519, RSA, ECDSA
    fingerprint: str  # SHA256:...
    other_types: tuple[str, ...] = ()
    save_to: Path | None = None

    def text(self) -> str:
        """OpenSSH's question, word for word where it can be."""
        lines = [
            f"The authenticity of host '{self.host} ({self.address})' can't be established.",
            f"{self.key_type} key fingerprint is {self.fingerprint}.",
        ]
        if self.other_types:
            lines.append(
                f"This host is known with other key types ({', '.join(self.other_types)}), "
                "but not this one."
            )
        else:
            lines.append("This key is not known by any other names.")
        return "\n".join(lines)


def fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:<base64 without padding>``, as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def key_label(key: paramiko.PKey) -> str:
    """ED25519, RSA, ECDSA: the word OpenSSH uses in its messages."""
    name = key.get_name()
    if name.startswith("ecdsa"):
        return "ECDSA"
    return name.removeprefix("ssh-").split("-")[0].upper()


def host_id(hostname: str, port: int) -> str:
    """The name a host has in known_hosts: bracketed with the port unless 22."""
    # OpenSSH matches and hashes host names in lower case.
    hostname = hostname.lower()
    return hostname if port == 22 else f"[{hostname}]:{port}"


class KnownHosts:
    """The user's known_hosts files (written to) and the global ones (read)."""

    def __init__(self, user_files: tuple[Path, ...], global_files: tuple[Path, ...] = ()) -> None:
        self.user_files = user_files
        self.files = (*user_files, *global_files)

    def check(self, host: str, key: paramiko.PKey) -> Verdict:
        blob = key.asbytes()
        key_type = key.get_name()
        changed: Line | None = None
        others: list[str] = []
        for line, revoked in self._lines_for(host):
            if revoked:
                if line.blob == blob:
                    return Verdict(Status.REVOKED, line)
                continue
            if line.key_type == key_type:
                if line.blob == blob:
                    return Verdict(Status.KNOWN, line)
                changed = changed or line
            elif line.key_type not in others:
                others.append(line.key_type)
        if changed is not None:
            return Verdict(Status.CHANGED, changed)
        return Verdict(Status.UNKNOWN, other_types=tuple(others))

    def known_types(self, host: str) -> list[str]:
        """Key types on file for ``host``, to ask the server for those first."""
        return list(
            dict.fromkeys(line.key_type for line, revoked in self._lines_for(host) if not revoked)
        )

    def save(self, host: str, key: paramiko.PKey, hashed: bool) -> Path:
        """Append the key for ``host`` to the first user file (made 0600)."""
        if not self.user_files:
            raise OSError("no user known_hosts file is configured (UserKnownHostsFile none)")
        path = self.user_files[0]
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = paramiko.HostKeys.hash_host(host) if hashed else host
        line = f"{name} {key.get_name()} {key.get_base64()}\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as f:
            if f.tell() > 0 and not path.read_bytes().endswith(b"\n"):
                f.write("\n")
            f.write(line)
        log.info("saved the %s host key of %s to %s", key.get_name(), host, path)
        return path

    # -- reading ----------------------------------------------------------------------

    def _lines_for(self, host: str) -> list[tuple[Line, bool]]:
        found: list[tuple[Line, bool]] = []
        for path in self.files:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("cannot read %s: %s", path, exc)
                continue
            for lineno, raw in enumerate(text.splitlines(), 1):
                parsed = _parse(raw)
                if parsed is None:
                    continue
                marker, names, key_type, blob = parsed
                if marker == "@cert-authority" or not _matches(names, host):
                    continue
                found.append((Line(path, lineno, key_type, blob), marker == "@revoked"))
        return found


def _parse(raw: str) -> tuple[str | None, str, str, bytes] | None:
    fields = raw.split()
    if not fields or fields[0].startswith("#"):
        return None
    marker = None
    if fields[0].startswith("@"):
        marker, fields = fields[0], fields[1:]
    if len(fields) < 3:
        return None
    try:
        blob = base64.b64decode(fields[2], validate=True)
    except ValueError:
        return None
    return marker, fields[0], fields[1], blob


def _matches(names: str, host: str) -> bool:
    """OpenSSH's host patterns: hashed names, ``*``/``?`` globs, ``!`` negation."""
    if names.startswith("|1|"):
        return _hashed_matches(names, host)
    hit = False
    for pattern in names.split(","):
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if _glob(pattern).fullmatch(host.lower()):
            if negated:
                return False
            hit = True
    return hit


def _glob(pattern: str) -> re.Pattern[str]:
    """OpenSSH patterns know ``*`` and ``?`` only; ``[`` is literal (``[host]:port``)."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.compile("".join(parts))


def _hashed_matches(entry: str, host: str) -> bool:
    try:
        _, _, salt64, hash64 = entry.split("|", 3)
        salt = base64.b64decode(salt64)
        want = base64.b64decode(hash64)
    except ValueError:
        return False
    got = hmac.new(salt, host.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(got, want)


def changed_key_warning(host: str, key: paramiko.PKey, offending: Line, strict: bool = True) -> str:
    """OpenSSH's warning for a changed host key, and how to clear it once checked."""
    label = key_label(key)
    return "\n".join(
        [
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
            "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
            "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
            "Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
            "It is also possible that a host key has just been changed.",
            f"The fingerprint for the {label} key sent by the remote host is",
            f"{fingerprint(key)}.",
            "Please contact your system administrator.",
            f"Add correct host key in {offending.path} to get rid of this message.",
            f"Offending {label} key in {offending.path}:{offending.lineno}",
            "  remove with:",
            f"  ssh-keygen -f {shlex.quote(str(offending.path))} -R {shlex.quote(host)}",
            f"Host key for {host} has changed and you have requested strict checking."
            if strict
            else f"Host key for {host} has changed.",
            "Host key verification failed.",
        ]
    )
