"""The project's own checks: ruff (lint and format) and mypy --strict on hostd and app."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.helpers import REPO


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=REPO, capture_output=True, text=True)


def test_ruff_finds_nothing() -> None:
    res = run("ruff", "check", ".")
    assert res.returncode == 0, res.stdout + res.stderr


def test_code_is_formatted() -> None:
    res = run("ruff", "format", "--check", ".")
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_strict_passes_on_hostd_and_the_client() -> None:
    res = run("mypy")
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_release_number_is_pyprojects() -> None:
    from hostd.protocol.version import __version__

    with (REPO / "pyproject.toml").open("rb") as f:
        assert tomllib.load(f)["project"]["version"] == __version__
