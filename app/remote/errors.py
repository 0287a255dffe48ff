"""Errors of the client library, split by who is at fault.

A refusal by hostd arrives as :class:`hostd.protocol.RpcError` (the server
said no). Everything here is about reaching hostd at all: the host could not
be found or reached, it could not be trusted or logged in to, hostd could not
start, or the connection ended under a call. ``retryable`` says whether trying
the same thing again later can help (a dropped link can; a refused host key
or a missing hostd cannot), which is what reconnecting goes by.
"""

from __future__ import annotations


class RemoteError(Exception):
    """Base of every error this library raises about hosts and connections."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class ConfigError(RemoteError):
    """A host profile, a config file or a host name that cannot be used."""


class ConnectFailed(RemoteError):
    """hostd could not be reached: name lookup, TCP, SSH, or a proxy failed."""

    retryable = True


class HostKeyRejected(ConnectFailed):
    """The server's host key is unknown and was not accepted, or it changed."""

    retryable = False


class HostKeyChanged(HostKeyRejected):
    """The server's key is not the one known for it (or is revoked): refused, always."""


class AuthFailed(ConnectFailed):
    """The server refused every way of logging in that was tried."""

    retryable = False


class HostdUnavailable(ConnectFailed):
    """The connection worked but hostd did not start or did not answer."""

    retryable = False


class ConnectionLost(RemoteError):
    """The stream to hostd ended while a call was waiting for its answer."""

    retryable = True


class CallTimeout(RemoteError):
    """No answer within the call's timeout; the call may still run on the host."""


class NotConnected(RemoteError):
    """The client is closed, or gave up reconnecting."""
