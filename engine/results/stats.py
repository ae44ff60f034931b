"""Statistics of a backtest, one row per equity series (each strategy, the portfolio, buy and hold).

Fixed definitions (the README quotes them):

- Equity is in quote currency at the end of every minute from the first to the last mark, marked
  at the last trade price (see `engine.results.equity_curves`). Write e_0 = capital (before the
  first minute) and e_1 .. e_n for the n minutes.
- pnl = e_n - capital; total return = pnl / capital.
- Returns per minute: r_k = e_k / e_(k-1) - 1 for k = 1 .. n (the first one starts at capital).
- Sharpe = mean(r) / std(r, ddof=1) * sqrt(525,600); 0 when std is 0 or there are fewer than two
  returns.
- Sortino = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(525,600); 0 when no return is negative.
- Max drawdown = max over k of (1 - e_k / max(e_0 .. e_k)), a fraction (0.25 = 25 %).
- Turnover = traded notional / capital. Portfolio: sum of |size * price| over the venue's fills;
  a strategy: over its own `fill` and `cross` ledger rows; buy and hold: 1 (one purchase).
- Fees: portfolio: the venue's fills; a strategy: its ledger rows. Quote currency, positive = cost.
- Funding: sum of `funding` ledger cash flows (positive = received).
- Exposure = fraction of the n minutes with a non-zero position in any symbol.
- Fills: portfolio: rows of the fills table; a strategy: its `fill` ledger rows (crosses are
  internal, not fills); buy and hold: 0 (a fee-free benchmark, not traded at the venue).
- Round trips, per sub-ledger (strategy, symbol) and for the portfolio on the account position
  per symbol: the position leaves 0 and later returns to 0. Ledger rows with the same `ts` are
  one step (the position is observed after all of them). A step that flips the sign closes one
  trip and opens the next, split pro rata: the share |position before| / |step qty| of its cash
  flow goes to the closing trip, the rest to the new one. Round-trip PnL = the sum of the cash
  flows inside the trip (fills and crosses net of fees, plus funding received while open); only
  closed trips count. Win rate = share of trips with PnL > 0; both it and the average round-trip
  PnL are NaN when there is no closed trip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MINUTES_PER_YEAR = 525_600
ANNUALISE = math.sqrt(MINUTES_PER_YEAR)
# Positions within this fraction of the sub-ledger's largest step count as flat (float residue).
FLAT_RTOL = 1e-9

STATS = pa.schema(
    [
        ("series", pa.string()),
        ("capital", pa.float64()),
        ("final_equity", pa.float64()),
        ("pnl", pa.float64()),
        ("total_return", pa.float64()),  # fraction
        ("sharpe", pa.float64()),
        ("sortino", pa.float64()),
        ("max_drawdown", pa.float64()),  # fraction
        ("turnover", pa.float64()),
        ("fees", pa.float64()),
        ("funding", pa.float64()),
        ("exposure", pa.float64()),  # fraction of minutes
        ("fills", pa.int64()),
        ("round_trips", pa.int64()),
        ("win_rate", pa.float64()),  # fraction; NaN without closed trips
        ("avg_round_trip_pnl", pa.float64()),
        ("minutes", pa.int64()),
        # pnl in USDT when the quote currency is not USDT and the lake has a conversion series
        # (each minute's PnL converted at that minute's rate); equal to pnl for USDT quotes.
        ("pnl_usdt", pa.float64()),
    ]
)

FloatArray = np.ndarray


@dataclass(frozen=True, slots=True)
class LedgerArrays:
    """The ledger as numpy columns sorted by (ts, seq)."""

    ts: np.ndarray
    strategy_id: np.ndarray
    symbol: np.ndarray
    kind: np.ndarray
    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray
    cash_flow: np.ndarray

    def where(self, mask: np.ndarray) -> LedgerArrays:
        """The rows where `mask` holds, still sorted."""
        return LedgerArrays(*(getattr(self, f)[mask] for f in self.__slots__))


def ledger_arrays(ledger: pa.Table) -> LedgerArrays:
    """Numpy columns of a LEDGER table, sorted by (ts, seq)."""

    def col(name: str, dtype: type) -> np.ndarray:
        return np.asarray(ledger.column(name).to_numpy(zero_copy_only=False), dtype=dtype)

    ts, seq = col("ts", np.int64), col("seq", np.int64)
    order = np.lexsort((seq, ts))
    names = ("strategy_id", "symbol", "kind")
    texts = [col(n, object)[order] for n in names]
    floats = [col(n, np.float64)[order] for n in ("qty", "price", "fee", "cash_flow")]
    return LedgerArrays(ts[order], *texts, *floats)


def sample_cumsum(ts: np.ndarray, values: np.ndarray, grid: np.ndarray) -> FloatArray:
    """Running sum of `values` (rows sorted by `ts`) over rows with ts <= each grid time."""
    csum = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    return np.asarray(csum[np.searchsorted(ts, grid, side="right")])


def minute_returns(equity: FloatArray, capital: float) -> FloatArray:
    """r_k = e_k / e_(k-1) - 1 with e_0 = capital; 0 where the previous equity is 0."""
    prev = np.concatenate(([capital], equity[:-1]))
    out = np.zeros_like(equity, dtype=np.float64)
    np.divide(equity, prev, out=out, where=prev != 0)
    return np.where(prev != 0, out - 1.0, 0.0)


def sharpe(returns: FloatArray) -> float:
    """mean(r) / std(r, ddof=1) * sqrt(525,600); 0 when std is 0 or fewer than two returns."""
    if returns.size < 2:
        return 0.0
    std = float(np.std(returns, ddof=1))
    return float(np.mean(returns)) / std * ANNUALISE if std > 0 else 0.0


def sortino(returns: FloatArray) -> float:
    """mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(525,600); 0 when no return is negative."""
    if returns.size == 0:
        return 0.0
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    return float(np.mean(returns)) / downside * ANNUALISE if downside > 0 else 0.0


def max_drawdown(equity: FloatArray, capital: float) -> float:
    """max(1 - e / running max of e) over capital followed by the equity curve."""
    series = np.concatenate(([capital], equity))
    peak = np.maximum.accumulate(series)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, 1.0 - series / peak, 0.0)
    return float(np.max(dd))


def flat_tolerance(qty: FloatArray) -> float:
    """Absolute size below which a position counts as flat for steps of size `qty`."""
    return FLAT_RTOL * float(np.max(np.abs(qty))) if qty.size else 0.0


def round_trip_pnls(ts: np.ndarray, qty: FloatArray, cash_flow: FloatArray) -> FloatArray:
    """PnL of each closed flat-to-flat round trip of one sub-ledger (rows sorted by time)."""
    if ts.size == 0:
        return np.zeros(0)
    starts = np.flatnonzero(np.concatenate(([True], ts[1:] != ts[:-1])))
    q = np.add.reduceat(qty, starts)
    cf = np.add.reduceat(cash_flow, starts)
    p1 = np.cumsum(q)
    p1[np.abs(p1) <= flat_tolerance(qty)] = 0.0
    p0 = np.concatenate(([0.0], p1[:-1]))
    s0, s1 = np.sign(p0), np.sign(p1)
    ends = (s0 != 0) & (s1 != s0)
    flips = ends & (s1 != 0)
    active = (s0 != 0) | (s1 != 0)
    trip = np.cumsum(ends) - ends
    closing = np.ones_like(q)
    closing[flips] = np.abs(p0[flips]) / np.abs(q[flips])
    n_closed = int(ends.sum())
    pnl = np.bincount(trip[active], weights=(cf * closing)[active], minlength=n_closed + 1)
    opened = np.bincount(trip[flips] + 1, weights=(cf * (1.0 - closing))[flips], minlength=n_closed + 1)
    return np.asarray((pnl + opened[: pnl.size])[:n_closed])


def grouped_round_trips(rows: LedgerArrays) -> FloatArray:
    """Closed round-trip PnLs of every symbol's sub-ledger among `rows`."""
    pnls = [np.zeros(0)]
    for sym in sorted(set(rows.symbol.tolist())):
        mask = rows.symbol == sym
        pnls.append(round_trip_pnls(rows.ts[mask], rows.qty[mask], rows.cash_flow[mask]))
    return np.concatenate(pnls)


