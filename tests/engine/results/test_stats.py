"""Statistics: each figure on small hand-computed ledgers, and the netting invariant."""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.results.build import equity_curves, records_table
from engine.results.records import FILLS, LEDGER, MARKS
from engine.results.stats import (
    cagr,
    calmar,
    compute_stats,
    max_drawdown,
    minute_returns,
    profit_factor,
    sharpe,
    sortino,
)
from tests.engine.results_factory import T0, M, ledger_row, mark_row, scenario_result

ANN = math.sqrt(525_600)


def by_series(result_stats: pa.Table) -> dict[str, dict[str, Any]]:
    return {row["series"]: row for row in result_stats.to_pylist()}


# --- kernels -------------------------------------------------------------------------------------


def test_minute_returns_first_minute_starts_at_capital() -> None:
    # e = [100 (capital), 110, 99]: r = [110/100 - 1, 99/110 - 1] = [0.1, -0.1]
    r = minute_returns(np.array([110.0, 99.0]), 100.0)
    assert r == pytest.approx([0.1, -0.1])


def test_sharpe_known_returns_matches_formula() -> None:
    r = np.array([0.01, -0.02, 0.03, 0.0])
    # mean = 0.02/4 = 0.005; sample std from the statistics module (ddof=1)
    expected = 0.005 / statistics.stdev([0.01, -0.02, 0.03, 0.0]) * ANN
    assert sharpe(r) == pytest.approx(expected)


def test_sharpe_constant_returns_is_undefined() -> None:
    assert math.isnan(sharpe(np.array([0.01, 0.01, 0.01])))
    assert math.isnan(sharpe(np.array([0.0, 0.0, 0.0])))  # a series that never trades
    assert math.isnan(sharpe(np.array([0.05])))


def test_sortino_known_returns_matches_formula() -> None:
    r = np.array([0.02, -0.01, 0.03, -0.02])
    # mean = 0.02/4 = 0.005; downside = sqrt((0 + 0.0001 + 0 + 0.0004) / 4) = sqrt(0.000125)
    assert sortino(r) == pytest.approx(0.005 / math.sqrt(0.000125) * ANN)


def test_sortino_no_negative_return_is_undefined() -> None:
    # undefined, not 0: a 0 would rank the smoothest rising curves last
    assert math.isnan(sortino(np.array([0.01, 0.0, 0.02])))
    assert math.isnan(sortino(np.array([])))


def test_max_drawdown_includes_capital_as_first_peak() -> None:
    # capital 100, then 90, 120, 60, 130: peaks 100,100,120,120,130 -> dd 0.1, 0, 0.5, 0 -> 0.5
    assert max_drawdown(np.array([90.0, 120.0, 60.0, 130.0]), 100.0) == pytest.approx(0.5)
    # falling from the start: 100 -> 80 is a 20 % drawdown
    assert max_drawdown(np.array([80.0]), 100.0) == pytest.approx(0.2)


# --- compute_stats on the shared scenario (see tests/engine/results_factory.py) --------------------


def test_stats_scenario_pnl_and_return_from_final_equity() -> None:
    s = by_series(scenario_result().stats)
    # a: cash 1000 - 100.05 + 50.5 + 50.9745 = 1001.4245, flat -> pnl 1.4245
    assert s["a"]["pnl"] == pytest.approx(1.4245)
    assert s["a"]["total_return"] == pytest.approx(1.4245 / 1000)
    # b: cash 500 - 50.025 - 50.5 - 0.1 = 399.375, 1 ETH @ 101 -> 500.375
    assert s["b"]["pnl"] == pytest.approx(0.375)
    assert s["portfolio"]["pnl"] == pytest.approx(1.4245 + 0.375)
    # buy and hold: 1500 / 100 = 15 ETH, at 101 -> 1515
    assert s["buy_and_hold"]["pnl"] == pytest.approx(15.0)


def test_stats_scenario_sharpe_sortino_drawdown_from_equity() -> None:
    s = by_series(scenario_result().stats)
    e = [1000.0, 999.95, 1001.45, 1001.45, 1001.4245, 1001.4245]  # a: capital then 5 minutes
    r = [e[k] / e[k - 1] - 1 for k in range(1, len(e))]
    assert s["a"]["sharpe"] == pytest.approx(statistics.mean(r) / statistics.stdev(r) * ANN)
    down = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    assert s["a"]["sortino"] == pytest.approx(statistics.mean(r) / down * ANN)
    # b: 500, 499.975, 501.475, 501.475, 498.475, 500.375 -> worst 1 - 498.475/501.475
    assert s["b"]["max_drawdown"] == pytest.approx(1 - 498.475 / 501.475)


