"""The strategies' capital in their own currencies (README "How money is counted", Currencies).

`--capital` is one amount in one currency (USDT unless said otherwise). Each strategy's share of it
is converted, at the run's start, into the currency its symbol's amounts are in: the quote, the
settle currency of a perpetual (the coin of an inverse contract). The rate of a currency C is the
price of C/USDT in the lake: the last trade at or before the start (within a week), else the first
one after it, on the run's venue first, else any venue; for the coin of an inverse contract of the
run without a C/USDT series, the contract's own price (USD, taken 1:1 for USDT). A currency with no
rate is counted 1:1, with a warning saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.backtest.config import BacktestConfig
from engine.model.time import NS_PER_DAY, NS_PER_MIN, ns_to_iso
from engine.model.types import Instrument
from engine.store.lake import Lake

USDT = "USDT"
_LOOKBACKS = (NS_PER_MIN, 60 * NS_PER_MIN, NS_PER_DAY, 7 * NS_PER_DAY)


@dataclass
class StartingCapital:
    """Each strategy's capital in its own currency, the rates used (USDT per unit) and what was said."""

    capitals: dict[str, float]
    rates: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # currency -> where its rate came from
    warnings: list[str] = field(default_factory=list)


def starting_capital(cfg: BacktestConfig, lake: Lake, instruments: Mapping[str, Instrument]) -> StartingCapital:
    """Convert `cfg.capitals()` (in cfg.capital_currency) into each strategy's currency at the start."""
    given = cfg.capital_currency
    shares = cfg.capitals()
    currency = {spec.strategy_id: instruments[cfg.symbol_of(spec)].settle for spec in cfg.strategies}
    out = StartingCapital(dict(shares))
    if all(c == given for c in currency.values()):
        return out  # nothing to convert
    for c in sorted({given, *currency.values()}):
        found = (1.0, "") if c == USDT else _rate(cfg, lake, instruments, c)
        if found is not None:
            out.rates[c] = found[0]
            if found[1]:
                out.sources[c] = found[1]
    for sid, c in currency.items():
        if c == given:
            continue
        have, want = out.rates.get(given), out.rates.get(c)
        if have is None or want is None:
            missing = given if have is None else c
            out.warnings.append(
                f"strategy {sid}: its capital of {shares[sid]:g} {given} is counted as {shares[sid]:g} {c}: the lake "
                f"has no {missing}/USDT trades around the start to convert it (okxbot data download {missing}/USDT)")
            continue
        out.capitals[sid] = shares[sid] * have / want
    return out


def _rate(cfg: BacktestConfig, lake: Lake, instruments: Mapping[str, Instrument], currency: str
          ) -> tuple[float, str] | None:
    """USDT per unit of `currency` at the start, and where it came from."""
    symbol = f"{currency}/USDT"
    for venue in [cfg.venue, *(v for v in lake.venues("trades", symbol) if v != cfg.venue)]:
        found = _price_at_start(lake, venue, symbol, cfg)
        if found is not None:
            return found[0], f"{symbol} ({venue}) {found[0]:g} at {ns_to_iso(found[1])}"
    for sym, inst in instruments.items():
        if inst.inverse and inst.settle == currency and sym in cfg.symbols:
            found = _price_at_start(lake, cfg.venue, sym, cfg)
            if found is not None:
                return found[0], f"{sym} ({cfg.venue}) {found[0]:g} USD at {ns_to_iso(found[1])}, USD taken as USDT"
    return None


def _price_at_start(lake: Lake, venue: str, symbol: str, cfg: BacktestConfig) -> tuple[float, int] | None:
    """The last trade at or before the start (within a week), else the first one after it: (price, ts)."""
    for back in _LOOKBACKS:  # narrow first: a day of a busy pair is millions of rows
        before = lake.read("trades", venue, symbol, cfg.start - back, cfg.start + 1, ["ts_event", "price"])
        if before.num_rows:
            return float(before.column("price")[-1].as_py()), int(before.column("ts_event")[-1].as_py())
    after = lake.read("trades", venue, symbol, cfg.start, cfg.end, ["ts_event", "price"])
    if after.num_rows:
        return float(after.column("price")[0].as_py()), int(after.column("ts_event")[0].as_py())
    return None