def exposure(positions: Sequence[FloatArray], tolerances: Sequence[float], minutes: int) -> float:
    """Fraction of minutes where any of the per-symbol position curves is non-zero."""
    if minutes == 0:
        return 0.0
    held = np.zeros(minutes, dtype=bool)
    for pos, tol in zip(positions, tolerances, strict=True):
        held |= np.abs(pos) > tol
    return float(held.mean())


@dataclass(frozen=True, slots=True)
class SeriesInputs:
    """What one series' statistics are computed from."""

    series: str
    capital: float
    equity: FloatArray
    exposure: float
    notional: float
    fees: float
    funding: float
    fills: int
    trips: FloatArray


def series_stats(s: SeriesInputs) -> dict[str, float | int | str]:
    """One STATS row from a series' equity curve and trading figures."""
    returns = minute_returns(s.equity, s.capital)
    final = float(s.equity[-1]) if s.equity.size else s.capital
    n_trips = int(s.trips.size)
    return {
        "series": s.series,
        "capital": s.capital,
        "final_equity": final,
        "pnl": final - s.capital,
        "total_return": (final - s.capital) / s.capital if s.capital else 0.0,
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        "max_drawdown": max_drawdown(s.equity, s.capital),
        "turnover": s.notional / s.capital if s.capital else 0.0,
        "fees": s.fees,
        "funding": s.funding,
        "exposure": s.exposure,
        "fills": s.fills,
        "round_trips": n_trips,
        "win_rate": float(np.mean(s.trips > 0)) if n_trips else math.nan,
        "avg_round_trip_pnl": float(np.mean(s.trips)) if n_trips else math.nan,
        "minutes": int(s.equity.size),
    }


