"""What a Claude sandbox's tokens would cost at Anthropic's list prices: an estimate.

    cost = estimate(metrics["claude"])       # sandbox.metrics' claude object
    print(format_usd(cost.usd) if cost and cost.usd is not None else cost.reason)

Prices come from ``prices.toml`` beside this module (its header says where
the numbers come from and when they were checked), loaded once and checked
for shape: a broken table is a bug, and fails loudly with what is wrong.

The estimate multiplies each kind of token hostd counted (input, output,
cache write, cache read) by its rate for the session's model. What it cannot
know, and so leaves out, is said where it matters:

- hostd's totals include sub-agents, but name only the main session's model,
  so sub-agents are priced as that model (high, if they ran on Haiku);
- cache writes are priced at the 5-minute rate (Claude Code's default; the
  1-hour rate is higher and the totals do not tell them apart);
- long-context rates (some models, requests over 200K input) are not applied:
  the totals are per session, not per request;
- a subscription (Pro/Max) is not billed per token at all: the figure is what
  the tokens would cost on the API.

No Qt, no I/O beyond reading the packaged table: claude-remote and the app
both use it.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PRICES_FILE = "prices.toml"
# The figures a row must have, $ per million tokens, and what hostd calls the
# matching token count in sandbox.metrics' claude object.
KINDS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_write": "cache_creation_tokens",
    "cache_read": "cache_read_tokens",
}
_ROW_KEYS = {"name", "context", *KINDS}
_TOP_KEYS = {"checked", "source", "currency", "models"}
PER = 1_000_000  # prices are per million tokens (MTok)
# A table key must be a model id's start, up to where only a snapshot suffix
# follows: a date ("-20250929", Vertex's "@20250929"), an alias ("-latest"),
# Claude Code's variant ("[1m]"), or Bedrock's version ("-v1:0"). So
# "claude-opus-4" prices "claude-opus-4-20250514" but not "claude-opus-4-7",
# which, without a row of its own, is unknown rather than mispriced.
_SUFFIX = re.compile(r"(?:[-@]\d{8}|-latest|\[|-v\d)")
# Bedrock and its cross-region profiles put "anthropic." (after "us.", "eu."...) first.
_PROVIDER = re.compile(r"^(?:[a-z]{2,6}\.)?anthropic\.")


class PriceTableError(ValueError):
    """prices.toml is missing, unreadable or not shaped as cost.py expects."""


@dataclass(frozen=True)
class Price:
    key: str  # the table row, e.g. "claude-sonnet-4-5"
    name: str  # "Claude Sonnet 4.5"
    input: float  # $/MTok
    output: float
    cache_write: float  # 5-minute cache writes
    cache_read: float
    context: int | None  # tokens; None where the table does not say


@dataclass(frozen=True)
class PriceTable:
    checked: dt.date  # when the prices were last compared with the source
    source: tuple[str, ...]  # where they come from (URLs)
    models: Mapping[str, Price]

    def lookup(self, model: str | None) -> Price | None:
        """The row for a model id as hostd reports it (the longest key that
        starts it, with only a snapshot suffix after), or None."""
        if not model:
            return None
        wanted = _PROVIDER.sub("", model.strip().lower())
        best: Price | None = None
        for key, price in self.models.items():
            if not wanted.startswith(key):
                continue
            rest = wanted[len(key) :]
            if (rest == "" or _SUFFIX.match(rest)) and (best is None or len(key) > len(best.key)):
                best = price
        return best


@dataclass(frozen=True)
class Cost:
    """The estimate for one Claude session (sub-agents included).

    ``usd`` is None when the model has no price (``reason`` says so); the
    parts are then None too. No tokens at all cost $0 whatever the model.
    """

    model: str | None  # as hostd reported it
    priced_as: str | None  # the table row used, or None
    model_known: bool
    usd: float | None
    input_usd: float | None
    output_usd: float | None
    cache_write_usd: float | None
    cache_read_usd: float | None
    reason: str | None  # why there is no figure
    priced_at: dt.date  # the table's checked date

    def to_json(self) -> dict[str, Any]:
        """For ``--json`` output: plain values, the date as ISO text."""
        return {
            "usd": self.usd,
            "model": self.model,
            "priced_as": self.priced_as,
            "model_known": self.model_known,
            "parts": {
                "input": self.input_usd,
                "output": self.output_usd,
                "cache_write": self.cache_write_usd,
                "cache_read": self.cache_read_usd,
            },
            "reason": self.reason,
            "priced_at": self.priced_at.isoformat(),
            "source": list(prices().source),
        }


@dataclass(frozen=True)
class CostSum:
    """Several sessions' estimates (a host's): the priced ones summed, and
    how many could not be priced, and why."""

    usd: float
    priced: int
    unpriced: int
    reasons: tuple[str, ...]  # one per distinct reason

    @property
    def count(self) -> int:
        return self.priced + self.unpriced

    def to_json(self) -> dict[str, Any]:
        return {
            "usd": self.usd,
            "sandboxes": self.count,
            "priced": self.priced,
            "unpriced": self.unpriced,
            "reasons": list(self.reasons),
            "priced_at": prices().checked.isoformat(),
        }


# -- the API ---------------------------------------------------------------------


def estimate(claude: Mapping[str, Any] | None) -> Cost | None:
    """The cost of a sandbox.metrics ``claude`` object; None when it is None
    (the agent is not Claude Code)."""
    if claude is None:
        return None
    table = prices()
    model = claude.get("model")
    model = model if isinstance(model, str) and model else None
    price = table.lookup(model)
    counts = {kind: _count(claude.get(field)) for kind, field in KINDS.items()}
    if price is None:
        if not any(counts.values()):
            # Nothing spent yet (often no model either, before the first answer).
            return Cost(model, None, False, 0.0, 0.0, 0.0, 0.0, 0.0, None, table.checked)
        why = f"no price for model {model}" if model else "the session names no model"
        return Cost(model, None, False, None, None, None, None, None, why, table.checked)
    parts = {kind: counts[kind] * getattr(price, kind) / PER for kind in KINDS}
    return Cost(
        model=model,
        priced_as=price.key,
        model_known=True,
        usd=sum(parts.values()),
        input_usd=parts["input"],
        output_usd=parts["output"],
        cache_write_usd=parts["cache_write"],
        cache_read_usd=parts["cache_read"],
        reason=None,
        priced_at=table.checked,
    )


def sum_costs(costs: Iterable[Cost | None]) -> CostSum:
    """Add up a host's sessions; a None (not Claude Code) is not counted."""
    usd, priced, unpriced, reasons = 0.0, 0, 0, dict[str, None]()
    for cost in costs:
        if cost is None:
            continue
        if cost.usd is None:
            unpriced += 1
            reasons[cost.reason or "not priced"] = None
        else:
            priced += 1
            usd += cost.usd
    return CostSum(usd, priced, unpriced, tuple(reasons))


