"""Statistics of a backtest, one row per equity series (each strategy, the portfolio, buy and hold).

Fixed definitions (the README quotes them). NaN means undefined; tables print it as '-'.

- Equity is in the series' currency at every minute boundary of the grid, as README "How money is
  counted" says (see `engine.results.build.equity_curves`; the series per currency:
  engine/results/series.py). Write e_0 = capital (before the first minute) and e_1 .. e_n for the
  n minutes.
- pnl = e_n - capital; total return = pnl / capital.
- Returns per minute: r_k = e_k / e_(k-1) - 1 for k = 1 .. n (the first one starts at capital).
- CAGR = (e_n / capital) ** (525,600 / n) - 1; NaN when n < 43,200 (30 days) or e_n <= 0.
- Sharpe = mean(r) / std(r, ddof=1) * sqrt(525,600); NaN when std is 0 (a series that never
  trades) or there are fewer than two returns.
- Sortino = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(525,600); NaN when no return is negative.
- Max drawdown = max over k of (1 - e_k / max(e_0 .. e_k)), a fraction (0.25 = 25 %).
- Calmar = CAGR / max drawdown; NaN when CAGR is NaN or the max drawdown is 0.
- Turnover = traded notional / capital. Portfolio: sum of |size * price| over the venue's fills;
  a strategy: over its own `fill` and `cross` ledger rows; buy and hold: 1 (one purchase). On an
  inverse contract (sizes in USD, amounts in the coin) the notional is |size| / price.
- Fees: portfolio: the venue's fills; a strategy: its ledger rows. Quote currency, positive = cost.
- Funding: sum of `funding` ledger cash flows (positive = received); funding_paid = -funding.
- Exposure = fraction of the n minutes with a non-zero position in any symbol; exposure-adjusted
  return = total return / exposure, NaN when the exposure is 0.
- Fills: portfolio: rows of the fills table; a strategy: its `fill` ledger rows (crosses are
  internal, not fills); buy and hold: 0 (a fee-free benchmark, not traded at the venue).
- Round trips (engine/results/trips.py), per sub-ledger (strategy, symbol) and for the portfolio
  on the account position per symbol; only closed trips count. Win rate = share of trips with
  PnL > 0; expectancy = mean trip PnL; profit factor = sum of winning PnLs / -(sum of losing
  PnLs), NaN without a losing trip; average and longest trip duration in seconds. Win rate,
  expectancy and the durations are NaN when there is no closed trip.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.results.ledger import FloatArray, LedgerArrays, flat_tolerance, ledger_arrays, sample_cumsum
from engine.results.series import (
    BUY_AND_HOLD,
    PORTFOLIO,
    Rates,
    Series,
    convert_rows,
    currency_mask,
    default_currencies,
    plan_series,
    row_rates,
    symbol_currency,
    usdt_curve,
)
from engine.results.trips import Trips, concat_trips, empty_trips, symbol_trips

MINUTES_PER_YEAR = 525_600
ANNUALISE = math.sqrt(MINUTES_PER_YEAR)
CAGR_MIN_MINUTES = 30 * 24 * 60  # CAGR of a shorter run would extrapolate noise to a year

STATS = pa.schema(
    [
        ("series", pa.string()),
        ("capital", pa.float64()),
        ("final_equity", pa.float64()),
        ("pnl", pa.float64()),
        ("total_return", pa.float64()),  # fraction
        ("cagr", pa.float64()),  # fraction a year; NaN under 30 days
        ("sharpe", pa.float64()),
        ("sortino", pa.float64()),
        ("max_drawdown", pa.float64()),  # fraction
        ("calmar", pa.float64()),
        ("turnover", pa.float64()),
        ("fees", pa.float64()),
        ("funding", pa.float64()),  # received positive
        ("funding_paid", pa.float64()),  # = -funding, cost positive
        ("exposure", pa.float64()),  # fraction of minutes
        ("exposure_adjusted_return", pa.float64()),  # fraction; NaN without exposure
        ("fills", pa.int64()),
        ("round_trips", pa.int64()),
        ("win_rate", pa.float64()),  # fraction; NaN without closed trips
        ("profit_factor", pa.float64()),  # NaN without a losing trip
        ("expectancy", pa.float64()),  # mean closed-trip PnL, quote currency
        ("avg_trip_duration_s", pa.float64()),
        ("longest_trip_duration_s", pa.float64()),
        ("minutes", pa.int64()),
        # pnl in USDT when the series' currency is not USDT and the lake has a conversion series
        # (each minute's PnL converted at that minute's rate); equal to pnl in USDT.
        ("pnl_usdt", pa.float64()),
        ("currency", pa.string()),  # the series' amounts: its symbols' quote (settle) currency
    ]
)

NAN = math.nan


def minute_returns(equity: FloatArray, capital: float) -> FloatArray:
    """r_k = e_k / e_(k-1) - 1 with e_0 = capital; 0 where the previous equity is 0."""
    prev = np.concatenate(([capital], equity[:-1]))
    out = np.zeros_like(equity, dtype=np.float64)
    np.divide(equity, prev, out=out, where=prev != 0)
    return np.where(prev != 0, out - 1.0, 0.0)


def sharpe(returns: FloatArray) -> float:
    """mean(r) / std(r, ddof=1) * sqrt(525,600); NaN when std is 0 or fewer than two returns."""
    if returns.size < 2:
        return NAN
    std = float(np.std(returns, ddof=1))
    return float(np.mean(returns)) / std * ANNUALISE if std > 0 else NAN


def sortino(returns: FloatArray) -> float:
    """mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(525,600); NaN when no return is negative."""
    if returns.size == 0:
        return NAN
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    return float(np.mean(returns)) / downside * ANNUALISE if downside > 0 else NAN


def max_drawdown(equity: FloatArray, capital: float) -> float:
    """max(1 - e / running max of e) over capital followed by the equity curve."""
    series = np.concatenate(([capital], equity))
    peak = np.maximum.accumulate(series)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, 1.0 - series / peak, 0.0)
    return float(np.max(dd))


def cagr(final: float, capital: float, minutes: int) -> float:
    """(final / capital) ** (525,600 / minutes) - 1; NaN under 30 days or without positive equity."""
    if minutes < CAGR_MIN_MINUTES or final <= 0 or capital <= 0:
        return NAN
    return float((final / capital) ** (MINUTES_PER_YEAR / minutes) - 1.0)


def calmar(cagr_value: float, drawdown: float) -> float:
    """CAGR / max drawdown; NaN when CAGR is NaN or the drawdown is 0."""
    return cagr_value / drawdown if drawdown > 0 and not math.isnan(cagr_value) else NAN


def profit_factor(pnls: FloatArray) -> float:
    """Sum of the winning PnLs over minus the sum of the losing ones; NaN without a losing trip."""
    loss = -float(np.sum(pnls[pnls < 0]))
    return float(np.sum(pnls[pnls > 0])) / loss if loss > 0 else NAN


def trip_figures(trips: Trips) -> dict[str, float | int]:
    """round_trips, win_rate, profit_factor, expectancy and durations of the closed `trips`."""
    pnl, n = trips.pnl, int(trips.pnl.size)
    duration = trips.duration_s
    return {
        "round_trips": n,
        "win_rate": float(np.mean(pnl > 0)) if n else NAN,
        "profit_factor": profit_factor(pnl),
        "expectancy": float(np.mean(pnl)) if n else NAN,
        "avg_trip_duration_s": float(np.mean(duration)) if n else NAN,
        "longest_trip_duration_s": float(np.max(duration)) if n else NAN,
    }


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
    """What one series' statistics are computed from (`trips`: its closed round trips)."""

    series: str
    capital: float
    equity: FloatArray
    exposure: float
    notional: float
    fees: float
    funding: float
    fills: int
    trips: Trips


