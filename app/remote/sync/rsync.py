"""Running rsync: the argv, the ``-e`` ssh command, progress, and cancel.

rsync goes over the system ``ssh`` with the settings the app resolved for
the host (:class:`SshTarget`: host name, port, user, identity files, jump
hosts or proxy command, known_hosts files), so it reaches the same server
the same way, and with ``StrictHostKeyChecking=yes`` and ``BatchMode=yes``:
a host key the app has not accepted is refused, nothing waits for a
password on a terminal nobody sees. Connections of one sync session share
one SSH connection (``ControlMaster``), closed by :meth:`Ssh.close`.

ssh gets a generated config file (``-F``) rather than only ``-o`` options:
for a jump host ssh runs a second ``ssh -W`` itself, which inherits ``-F``
and no ``-o``, so the settings every hop needs (batch mode, strict host key
checking, the app's known_hosts files) go there, followed by ``Include``
of the config files the app reads (``$HOME/.ssh/config``, where ssh alone
would read the passwd entry's home, and the system one). Host-specific
settings stay on the command line, as argv words: no name a person typed
is ever written into that file.

Nothing here goes through a shell. rsync splits the ``-e`` string itself,
on spaces, honouring single and double quotes, a doubled quote standing for
itself (rsync(1), ``--rsh``); :func:`rsh_quote` quotes every word that way.
Paths on the server travel inside the rsync protocol (``--secluded-args``,
``-s``), never through the remote shell; the list of files goes on rsync's
stdin, NUL-separated (``--files-from=- --from0``), so any name works.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..ssh.config import SYSTEM_CONFIG, SshTarget

log = logging.getLogger(__name__)

# rsync ends within moments of SIGTERM (it removes its temporary file
# first); one that does not is killed after this.
TERM_WAIT_S = 5.0
# The shared SSH connection lives this long after its last rsync: a watch
# reuses it between rounds; it ends when the session closes anyway.
CONTROL_PERSIST_S = 300
# rsync exit codes that mean "the connection or the remote end failed".
_CONNECTION_CODES = {5, 10, 12, 35, 255}
# --info=progress2: "  1,234,567  45%   12.34MB/s    0:00:01 (xfr#3, to-chk=5/10)"
SENT_PREFIX = "<<csync>> "
# A file named in --files-from that is gone: 'rsync: [sender] link_stat
# "/src/a.txt" failed: No such file or directory (2)'.
_VANISHED = re.compile(rb'^rsync: (\[\w+\] )?link_stat ".*" failed: .*\(2\)$')
_SENT = re.compile(r"^(\d+) (\d{4})/(\d\d)/(\d\d)-(\d\d):(\d\d):(\d\d) (.*)$")
_PROGRESS = re.compile(
    r"^\s*([\d,.]+)\s+(\d+)%\s+(\S+)\s+(\S+)(?:\s+\(xfr#(\d+),\s*(?:ir|to)-chk=(\d+)/(\d+)\))?"
)


def rsh_quote(word: str) -> str:
    """One word of rsync's ``-e`` command: single quotes, a quote doubled."""
    if word and re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", word):
        return word
    return "'" + word.replace("'", "''") + "'"


def rsh_join(argv: Sequence[str]) -> str:
    return " ".join(rsh_quote(w) for w in argv)


# The private folder's path goes into ControlPath and, for a jump host, into
# the command ssh builds for the hop (``-F``, run by /bin/sh); both expand
# %-tokens. A temp folder with other characters is not used.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_./-]+")
# What a path in the generated ssh_config may not hold as it is: ssh reads
# %-tokens and ${VAR} in known_hosts paths, glob patterns and ~ in Include,
# and quotes and backslashes in any word. Such a path is reached through a
# link in the private folder instead.
_CONFIG_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\%$*?\[\]~\ud800-\udfff]')


