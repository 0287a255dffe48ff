"""Cost estimates from sandbox.metrics' claude object, and the price table they use."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.remote import cost
from app.remote.cost import (
    PriceTableError,
    context_window,
    estimate,
    format_usd,
    parse_prices,
    prices,
    sum_costs,
)
from tests.helpers import REPO

TABLE = REPO / "app" / "remote" / "prices.toml"
# The families the app must price (the brief's list); each id as Claude Code reports it.
MUST_PRICE = {
    "claude-opus-4-5-20251101": "claude-opus-4-5",
    "claude-opus-4-1-20250805": "claude-opus-4-1",
    "claude-opus-4-20250514": "claude-opus-4",
    "claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
    "claude-sonnet-4-20250514": "claude-sonnet-4",
    "claude-3-7-sonnet-20250219": "claude-3-7-sonnet",
    "claude-haiku-4-5-20251001": "claude-haiku-4-5",
    "claude-3-5-haiku-20241022": "claude-3-5-haiku",
    "claude-3-haiku-20240307": "claude-3-haiku",
    "claude-3-opus-20240229": "claude-3-opus",
}


def claude(model: str | None = "claude-sonnet-4-5-20250929", **tokens: int) -> dict:
    counts = {"input_tokens": 0, "output_tokens": 0, "cache_creation_tokens": 0,
              "cache_read_tokens": 0}  # fmt: skip
    return {**counts, **tokens, "model": model, "context_tokens": 6010,
            "subagents": {"count": 0}}  # fmt: skip


def test_a_model_id_is_priced_by_the_longest_row_that_starts_it() -> None:
    table = prices()
    for model, key in MUST_PRICE.items():
        price = table.lookup(model)
        assert price is not None and price.key == key, model
    # opus-4-1 is not priced as opus-4, nor sonnet-4-5 as sonnet-4.
    assert table.lookup("claude-opus-4-1-20250805").input == 15.0  # type: ignore[union-attr]
    assert table.lookup("claude-opus-4-5-20251101").input == 5.0  # type: ignore[union-attr]
    # Aliases, undated ids, Claude Code's 1M variant, Vertex and Bedrock spellings.
    for model, key in {
        "claude-sonnet-4-5": "claude-sonnet-4-5",
        "claude-3-7-sonnet-latest": "claude-3-7-sonnet",
        "claude-opus-4-6": "claude-opus-4-6",
        "claude-opus-4-8[1m]": "claude-opus-4-8",
        "claude-sonnet-4-5@20250929": "claude-sonnet-4-5",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0": "claude-sonnet-4-5",
        "anthropic.claude-opus-4-6-v1:0": "claude-opus-4-6",
        "Claude-Haiku-4-5-20251001": "claude-haiku-4-5",
    }.items():
        price = table.lookup(model)
        assert price is not None and price.key == key, model


def test_a_newer_version_without_a_row_is_unknown_not_priced_as_its_elder() -> None:
    table = prices()
    for model in ("claude-opus-4-9", "claude-sonnet-5-5", "claude-opus-5-5-20270101",
                  "claude-haiku-4", "gpt-4o", "<synthetic>", "", None):  # fmt: skip
        assert table.lookup(model) is None, model


def test_an_estimate_worked_by_hand() -> None:
    # Sonnet 4.5: $3 input, $15 output, $3.75 cache write, $0.30 cache read per MTok.
    c = estimate(claude(input_tokens=113, output_tokens=52, cache_creation_tokens=1000,
                        cache_read_tokens=11_000))  # fmt: skip
    assert c is not None and c.model_known and c.priced_as == "claude-sonnet-4-5"
    assert c.input_usd == pytest.approx(113 * 3 / 1e6)  # $0.000339
    assert c.output_usd == pytest.approx(52 * 15 / 1e6)  # $0.00078
    assert c.cache_write_usd == pytest.approx(1000 * 3.75 / 1e6)  # $0.00375
    assert c.cache_read_usd == pytest.approx(11_000 * 0.30 / 1e6)  # $0.0033
    assert c.usd == pytest.approx(0.008169)
    assert format_usd(c.usd) == "$0.01"
    # A busy day on Opus 4.1: 2M input, 400k output, 3M cache write, 60M cache read.
    big = estimate(claude("claude-opus-4-1-20250805", input_tokens=2_000_000,
                          output_tokens=400_000, cache_creation_tokens=3_000_000,
                          cache_read_tokens=60_000_000))  # fmt: skip
    assert big is not None and big.usd == pytest.approx(30 + 30 + 56.25 + 90)
    assert format_usd(big.usd) == "$206.25"  # type: ignore[arg-type]
    assert big.priced_at == prices().checked


def test_an_unknown_model_has_no_figure_and_says_why() -> None:
    c = estimate(claude("claude-opus-9", input_tokens=10, output_tokens=10))
    assert c is not None and c.usd is None and not c.model_known
    assert c.reason == "no price for model claude-opus-9"
    assert c.input_usd is None and c.priced_as is None
    unnamed = estimate(claude(None, output_tokens=10))
    assert unnamed is not None and unnamed.reason == "the session names no model"
    # Nothing spent yet costs nothing, whatever the model.
    fresh = estimate(claude(None))
    assert fresh is not None and fresh.usd == 0.0 and fresh.reason is None
    assert estimate(None) is None  # not Claude Code


def test_costs_sum_over_a_host_and_count_the_unpriced() -> None:
    a = estimate(claude(output_tokens=1_000_000))  # $15
    b = estimate(claude("claude-haiku-4-5-20251001", input_tokens=1_000_000))  # $1
    c = estimate(claude("claude-nova-1", input_tokens=5))
    d = estimate(claude("claude-nova-1", output_tokens=5))
    total = sum_costs([a, b, c, d, None])
    assert total.usd == pytest.approx(16.0)
    assert (total.priced, total.unpriced, total.count) == (2, 2, 4)
    assert total.reasons == ("no price for model claude-nova-1",)
    assert sum_costs([]).usd == 0 and sum_costs([]).count == 0


def test_usd_is_formatted_for_a_person() -> None:
    assert format_usd(0.42) == "$0.42"
    assert format_usd(12.3) == "$12.30"
    assert format_usd(1234.5) == "$1,234.50"
    assert format_usd(0.004) == "<$0.01"
    assert format_usd(0.0) == "$0.00"
    assert format_usd(0.005) == "$0.01"


def test_context_windows() -> None:
    assert context_window("claude-sonnet-4-5-20250929") == 200_000
    assert context_window("claude-opus-4-6") == 1_000_000
    assert context_window("claude-opus-4-7") is None  # priced, window not checked
    assert context_window("claude-nova-1") is None and context_window(None) is None


def test_the_table_has_every_family_with_sane_prices() -> None:
    table = prices()
    for key in MUST_PRICE.values():
        assert key in table.models, key
    for key, p in table.models.items():
        # Anthropic's published multipliers: cache write 1.25x input, cache read 0.1x.
        assert p.cache_write == pytest.approx(1.25 * p.input, rel=0.21), key
        assert p.cache_read == pytest.approx(0.1 * p.input, rel=0.21), key
        assert p.output >= p.input, key
        assert p.context is None or p.context >= 100_000, key
    assert prices() is prices()  # read once


def test_the_table_says_where_its_prices_come_from_and_when() -> None:
    text = TABLE.read_text()
    header = text.split("\n\n")[0]
    assert "https://platform.claude.com/docs/en/about-claude/pricing" in header
    assert "PRICES CHANGE" in text and "Long context" in text
    table = prices()
    assert table.checked == dt.date(2026, 12, 1)
    assert re.search(rf"Checked {table.checked.isoformat()}", text)
    assert all(s.startswith("https://") for s in table.source)


def test_the_table_is_in_the_package_data() -> None:
    # The wheel is built from this setting (tests/test_lint.py reads pyproject the same way).
    import tomllib

    with (REPO / "pyproject.toml").open("rb") as f:
        data = tomllib.load(f)["tool"]["setuptools"]["package-data"]
    assert "prices.toml" in data["app.remote"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("this is = not toml [", "not valid TOML"),
        (
            'source = ["https://x"]\ncurrency = "USD"\n[models.claude-a]\n',
            "'checked' must be a date",
        ),
        ('checked = 2026-01-01\nsource = ["http://x"]\ncurrency = "USD"', "https:// URLs"),
        ('checked = 2026-01-01\nsource = ["https://x"]\ncurrency = "EUR"', "'currency'"),
        ('checked = 2026-01-01\nsource = ["https://x"]\ncurrency = "USD"', "no [models"),
        ('checked = 2026-01-01\nsource = ["https://x"]\ncurrency = "USD"\nextra = 1', "unknown"),
    ],
)
def test_a_broken_table_is_named_clearly(text: str, needle: str) -> None:
    with pytest.raises(PriceTableError, match=re.escape(needle)):
        parse_prices(text)


HEAD = 'checked = 2026-01-01\nsource = ["https://x"]\ncurrency = "USD"\n'
ROW = 'name = "A"\ninput = 1\noutput = 5\ncache_write = 1.25\ncache_read = 0.1\n'


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ('[models.claude-a]\nname = "A"\ninput = 1\n', "[models.claude-a]: missing"),
        ("[models.claude-a]\n" + ROW.replace("input = 1", 'input = "one"'), "'input' must be"),
        ("[models.claude-a]\n" + ROW.replace("output = 5", "output = -5"), "'output' must be"),
        ("[models.claude-a]\n" + ROW + "context = 0\n", "'context' must be"),
        ("[models.claude-a]\n" + ROW + "colour = 1\n", "unknown keys ['colour']"),
        ("[models.Claude-A]\n" + ROW, "lower-case"),
        ("[models.gpt-4]\n" + ROW, "starts with claude-"),
    ],
)
def test_a_broken_row_is_named_clearly(row: str, needle: str) -> None:
    with pytest.raises(PriceTableError, match=re.escape(needle)):
        parse_prices(HEAD + row)
    assert parse_prices(HEAD + "[models.claude-a]\n" + ROW).models["claude-a"].output == 5.0


def test_json_form_names_the_model_the_rates_and_their_date() -> None:
    c = estimate(claude(output_tokens=1000))
    assert c is not None
    data = c.to_json()
    assert data["usd"] == pytest.approx(0.015) and data["priced_as"] == "claude-sonnet-4-5"
    assert data["model"] == "claude-sonnet-4-5-20250929"
    assert data["priced_at"] == "2026-12-01" and data["source"] == list(cost.prices().source)
    assert data["parts"]["output"] == pytest.approx(0.015)
