"""Logging in to an SSH server the way OpenSSH does, and saying what was tried.

Order: ask the server what it accepts ("none"), then public keys (the agent's,
then the identity files, asking for a passphrase where a file is encrypted),
then keyboard-interactive and password through the password callback. When
nothing works the error lists every method and key that was tried and why it
did not do, since "Authentication failed" alone sends people guessing.

Runs on the SSH worker thread (blocking paramiko calls).
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
from paramiko.ssh_exception import (
    AuthenticationException,
    BadAuthenticationType,
    SSHException,
)

from ..errors import AuthFailed, ConnectFailed
from ..prompts import Asker, Prompts
from .config import SshTarget

log = logging.getLogger(__name__)

# OpenSSH's NumberOfPasswordPrompts default: three tries at a passphrase or
# password before giving up on it.
MAX_PROMPTS = 3
# Partial authentication (publickey then password, say) rarely has more than
# two steps; this bounds a server that keeps asking for more.
MAX_ROUNDS = 5


class Authenticator:
    def __init__(
        self, transport: paramiko.Transport, target: SshTarget, prompts: Prompts, asker: Asker
    ) -> None:
        self.transport = transport
        self.target = target
        self.prompts = prompts
        self.asker = asker
        self.tried: list[str] = []
        self.allowed: list[str] = []
        self.server_accepts: list[str] = []  # as first announced, for the message

    def run(self) -> None:
        user = self.target.user
        try:
            self.transport.auth_none(user)
        except BadAuthenticationType as exc:
            self.allowed = list(exc.allowed_types)
        except AuthenticationException:
            self.allowed = ["publickey", "password"]
        except SSHException as exc:
            raise ConnectFailed(f"{self.target.label}: SSH failed before login: {exc}") from exc
        self.server_accepts = list(self.allowed)
        for _ in range(MAX_ROUNDS):
            if self.transport.is_authenticated():
                return
            before = list(self.allowed)
            if not (self._publickey() or self._interactive() or self._password()):
                break
            if self.allowed == before and not self.transport.is_authenticated():
                break
        if not self.transport.is_authenticated():
            raise AuthFailed(self._failure())

    # -- methods ---------------------------------------------------------------------

    def _publickey(self) -> bool:
        """True when a key got us in, or one step further."""
        if "publickey" not in self.allowed:
            return False
        if not self.target.pubkey_auth:
            self.tried.append("public key (PubkeyAuthentication no)")
            return False
        for label, key in self._keys():
            try:
                remaining = self.transport.auth_publickey(self.target.user, key)
            except BadAuthenticationType as exc:
                self.allowed = list(exc.allowed_types)
                return False
            except AuthenticationException:
                self.tried.append(f"{label} (refused)")
                continue
            except SSHException as exc:
                raise ConnectFailed(f"{self.target.label}: SSH failed during login: {exc}") from exc
            self.tried.append(f"{label} (accepted)")
            self.allowed = list(remaining)
            return True
        return False

    def _keys(self) -> Iterator[tuple[str, paramiko.PKey]]:
        wanted_blobs = self._identity_blobs() if self.target.identities_only else None
        agent_blobs: set[bytes] = set()
        if os.environ.get("SSH_AUTH_SOCK"):
            agent = paramiko.Agent()
            try:
                keys = agent.get_keys()
                if not keys:
                    self.tried.append("agent (it holds no keys)")
                for key in keys:
                    blob = key.asbytes()
                    if wanted_blobs is not None and blob not in wanted_blobs:
                        continue
                    agent_blobs.add(blob)
                    comment = getattr(key, "comment", "") or key.fingerprint
                    yield f"agent key {comment}", key
            finally:
                agent.close()
        else:
            self.tried.append("agent (none running: SSH_AUTH_SOCK is not set)")
        for path in self.target.identity_files:
            if not path.exists():
                continue
            pub = _public_blob(path)
            if pub is not None and pub in agent_blobs:
                continue  # the agent already offered it
            loaded = self._load(path)
            if loaded is not None:
                yield f"key {path}", loaded

    def _load(self, path: Path) -> paramiko.PKey | None:
        try:
            return paramiko.PKey.from_path(path)
        except TypeError as exc:
            if "password" not in str(exc).lower() and "encrypted" not in str(exc).lower():
                self.tried.append(f"key {path} (cannot read it: {exc})")
                return None
        except (ValueError, SSHException, OSError) as exc:
            self.tried.append(f"key {path} (cannot read it: {exc})")
            return None
        if self.prompts.passphrase is None:
            self.tried.append(
                f"key {path} (encrypted, and there is nobody to ask for its passphrase)"
            )
            return None
        for _ in range(MAX_PROMPTS):
            prompt = f"Enter passphrase for key '{path}': "
            secret = self.asker.ask(self.prompts.passphrase, prompt, None)
            if secret is None:
                self.tried.append(f"key {path} (encrypted; no passphrase given)")
                return None
            try:
                # The passphrase goes to cryptography's loaders, which take
                # bytes only (a str raises TypeError), whatever the stubs say.
                password: Any = secret.encode()
                return paramiko.PKey.from_path(path, password)
            except (TypeError, ValueError, SSHException):
                log.info("wrong passphrase for %s", path)
        self.tried.append(f"key {path} (wrong passphrase {MAX_PROMPTS} times)")
        return None

    def _identity_blobs(self) -> set[bytes]:
        return {b for p in self.target.identity_files if (b := _public_blob(p)) is not None}

    def _interactive(self) -> bool:
        if "keyboard-interactive" not in self.allowed or not self.target.kbd_interactive_auth:
            return False
        ask = self.prompts.password
        if ask is None:
            self.tried.append("keyboard-interactive (not asked: nobody to answer)")
            return False

        def handler(title: str, instructions: str, fields: list[tuple[str, bool]]) -> list[str]:
            answers = []
            for prompt, _echo in fields:
                answer = self.asker.ask(
                    ask, prompt or f"{self.target.user}@{self.target.hostname}'s password: ", None
                )
                if answer is None:
                    raise AuthenticationException("declined")
                answers.append(answer)
            return answers

        try:
            remaining = self.transport.auth_interactive(self.target.user, handler)
        except BadAuthenticationType as exc:
            self.allowed = list(exc.allowed_types)
            return False
        except AuthenticationException:
            self.tried.append("keyboard-interactive (refused)")
            self.allowed = [a for a in self.allowed if a != "keyboard-interactive"]
            return False
        self.allowed = list(remaining)
        return True

    def _password(self) -> bool:
        if "password" not in self.allowed or not self.target.password_auth:
            return False
        ask = self.prompts.password
        if ask is None:
            self.tried.append("password (not asked: nobody to answer)")
            return False
        for _ in range(MAX_PROMPTS):
            secret = self.asker.ask(
                ask, f"{self.target.user}@{self.target.hostname}'s password: ", None
            )
            if secret is None:
                self.tried.append("password (none given)")
                return False
            try:
                remaining = self.transport.auth_password(self.target.user, secret, fallback=False)
            except BadAuthenticationType as exc:
                self.allowed = list(exc.allowed_types)
                return False
            except AuthenticationException:
                continue
            self.allowed = list(remaining)
            return True
        self.tried.append(f"password (refused {MAX_PROMPTS} times)")
        self.allowed = [a for a in self.allowed if a != "password"]
        return False

    def _failure(self) -> str:
        accepts = ",".join(self.server_accepts) or "nothing we could offer"
        tried = "\n  ".join(self.tried) or "nothing (no key, agent or password to offer)"
        return f"Permission denied ({accepts}) for {self.target.label}.\nTried:\n  {tried}"


def _public_blob(path: Path) -> bytes | None:
    """The public key next to a private key file (``id_x.pub``), if there is one."""
    try:
        fields = path.with_name(path.name + ".pub").read_text().split()
        return base64.b64decode(fields[1]) if len(fields) >= 2 else None
    except (OSError, ValueError):
        return None