def series_stats(s: SeriesInputs) -> dict[str, float | int | str]:
    """One STATS row from a series' equity curve and trading figures."""
    returns = minute_returns(s.equity, s.capital)
    final = float(s.equity[-1]) if s.equity.size else s.capital
    total_return = (final - s.capital) / s.capital if s.capital else 0.0
    growth = cagr(final, s.capital, int(s.equity.size))
    drawdown = max_drawdown(s.equity, s.capital)
    return {
        "series": s.series,
        "capital": s.capital,
        "final_equity": final,
        "pnl": final - s.capital,
        "total_return": total_return,
        "cagr": growth,
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        "max_drawdown": drawdown,
        "calmar": calmar(growth, drawdown),
        "turnover": s.notional / s.capital if s.capital else 0.0,
        "fees": s.fees,
        "funding": s.funding,
        "funding_paid": 0.0 - s.funding,
        "exposure": s.exposure,
        "exposure_adjusted_return": total_return / s.exposure if s.exposure > 0 else NAN,
        "fills": s.fills,
        **trip_figures(s.trips),
        "minutes": int(s.equity.size),
    }


def traded_notional(rows: LedgerArrays, inverse: Collection[str], rate: FloatArray | None = None) -> float:
    """Sum of |qty x price| over the `fill` and `cross` rows (|qty| / price on the `inverse` symbols),
    each times its row's `rate` when given (amounts converted to USDT)."""
    traded = (rows.kind == "fill") | (rows.kind == "cross")
    value = np.abs(rows.qty * (rows.price if rate is None else rows.price * rate))
    for sym in set(inverse) & set(rows.symbol.tolist()):
        mask = rows.symbol == sym
        value[mask] = np.abs(rows.qty[mask] / rows.price[mask]) * (1.0 if rate is None else rate[mask])
    return float(np.sum(value[traded]))


