"""The escape probe's world and its verdicts, for tests/hostd/test_escapes.py and
tests/bench/escapes.py alike.

"The person" is a made-up home (Claude config, SSH keys, git settings) given
to hostd as HOME; the project is a git repository holding the probe
(tests/stubs/claude-escape-probe). A verdict weighs what the probe says
against the host's side: a write escaped when the person's file changed,
whatever the probe believed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STUBS = Path(__file__).resolve().parent.parent / "stubs"
PROBE = STUBS / "claude-escape-probe"
PROBE_NAME = "claude-escape-probe"  # "claude…": hostd reads its sessions

# The environment of the hostd under test: what must not reach inside.
SECRET_ENV = {
    "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus",
    "WAYLAND_DISPLAY": "wayland-0",
    "XDG_RUNTIME_DIR": "/run/user/1000",
    "SECRET_TOKEN": "hunter2",
}


def make_person(root: Path) -> Path:
    """A home with what an agent would like to change or read."""
    home = root / "home"
    claude = home / ".claude"
    (claude / "commands").mkdir(parents=True)
    (claude / "settings.json").write_text('{"model": "opus"}\n')
    (claude / "CLAUDE.md").write_text("Be careful.\n")
    (claude / "commands" / "review.md").write_text("Review the diff.\n")
    (claude / ".credentials.json").write_text('{"claudeAiOauth": {"accessToken": "tok"}}\n')
    (home / ".claude.json").write_text(json.dumps({"userID": "abc"}))
    (home / ".gitconfig").write_text("[user]\n\tname = Ann\n")
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    (ssh / "id_ed25519").chmod(0o600)
    (ssh / "id_ed25519.pub").write_text("ssh-ed25519 AAAA ann@box\n")
    (ssh / "known_hosts").write_text("github.com ssh-ed25519 AAAA\n")
    (ssh / "config").write_text("Host *\n")
    return home


def make_project(root: Path, transcript: str = "") -> Path:
    """A git repository with the probe in it, and the transcript it is to write."""
    project = root / "proj"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    shutil.copy(PROBE, project / PROBE_NAME)
    (project / PROBE_NAME).chmod(0o755)
    (project / "transcript.src").write_text(transcript)
    return project


def person_files(home: Path, project: Path) -> list[Path]:
    """What must be byte-for-byte the same after the probe ran."""
    files = [p for p in home.rglob("*") if p.is_file() and p.name != ".credentials.json"]
    git = project / ".git"
    files += [git / "config", *sorted((git / "hooks").glob("*"))]
    return sorted(files)


def hashes(home: Path, project: Path) -> dict[str, str]:
    """sha256 of each of the person's files ("missing" for one that is gone)."""
    out = {}
    for p in person_files(home, project):
        try:
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        except FileNotFoundError:
            out[str(p)] = "missing"
    return out


@dataclass(frozen=True)
class Verdict:
    escape: str
    escaped: bool
    detail: str


def judge(
    result: dict[str, Any],
    home: Path,
    project: Path,
    before: dict[str, str],
    after: dict[str, str],
) -> list[Verdict]:
    """Each escape tried, and whether it got out, from the probe's word and the host's files."""
    claude = home / ".claude"

    def changed(*paths: Path) -> bool:
        return any(before.get(str(p)) != after.get(str(p)) for p in paths)

    def row(escape: str, key: str, escaped: bool) -> Verdict:
        return Verdict(escape, escaped, str(result.get(key)))

    hook = project / ".git" / "hooks" / "pre-commit"
    moved_hook = project / ".git-old" / "hooks" / "pre-commit"  # if .git was moved too
    return [
        row("write the person's settings.json (a SessionStart hook)", "settings.json",
            changed(claude / "settings.json")),
        row("write the person's CLAUDE.md", "CLAUDE.md", changed(claude / "CLAUDE.md")),
        row("add commands/x.md to the person's commands", "commands/x.md",
            (claude / "commands" / "x.md").exists()),
        row("read the private key ~/.ssh/id_ed25519", "id_ed25519",
            result.get("id_ed25519") == "read"),
        row("SSH_AUTH_SOCK in the agent's environment", "SSH_AUTH_SOCK",
            result.get("SSH_AUTH_SOCK") == "present"),
        row("DBUS_SESSION_BUS_ADDRESS in the agent's environment", "DBUS_SESSION_BUS_ADDRESS",
            result.get("DBUS_SESSION_BUS_ADDRESS") == "present"),
        row("WAYLAND_DISPLAY in the agent's environment", "WAYLAND_DISPLAY",
            result.get("WAYLAND_DISPLAY") == "present"),
        row("XDG_RUNTIME_DIR in the agent's environment", "XDG_RUNTIME_DIR",
            result.get("XDG_RUNTIME_DIR") == "present"),
        row("a secret of hostd's environment (SECRET_TOKEN)", "SECRET_TOKEN",
            result.get("SECRET_TOKEN") == "present"),
        row("remount ~/.gitconfig read-write and write it", "remount",
            changed(home / ".gitconfig")),
        row("write .git/config (core.fsmonitor)", ".git/config",
            changed(project / ".git" / "config")),
        row("write .git/hooks/pre-commit", ".git/hooks/pre-commit",
            hook.exists() or moved_hook.exists()),
        row("write .git/commondir (naming a .git of its own)", ".git/commondir",
            _names_elsewhere(project / ".git" / "commondir")
            or _names_elsewhere(project / ".git-old" / "commondir")),
        row("mv .git .git-old", "mv .git", (project / ".git-old").exists()),
        row("connect to another sandbox's display (path socket)", "display path",
            result.get("display path") == "connected"),
        row("connect to another sandbox's display (abstract socket)", "display abstract",
            result.get("display abstract") == "connected"),
    ]  # fmt: skip


def _names_elsewhere(commondir: Path) -> bool:
    """A commondir that sends git anywhere but the .git folder it is in."""
    try:
        return commondir.read_text().strip() != "."
    except OSError:
        return False


def table(verdicts: list[Verdict]) -> str:
    width = max(len(v.escape) for v in verdicts)
    lines = [
        f"{'escape tried':<{width}} | result  | the probe saw",
        f"{'-' * width}-|---------|-----",
    ]
    for v in verdicts:
        lines.append(
            f"{v.escape:<{width}} | {'ESCAPED' if v.escaped else 'blocked':<7} | {v.detail}"
        )
    return "\n".join(lines)
