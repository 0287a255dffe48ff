"""claude-remote --json: errors are JSON on stdout too, with the same exit status."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.remote.conftest import Remote
from tests.remote.sshd import free_port

H = ("--host", "testhost")


def json_error(res: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The error object a script reads: stdout is one JSON document, nothing else."""
    doc = json.loads(res.stdout)
    assert set(doc) == {"error"}, doc
    err: dict[str, Any] = doc["error"]
    assert set(err) == {"code", "message", "data"}
    assert isinstance(err["code"], int) and isinstance(err["message"], str)
    assert "Traceback" not in res.stderr
    return err


def both(remote: Remote, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """The command run without --json and with it: the same exit status."""
    text = remote.cli(*args)
    res = remote.cli(*args, "--json")
    assert res.returncode == text.returncode, (args, text.stderr, res.stdout)
    err = json_error(res)
    assert err["message"] in text.stderr  # the same words
    return res, err


def test_the_host_saying_no_is_hostds_error_object(remote: Remote) -> None:
    res, err = both(remote, *H, "stop", "nosuch")
    assert res.returncode == 1
    assert err == {"code": -32001, "message": "no sandbox with id or name 'nosuch'",
                   "data": {"id": "nosuch"}}  # fmt: skip
    res, err = both(remote, *H, "create", "x", "warp-drive", str(remote.project))
    assert res.returncode == 1 and err["code"] < 0 and "warp-drive" in err["message"]


def test_usage_errors_are_json_with_status_2(remote: Remote) -> None:
    # Our own checks.
    res, err = both(remote, *H, "create", "x", "none", "relative/dir")
    assert (res.returncode, err["code"]) == (2, 2) and "absolute path" in err["message"]
    res, err = both(remote, "--host", "bad host", "list")
    assert (res.returncode, err["code"]) == (2, 2) and "not a host profile" in err["message"]
    res, err = both(remote, "hosts", "add", "bad name", "x")
    assert (res.returncode, err["code"]) == (2, 2) and "bad profile name" in err["message"]
    # argparse's, with --json before or after the command.
    for args in (("--json", *H, "create", "x"), (*H, "create", "x", "--json")):
        res = remote.cli(*args)
        err = json_error(res)
        assert (res.returncode, err["code"]) == (2, 2)
        assert "required: backend, dir" in err["message"]
        assert err["data"]["usage"].startswith("usage: claude-remote create")
    # Without --json: argparse's usual text.
    res = remote.cli(*H, "create", "x")
    assert res.returncode == 2 and res.stdout == ""
    assert "usage: claude-remote create" in res.stderr and "error: the following" in res.stderr


def test_an_unreachable_host_is_json_with_status_255(remote: Remote) -> None:
    port = free_port()  # nothing listens there
    res, err = both(remote, "--host", f"root@127.0.0.1:{port}", "ls")
    assert (res.returncode, err["code"]) == (255, 255)
    assert "refused" in err["message"] and str(port) in err["message"]


def test_a_sync_that_fails_is_json(remote: Remote, short_tmp: Path) -> None:
    local = short_tmp / "here"
    local.mkdir()
    (local / "a.txt").write_text("a")
    env = {"XDG_STATE_HOME": str(short_tmp / "xdg")}
    dest = remote.project / "p"
    dest.mkdir()
    assert remote.cli(*H, "sync", str(local), str(dest), env=env).returncode == 0
    (dest / "a.txt").unlink()  # the host's folder emptied: the sync refuses
    text = remote.cli(*H, "sync", str(local), str(dest), env=env)
    res = remote.cli(*H, "sync", str(local), str(dest), "--json", env=env)
    assert res.returncode == text.returncode == 1, res.stderr
    err = json_error(res)
    assert err["code"] == 1 and f"{dest} is empty" in err["message"]
    assert err["data"]["empty"] == "remote" and err["data"]["deletes"] == 1
    assert "--push" in err["data"]["hint"] and "--push" in text.stderr
    assert (local / "a.txt").exists()