def _sub_ledger_inputs(
    s: Series, rows: LedgerArrays, grid: np.ndarray, equity: FloatArray, notional: float, inverse: Collection[str],
    lots: Mapping[str, float],
) -> SeriesInputs:
    """Inputs of series `s` whose trading is the ledger rows `rows` (a strategy, or the account), whose
    traded notional is `notional`; the `inverse` symbols are inverse contracts."""
    positions, tolerances = [], []
    for sym in sorted(set(rows.symbol.tolist())):
        mask = rows.symbol == sym
        positions.append(sample_cumsum(rows.ts[mask], rows.qty[mask], grid))
        tolerances.append(flat_tolerance(rows.qty[mask], lots.get(sym, 0.0)))
    funding = rows.kind == "funding"
    return SeriesInputs(
        series=s.name,
        capital=s.capital,
        equity=equity,
        exposure=exposure(positions, tolerances, grid.size),
        notional=notional,
        fees=float(np.sum(rows.fee)),
        funding=float(np.sum(rows.cash_flow[funding])),
        fills=int(np.count_nonzero(rows.kind == "fill")),
        trips=concat_trips(list(symbol_trips(rows, {}, inverse, lots).values())).closed_only(),
    )


def series_curve(equity: pa.Table, series: str) -> tuple[np.ndarray, FloatArray]:
    """(grid times, equity) of one series of an EQUITY table, in time order."""
    rows = equity.filter(pc.equal(equity.column("series"), series))
    ts = np.asarray(rows.column("ts").to_numpy(), dtype=np.int64)
    order = np.argsort(ts, kind="stable")
    return ts[order], np.asarray(rows.column("equity").to_numpy(), dtype=np.float64)[order]


