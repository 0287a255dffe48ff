"""The binds of the built-in launcher that guard what runs later outside:
the sandbox's own Claude config folder, seeded from the person's, its hooks
folder, and the project's ``.git``.

Part of the launcher's plan (:mod:`hostd.sandbox.bwrap_plan`, which says why
it is loaded by file path): the standard library only, importing nothing
from hostd. hostd imports it by name for :data:`CLAUDE_STATE` and the
person's folder, so both sides agree on what is the sandbox's own.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import sys
from collections.abc import Mapping

PROG = "claude-sandbox (built-in)"


class UsageError(Exception):
    pass


# The sandbox's own part of a Claude config folder: never taken from the
# person's folder, kept in the sandbox's folder across stop/start (the
# same list in nix/backends/common.sh, checked by tests/test_nix.py: every
# launcher agrees). Everything else of the person's folder is shown
# read-only, and .credentials.json read-write as that one file.
CLAUDE_STATE = frozenset(
    {
        "projects", "todos", "shell-snapshots", "statsig", "history.jsonl", "ide",
        "session-env", "file-history", "debug", "plans", "logs", ".claude.json",
        ".credentials.json",
    }
)  # fmt: skip
CREDENTIALS = ".credentials.json"
CLAUDE_JSON = ".claude.json"


# -- the person's Claude config, through the sandbox's own folder ---------------------


def person_claude_dir(env: Mapping[str, str], home: str) -> str:
    configured = env.get("CLAUDE_CONFIG_DIR", "")
    return configured if os.path.isabs(configured) else os.path.join(home, ".claude")


def person_claude_json(env: Mapping[str, str], home: str) -> str:
    # Claude Code keeps it in $CLAUDE_CONFIG_DIR when that is set, else in the home.
    configured = env.get("CLAUDE_CONFIG_DIR", "")
    return os.path.join(configured if os.path.isabs(configured) else home, CLAUDE_JSON)


def claude_config_args(
    folder: str, env: Mapping[str, str], home: str, project: str
) -> tuple[list[str], list[int]]:
    """Binds that make ``folder`` the sandbox's Claude config, seeded from the person's."""
    own = _own_folder(folder)
    person = os.path.realpath(person_claude_dir(env, home))
    # A folder of its own: not in (nor holding) the person's folder or the
    # project, and not holding the home (it is usually inside it).
    clash = [b for b in (person, project) if under_any(own, (b,)) or under_any(b, (own,))]
    if clash or under_any(home, (own,)):
        raise UsageError(
            f"--claude-config {folder!r} overlaps {(clash or [home])[0]!r}: the sandbox's "
            "Claude config folder must be a folder of its own"
        )
    # The sandbox's own folder, read-write: hostd made it for this sandbox
    # alone and only reads its transcripts as data; nothing outside runs from it.
    args = ["--bind", own, own]
    fds: list[int] = []
    dfd = os.open(own, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        try:
            names = sorted(os.listdir(person))
        except OSError:
            names = []
        for name in names:
            src = os.path.join(person, name)
            if name in CLAUDE_STATE or not os.path.exists(src):
                continue  # the sandbox's own, or a dangling link
            _clear_mount_point(dfd, name, os.path.isdir(src))
            # Read-only: the person's settings, CLAUDE.md, commands, agents,
            # hooks and plugins apply inside, and nothing inside can change
            # what the person's own Claude Code runs.
            args += ["--ro-bind", src, os.path.join(own, name)]
        creds = os.path.join(person, CREDENTIALS)
        if os.path.isfile(creds):
            _clear_mount_point(dfd, CREDENTIALS, False)
            # Read-write, that one file: a token refresh inside is kept and the
            # person stays logged in. It is a login token, read by Claude Code
            # as data; nothing runs from it.
            args += ["--bind", creds, os.path.join(own, CREDENTIALS)]
        src_json = person_claude_json(env, home)
        try:
            with open(src_json, "rb") as f:
                data = f.read()
            fd = os.open(src_json, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            pass
        except OSError as exc:
            sys.stderr.write(f"{PROG}: not copying {src_json} into the sandbox: {exc}\n")
        else:
            # Copies (Claude Code rewrites it by rename, which a bind cannot
            # take): what the agent writes there stays the sandbox's.
            _replace_file(dfd, CLAUDE_JSON, data)
            fds.append(fd)
            args += ["--perms", "0600", "--file", str(fd), os.path.join(home, CLAUDE_JSON)]
    finally:
        os.close(dfd)
    return args, fds


def _own_folder(folder: str, flag: str = "--claude-config") -> str:
    if not os.path.isabs(folder):
        raise UsageError(f"{flag} must be an absolute path, not {folder!r}")
    try:
        st = os.lstat(folder)
    except OSError:
        raise UsageError(f"{flag} {folder!r} is not an existing directory") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise UsageError(f"{flag} {folder!r} must be a directory of yours, not a link")
    return os.path.realpath(folder)


def _clear_mount_point(dfd: int, name: str, want_dir: bool) -> None:
    """Remove what the sandbox left at ``name`` if it is not a plain mount point.

    bwrap sets its mounts up while the host's root is still reachable: a link
    left there by an earlier run would lead it to make the mount point (an
    empty file) wherever the link points. A file where a folder is wanted
    (or the reverse) would make bwrap fail.
    """
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode) != want_dir:
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=dfd)  # never follows links
        else:
            os.unlink(name, dir_fd=dfd)


def _replace_file(dfd: int, name: str, data: bytes) -> None:
    """Write ``name`` in the folder by rename: a link there is replaced, never followed."""
    tmp = f".{name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        os.unlink(tmp, dir_fd=dfd)
        raise


# -- the hooks folder ---------------------------------------------------------------------


def hooks_args(
    folder: str, env: Mapping[str, str], home: str, project: str, claude_config: str | None
) -> list[str]:
    """Binds that show the sandbox's hooks folder (hostd/claude/hooks.py) at its path.

    Of hostd's runtime folder only this: the folder read-only (hook.sh and
    settings.json are hostd's, answers/ is where hostd answers permission
    requests), and its events/ read-write on top, where the hook writes.
    """
    own = _own_folder(folder, "--hooks")
    person = os.path.realpath(person_claude_dir(env, home))
    config = [os.path.realpath(claude_config)] if claude_config is not None else []
    # A folder of its own, as the Claude config folder is: overlapping the
    # project or a Claude folder, one bind would show or hide the other's files.
    clash = [b for b in (project, person, *config) if under_any(own, (b,)) or under_any(b, (own,))]
    if clash or under_any(home, (own,)):
        raise UsageError(
            f"--hooks {folder!r} overlaps {(clash or [home])[0]!r}: the sandbox's "
            "hooks folder must be a folder of its own"
        )
    events = os.path.join(own, "events")
    try:
        st = os.lstat(events)
    except OSError:
        st = None
    if st is None or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise UsageError(f"--hooks {folder!r} has no events folder of yours (not a link)")
    # Read-only: the hook command and the settings that name it run inside,
    # and answers/ decides the agent's permission requests; nothing inside
    # can change them. events/ read-write: the hook's event files, which
    # hostd reads as data only (size capped, JSON checked), never runs.
    return ["--ro-bind", own, own, "--bind", events, events]


# -- the project's .git ------------------------------------------------------------------


def git_args(project: str) -> list[str]:
    """Make what git runs later (config, hooks) read-only inside the project."""
    dotgit = os.path.join(project, ".git")
    try:
        st = os.lstat(dotgit)
    except FileNotFoundError:
        return []
    if stat.S_ISLNK(st.st_mode):
        # A link cannot be a mount point: the agent could replace it with a
        # .git of its own that the person's git would then run.
        raise UsageError(
            f"{dotgit} is a symbolic link, which the sandbox cannot protect; "
            "make it a folder or a worktree's .git file"
        )
    if stat.S_ISDIR(st.st_mode):
        # Bound onto itself: a mount point cannot be renamed away or replaced.
        return ["--bind", dotgit, dotgit, *_gitdir_args(dotgit, project), *_commondir_args(dotgit)]
    # A worktree's .git file, read-only: it names the git dir that applies.
    args = ["--ro-bind", dotgit, dotgit]
    gitdir = _read_pointer(dotgit, "gitdir: ", project)
    if gitdir is not None and os.path.isdir(gitdir):
        args += _gitdir_args(gitdir, project)
        commondir_file = os.path.join(gitdir, "commondir")
        if os.path.isfile(commondir_file):
            # Read-only too: it names the common dir whose config applies.
            args += ["--ro-bind", commondir_file, commondir_file]
            common = _read_pointer(commondir_file, "", gitdir)
            if common is not None and os.path.isdir(common):
                args += _gitdir_args(common, project)
    return args


def _gitdir_args(gitdir: str, project: str) -> list[str]:
    inside = under_any(gitdir, (project,))
    config, hooks = os.path.join(gitdir, "config"), os.path.join(gitdir, "hooks")
    if inside:
        # Made when missing, so the agent cannot create them where git looks.
        os.makedirs(hooks, exist_ok=True)
        if not os.path.lexists(config):
            os.close(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    # Read-only: git runs what they name (core.fsmonitor, core.hooksPath,
    # the hooks themselves) for the person outside the sandbox.
    args: list[str] = []
    for path in (config, hooks, os.path.join(gitdir, "config.worktree")):
        if os.path.islink(path) and not inside:
            continue  # outside the project: out of the agent's reach anyway
        if os.path.islink(path):
            # A link is no mount point: the agent could put its own in its place.
            raise UsageError(
                f"{path} is a symbolic link, which the sandbox cannot keep read-only; "
                "make it a file or folder of its own"
            )
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def _commondir_args(dotgit: str) -> list[str]:
    """A main repository's ``commondir``: made (``.``) when missing, read-only.

    git reads ``$GIT_DIR/commondir`` in every repository, a main one too, and
    takes config and hooks from the folder it names; with the top of .git
    writable (git renames its lock files there), an agent could write one
    naming a folder of its own, whose hooks the person's git would run. A
    commondir of ``.`` names .git itself, which is what git assumes anyway.
    """
    path = os.path.join(dotgit, "commondir")
    if os.path.islink(path):
        raise UsageError(
            f"{path} is a symbolic link, which the sandbox cannot keep read-only; "
            "remove it (a main repository needs none)"
        )
    if not os.path.lexists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, b".\n")
        finally:
            os.close(fd)
    return ["--ro-bind", path, path] if os.path.isfile(path) else []


def _read_pointer(path: str, prefix: str, base: str) -> str | None:
    """The path a .git file (``gitdir: X``) or a ``commondir`` file names, resolved."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(4096).strip()
    except OSError:
        return None
    if not text.startswith(prefix):
        return None
    target = text[len(prefix) :].strip()
    return os.path.realpath(os.path.join(base, target)) if target else None


def under_any(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)