def format_usd(usd: float) -> str:
    """Dollars as a person reads them: "$0.42", "$12.30", "$1,234.50", "<$0.01"."""
    if 0 < usd < 0.005:
        return "<$0.01"  # would round to $0.00, yet something was spent
    return f"${usd:,.2f}"


def context_window(model: str | None) -> int | None:
    """The model's context window in tokens, if the table knows it."""
    price = prices().lookup(model)
    return price.context if price is not None else None


@functools.cache
def prices() -> PriceTable:
    """The packaged table, read and checked once."""
    try:
        raw = importlib.resources.files("app.remote").joinpath(PRICES_FILE).read_bytes()
    except OSError as exc:
        raise PriceTableError(f"cannot read {PRICES_FILE}: {exc}") from exc
    return parse_prices(raw.decode("utf-8"))


def parse_prices(text: str) -> PriceTable:
    """A price table from TOML text, or PriceTableError saying what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PriceTableError(f"{PRICES_FILE} is not valid TOML: {exc}") from exc
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise PriceTableError(f"{PRICES_FILE}: unknown top-level keys {sorted(unknown)}")
    checked = data.get("checked")
    if not isinstance(checked, dt.date) or isinstance(checked, dt.datetime):
        raise PriceTableError(f"{PRICES_FILE}: 'checked' must be a date (2026-12-01)")
    source = data.get("source")
    if (
        not isinstance(source, list)
        or not source
        or not all(isinstance(s, str) and s.startswith("https://") for s in source)
    ):
        raise PriceTableError(f"{PRICES_FILE}: 'source' must be a list of https:// URLs")
    if data.get("currency") != "USD":
        raise PriceTableError(f"{PRICES_FILE}: 'currency' must be \"USD\"")
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise PriceTableError(f"{PRICES_FILE}: no [models.<id>] rows")
    return PriceTable(checked, tuple(source), {k: _row(k, v) for k, v in models.items()})


# -- internals -------------------------------------------------------------------


def _row(key: str, row: object) -> Price:
    where = f"{PRICES_FILE} [models.{key}]"
    if key != key.lower() or not key.startswith("claude-"):
        raise PriceTableError(f"{where}: a model id is lower-case and starts with claude-")
    if not isinstance(row, dict):
        raise PriceTableError(f"{where}: not a table")
    missing = {"name", *KINDS} - set(row)
    if missing:
        raise PriceTableError(f"{where}: missing {sorted(missing)}")
    unknown = set(row) - _ROW_KEYS
    if unknown:
        raise PriceTableError(f"{where}: unknown keys {sorted(unknown)}")
    if not isinstance(row["name"], str):
        raise PriceTableError(f"{where}: 'name' must be text")
    rates = {}
    for kind in KINDS:
        value = row[kind]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value < 0:
            raise PriceTableError(f"{where}: {kind!r} must be a price >= 0, not {value!r}")
        rates[kind] = float(value)
    context = row.get("context")
    if context is not None and (
        not isinstance(context, int) or isinstance(context, bool) or context <= 0
    ):
        raise PriceTableError(f"{where}: 'context' must be a number of tokens, not {context!r}")
    return Price(key, row["name"], context=context, **rates)


def _count(value: object) -> int:
    # hostd sends ints; anything else (missing, null) counts as none of that kind.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