def test_stats_scenario_turnover_fees_funding_fills() -> None:
    s = by_series(scenario_result().stats)
    # a: |1*100| + |-0.5*101| + |-0.5*102| = 201.5 over 1000; b: 50 + 50.5 = 100.5 over 500
    assert s["a"]["turnover"] == pytest.approx(0.2015)
    assert s["b"]["turnover"] == pytest.approx(0.201)
    # portfolio: the venue's fills 1.5*100 + 0.5*102 = 201 over 1500
    assert s["portfolio"]["turnover"] == pytest.approx(0.134)
    assert s["a"]["fees"] == pytest.approx(0.0755)
    assert s["portfolio"]["fees"] == pytest.approx(0.075 + 0.0255)
    assert (s["b"]["funding"], s["portfolio"]["funding"]) == pytest.approx((-0.1, -0.1))
    assert (s["a"]["fills"], s["b"]["fills"], s["portfolio"]["fills"]) == (2, 1, 2)


def test_stats_scenario_exposure_and_round_trips() -> None:
    s = by_series(scenario_result().stats)
    # a holds 1, 0.5, 0.5, 0, 0 over the 5 minutes -> 3/5
    assert s["a"]["exposure"] == pytest.approx(0.6)
    assert s["b"]["exposure"] == 1.0
    # a: one trip -100.05 + 50.5 + 50.9745 = 1.4245 (a win); b and the account never flat again
    assert (s["a"]["round_trips"], s["a"]["win_rate"]) == (1, 1.0)
    assert s["a"]["expectancy"] == pytest.approx(1.4245)
    assert s["b"]["round_trips"] == 0 and math.isnan(s["b"]["win_rate"])
    assert s["portfolio"]["round_trips"] == 0


def test_stats_portfolio_round_trips_on_account_position() -> None:
    # a buys 1 @ 10 (cf -10), later b buys 1 @ 10 (cf -10); then one venue sale of 2 @ 11 is split
    # a -1 (cf 11), b -1 (cf 11) at the same ts: the account goes 0 -> 1 -> 2 -> 0, one trip
    # of -20 + 22 = 2 (each strategy also has one trip of +1)
    ledger = records_table(
        LEDGER,
        [
            ledger_row(0, T0 + 1, "a", "fill", 1.0, 10.0, 0.0, -10.0),
            ledger_row(1, T0 + 2, "b", "fill", 1.0, 10.0, 0.0, -10.0),
            ledger_row(2, T0 + 3, "a", "fill", -1.0, 11.0, 0.0, 11.0),
            ledger_row(3, T0 + 3, "b", "fill", -1.0, 11.0, 0.0, 11.0),
        ],
    )
    marks = records_table(MARKS, [mark_row(T0 + M, 11.0)])
    capital = {"a": 100.0, "b": 100.0}
    stats = by_series(compute_stats(equity_curves(ledger, marks, capital), ledger, records_table(FILLS), capital))
    assert stats["portfolio"]["round_trips"] == 1
    assert stats["portfolio"]["expectancy"] == pytest.approx(2.0)
    assert (stats["a"]["round_trips"], stats["b"]["round_trips"]) == (1, 1)


# --- the netting invariant ---------------------------------------------------------------------

