"""Which equity series a result reports, and in which currency (README "How money is counted").

Every amount is in the currency of the symbol it comes from: its settle currency (the quote
currency for spot and linear perpetuals); a strategy's capital is in its symbol's currency. Each
owner (a strategy; 'portfolio', the whole account; 'buy_and_hold') is reported per currency it
touches. One currency: one series under the owner's name. Several: one series per currency
('portfolio ETH') and, when every one of them converts to USDT, one under the owner's name that
adds them up in USDT: the capitals at the first grid point's rates, each minute's change at that
minute's rate. Amounts in different currencies are never added unconverted.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from engine.model.errors import ConfigError
from engine.model.time import NS_PER_MIN
from engine.model.types import parse_symbol
from engine.results.ledger import FloatArray, LedgerArrays

USDT = "USDT"
PORTFOLIO = "portfolio"
BUY_AND_HOLD = "buy_and_hold"


@functools.lru_cache(maxsize=256)
def symbol_currency(symbol: str) -> str:
    """The currency of a symbol's amounts: its settle currency, the quote for spot."""
    _base, quote, settle = parse_symbol(symbol)
    return settle or quote


def currency_mask(symbols: np.ndarray, currencies: Sequence[str]) -> np.ndarray:
    """Which entries of an array of symbols are in one of `currencies`."""
    wanted = [s for s in set(symbols.tolist()) if symbol_currency(s) in currencies]
    return np.isin(symbols, np.array(wanted, dtype=object)) if wanted else np.zeros(symbols.size, dtype=bool)


def strategy_currencies(config: Mapping[str, object], strategy_ids: Sequence[str]) -> dict[str, str]:
    """Each strategy's currency: its symbol's (config strategies[i].symbol, else the first symbol)."""
    symbols = config.get("symbols")
    first = str(symbols[0]) if isinstance(symbols, list) and symbols else ""
    entries = config.get("strategies")
    by_id = {e.get("id"): e for e in entries if isinstance(e, Mapping)} if isinstance(entries, list) else {}
    out = {}
    for sid in strategy_ids:
        symbol = by_id.get(sid, {}).get("symbol") or first
        out[sid] = symbol_currency(str(symbol)) if symbol else str(config.get("quote", USDT))
    return out


def default_currencies(strategy_ids: Sequence[str], symbols: Sequence[str]) -> dict[str, str]:
    """Strategies' currency when not given: the one currency of `symbols` (USDT when there are none)."""
    found = sorted({symbol_currency(s) for s in symbols})
    if len(found) > 1:
        raise ValueError(f"symbols in several currencies ({', '.join(found)}): give each strategy's currency")
    return dict.fromkeys(strategy_ids, found[0] if found else USDT)