def _venue(account: SeriesInputs, fills: pa.Table, s: Series, rates: Rates, inverse: Collection[str]) -> SeriesInputs:
    """The account's inputs with the venue's figures: its fills in the series' currencies (in USDT
    at each fill's minute when the series converts); on the `inverse` symbols the notional is
    |size| / price."""
    symbol = np.asarray(fills.column("symbol").to_numpy(zero_copy_only=False), dtype=object)
    mine = currency_mask(symbol, s.parts)
    ts = np.asarray(fills.column("ts").to_numpy(), dtype=np.int64)[mine]
    size, price, fee = (np.asarray(fills.column(c).to_numpy(), dtype=np.float64)[mine]
                        for c in ("size", "price", "fee"))
    rate = np.ones(ts.size)
    if s.converted:
        for sym in set(symbol[mine].tolist()):
            at = symbol[mine] == sym
            rate[at] = rates.after(symbol_currency(sym), ts[at])
    value = np.abs(size * price)
    for sym in set(inverse) & set(symbol[mine].tolist()):
        at = symbol[mine] == sym
        value[at] = np.abs(size[at] / price[at])
    return replace(account, notional=float(np.sum(value * rate)), fees=float(np.sum(fee * rate)), fills=int(ts.size))


def _pnl_usdt(s: Series, equity: FloatArray, grid: np.ndarray, rates: Rates) -> float | None:
    """The series' PnL in USDT: each minute's change at that minute's rate (None without a rate)."""
    if not rates.has(s.currency):
        return None
    if equity.size == 0:
        return NAN
    capital, usdt = usdt_curve([(s.capital, equity, rates.at(s.currency, grid))])
    return float(usdt[-1] - capital)


def compute_stats(
    equity: pa.Table, ledger: pa.Table, fills: pa.Table, capital: Mapping[str, float],
    currencies: Mapping[str, str] | None = None, rates: Rates | None = None, inverse: Collection[str] = (),
    lots: Mapping[str, float] | None = None,
) -> pa.Table:
    """STATS rows of `plan_series`'s series: each strategy (in `capital` order), 'portfolio' and
    'buy_and_hold', per currency (`currencies`: each strategy's, default the one of the symbols);
    the `inverse` symbols are inverse contracts; `lots` gives each symbol's lot: a position below
    it is flat (exposure, trips)."""
    rows = ledger_arrays(ledger)
    # every series of an EQUITY table is on the one minute grid (build.equity_curves)
    grid = series_curve(equity, equity.column("series")[0].as_py())[0] if equity.num_rows else np.zeros(0, np.int64)
    rates = rates or Rates()
    fill_symbols = fills.column("symbol").to_pylist()
    currencies = currencies or default_currencies(list(capital), [*set(rows.symbol.tolist()), *set(fill_symbols)])
    out = []
    for s in plan_series(capital, currencies, rows, rates, grid):
        _, eq = series_curve(equity, s.name)
        if s.owner == BUY_AND_HOLD:
            row = _buy_and_hold_stats(s.name, eq, s.capital)
        else:
            mine = rows if s.owner == PORTFOLIO else rows.where(rows.strategy_id == s.owner)
            mine = mine.where(currency_mask(mine.symbol, s.parts))
            rate = row_rates(mine, rates) if s.converted else None
            inputs = _sub_ledger_inputs(s, mine if rate is None else convert_rows(mine, rate), grid, eq,
                                        traded_notional(mine, inverse, rate), inverse, lots or {})
            row = series_stats(_venue(inputs, fills, s, rates, inverse) if s.owner == PORTFOLIO else inputs)
        out.append({**row, "currency": s.currency, "pnl_usdt": _pnl_usdt(s, eq, grid, rates)})
    return pa.Table.from_pylist(out, schema=STATS)


def _buy_and_hold_stats(name: str, eq: FloatArray, capital: float) -> dict[str, float | int | str]:
    held = eq.size > 0
    return series_stats(
        SeriesInputs(
            series=name,
            capital=capital,
            equity=eq,
            exposure=1.0 if held else 0.0,
            notional=capital if held else 0.0,
            fees=0.0,
            funding=0.0,
            fills=0,
            trips=empty_trips(),
        )
    )
