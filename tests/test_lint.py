"""The project's own checks: ruff (lint and format) and mypy --strict on hostd and app."""

from __future__ import annotations

import subprocess
import sys

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