class Rates:
    """USDT per unit of each currency over time, from minute marks of CURRENCY/USDT (ts, price)."""

    def __init__(self, tables: Mapping[str, pa.Table | None] | None = None,
                 start: Mapping[str, float] | None = None) -> None:
        self._series: dict[str, tuple[np.ndarray, FloatArray]] = {}
        self._start = dict(start or {})  # the rates the capital was converted at, when it was
        for currency, table in (tables or {}).items():
            if table is not None and table.num_rows:
                ts = np.asarray(table.column("ts").to_numpy(), dtype=np.int64)
                order = np.argsort(ts, kind="stable")
                self._series[currency] = (ts[order], np.asarray(table.column("price").to_numpy(), np.float64)[order])

    def has(self, currency: str) -> bool:
        """Whether amounts in `currency` can be converted to USDT."""
        return currency == USDT or currency in self._series

    def at(self, currency: str, ts: np.ndarray) -> FloatArray:
        """The rate of the last conversion mark at or before each time (the first one before it)."""
        if currency == USDT:
            return np.ones(ts.size)
        if currency not in self._series:
            return np.full(ts.size, math.nan)
        conv_ts, price = self._series[currency]
        return np.asarray(price[np.maximum(np.searchsorted(conv_ts, ts, side="right") - 1, 0)])

    def capital_rate(self, currency: str, first: np.ndarray) -> float:
        """The rate a capital in `currency` counts at: the one it was converted at when the run
        converted it (config["capital_rates"]), else the first grid point's."""
        if currency in self._start:
            return self._start[currency]
        return float(self.at(currency, first[:1] if first.size else np.zeros(1, dtype=np.int64))[0])

    def after(self, currency: str, ts: np.ndarray) -> FloatArray:
        """The rate of the first grid point after each time: the minute a ledger row counts in."""
        return self.at(currency, (ts // NS_PER_MIN + 1) * NS_PER_MIN)


@dataclass(frozen=True, slots=True)
class Series:
    """One reported series: its owner, its currency and the currencies it adds up (converted when
    more than one), with its capital (in `currency`) and each part's capital (in the part's)."""

    name: str
    owner: str
    currency: str
    parts: tuple[str, ...]
    capital: float
    part_capital: tuple[float, ...]

    @property
    def converted(self) -> bool:
        return len(self.parts) > 1


def _owner_series(owner: str, caps: Mapping[str, float], rates: Rates, grid: np.ndarray) -> list[Series]:
    parts = sorted(caps)
    if len(parts) == 1:
        return [Series(owner, owner, parts[0], (parts[0],), caps[parts[0]], (caps[parts[0]],))]
    out = [Series(f"{owner} {c}", owner, c, (c,), caps[c], (caps[c],)) for c in parts]
    if all(rates.has(c) for c in parts):
        total = math.fsum(caps[c] * rates.capital_rate(c, grid) for c in parts)
        out.insert(0, Series(owner, owner, USDT, tuple(parts), total, tuple(caps[c] for c in parts)))
    return out


def plan_series(capital: Mapping[str, float], currencies: Mapping[str, str], rows: LedgerArrays,
                rates: Rates, grid: np.ndarray) -> list[Series]:
    """The series of a result in report order: the strategies (config order), portfolio, buy_and_hold."""
    row_currency = {s: symbol_currency(s) for s in set(rows.symbol.tolist())}
    owners: list[tuple[str, dict[str, float]]] = []
    totals: dict[str, float] = {}
    for sid, cap in capital.items():
        touched = {row_currency[s] for s in set(rows.symbol[rows.strategy_id == sid].tolist())}
        owners.append((sid, {c: cap if c == currencies[sid] else 0.0 for c in touched | {currencies[sid]}}))
        totals[currencies[sid]] = totals.get(currencies[sid], 0.0) + cap
    owners.append((PORTFOLIO, {c: totals.get(c, 0.0) for c in set(totals) | set(row_currency.values())}))
    owners.append((BUY_AND_HOLD, totals))
    plan = [s for owner, caps in owners for s in _owner_series(owner, caps, rates, grid)]
    names = [s.name for s in plan]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ConfigError(f"series name {clash[0]!r} is used twice: rename the strategy")
    return plan


def usdt_curve(parts: Sequence[tuple[float, FloatArray, FloatArray]],
               capital_rates: Sequence[float] | None = None) -> tuple[float, FloatArray]:
    """(capital, equity) in USDT of per-currency (capital, equity, rate at each grid point) curves:
    each capital at its `capital_rates` entry (default: the first rate), each minute's change at
    that minute's rate."""
    if capital_rates is None:
        capital = math.fsum(cap * float(rate[0]) for cap, _eq, rate in parts if rate.size)
    else:
        capital = math.fsum(cap * r for (cap, _eq, _rate), r in zip(parts, capital_rates, strict=True))
    total = np.full(parts[0][1].size if parts else 0, capital)
    for cap, eq, rate in parts:
        steps = np.diff(np.concatenate(([cap], eq)))
        total = total + np.cumsum(steps * rate)
    return capital, total


def row_rates(rows: LedgerArrays, rates: Rates) -> FloatArray:
    """USDT per unit of each row's currency, at the minute the row counts in."""
    rate = np.ones(rows.ts.size)
    for symbol in set(rows.symbol.tolist()):
        mask = rows.symbol == symbol
        rate[mask] = rates.after(symbol_currency(symbol), rows.ts[mask])
    return rate


def convert_rows(rows: LedgerArrays, rate: FloatArray) -> LedgerArrays:
    """The rows with price, fee and cash flow in USDT at each row's `rate` (`row_rates`)."""
    return LedgerArrays(rows.ts, rows.strategy_id, rows.symbol, rows.kind, rows.qty, rows.price * rate,
                        rows.fee * rate, rows.cash_flow * rate)