class Ssh:
    """The ``ssh`` command for one host, and its shared connection.

    ``config_files`` are the ssh_config files the app read for the host
    (:attr:`SshConfig.files`), included in that order when they exist.
    """

    def __init__(
        self, target: SshTarget, ssh: str = "ssh", config_files: Sequence[Path] | None = None
    ) -> None:
        self.target = target
        self.program = shutil.which(ssh) or ssh
        # ControlPath must fit a unix socket (107 bytes): a short private folder.
        base = tempfile.gettempdir()
        self._control_dir = tempfile.mkdtemp(
            prefix="csync-", dir=base if _PLAIN_PATH.fullmatch(base) else "/tmp"
        )
        self.control_path = os.path.join(self._control_dir, "%C")
        self.config_file = os.path.join(self._control_dir, "ssh_config")
        self._links = 0
        if config_files is None:
            config_files = [Path.home() / ".ssh" / "config", SYSTEM_CONFIG]
        try:
            text = self._config_text(config_files)
            fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "w", encoding="utf-8") as f:
                f.write(text)
        except BaseException:
            shutil.rmtree(self._control_dir, ignore_errors=True)
            raise

    def _config_text(self, config_files: Sequence[Path]) -> str:
        """The generated ssh_config: what every hop needs, then the app's files.

        ssh takes the first value it finds for a keyword, so these win over
        the included files for every host, jump hosts included.
        """
        t = self.target
        lines = [
            "# claude-sandbox sync: rsync's ssh. Applies to every hop (ssh hands",
            "# a jump host's ssh -F, never -o); first value wins, so these come first.",
            "Host *",
            "    BatchMode yes",
            "    StrictHostKeyChecking yes",
            f"    UserKnownHostsFile {self._config_paths(t.user_known_hosts)}",
            f"    GlobalKnownHostsFile {self._config_paths(t.global_known_hosts)}",
            f"    ConnectTimeout {int(t.connect_timeout_s)}",
            f"    ServerAliveInterval {int(t.keepalive_s)}",
        ]
        lines += [f"Include {self._config_paths([p])}" for p in config_files if p.is_file()]
        return "\n".join(lines) + "\n"

    def _config_paths(self, paths: Sequence[Path]) -> str:
        """Files as one ssh_config value: each absolute, in double quotes;
        one ssh would read otherwise than it is written, through a link."""
        words = []
        for path in paths:
            text = os.path.abspath(path)
            if _CONFIG_UNSAFE.search(text):
                self._links += 1
                link = os.path.join(self._control_dir, f"path-{self._links}")
                os.symlink(text, link)
                text = link
            words.append(f'"{text}"')
        return " ".join(words) or "none"

    def argv(self) -> list[str]:
        t = self.target
        argv = [
            self.program,
            "-F", self.config_file,
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={self.control_path}",
            "-o", f"ControlPersist={CONTROL_PERSIST_S}",
            "-p", str(t.port),
            "-l", t.user,
        ]  # fmt: skip
        if t.host_key_alias:
            argv += ["-o", f"HostKeyAlias={t.host_key_alias}"]
        for path in t.identity_files:
            if path.exists():
                argv += ["-i", str(path)]
        if t.identities_only:
            argv += ["-o", "IdentitiesOnly=yes"]
        if t.proxy_jump:
            argv += ["-J", ",".join(t.proxy_jump)]
        elif t.proxy_command:
            argv += ["-o", f"ProxyCommand={t.proxy_command}"]
        return argv

    def rsh(self) -> str:
        return rsh_join(self.argv())

    def remote_spec(self, path: str) -> str:
        host = self.target.hostname
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{path}"

    async def close(self) -> None:
        """End the shared connection, if one was made."""
        if any(True for _ in os.scandir(self._control_dir)):
            proc = await asyncio.create_subprocess_exec(
                *self.argv(),
                "-O",
                "exit",
                self.target.hostname,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), TERM_WAIT_S)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        shutil.rmtree(self._control_dir, ignore_errors=True)


@dataclass(frozen=True)
class Progress:
    """One ``--info=progress2`` report of a running transfer."""

    direction: str  # "push" (to the server) or "pull"
    bytes: int  # bytes transferred so far in this transfer
    percent: int  # of the whole transfer, as rsync reckons it
    rate: str  # as rsync prints it ("12.34MB/s")
    files_done: int
    files_left: int | None
    files_total: int | None


ProgressCallback = Callable[[Progress], None]


class RsyncFailed(Exception):
    def __init__(self, message: str, code: int, connection: bool) -> None:
        super().__init__(message)
        self.code = code
        self.connection = connection


def transfer_argv(
    source: str, dest: str, backup_dir: str, ssh: Ssh | None, rsync: str = "rsync"
) -> list[str]:
    """The rsync command that copies the listed files from ``source`` into
    ``dest`` (both ending in ``/``), never replacing anything that exists."""
    argv = [
        shutil.which(rsync) or rsync,
        "--files-from=-",
        "--from0",
        "--links",  # symlinks as symlinks, never followed
        "--times",
        "--perms",
        "--omit-dir-times",
        # Every file the plan replaces was moved to the trash just before;
        # anything found at a name now appeared since the listing and is
        # someone's new work: leave it (the next round sees a conflict).
        "--ignore-existing",
        # And should the name be taken between rsync's check and its rename,
        # the file it replaces goes to the trash instead of away.
        f"--backup-dir={backup_dir}",
        "--info=progress2",
        # One line per file written: its length, mtime and name (see Sent).
        f"--out-format={SENT_PREFIX}%l %M %n",
        "--no-inc-recursive",
        "--protect-args",
    ]
    if ssh is not None:
        argv += ["-e", ssh.rsh()]
    return [*argv, "--", source, dest]


