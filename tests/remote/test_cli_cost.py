"""claude-remote metrics prints what a Claude sandbox's tokens would cost,
and the host's total, from real session files read by a real hostd over SSH."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hostd.claude.files import sanitize_path
from tests.claude_transcripts import Transcript
from tests.remote.conftest import Remote
from tests.remote.test_cli import TICKER

H = ("--host", "testhost")


def session_file(config: str, project: Path, name: str = "s1") -> Path:
    """Where Claude Code, with CLAUDE_CONFIG_DIR=config, writes a session of ``project``."""
    return Path(config) / "projects" / sanitize_path(str(project)) / f"{name}.jsonl"


def claude_sandbox(remote: Remote, name: str, model: str, **tokens: int) -> None:
    """A sandbox running the Claude stub, whose session has one answer of ``tokens``."""
    res = remote.cli(*H, "create", name, "none", str(remote.project))
    assert res.returncode == 0, res.stderr
    sb = json.loads(remote.cli(*H, "list", "--json").stdout)
    config = next(s["claude_config"] for s in sb if s["name"] == name)
    t = Transcript(session_file(config, remote.project), str(remote.project), time.time())
    t.prompt("make the tests pass")
    t.response(["text"], model=model, **tokens)  # type: ignore[arg-type]


def test_metrics_prints_the_estimated_cost_of_a_sandbox_and_of_the_host(remote: Remote) -> None:
    # Sonnet 4.5 at $3 / $15 / $3.75 / $0.30 per MTok:
    # 20k in $0.06, 40k out $0.60, 200k cache write $0.75, 2M cache read $0.60.
    claude_sandbox(remote, "priced", "claude-sonnet-4-5-20250929", input_tokens=20_000,
                   output_tokens=40_000, cache_creation=200_000, cache_read=2_000_000)  # fmt: skip
    claude_sandbox(remote, "novel", "claude-nova-1", input_tokens=10, output_tokens=10)
    res = remote.cli(*H, "create", "plain", "none", str(remote.project), "--agent", TICKER)
    assert res.returncode == 0, res.stderr

    res = remote.cli(*H, "metrics", "priced")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert any(line.startswith("tokens    in 20,000 · out 40,000") for line in lines), lines
    cost = next(line for line in lines if line.startswith("cost      "))
    assert cost == (
        "cost      estimated $2.01 (in $0.06 · out $0.60 · cache write $0.75 · "
        "cache read $0.60) at Claude Sonnet 4.5 API list prices of 2026-12-01"
    )
    data = json.loads(remote.cli(*H, "metrics", "priced", "--json").stdout)
    assert data["cost"]["usd"] == round(data["cost"]["usd"], 6) == 2.01
    assert data["cost"]["model"] == "claude-sonnet-4-5-20250929"
    assert data["cost"]["priced_as"] == "claude-sonnet-4-5"
    assert data["cost"]["priced_at"] == "2026-12-01"

    res = remote.cli(*H, "metrics", "novel")
    assert "cost      - (no price for model claude-nova-1)" in res.stdout.splitlines()
    res = remote.cli(*H, "metrics", "plain")
    assert not any(line.startswith("cost") for line in res.stdout.splitlines())
    assert json.loads(remote.cli(*H, "metrics", "plain", "--json").stdout)["cost"] is None

    # The host: the two Claude sandboxes (not the plain one), one of them priced.
    res = remote.cli(*H, "metrics")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == (
        "cost     estimated $2.01 for 2 Claude sandboxes at API list prices of 2026-12-01; "
        "1 not priced (no price for model claude-nova-1)"
    )
    data = json.loads(remote.cli(*H, "metrics", "--json").stdout)
    assert data["memory_total"] > 0  # still system.metrics, with the cost beside it
    assert data["cost"]["sandboxes"] == 2 and data["cost"]["unpriced"] == 1
    assert abs(data["cost"]["usd"] - 2.01) < 1e-9
