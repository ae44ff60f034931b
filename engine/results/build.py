"""A backtest's result: its records plus the equity curves and statistics derived from them.

The backtester hands over ORDERS, FILLS, LEDGER and MARKS (engine/results/records.py); `build_result`
derives EQUITY, the statistics (engine/results/stats.py), the ALLOCATIONS of the venue fills to the
strategies and the TRADES, every strategy's round trips (engine/results/trips.py). Series are each
strategy id in config order, then 'portfolio' (the account: the sum of the strategies) and
'buy_and_hold' (the portfolio's capital invested at each symbol's first mark in equal parts, held
to the end, no fees), each in its currency; an owner in several currencies is reported per
currency and, where they all convert, in USDT (engine/results/series.py). The symbols in
config["inverse"] are inverse contracts (README "Inverse perpetuals"): positions in USD, valued at
-position / price in the coin.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.model.errors import ConfigError
from engine.model.time import NS_PER_MIN
from engine.results.ledger import FloatArray, LedgerArrays, ledger_arrays, sample_cumsum, unit_values
from engine.results.records import ALLOCATIONS, EQUITY, FILLS, LEDGER, MARKS, ORDERS, SKIPPED
from engine.results.series import (
    BUY_AND_HOLD,
    PORTFOLIO,
    Rates,
    currency_mask,
    default_currencies,
    plan_series,
    strategy_currencies,
    symbol_currency,
    usdt_curve,
)
from engine.results.stats import compute_stats
from engine.results.trips import trades_table

RESERVED_SERIES = (PORTFOLIO, BUY_AND_HOLD)
BUY_AND_HOLD_NOTE = (
    "buy_and_hold: the portfolio's capital invested at the first mark, in equal parts across the "
    "symbols, held to the end, no fees"
)


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Everything a backtest produced plus what is derived from it (equity, stats)."""

    run_id: str
    config: dict[str, Any]
    code_version: str
    data_fingerprint: str
    created_ns: int
    orders: pa.Table
    fills: pa.Table
    ledger: pa.Table
    marks: pa.Table
    equity: pa.Table
    stats: pa.Table
    allocations: pa.Table
    trades: pa.Table
    skipped: pa.Table

    @property
    def series(self) -> list[str]:
        """Series names in report order: strategies (config order), portfolio, buy_and_hold (per
        currency where they span several)."""
        return [str(name) for name in self.stats.column("series").to_pylist()]


def strategy_capital(config: Mapping[str, Any]) -> dict[str, float]:
    """Capital per strategy id, in config order; ConfigError on a missing, bad or reserved entry."""
    strategies = config.get("strategies")
    if not isinstance(strategies, list) or not strategies:
        raise ConfigError(f"config 'strategies' must be a non-empty list, got {strategies!r}")
    out: dict[str, float] = {}
    for i, entry in enumerate(strategies):
        sid = entry.get("id") if isinstance(entry, Mapping) else None
        if not isinstance(sid, str) or not sid or sid in RESERVED_SERIES or sid in out:
            raise ConfigError(
                f"config strategies[{i}].id must be a new name other than {RESERVED_SERIES}, got {sid!r}"
            )
        cap = entry.get("capital")
        if not isinstance(cap, int | float) or not math.isfinite(cap) or cap <= 0:
            raise ConfigError(f"config strategies[{i}].capital must be a positive number, got {cap!r}")
        out[sid] = float(cap)
    return out


def records_table(schema: pa.Schema, rows: Sequence[Mapping[str, Any]] = ()) -> pa.Table:
    """An Arrow table of a records schema from dicts (missing keys become nulls)."""
    return pa.Table.from_pylist(list(rows), schema=schema)


def conform(table: pa.Table, schema: pa.Schema, name: str) -> pa.Table:
    """`table` with exactly the schema's columns, in order and types; ValueError names a gap."""
    missing = [f for f in schema.names if f not in table.column_names]
    if missing:
        raise ValueError(f"{name} table lacks columns {missing}")
    return table.select(schema.names).cast(schema)