ROW = st.tuples(
    st.integers(0, 9),  # minute of the row
    st.sampled_from(["s1", "s2", "s3"]),
    st.sampled_from(["ETH/USDT", "BTC/USDT"]),
    st.sampled_from(["fill", "cross", "funding"]),
    st.floats(-5, 5, allow_nan=False).map(lambda x: round(x, 3)),
    st.floats(1, 1000, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(ROW, max_size=40), prices=st.lists(st.floats(1, 1000), min_size=20, max_size=20))
def test_stats_random_ledger_strategies_pnl_sum_to_portfolio(
    rows: list[tuple[int, str, str, str, float, float, float]], prices: list[float]
) -> None:
    ledger_rows = []
    for i, (minute, sid, sym, kind, qty, price, fee) in enumerate(rows):
        q = 0.0 if kind == "funding" else qty
        cf = fee - 0.5 if kind == "funding" else -q * price - fee
        ledger_rows.append(ledger_row(i, T0 + minute * M + 1, sid, kind, q, price, fee, cf, symbol=sym))
    ledger = records_table(LEDGER, ledger_rows)
    marks = records_table(
        MARKS, [mark_row(T0 + (k // 2 + 1) * M, p, "ETH/USDT" if k % 2 else "BTC/USDT") for k, p in enumerate(prices)]
    )
    capital = {"s1": 1000.0, "s2": 2000.0, "s3": 500.0}
    equity = equity_curves(ledger, marks, capital)
    stats = by_series(compute_stats(equity, ledger, records_table(FILLS), capital))
    curves = {s: np.array(equity.filter(pc.equal(equity["series"], s))["equity"]) for s in [*capital, "portfolio"]}
    scale = 1.0 + sum(abs(r["cash_flow"]) for r in ledger_rows)
    np.testing.assert_allclose(curves["portfolio"], sum(curves[s] for s in capital), atol=1e-9 * scale)
    total = sum(stats[s]["pnl"] for s in capital)
    assert stats["portfolio"]["pnl"] == pytest.approx(total, abs=1e-9 * scale)
    assert stats["portfolio"]["funding"] == pytest.approx(sum(stats[s]["funding"] for s in capital))


def test_stats_win_rate_and_average_over_closed_trips() -> None:
    # a: buy 1 @ 10, sell @ 12 -> +2; buy 1 @ 12, sell @ 11 -> -1; then buy 1 @ 11 (open, not counted)
    # -> 2 trips, win rate 1/2, average (2 - 1) / 2 = 0.5
    steps = [(1.0, 10.0), (-1.0, 12.0), (1.0, 12.0), (-1.0, 11.0), (1.0, 11.0)]
    ledger = records_table(
        LEDGER, [ledger_row(i, T0 + i, "a", "fill", q, p, 0.0, -q * p) for i, (q, p) in enumerate(steps)]
    )
    marks = records_table(MARKS, [mark_row(T0 + M, 11.0)])
    capital = {"a": 100.0}
    stats = by_series(compute_stats(equity_curves(ledger, marks, capital), ledger, records_table(FILLS), capital))
    assert (stats["a"]["round_trips"], stats["a"]["win_rate"]) == (2, 0.5)
    assert stats["a"]["expectancy"] == pytest.approx(0.5)


# --- CAGR, Calmar, profit factor, expectancy, trip durations, funding paid, exposure-adjusted ------


def test_cagr_kernel_thirty_days_and_shorter() -> None:
    # +10 % over exactly 30 days (43,200 minutes) compounds 525,600 / 43,200 = 12.1667 times a year
    assert cagr(1100.0, 1000.0, 43_200) == pytest.approx(1.1 ** (525_600 / 43_200) - 1)
    assert math.isnan(cagr(1100.0, 1000.0, 43_199))  # a minute short of 30 days
    assert math.isnan(cagr(0.0, 1000.0, 50_000))  # no positive equity to compound


def test_calmar_and_profit_factor_kernels() -> None:
    assert calmar(0.5, 0.2) == pytest.approx(2.5)
    assert math.isnan(calmar(0.5, 0.0)) and math.isnan(calmar(math.nan, 0.2))
    # wins 8 + 2 = 10, losses 14.5 + 0.5 = 15
    assert profit_factor(np.array([8.0, -14.5, 2.0, -0.5])) == pytest.approx(10 / 15)
    assert math.isnan(profit_factor(np.array([1.0, 2.0])))  # no losing trip
    assert math.isnan(profit_factor(np.array([])))


def tiny_ledger_stats() -> dict[str, dict[str, Any]]:
    """Strategy a trades a handful of rows over one hour, b never trades.

    a (capital 1000), marks 100 at every minute end T0+1m .. T0+60m:
      T0+1s      buy 1 @ 100, fee 1      cf -101
      T0+10m+1s  sell 1 @ 110, fee 1     cf +109     trip 1: PnL 8, 10 minutes
      T0+20m+1s  buy 2 @ 110, fee 2      cf -222
      T0+25m+1s  funding paid 0.5        cf -0.5
      T0+40m+1s  sell 2 @ 105, fee 2     cf +208     trip 2: PnL -222 - 0.5 + 208 = -14.5, 20 minutes
      T0+50m+1s  buy 1 @ 100             cf -100     open to the end
    """
    s = 1_000_000_000
    rows = [
        ledger_row(0, T0 + s, "a", "fill", 1.0, 100.0, 1.0, -101.0),
        ledger_row(1, T0 + 10 * M + s, "a", "fill", -1.0, 110.0, 1.0, 109.0),
        ledger_row(2, T0 + 20 * M + s, "a", "fill", 2.0, 110.0, 2.0, -222.0),
        ledger_row(3, T0 + 25 * M + s, "a", "funding", 0.0, 100.0, 0.0, -0.5),
        ledger_row(4, T0 + 40 * M + s, "a", "fill", -2.0, 105.0, 2.0, 208.0),
        ledger_row(5, T0 + 50 * M + s, "a", "fill", 1.0, 100.0, 0.0, -100.0),
    ]
    ledger = records_table(LEDGER, rows)
    marks = records_table(MARKS, [mark_row(T0 + k * M, 100.0) for k in range(1, 61)])
    capital = {"a": 1000.0, "b": 500.0}
    return by_series(compute_stats(equity_curves(ledger, marks, capital), ledger, records_table(FILLS), capital))


def test_stats_tiny_ledger_trip_figures() -> None:
    a = tiny_ledger_stats()["a"]
    assert (a["round_trips"], a["win_rate"]) == (2, 0.5)
    assert a["profit_factor"] == pytest.approx(8 / 14.5)
    assert a["expectancy"] == pytest.approx((8 - 14.5) / 2)
    assert a["avg_trip_duration_s"] == pytest.approx((600 + 1200) / 2)
    assert a["longest_trip_duration_s"] == pytest.approx(1200.0)


def test_stats_tiny_ledger_funding_exposure_and_adjusted_return() -> None:
    a = tiny_ledger_stats()["a"]
    assert (a["funding"], a["funding_paid"], a["fees"]) == pytest.approx((-0.5, 0.5, 6.0))
    # held at the minute ends 1..10, 21..40 and 51..60: 40 of 60 minutes
    assert a["exposure"] == pytest.approx(40 / 60)
    # final 1000 - 101 + 109 - 222 - 0.5 + 208 - 100 + 1 * 100 = 993.5: return -0.65 %
    assert a["total_return"] == pytest.approx(-0.0065)
    assert a["exposure_adjusted_return"] == pytest.approx(-0.0065 / (40 / 60))
    assert math.isnan(a["cagr"]) and math.isnan(a["calmar"])  # one hour is under 30 days


def test_stats_no_trades_sharpe_sortino_win_rate_undefined() -> None:
    b = tiny_ledger_stats()["b"]
    assert (b["pnl"], b["fills"], b["round_trips"], b["exposure"], b["funding_paid"]) == (0.0, 0, 0, 0.0, 0.0)
    for field in ("sharpe", "sortino", "win_rate", "profit_factor", "expectancy", "avg_trip_duration_s",
                  "longest_trip_duration_s", "exposure_adjusted_return", "cagr", "calmar"):
        assert math.isnan(b[field]), field


def test_stats_thirty_days_cagr_and_calmar() -> None:
    # a buys 10 @ 100 with its 1000; marks 100 (minute 1), 80 (minute 2, carried), 110 at minute
    # 43,200: equity 1000, 800 ... 800, 1100. Max drawdown 1 - 800/1000 = 0.2
    ledger = records_table(LEDGER, [ledger_row(0, T0 + 1, "a", "fill", 10.0, 100.0, 0.0, -1000.0)])
    capital = {"a": 1000.0}

    def stats_until(last_minute: int) -> dict[str, Any]:
        marks = records_table(MARKS, [mark_row(T0 + M, 100.0), mark_row(T0 + 2 * M, 80.0),
                                      mark_row(T0 + last_minute * M, 110.0)])
        equity = equity_curves(ledger, marks, capital)
        return by_series(compute_stats(equity, ledger, records_table(FILLS), capital))["a"]

    a = stats_until(43_200)
    growth = 1.1 ** (525_600 / 43_200) - 1
    assert a["minutes"] == 43_200 and a["max_drawdown"] == pytest.approx(0.2)
    assert a["cagr"] == pytest.approx(growth)
    assert a["calmar"] == pytest.approx(growth / 0.2)
    short = stats_until(43_199)
    assert math.isnan(short["cagr"]) and math.isnan(short["calmar"])
