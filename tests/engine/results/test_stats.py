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
    compute_stats,
    max_drawdown,
    minute_returns,
    round_trip_pnls,
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


def test_sharpe_constant_returns_is_zero() -> None:
    assert sharpe(np.array([0.01, 0.01, 0.01])) == 0.0
    assert sharpe(np.array([0.05])) == 0.0


def test_sortino_known_returns_matches_formula() -> None:
    r = np.array([0.02, -0.01, 0.03, -0.02])
    # mean = 0.02/4 = 0.005; downside = sqrt((0 + 0.0001 + 0 + 0.0004) / 4) = sqrt(0.000125)
    assert sortino(r) == pytest.approx(0.005 / math.sqrt(0.000125) * ANN)


def test_sortino_no_negative_return_is_zero() -> None:
    assert sortino(np.array([0.01, 0.0, 0.02])) == 0.0


def test_max_drawdown_includes_capital_as_first_peak() -> None:
    # capital 100, then 90, 120, 60, 130: peaks 100,100,120,120,130 -> dd 0.1, 0, 0.5, 0 -> 0.5
    assert max_drawdown(np.array([90.0, 120.0, 60.0, 130.0]), 100.0) == pytest.approx(0.5)
    # falling from the start: 100 -> 80 is a 20 % drawdown
    assert max_drawdown(np.array([80.0]), 100.0) == pytest.approx(0.2)


def rt(rows: list[tuple[int, float, float]]) -> list[float]:
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    return round_trip_pnls(ts, np.array([r[1] for r in rows]), np.array([r[2] for r in rows])).tolist()


def test_round_trips_open_then_close_sums_cash_flows() -> None:
    # buy 2 @ 10 fee 0.1 (cf -20.1), sell 2 @ 11 fee 0.1 (cf +21.9): pnl = 1.8
    assert rt([(1, 2.0, -20.1), (2, -2.0, 21.9)]) == pytest.approx([1.8])


def test_round_trips_flip_splits_the_flipping_row_pro_rata() -> None:
    # buy 1 @ 10 (cf -10); sell 3 @ 12 (cf +36): 1/3 closes the long -> trip 1 = -10 + 12 = 2;
    # 2/3 opens a short (cf +24); buy 2 @ 11 (cf -22) closes it -> trip 2 = 24 - 22 = 2
    assert rt([(1, 1.0, -10.0), (2, -3.0, 36.0), (3, 2.0, -22.0)]) == pytest.approx([2.0, 2.0])


def test_round_trips_funding_inside_counts_and_while_flat_not() -> None:
    # funding -5 while flat (ignored); buy 1 @ 10; funding -0.5 while long; sell 1 @ 10.2
    # trip = -10 - 0.5 + 10.2 = -0.3
    rows = [(0, 0.0, -5.0), (1, 1.0, -10.0), (2, 0.0, -0.5), (3, -1.0, 10.2)]
    assert rt(rows) == pytest.approx([-0.3])


def test_round_trips_open_trip_at_end_is_not_counted() -> None:
    # one closed trip (-10 + 11 = 1), then a buy that stays open
    assert rt([(1, 1.0, -10.0), (2, -1.0, 11.0), (3, 1.0, -12.0)]) == pytest.approx([1.0])


def test_round_trips_same_ts_rows_are_one_step() -> None:
    # at ts 2 a sell of 1 and a buy of 1 net to no change: the position stays 1, no trip closes
    assert rt([(1, 1.0, -10.0), (2, -1.0, 11.0), (2, 1.0, -11.0)]) == []


def test_round_trips_float_residue_counts_as_flat() -> None:
    # 0.1 + 0.2 - 0.3 leaves 5.5e-17 in float: still one closed trip: -1 - 2 + 3.3 = 0.3
    assert rt([(1, 0.1, -1.0), (2, 0.2, -2.0), (3, -0.3, 3.3)]) == pytest.approx([0.3])


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
    # b: 500, 499.975, 501.475, 501.475, 498.375, 500.375 -> worst 1 - 498.375/501.475
    assert s["b"]["max_drawdown"] == pytest.approx(1 - 498.375 / 501.475)


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
    assert s["a"]["avg_round_trip_pnl"] == pytest.approx(1.4245)
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
    assert stats["portfolio"]["avg_round_trip_pnl"] == pytest.approx(2.0)
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
    assert stats["a"]["avg_round_trip_pnl"] == pytest.approx(0.5)