def minute_grid(mark_ts: np.ndarray, ledger_ts: np.ndarray) -> np.ndarray:
    """The equity grid: every minute boundary from the first mark to the last mark, or further to the
    first boundary after the last ledger row (a funding payment after the last trade)."""
    if mark_ts.size == 0:
        return np.zeros(0, dtype=np.int64)
    first, last = int(mark_ts.min()), int(mark_ts.max())
    if ledger_ts.size:
        last = max(last, (int(ledger_ts.max()) // NS_PER_MIN + 1) * NS_PER_MIN)
    return first + NS_PER_MIN * np.arange(-(-(last - first) // NS_PER_MIN) + 1, dtype=np.int64)


def _mark_prices(marks: pa.Table, ledger_ts: np.ndarray) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(minute grid, symbols, prices[symbol, minute]): the last mark at or before each grid point.

    A mark at g is the last price before g. Before a symbol's first mark its first mark is used (no
    position can exist before it); after its last mark the last one carries.
    """
    ts = np.asarray(marks.column("ts").to_numpy(), dtype=np.int64)
    grid = minute_grid(ts, ledger_ts)
    if ts.size == 0:
        return grid, [], np.zeros((0, 0))
    sym = np.asarray(marks.column("symbol").to_numpy(zero_copy_only=False), dtype=object)
    price = np.asarray(marks.column("price").to_numpy(), dtype=np.float64)
    symbols = sorted(set(sym.tolist()))
    prices = np.empty((len(symbols), grid.size))
    for j, s in enumerate(symbols):
        mask = sym == s
        order = np.argsort(ts[mask], kind="stable")
        s_ts, s_px = ts[mask][order], price[mask][order]
        idx = np.searchsorted(s_ts, grid, side="right") - 1
        prices[j] = s_px[np.maximum(idx, 0)]
    return grid, symbols, prices


@dataclass(frozen=True, slots=True)
class _Marks:
    """The minute grid, the marked symbols, their prices[symbol, minute] and which are inverse."""

    grid: np.ndarray
    symbols: list[str]
    prices: np.ndarray
    inverse: Collection[str] = ()


def _value(rows: LedgerArrays, capital: float, m: _Marks) -> tuple[np.ndarray, np.ndarray]:
    """(equity, positions[symbol, minute]) of the ledger rows `rows` started with `capital`."""
    equity = capital + sample_cumsum(rows.ts, rows.cash_flow, m.grid)
    positions = np.zeros((len(m.symbols), m.grid.size))
    for j, sym in enumerate(m.symbols):
        mask = rows.symbol == sym
        positions[j] = sample_cumsum(rows.ts[mask], rows.qty[mask], m.grid)
        equity += positions[j] * unit_values(m.prices[j], sym in m.inverse)
    return equity, positions


def _check_symbols(rows: LedgerArrays, capital: Mapping[str, float], symbols: list[str]) -> None:
    unknown = sorted(set(rows.strategy_id.tolist()) - set(capital))
    if unknown:
        raise ValueError(f"ledger strategy ids {unknown} are not in the config's strategies")
    unmarked = sorted(set(rows.symbol[rows.qty != 0].tolist()) - set(symbols))
    if unmarked:
        raise ValueError(f"ledger trades symbols {unmarked} that have no marks")


def _part(owner: str, currency: str, capital: float, rows: LedgerArrays, m: _Marks) -> tuple[FloatArray, np.ndarray]:
    """(equity, positions[symbol, minute]) of one owner in one currency."""
    if owner == BUY_AND_HOLD:
        return _buy_and_hold(currency, capital, m)
    mine = rows if owner == PORTFOLIO else rows.where(rows.strategy_id == owner)
    return _value(mine.where(currency_mask(mine.symbol, (currency,))), capital, m)


def _buy_and_hold(currency: str, capital: float, m: _Marks) -> tuple[FloatArray, np.ndarray]:
    """Equal parts of `capital` in each symbol of `currency` at its first mark: a part c buys c / p0 of a
    linear symbol, worth c / p0 x p; on an inverse one a long of c x p0 USD, worth c + c x p0 x (1/p0 - 1/p)."""
    held = [j for j, sym in enumerate(m.symbols) if symbol_currency(sym) == currency]
    positions = np.zeros((len(m.symbols), m.grid.size))
    if not held:
        return np.full(m.grid.size, capital), positions
    share = capital / len(held)
    positions[held] = (share / m.prices[held, 0])[:, None]
    values = positions * m.prices
    for j in (j for j in held if m.symbols[j] in m.inverse):
        positions[j] = share * m.prices[j, 0]
        values[j] = share + positions[j] * (1.0 / m.prices[j, 0] - 1.0 / m.prices[j])
    return values.sum(axis=0), positions


def equity_curves(ledger: pa.Table, marks: pa.Table, capital: Mapping[str, float],
                  currencies: Mapping[str, str] | None = None, rates: Rates | None = None,
                  inverse: Collection[str] = ()) -> pa.Table:
    """EQUITY rows at every grid point g (`minute_grid`: the first mark to the last mark or ledger row).

    Per strategy s: capital_s + its cash flows with ts < g + sum over symbols of position_s(g) *
    mark(symbol, g), the position also from the rows with ts < g and the mark the last price before
    g (minutes without a trade carry the previous mark). 'portfolio' does the same on the whole
    account with the summed capital; 'buy_and_hold' invests that capital in equal parts at each
    symbol's first mark. Each in its currency: `currencies` gives each strategy's (default: the one
    currency of the symbols), the series and the USDT totals are `plan_series`'s, converted at
    `rates`. `position` is filled for single-symbol runs, else NaN. The `inverse` symbols' positions
    are valued at -position / mark instead (README "Inverse perpetuals").
    """
    rows = ledger_arrays(ledger)
    grid, symbols, prices = _mark_prices(marks, rows.ts)
    m = _Marks(grid, symbols, prices, frozenset(inverse))
    _check_symbols(rows, capital, symbols)
    rates = rates or Rates()
    currencies = currencies or default_currencies(list(capital), [*symbols, *set(rows.symbol.tolist())])
    single = len(symbols) == 1
    curves: list[tuple[str, FloatArray, FloatArray]] = []
    for s in plan_series(capital, currencies, rows, rates, grid):
        parts = [_part(s.owner, c, cap, rows, m) for c, cap in zip(s.parts, s.part_capital, strict=True)]
        if s.converted:
            _cap, eq = usdt_curve([(cap, part[0], rates.at(c, grid))
                                   for c, cap, part in zip(s.parts, s.part_capital, parts, strict=True)],
                                  [rates.capital_rate(c, grid) for c in s.parts])
            curves.append((s.name, eq, np.full(grid.size, np.nan)))
        else:
            eq, positions = parts[0]
            curves.append((s.name, eq, positions[0] if single else np.full(grid.size, np.nan)))
    n = grid.size
    return pa.table(
        {
            "ts": np.tile(grid, len(curves)),
            "series": pa.DictionaryArray.from_arrays(
                np.repeat(np.arange(len(curves), dtype=np.int32), n),
                pa.array([name for name, _, _ in curves], pa.string())).cast(pa.string()),
            "equity": np.concatenate([eq for _, eq, _ in curves]) if curves else np.zeros(0),
            "position": np.concatenate([pos for _, _, pos in curves]) if curves else np.zeros(0),
        },
        schema=EQUITY,
    )


def build_result(
    run_id: str,
    config: dict[str, Any],
    code_version: str,
    data_fingerprint: str,
    orders: pa.Table,
    fills: pa.Table,
    ledger: pa.Table,
    marks: pa.Table,
    created_ns: int | None = None,
    conversion: pa.Table | Mapping[str, pa.Table] | None = None,
    skipped: pa.Table | None = None,
) -> BacktestResult:
    """Derive equity and stats from a run's records and bundle them (created now by default).

    `conversion` gives, per currency, minute marks (ts, price) of CURRENCY/USDT; a single table is
    that of the quote currency (config["quote"]). A series in a currency with a conversion gets its
    PnL in USDT; an owner in several currencies that all convert gets a USDT total.
    """
    capital = strategy_capital(config)
    currencies = strategy_currencies(config, list(capital))
    lots = {str(k): float(v) for k, v in (config.get("lots") or {}).items()}  # runs stored before lots: none
    inverse = frozenset(config.get("inverse") or ())
    if isinstance(conversion, pa.Table):
        conversion = {str(config.get("quote", "USDT")): conversion}
    rates = Rates(conversion, config.get("capital_rates"))
    fills = conform(fills, FILLS, "fills")
    ledger = conform(ledger, LEDGER, "ledger")
    ledger = ledger.set_column(
        LEDGER.get_field_index("fill_seq"), "fill_seq", pc.fill_null(ledger.column("fill_seq"), -1)
    )
    marks = conform(marks, MARKS, "marks")
    equity = equity_curves(ledger, marks, capital, currencies, rates, inverse)
    return BacktestResult(
        run_id=run_id,
        config=config,
        code_version=code_version,
        data_fingerprint=data_fingerprint,
        created_ns=time.time_ns() if created_ns is None else created_ns,
        orders=conform(orders, ORDERS, "orders"),
        fills=fills,
        ledger=ledger,
        marks=marks,
        equity=equity,
        stats=compute_stats(equity, ledger, fills, capital, currencies, rates, inverse, lots),
        allocations=allocations_table(ledger),
        trades=trades_table(ledger, marks, list(capital), inverse, lots),
        skipped=SKIPPED.empty_table() if skipped is None else conform(skipped, SKIPPED, "skipped"),
    )


def allocations_table(ledger: pa.Table) -> pa.Table:
    """ALLOCATIONS: the ledger rows booked at a venue fill (fill_seq >= 0), in ledger order."""
    rows = ledger.filter(pc.greater_equal(ledger.column("fill_seq"), 0))
    return rows.select(ALLOCATIONS.names).cast(ALLOCATIONS)


def new_run_id(config: Mapping[str, Any], created_ns: int) -> str:
    """A run id sortable by creation second and unique: '20240101T000000-1a2b3c4d'."""
    from engine.results.provenance import config_hash

    stamp = datetime.fromtimestamp(created_ns // 1_000_000_000, tz=UTC).strftime("%Y%m%dT%H%M%S")
    salt = f"{config_hash(config)}:{created_ns}:{os.urandom(8).hex()}"
    return f"{stamp}-{hashlib.sha256(salt.encode()).hexdigest()[:8]}"
