"""MetricsHistory as the app feeds it: pushes in, bounded series and rates out.

Pure data (the module imports no Qt), so no widget and no event loop here.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

from app.ui import history as hist
from app.ui.history import MetricsHistory, token_total
from tests.helpers import REPO

T0 = 1_800_000_000.0


def system(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cpu_percent": 12.5, "cpu_count": 8, "memory_used": 4_000, "memory_total": 16_000,
        "disk_used": 100, "disk_total": 500, "load": [0.42, 0.35, 0.3],
        "net_rx_bytes": 1_000, "net_tx_bytes": 2_000,
    }  # fmt: skip
    return {**base, **over}


def claude(inp: int, out: int, cw: int = 0, cr: int = 0) -> dict[str, Any]:
    return {"input_tokens": inp, "output_tokens": out, "cache_creation_tokens": cw,
            "cache_read_tokens": cr, "model": "claude-sonnet-4-5-20250929"}  # fmt: skip


def push(sys_: dict[str, Any] | None = None, **sandboxes: dict[str, Any]) -> dict[str, Any]:
    return {"system": sys_ if sys_ is not None else system(), "sandboxes": sandboxes}


def sandbox(cpu: float = 5.0, rss: int = 1 << 20, cl: dict[str, Any] | None = None) -> dict:
    return {"claude": cl, "activity": {"state": "working"},
            "processes": {"cpu_percent": cpu, "rss_bytes": rss, "count": 3}}  # fmt: skip


def test_history_imports_no_qt() -> None:
    tree = ast.parse((REPO / "app" / "ui" / "history.py").read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.startswith(("PySide6", "shiboken6", "qasync", "app.ui"))]


def test_a_push_fills_the_host_and_sandbox_series() -> None:
    h = MetricsHistory()
    h.add("srv", push(a=sandbox(cpu=12.5, rss=400, cl=claude(100, 50, 1000, 10_000))), T0)
    assert h.host_series("srv", hist.HOST_CPU) == [(T0, 12.5)]
    assert h.host_series("srv", hist.MEMORY_USED) == [(T0, 4000.0)]
    assert h.host_latest("srv", hist.MEMORY_TOTAL) == 16_000
    assert h.host_latest("srv", hist.DISK_USED) == 100 and h.host_latest("srv", hist.DISK_TOTAL)
    assert h.host_series("srv", hist.LOAD_1) == [(T0, 0.42)]
    assert h.series("srv", "a", hist.CPU) == [(T0, 12.5)]
    assert h.series("srv", "a", hist.RSS) == [(T0, 400.0)]
    assert h.series("srv", "a", hist.TOKENS) == [(T0, 11_150.0)]  # all four kinds
    # A rate needs two samples.
    assert (
        h.host_series("srv", hist.NET_RX) == [] and h.series("srv", "a", hist.TOKENS_PER_MIN) == []
    )
    assert h.claude("srv", "a") == claude(100, 50, 1000, 10_000)
    assert h.hosts() == ["srv"] and h.sandboxes("srv") == ["a"]


def test_rates_come_from_consecutive_samples() -> None:
    h = MetricsHistory()
    h.add("srv", push(a=sandbox(cl=claude(100, 50))), T0)
    h.add("srv", push(system(net_rx_bytes=4_000, net_tx_bytes=2_600),
                      a=sandbox(cl=claude(110, 80, 0, 1_000))), T0 + 3)  # fmt: skip
    assert h.host_series("srv", hist.NET_RX) == [(T0 + 3, 1000.0)]  # 3000 B in 3 s
    assert h.host_series("srv", hist.NET_TX) == [(T0 + 3, 200.0)]
    # 1040 tokens in 3 s is 20,800 a minute; 30 output tokens in 3 s, 600.
    assert h.series("srv", "a", hist.TOKENS_PER_MIN) == [(T0 + 3, 20_800.0)]
    assert h.series("srv", "a", hist.OUTPUT_PER_MIN) == [(T0 + 3, 600.0)]


def test_a_counter_that_went_down_gives_no_rate_and_starts_again() -> None:
    h = MetricsHistory()
    h.add("srv", push(system(net_rx_bytes=10_000), a=sandbox(cl=claude(500, 500))), T0)
    # The host rebooted, the sandbox restarted: both counters began again.
    h.add("srv", push(system(net_rx_bytes=300), a=sandbox(cl=claude(10, 20))), T0 + 3)
    assert h.host_series("srv", hist.NET_RX) == []
    assert h.series("srv", "a", hist.TOKENS_PER_MIN) == []
    assert h.series("srv", "a", hist.TOKENS) == [(T0, 1000.0), (T0 + 3, 30.0)]
    # From the new baseline, rates again.
    h.add("srv", push(system(net_rx_bytes=600), a=sandbox(cl=claude(10, 26))), T0 + 6)
    assert h.host_series("srv", hist.NET_RX) == [(T0 + 6, 100.0)]
    assert h.series("srv", "a", hist.TOKENS_PER_MIN) == [(T0 + 6, 120.0)]


def test_no_rate_across_a_long_silence() -> None:
    h = MetricsHistory(rate_gap_s=30)
    h.add("srv", push(system(net_rx_bytes=0)), T0)
    h.add("srv", push(system(net_rx_bytes=1_000_000)), T0 + 120)  # disconnected a while
    assert h.host_series("srv", hist.NET_RX) == []
    h.add("srv", push(system(net_rx_bytes=1_000_300)), T0 + 123)
    assert h.host_series("srv", hist.NET_RX) == [(T0 + 123, 100.0)]


def test_series_keep_only_the_last_keep_s_seconds() -> None:
    h = MetricsHistory(keep_s=60)
    for i in range(100):
        h.add("srv", push(a=sandbox(cpu=float(i))), T0 + 3 * i)
    cpu = h.series("srv", "a", hist.CPU)
    last = T0 + 3 * 99
    assert cpu[-1] == (last, 99.0)
    assert all(t >= last - 60 for t, _ in cpu) and len(cpu) == 21
    assert len(h.host_series("srv", hist.HOST_CPU)) == 21


def test_the_number_of_samples_is_bounded_whatever_the_times() -> None:
    h = MetricsHistory(keep_s=60, min_interval_s=1)
    assert h.maxlen == 61
    for i in range(1000):  # ten pushes a second: faster than hostd sends
        h.add("srv", push(a=sandbox()), T0 + i / 10)
    assert len(h.series("srv", "a", hist.CPU)) == 61


def test_a_sandbox_gone_from_the_pushes_ages_out_and_drop_forgets_at_once() -> None:
    h = MetricsHistory(keep_s=60)
    h.add("srv", push(a=sandbox(cl=claude(1, 1)), b=sandbox()), T0)
    for i in range(1, 30):
        h.add("srv", push(b=sandbox()), T0 + 3 * i)
    assert h.sandboxes("srv") == ["b"] and h.claude("srv", "a") is None
    h.drop_sandbox("srv", "b")
    assert h.sandboxes("srv") == [] and h.series("srv", "b", hist.CPU) == []
    h.add("other", push(), T0)
    h.drop_host("srv")
    assert h.hosts() == ["other"] and h.host_series("srv", hist.HOST_CPU) == []


def test_a_sandbox_that_is_not_claude_has_no_token_series() -> None:
    h = MetricsHistory()
    h.add("srv", push(a=sandbox(cl=claude(5, 5))), T0)
    h.add("srv", push(a=sandbox(cl=None)), T0 + 3)  # its agent changed: no claude any more
    assert h.claude("srv", "a") is None
    assert h.series("srv", "a", hist.TOKENS) == [(T0, 10.0)]
    assert len(h.series("srv", "a", hist.CPU)) == 2


def test_missing_or_odd_figures_are_skipped_not_guessed() -> None:
    h = MetricsHistory()
    odd = {"cpu_percent": None, "memory_used": "lots", "load": [], "net_rx_bytes": True,
           "disk_used": float("nan")}  # fmt: skip
    h.add("srv", {"system": odd, "sandboxes": {"a": {"processes": None, "claude": {}}}}, T0)
    h.add("srv", {"sandboxes": "nonsense"}, T0 + 3)
    for name in hist.HOST_SERIES:
        assert h.host_series("srv", name) == [], name
    for name in hist.SANDBOX_SERIES:
        assert h.series("srv", "a", name) == [], name
    assert h.sandboxes("srv") == ["a"]


def test_unknown_series_names_are_a_bug() -> None:
    h = MetricsHistory()
    with pytest.raises(ValueError, match="no sandbox series 'cpu'"):
        h.series("srv", "a", "cpu")
    with pytest.raises(ValueError, match="no host series"):
        h.host_series("srv", hist.TOKENS)
    assert h.series("nosuch", "a", hist.CPU) == [] and h.latest("srv", "a", hist.CPU) is None
    with pytest.raises(ValueError):
        MetricsHistory(keep_s=0)


def test_a_sample_older_than_the_last_is_not_put_out_of_order() -> None:
    h = MetricsHistory()
    h.add("srv", push(a=sandbox(cpu=1)), T0)
    h.add("srv", push(a=sandbox(cpu=2)), T0 - 5)  # the clock stepped back
    assert h.series("srv", "a", hist.CPU) == [(T0, 1.0)]


def test_token_total_counts_all_four_kinds() -> None:
    assert token_total(claude(1, 2, 3, 4)) == 10
    assert token_total({"input_tokens": 7}) == 7
    assert token_total({}) is None