@dataclass(frozen=True)
class Sent:
    """A file rsync wrote: its length and its mtime to the second, as rsync
    printed them (rsync gives the file the sender's exact mtime)."""

    size: int
    mtime_s: str  # "YYYY/MM/DD-HH:MM:SS", local time


async def run_rsync(
    argv: Sequence[str],
    files: Sequence[str],
    direction: str,
    on_progress: ProgressCallback | None = None,
    sent: dict[str, Sent] | None = None,
) -> None:
    """Run rsync with ``files`` on its stdin; what it wrote goes into ``sent``.
    Cancelling the task ends rsync (SIGTERM, then SIGKILL) before the cancel
    goes on."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    errors: list[bytes] = []

    async def feed() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(b"".join(os.fsencode(f) + b"\0" for f in files))
            await proc.stdin.drain()
            proc.stdin.close()

    async def read_progress() -> None:
        assert proc.stdout is not None
        buf = b""
        while chunk := await proc.stdout.read(4096):
            buf += chunk
            *parts, buf = re.split(rb"[\r\n]", buf)
            for part in parts:
                text = part.decode(errors="surrogateescape")
                if text.startswith(SENT_PREFIX):
                    got = _SENT.match(text[len(SENT_PREFIX) :])
                    if got and sent is not None:
                        stamp = "{}/{}/{}-{}:{}:{}".format(*got.groups()[1:7])
                        sent[_unescape(got.group(8))] = Sent(int(got.group(1)), stamp)
                    continue
                report = parse_progress(text, direction)
                if report is not None and on_progress is not None:
                    on_progress(report)

    async def read_errors() -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            errors.append(line)

    tasks = [asyncio.ensure_future(c) for c in (feed(), read_progress(), read_errors())]
    try:
        code = await proc.wait()
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        await _stop(proc)
        for t in tasks:
            t.cancel()
        raise
    # 24: some source files vanished while they were sent; 23 with only
    # "link_stat failed" for missing files: before. Not a failure here
    # (someone deleted a file between the listing and the transfer): the
    # next round sees them gone.
    if code not in (0, 24) and not (code == 23 and only_vanished(errors)):
        text = b"".join(errors[-20:]).decode(errors="replace").strip()
        raise RsyncFailed(
            f"rsync exited with status {code}: {text or 'no message'}{_hint(text)}",
            code,
            code in _CONNECTION_CODES,
        )


def only_vanished(stderr: Sequence[bytes]) -> bool:
    """Whether rsync's messages say only that files named to it were missing
    (ENOENT is 2 in any locale), and then that some were not transferred."""
    missing = False
    for line in filter(None, (raw.strip() for raw in stderr)):
        if _VANISHED.match(line):
            missing = True
        elif not (line.startswith(b"rsync error: ") and b"(code 23)" in line):
            return False
    return missing


def _unescape(name: str) -> str:
    """rsync prints an unprintable byte as ``\\#ooo`` (octal)."""
    raw = os.fsencode(name)
    out = re.sub(rb"\\#([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), raw)
    return os.fsdecode(out)


def parse_progress(line: str, direction: str) -> Progress | None:
    match = _PROGRESS.match(line)
    if not match:
        return None
    raw, pct, rate, _eta, xfr, left, total = match.groups()
    return Progress(
        direction,
        int(raw.replace(",", "").replace(".", "")),
        int(pct),
        rate,
        int(xfr or 0),
        int(left) if left else None,
        int(total) if total else None,
    )


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), TERM_WAIT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def _die_with_parent() -> None:
    """In the child: SIGTERM when this program dies, even by SIGKILL, so a
    killed sync leaves no rsync writing behind it (Linux's PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG


def _hint(stderr: str) -> str:
    """What to do when the system ssh that rsync runs could not get in.

    The app's own connection can ask the person (a host key, a passphrase);
    rsync's ssh runs in batch mode and cannot, so it needs what was saved.
    """
    if "Host key verification failed" in stderr:
        return (
            " (rsync runs the system ssh, which trusts only keys saved in known_hosts: "
            "connect to the host once and choose 'Accept and save')"
        )
    if "Permission denied" in stderr and "publickey" in stderr:
        return (
            " (rsync runs the system ssh, which cannot ask for a passphrase or a password: "
            "load the key into the SSH agent, or use a key without one)"
        )
    if "Connection closed by UNKNOWN" in stderr:
        # The jump host's (or proxy command's) ssh failed; with ControlPersist
        # ssh sends its messages to /dev/null, so this is all there is.
        return (
            " (the connection through the jump host or proxy command failed, and ssh does "
            "not show why: rsync's ssh trusts only host keys saved in known_hosts and cannot "
            "ask for a passphrase, for the jump host too)"
        )
    return ""
