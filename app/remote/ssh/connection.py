"""One authenticated SSH connection: reach the host, check its key, log in.

Blocking (paramiko), so it runs on a worker thread, never on the event loop.
The way there is TCP, a ProxyCommand, or a ``direct-tcpip`` channel of the
jump host's own connection (ProxyJump); the host key is checked against
known_hosts, the person is asked about an unknown one, a changed one is
refused; then :mod:`.auth` logs in and keepalives start.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import subprocess
import threading
from typing import Any

import paramiko
from paramiko.ssh_exception import ChannelException, SSHException

from ..errors import ConnectFailed, ConnectionLost, HostKeyChanged, HostKeyRejected
from ..prompts import Asker, Prompts
from ..streams import StderrTail
from .auth import Authenticator
from .config import SshConfig, SshTarget
from .known_hosts import (
    Decision,
    HostKeyQuestion,
    KnownHosts,
    Status,
    changed_key_warning,
    fingerprint,
    host_id,
    key_label,
)

log = logging.getLogger(__name__)

# ProxyJump chains deeper than this are a loop in ~/.ssh/config.
MAX_JUMP_DEPTH = 8
# A new channel is answered by sshd at once; 30 s covers a loaded server.
CHANNEL_OPEN_TIMEOUT_S = 30.0
# After a failed ProxyCommand, its stderr (written as it died) is read for
# this long before the error is reported without it.
PROXY_STDERR_WAIT_S = 1.0

DEFAULT_UNKNOWN_KEY_HINT = (
    "Connect once from a terminal (claude-remote, or ssh) to check the fingerprint and accept it."
)


class SshConnection:
    """An authenticated transport, and what it stands on (jumps, a proxy)."""

    def __init__(
        self,
        transport: paramiko.Transport,
        target: SshTarget,
        under: list[SshConnection],
        proxy: ProxyProcess | None,
    ) -> None:
        self.transport = transport
        self.target = target
        self._under = under
        self._proxy = proxy

    @property
    def active(self) -> bool:
        return self.transport.is_active() and self.transport.is_authenticated()

    def open_session(self) -> paramiko.Channel:
        try:
            return self.transport.open_session(timeout=CHANNEL_OPEN_TIMEOUT_S)
        except (SSHException, EOFError, OSError) as exc:
            raise ConnectionLost(f"{self.target.label}: cannot open a channel: {exc}") from exc

    def direct_tcpip(self, host: str, port: int) -> paramiko.Channel:
        """A channel to ``host:port`` as seen from this host (for ProxyJump)."""
        try:
            return self.transport.open_channel(
                "direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=CHANNEL_OPEN_TIMEOUT_S
            )
        except ChannelException as exc:
            raise ConnectFailed(
                f"jump host {self.target.label} could not reach {host} port {port}: {exc.text}"
            ) from exc
        except (SSHException, EOFError, OSError) as exc:
            raise ConnectFailed(
                f"jump host {self.target.label}: cannot open a channel to {host}:{port}: {exc}"
            ) from exc

    def close(self) -> None:
        self.transport.close()
        if self._proxy is not None:
            self._proxy.close()
        for conn in reversed(self._under):
            conn.close()


def connect(
    target: SshTarget, config: SshConfig, prompts: Prompts, asker: Asker, depth: int = 0
) -> SshConnection:
    """Connect, check the host key and log in. Raises a ConnectFailed subclass."""
    if depth > MAX_JUMP_DEPTH:
        raise ConnectFailed(
            f"ProxyJump for {target.name} nests more than {MAX_JUMP_DEPTH} deep", retryable=False
        )
    under: list[SshConnection] = []
    proxy: ProxyProcess | None = None
    try:
        sock: Any
        for hop in target.proxy_jump:
            hop_target = config.resolve(hop)
            if not under:
                under.append(connect(hop_target, config, prompts, asker, depth + 1))
            else:
                chan = under[-1].direct_tcpip(hop_target.hostname, hop_target.port)
                under.append(_handshake(chan, hop_target, prompts, asker, [], None))
        if under:
            sock = under[-1].direct_tcpip(target.hostname, target.port)
        elif target.proxy_command:
            proxy = ProxyProcess(target.proxy_command)
            sock = proxy.sock
        else:
            sock = _tcp(target)
        return _handshake(sock, target, prompts, asker, under, proxy)
    except BaseException:
        if proxy is not None:
            proxy.close()
        for conn in reversed(under):
            conn.close()
        raise


def _tcp(target: SshTarget) -> socket.socket:
    host, port = target.hostname, target.port
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectFailed(f"could not resolve host name {host!r}: {exc.strerror}") from exc
    errors: list[str] = []
    for family, kind, proto, _name, addr in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(target.connect_timeout_s)
        try:
            sock.connect(addr)
            sock.settimeout(None)
            return sock
        except TimeoutError:
            waited = target.connect_timeout_s
            errors.append(f"timed out after {waited:.0f} s connecting to {addr[0]} port {port}")
        except OSError as exc:
            if exc.errno == errno.ECONNREFUSED:
                errors.append(
                    f"connection refused by {addr[0]} port {port} (is sshd running there?)"
                )
            else:
                errors.append(f"cannot connect to {addr[0]} port {port}: {exc.strerror or exc}")
        sock.close()
    raise ConnectFailed(f"{host}: " + "; ".join(errors))


def _handshake(
    sock: Any,
    target: SshTarget,
    prompts: Prompts,
    asker: Asker,
    under: list[SshConnection],
    proxy: ProxyProcess | None,
) -> SshConnection:
    transport = paramiko.Transport(sock)
    try:
        known = KnownHosts(target.user_known_hosts, target.global_known_hosts)
        name = target.host_key_alias or host_id(target.hostname, target.port)
        _prefer_known_key_types(transport, known.known_types(name))
        try:
            transport.start_client(timeout=target.connect_timeout_s)
        except (SSHException, EOFError, OSError) as exc:
            extra = (
                f"\nProxyCommand said:\n  {proxy.stderr.last_lines(5)}"
                if proxy and proxy.wait_stderr()
                else ""
            )
            raise ConnectFailed(
                f"{target.label}: SSH negotiation failed: {exc or type(exc).__name__}{extra}"
            ) from exc
        _check_host_key(transport, target, known, name, prompts, asker)
        Authenticator(transport, target, prompts, asker).run()
        transport.set_keepalive(target.keepalive_s)
        return SshConnection(transport, target, under, proxy)
    except BaseException:
        transport.close()
        raise


def _prefer_known_key_types(transport: paramiko.Transport, types: list[str]) -> None:
    """Ask for a key type we already know first, as OpenSSH does, so a host
    known by its RSA key is not asked for an ED25519 key it also has."""
    opts = transport.get_security_options()
    current = list(opts.key_types)
    wanted: list[str] = []
    for kt in types:
        algs = ["rsa-sha2-512", "rsa-sha2-256"] if kt == "ssh-rsa" else [kt]
        wanted += [a for a in algs if a in current and a not in wanted]
    if wanted:
        opts.key_types = wanted + [a for a in current if a not in wanted]


def _check_host_key(
    transport: paramiko.Transport,
    target: SshTarget,
    known: KnownHosts,
    name: str,
    prompts: Prompts,
    asker: Asker,
) -> None:
    key = transport.get_remote_server_key()
    verdict = known.check(name, key)
    if verdict.status is Status.KNOWN:
        return
    if verdict.status is Status.REVOKED:
        assert verdict.offending is not None
        raise HostKeyChanged(
            f"The {key_label(key)} host key of {name} is marked as revoked in "
            f"{verdict.offending.path}:{verdict.offending.lineno}.\nHost key verification failed."
        )
    if verdict.status is Status.CHANGED:
        assert verdict.offending is not None
        raise HostKeyChanged(changed_key_warning(name, key, verdict.offending))
    peer = transport.getpeername()
    address = f"{peer[0]} port {peer[1]}" if isinstance(peer, tuple) else target.hostname
    question = HostKeyQuestion(
        name,
        address,
        key_label(key),
        fingerprint(key),
        verdict.other_types,
        known.user_files[0] if known.user_files else None,
    )
    strict = target.strict_host_key_checking
    if strict == "yes":
        raise HostKeyRejected(
            f"{question.text()}\nNo {question.key_type} host key is known for {name} and "
            "you have requested strict checking (StrictHostKeyChecking yes).\n"
            "Host key verification failed."
        )
    if strict in ("accept-new", "no"):
        decision = Decision.ACCEPT_AND_SAVE
    elif prompts.host_key is None:
        hint = prompts.unknown_key_hint or DEFAULT_UNKNOWN_KEY_HINT
        raise HostKeyRejected(
            f"{question.text()}\nRefused: nobody was there to check this fingerprint "
            f"(not an interactive terminal).\n{hint}"
        )
    else:
        decision = asker.ask(prompts.host_key, question, Decision.REFUSE)
    if decision is Decision.REFUSE:
        raise HostKeyRejected(
            f"Host key verification failed: the {question.key_type} key of {name} was refused."
        )
    if decision is Decision.ACCEPT_AND_SAVE:
        try:
            path = known.save(name, key, target.hash_known_hosts)
            log.warning(
                "Permanently added '%s' (%s) to the list of known hosts (%s).",
                name,
                question.key_type,
                path,
            )
        except OSError as exc:
            log.warning("could not save the host key of %s: %s", name, exc)


class ProxyProcess:
    """A ProxyCommand on one end of a socket pair; the transport gets the other.

    paramiko's own ProxyCommand spins on a closed pipe and never reads the
    command's stderr; a socket pair makes the proxy look like any socket, and
    a thread keeps its stderr (the reason a proxy failed) for the message.
    The command line is the person's own, from ~/.ssh/config, run by /bin/sh
    as OpenSSH runs it.
    """

    def __init__(self, command: str) -> None:
        self.command = command
        ours, theirs = socket.socketpair()
        self.stderr = StderrTail()
        try:
            self.proc = subprocess.Popen(
                ["/bin/sh", "-c", "exec " + command],
                stdin=theirs.fileno(),
                stdout=theirs.fileno(),
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            raise ConnectFailed(
                f"cannot run ProxyCommand {command!r}: {exc}", retryable=False
            ) from exc
        finally:
            theirs.close()
        self.sock = ours
        self._drained = threading.Event()
        threading.Thread(target=self._drain, name="ssh-proxy-stderr", daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        for chunk in iter(lambda: os.read(fd, 4096), b""):
            self.stderr.add(chunk)
        self._drained.set()

    def wait_stderr(self) -> bool:
        self._drained.wait(PROXY_STDERR_WAIT_S)
        return bool(self.stderr.text().strip())

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
