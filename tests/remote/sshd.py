"""A real OpenSSH sshd on a loopback port, and a private client HOME for it.

Throwaway host and user keys, its own authorized_keys, config, pid file and
log; ``-D -e`` keeps it in the foreground with its log on stderr (read by a
thread: the tests look for lines in it). Stopping it ends the listener and
every per-connection process under it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.helpers import DEADLINE_S, REPO, wait_for

SSHD = "/usr/sbin/sshd"
# OpenSSH's privilege separation folder; the Debian service makes it at boot
# (RuntimeDirectory=sshd), so a machine where sshd never ran as a service
# lacks it and sshd refuses to start.
PRIVSEP_DIR = Path("/run/sshd")


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "", comment: str = "") -> Path:
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            kind,
            "-N",
            passphrase,
            "-C",
            comment or path.name,
            "-f",
            str(path),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sshd:
    root: Path
    port: int
    host_key: Path
    proc: subprocess.Popen[bytes]
    log_lines: list[str] = field(default_factory=list)

    @property
    def host_pub(self) -> str:
        """``ssh-ed25519 AAAA...`` of its host key."""
        return " ".join(Path(f"{self.host_key}.pub").read_text().split()[:2])

    def known_hosts_line(self, host: str = "127.0.0.1") -> str:
        return f"[{host}]:{self.port} {self.host_pub}\n"

    @property
    def log(self) -> str:
        return "\n".join(self.log_lines)

    def connection_processes(self) -> list[psutil.Process]:
        """The sshd processes serving connections (not the listener)."""
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        out = []
        for p in kids:
            with contextlib.suppress(psutil.Error):
                if p.name() == "sshd" or (p.cmdline() and p.cmdline()[0].startswith("sshd")):
                    out.append(p)
        return out

    def kill_connections(self) -> int:
        """Kill every per-connection sshd process: the link drops as when a
        network goes away (no SSH disconnect message is sent)."""
        procs = self.connection_processes()
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.kill()
        return len(procs)

    def stop(self) -> None:
        for p in self.connection_processes():
            with contextlib.suppress(psutil.Error):
                p.kill()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_sshd(
    root: Path, authorized: list[Path], extra: str = "", host_key: Path | None = None
) -> Sshd:
    """Start sshd under ``root`` accepting the given public keys (as root)."""
    root.mkdir(parents=True, exist_ok=True)
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    if host_key is None:
        host_key = keygen(root / "host_ed25519")
    auth = root / "authorized_keys"
    auth.write_text("".join(Path(f"{p}.pub").read_text() for p in authorized))
    for _attempt in range(5):  # a free port can be taken by someone else before sshd binds it
        port = free_port()
        conf = root / "sshd_config"
        conf.write_text(
            # sshd takes the first value of a keyword: extra comes first to override.
            f"""{extra}
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {root}/sshd.pid
AuthorizedKeysFile {auth}
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowTcpForwarding yes
PermitTunnel no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
"""
        )
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        sshd = Sshd(root, port, host_key, proc)
        ready = threading.Event()

        def read(sshd: Sshd = sshd, ready: threading.Event = ready) -> None:
            assert sshd.proc.stderr is not None
            for raw in sshd.proc.stderr:
                line = raw.decode(errors="replace").rstrip()
                sshd.log_lines.append(line)
                if "Server listening on" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(DEADLINE_S)
        if proc.poll() is None and "Server listening" in sshd.log:
            return sshd
        sshd.stop()
        if "Address already in use" not in sshd.log:
            raise RuntimeError(f"sshd did not start:\n{sshd.log}")
        time.sleep(0.1)
    raise RuntimeError("sshd found no free port in 5 tries")


def hostd_command(state_dir: Path, extra_env: dict[str, str] | None = None) -> str:
    """The shell command line that runs this worktree's hostd on the test host."""
    env = {"HOSTD_STATE_DIR": str(state_dir), **(extra_env or {})}
    if "HOSTD_SETTLE_S" in os.environ and "HOSTD_SETTLE_S" not in env:
        env["HOSTD_SETTLE_S"] = os.environ["HOSTD_SETTLE_S"]  # tests/conftest.py: sshd drops it
    return shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "hostd"])


def write_client_home(
    home: Path, sshd: Sshd, user_key: Path, known: bool = True, extra: str = ""
) -> None:
    """A HOME whose ~/.ssh/config names the test host ``testhost``."""
    ssh = home / ".ssh"
    ssh.mkdir(parents=True, mode=0o700, exist_ok=True)
    (ssh / "config").write_text(
        f"""Host testhost
    HostName 127.0.0.1
    Port {sshd.port}
    User root
    IdentityFile {user_key}
    IdentitiesOnly yes
{extra}
Host *
    GlobalKnownHostsFile /dev/null
"""
    )
    if known:
        (ssh / "known_hosts").write_text(sshd.known_hosts_line())


def client_env(home: Path) -> dict[str, str]:
    """The environment for a claude-remote run as the person whose HOME this is."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SSH_", "CLAUDE_REMOTE"))
    }
    env.update(HOME=str(home), PYTHONPATH=str(REPO))
    return env


__all__ = [
    "Sshd",
    "client_env",
    "hostd_command",
    "keygen",
    "start_sshd",
    "wait_for",
    "write_client_home",
]
