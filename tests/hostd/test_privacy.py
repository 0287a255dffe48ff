"""Another user of the server reaches none of a sandbox: display, tmux, logs, state."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Hostd

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")


def as_nobody(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    nobody = pwd.getpwnam("nobody")
    return subprocess.run(
        argv, user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[],
        env={"PATH": os.environ["PATH"], "HOME": "/nonexistent", **env},
        capture_output=True, text=True, cwd="/",
    )  # fmt: skip


def test_another_user_reaches_nothing(
    hostd: Hostd, project: Path, state_dir: Path, short_tmp: Path
) -> None:
    # Only hostd's own permissions stand in the way, not the test's temp folder.
    short_tmp.chmod(0o755)
    project.chmod(0o755)
    assert as_nobody(["ls", str(short_tmp)]).returncode == 0
    sb = hostd.call("sandbox.create", name="private", backend="none", project_dir=str(project),
                    agent="sleep 600")  # fmt: skip
    log = state_dir / "logs" / f"{sb['id']}.log"
    for path in (state_dir / "state.json", log, Path(sb["tmux_socket"]).parent / "xauthority"):
        res = as_nobody(["cat", str(path)])
        assert res.returncode != 0 and "Permission denied" in res.stderr, path
    res = as_nobody(["ls", str(state_dir / "run")])
    assert res.returncode != 0 and "Permission denied" in res.stderr
    res = as_nobody(["tmux", "-S", sb["tmux_socket"], "list-sessions"])
    assert res.returncode != 0
    # The X socket itself is world-connectable (/tmp/.X11-unix); the cookie is not.
    res = as_nobody(["xdpyinfo", "-display", sb["display"]])
    assert res.returncode != 0 and "unable to open display" in res.stderr
    # The owner, with the cookie, gets in.
    xauth = str(Path(sb["tmux_socket"]).parent / "xauthority")
    ok = subprocess.run(["xdpyinfo", "-display", sb["display"]], capture_output=True,
                        env={**os.environ, "XAUTHORITY": xauth})  # fmt: skip
    assert ok.returncode == 0
