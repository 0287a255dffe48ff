"""Starting hostd on a host, and saying plainly why it did not start.

On a server hostd runs through the person's login shell, so the PATH their
profile sets (a Nix profile, ``~/.local/bin``) is the one that finds it, as
it would be in an interactive ``ssh host``. The command is the person's own
(per host, like OpenSSH's RemoteCommand): a shell command line that is
quoted once to travel inside the login shell's ``-c``.
"""

from __future__ import annotations

import re
import shlex

from .errors import ConfigError, ConnectionLost, HostdUnavailable, RemoteError

DEFAULT_HOSTD_COMMAND = "claude-sandbox-hostd"

INSTALL_HINT = (
    "Install it on that host with `pip install --user claude-sandbox` (which puts "
    "claude-sandbox-hostd in ~/.local/bin) or "
    "`nix profile install <claude-sandbox checkout>#hostd`, "
    "or tell claude-remote where it is: "
    "`claude-remote hosts add NAME DESTINATION --command '/path/to/claude-sandbox-hostd'`."
)

# What a Python too old for hostd (it needs 3.11), or a broken install, writes
# to stderr before it could answer anything.
_PYTHON_TROUBLE = re.compile(
    r"SyntaxError|ModuleNotFoundError|ImportError|requires Python|"
    r"No module named|bad interpreter|version `GLIBC"
)


def login_shell_command(command: str) -> str:
    """The exec-channel command line that runs ``command`` in the login shell.

    sshd already runs what we send through the user's shell with ``-c``; the
    ``exec "$SHELL" -lc`` makes that a login shell so the profile is read.
    ``command`` is quoted once, so it reaches the login shell exactly as the
    person wrote it (it may be ``cd x && hostd``); bash and zsh exec its last
    simple command themselves, leaving no shell process in between.
    """
    if not command.strip():
        raise ConfigError("the hostd command is empty")
    return 'exec "$SHELL" -lc ' + shlex.quote(command)


def login_shell_script(script: str) -> str:
    """Run a POSIX sh script with the login shell's environment (PATH).

    The login shell may be fish or zsh; the script is given to /bin/sh so that
    it means the same everywhere.
    """
    return login_shell_command(shlex.join(["/bin/sh", "-c", script]))


def describe_exit(status: int | None) -> str:
    if status is None or status == -1:
        return "the connection closed before hostd exited"
    if status > 128 and status - 128 < 65:
        return f"hostd was killed by signal {status - 128}"
    if status < 0:
        return f"hostd was killed by signal {-status}"
    return f"hostd exited with status {status}"


def startup_error(
    where: str,
    command: str,
    status: int | None,
    stderr: str,
    stdout_noise: list[str],
    end_reason: str | None = None,
) -> RemoteError:
    """Why hostd on ``where`` ended before it answered ``hello``."""
    tail = "\n".join(line for line in stderr.splitlines() if line.strip())
    tail_lines = tail.splitlines()[-8:]
    said = ("\n  " + "\n  ".join(tail_lines)) if tail_lines else ""
    if status == 127:
        return HostdUnavailable(
            f"hostd is not installed on {where}: your login shell there could not find "
            f"`{command}` (exit status 127).{said}\n{INSTALL_HINT}"
        )
    if status == 126:
        return HostdUnavailable(
            f"hostd on {where} was found but could not be run (exit status 126: not "
            f"executable, or a missing interpreter).{said}\n{INSTALL_HINT}"
        )
    if status is not None and status > 0 and _PYTHON_TROUBLE.search(tail):
        return HostdUnavailable(
            f"hostd on {where} could not start under its Python (exit status {status}): "
            f"it needs Python 3.11 or newer and all of its modules; see the end of its "
            f"error below.{said}\n{INSTALL_HINT}"
        )
    noise = ""
    if stdout_noise:
        noise = "\nBefore that, this was printed on hostd's output (a login script that " + (
            "prints to stdout?):\n  " + "\n  ".join(stdout_noise[-3:])
        )
    if status is None or status == -1:
        return ConnectionLost(
            f"hostd on {where} ended before it answered ({end_reason or 'no exit status'}).{said}"
        )
    return HostdUnavailable(
        f"hostd on {where} ended before it answered: {describe_exit(status)}.{said}{noise}"
    )