def _sub_ledger_inputs(
    series: str, capital: float, rows: LedgerArrays, grid: np.ndarray, equity: FloatArray
) -> SeriesInputs:
    """Inputs of a series whose trading is the ledger rows `rows` (a strategy, or the account)."""
    positions, tolerances = [], []
    for sym in sorted(set(rows.symbol.tolist())):
        mask = rows.symbol == sym
        positions.append(sample_cumsum(rows.ts[mask], rows.qty[mask], grid))
        tolerances.append(flat_tolerance(rows.qty[mask]))
    traded = (rows.kind == "fill") | (rows.kind == "cross")
    funding = rows.kind == "funding"
    return SeriesInputs(
        series=series,
        capital=capital,
        equity=equity,
        exposure=exposure(positions, tolerances, grid.size),
        notional=float(np.sum(np.abs(rows.qty[traded] * rows.price[traded]))),
        fees=float(np.sum(rows.fee)),
        funding=float(np.sum(rows.cash_flow[funding])),
        fills=int(np.count_nonzero(rows.kind == "fill")),
        trips=grouped_round_trips(rows),
    )


def _curve(equity: pa.Table, series: str) -> tuple[np.ndarray, FloatArray]:
    rows = equity.filter(pc.equal(equity.column("series"), series))
    ts = np.asarray(rows.column("ts").to_numpy(), dtype=np.int64)
    order = np.argsort(ts, kind="stable")
    return ts[order], np.asarray(rows.column("equity").to_numpy(), dtype=np.float64)[order]


def compute_stats(
    equity: pa.Table, ledger: pa.Table, fills: pa.Table, capital: Mapping[str, float]
) -> pa.Table:
    """STATS rows for each strategy (in `capital` order), 'portfolio' and 'buy_and_hold'."""
    rows = ledger_arrays(ledger)
    grid, port_eq = _curve(equity, "portfolio")
    out = []
    for sid, cap in capital.items():
        _, eq = _curve(equity, sid)
        out.append(series_stats(_sub_ledger_inputs(sid, cap, rows.where(rows.strategy_id == sid), grid, eq)))
    total = float(sum(capital.values()))
    account = _sub_ledger_inputs("portfolio", total, rows, grid, port_eq)
    size = np.asarray(fills.column("size").to_numpy(), dtype=np.float64)
    price = np.asarray(fills.column("price").to_numpy(), dtype=np.float64)
    venue_fees = float(np.sum(np.asarray(fills.column("fee").to_numpy(), dtype=np.float64)))
    venue = replace(
        account, notional=float(np.sum(np.abs(size * price))), fees=venue_fees, fills=fills.num_rows
    )
    out.append(series_stats(venue))
    out.append(_buy_and_hold_stats(equity, total))
    return pa.Table.from_pylist(out, schema=STATS)


def _buy_and_hold_stats(equity: pa.Table, capital: float) -> dict[str, float | int | str]:
    _, eq = _curve(equity, "buy_and_hold")
    held = eq.size > 0
    return series_stats(
        SeriesInputs(
            series="buy_and_hold",
            capital=capital,
            equity=eq,
            exposure=1.0 if held else 0.0,
            notional=capital if held else 0.0,
            fees=0.0,
            funding=0.0,
            fills=0,
            trips=np.zeros(0),
        )
    )
