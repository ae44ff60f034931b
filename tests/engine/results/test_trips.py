"""Round trips: entry and exit prices, size, PnL, fees, funding and durations, each by hand."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.model.time import NS_PER_S
from engine.results.build import records_table
from engine.results.ledger import ledger_arrays
from engine.results.records import LEDGER, MARKS
from engine.results.trips import TRADES, Trips, round_trips, trades_table
from tests.engine.results_factory import T0, M, ledger_row, scenario_result

S = NS_PER_S


def fills(*steps: tuple[int, float, float, float]) -> list[dict[str, Any]]:
    """Ledger rows of strategy 'a' from (second, signed qty, price, fee) fills."""
    return [
        ledger_row(i, T0 + sec * S, "a", "fill", q, p, fee, -q * p - fee) for i, (sec, q, p, fee) in enumerate(steps)
    ]


def trips_of(rows: list[dict[str, Any]], mark_ts: int = 0, mark_price: float = math.nan) -> Trips:
    return round_trips(ledger_arrays(records_table(LEDGER, rows)), mark_ts, mark_price)


def test_trips_two_entries_one_exit_average_entry() -> None:
    # buy 1 @ 100, buy 1 @ 110, sell 2 @ 120, fee 0.1 each: one long trip of size 2,
    # entry (100 + 110) / 2 = 105, exit 120, PnL 2 * (120 - 105) - 0.3 = 29.7
    t = trips_of(fills((0, 1.0, 100.0, 0.1), (60, 1.0, 110.0, 0.1), (300, -2.0, 120.0, 0.1)))
    assert t.side.tolist() == [1] and t.closed.tolist() == [True]
    assert (t.entry_price[0], t.exit_price[0], t.size[0]) == pytest.approx((105.0, 120.0, 2.0))
    assert (t.pnl[0], t.fees[0], t.funding_paid[0]) == pytest.approx((29.7, 0.3, 0.0))
    assert (t.entry_ts[0], t.exit_ts[0], t.duration_s[0]) == (T0, T0 + 300 * S, 300.0)


def test_trips_partial_exits_average_exit() -> None:
    # buy 2 @ 100, sell 1 @ 110, sell 1 @ 120: exit (110 + 120) / 2 = 115, PnL 10 + 20 = 30
    t = trips_of(fills((0, 2.0, 100.0, 0.0), (10, -1.0, 110.0, 0.0), (20, -1.0, 120.0, 0.0)))
    assert (t.entry_price[0], t.exit_price[0], t.size[0], t.pnl[0]) == pytest.approx((100.0, 115.0, 2.0, 30.0))


def test_trips_scaled_out_and_in_pnl_is_the_cash_flows() -> None:
    # buy 2 @ 100, sell 1 @ 110, buy 1 @ 90, sell 2 @ 100: the increases 2 @ 100 and 1 @ 90 average
    # 290 / 3; the decreases 1 @ 110 and 2 @ 100 average 310 / 3; size 2;
    # PnL = -200 + 110 - 90 + 200 = 20 (not (exit - entry) * size = 13.33)
    t = trips_of(fills((0, 2.0, 100.0, 0.0), (10, -1.0, 110.0, 0.0), (20, 1.0, 90.0, 0.0), (30, -2.0, 100.0, 0.0)))
    assert (t.entry_price[0], t.exit_price[0]) == pytest.approx((290 / 3, 310 / 3))
    assert (t.size[0], t.pnl[0]) == pytest.approx((2.0, 20.0))


def test_trips_flip_closes_one_and_opens_the_next_pro_rata() -> None:
    # buy 1 @ 10 (fee 0.1); sell 3 @ 12 (fee 0.3): 1/3 closes the long, 2/3 opens a short;
    # buy 2 @ 11 (fee 0.2) closes the short.
    # long: entry 10, exit 12, PnL -10.1 + (36 - 0.3) / 3 = 1.8, fees 0.1 + 0.1 = 0.2
    # short: entry 12, exit 11, size 2, PnL (36 - 0.3) * 2/3 - 22.2 = 1.6, fees 0.2 + 0.2 = 0.4
    t = trips_of(fills((0, 1.0, 10.0, 0.1), (10, -3.0, 12.0, 0.3), (25, 2.0, 11.0, 0.2)))
    assert t.side.tolist() == [1, -1] and t.closed.tolist() == [True, True]
    assert t.entry_price.tolist() == pytest.approx([10.0, 12.0])
    assert t.exit_price.tolist() == pytest.approx([12.0, 11.0])
    assert t.size.tolist() == pytest.approx([1.0, 2.0])
    assert t.pnl.tolist() == pytest.approx([1.8, 1.6])
    assert t.fees.tolist() == pytest.approx([0.2, 0.4])
    assert t.duration_s.tolist() == [10.0, 15.0]


def test_trips_short_trip_pnl_sign() -> None:
    # sell 2 @ 50, buy 2 @ 45: a short trip earning 2 * 5 = 10
    t = trips_of(fills((0, -2.0, 50.0, 0.0), (5, 2.0, 45.0, 0.0)))
    assert (t.side[0], t.entry_price[0], t.exit_price[0], t.size[0], t.pnl[0]) == pytest.approx((-1, 50, 45, 2, 10))


def test_trips_funding_while_open_counts_while_flat_not() -> None:
    # funding -5 while flat (no trip); buy 1 @ 10; funding -0.5 while long; sell 1 @ 10.2
    # PnL = -10 - 0.5 + 10.2 = -0.3; funding paid 0.5
    rows = [
        ledger_row(0, T0, "a", "funding", 0.0, 10.0, 0.0, -5.0),
        ledger_row(1, T0 + 1 * S, "a", "fill", 1.0, 10.0, 0.0, -10.0),
        ledger_row(2, T0 + 2 * S, "a", "funding", 0.0, 10.0, 0.0, -0.5),
        ledger_row(3, T0 + 3 * S, "a", "fill", -1.0, 10.2, 0.0, 10.2),
    ]
    t = trips_of(rows)
    assert (t.pnl[0], t.funding_paid[0], t.exit_price[0]) == pytest.approx((-0.3, 0.5, 10.2))
    assert len(t.pnl) == 1


def test_trips_open_at_end_valued_at_the_mark() -> None:
    # one closed trip (-10 + 11 = 1), then buy 2 @ 12 that stays open; last mark 13 at T0 + 5m:
    # exit 13, PnL -24 + 2 * 13 = 2, duration 5m - 20 s
    t = trips_of(fills((0, 1.0, 10.0, 0.0), (10, -1.0, 11.0, 0.0), (20, 2.0, 12.0, 0.0)), T0 + 5 * M, 13.0)
    assert t.closed.tolist() == [True, False]
    assert t.pnl.tolist() == pytest.approx([1.0, 2.0])
    assert (t.exit_ts[1], t.exit_price[1], t.size[1]) == (T0 + 5 * M, 13.0, 2.0)
    assert t.duration_s[1] == 300.0 - 20.0
    assert t.closed_only().pnl.tolist() == pytest.approx([1.0])


def test_trips_same_ts_rows_are_one_step() -> None:
    # at second 2 a sell of 1 and a buy of 1 net to nothing: the position stays 1, no trip closes
    t = trips_of(fills((1, 1.0, 10.0, 0.0), (2, -1.0, 11.0, 0.0), (2, 1.0, 11.0, 0.0)), T0 + M, 11.0)
    assert t.closed.tolist() == [False]


def test_trips_float_residue_counts_as_flat() -> None:
    # 0.1 + 0.2 - 0.3 leaves 5.5e-17 in float: still one closed trip, PnL -1 - 2 + 3.3 = 0.3
    t = trips_of(fills((1, 0.1, 10.0, 0.0), (2, 0.2, 10.0, 0.0), (3, -0.3, 11.0, 0.0)))
    assert t.closed.tolist() == [True] and t.pnl[0] == pytest.approx(0.3)


def test_trips_empty_ledger_no_trips() -> None:
    assert trips_of([]).pnl.size == 0


def test_trades_table_scenario_by_hand() -> None:
    # tests/engine/results_factory.py: a buys 1 @ 100 (fee 0.05), crosses -0.5 @ 101, sells 0.5 @ 102
    # (fee 0.0255): entry 100, exit (50.5 + 51) / 1 = 101.5, PnL 1.4245, 190 s.
    # b buys 0.5 @ 100 (fee 0.025) and 0.5 @ 101 by the cross, pays funding 0.1, still holds 1 at the
    # end: open, entry 100.5, valued at the last mark 101 (T0 + 5m): PnL -100.625 + 101 = 0.375
    trades = scenario_result().trades
    assert trades.schema == TRADES
    a, b = trades.to_pylist()
    assert (a["strategy_id"], a["trip"], a["side"], a["closed"]) == ("a", 1, 1, True)
    assert (a["entry_price"], a["exit_price"], a["size"]) == pytest.approx((100.0, 101.5, 1.0))
    assert (a["pnl"], a["fees"], a["funding_paid"], a["duration_s"]) == pytest.approx((1.4245, 0.0755, 0.0, 190.0))
    assert (b["strategy_id"], b["closed"], b["exit_ts"]) == ("b", False, T0 + 5 * M)
    assert (b["entry_price"], b["exit_price"], b["size"]) == pytest.approx((100.5, 101.0, 1.0))
    assert (b["pnl"], b["fees"], b["funding_paid"]) == pytest.approx((0.375, 0.025, 0.1))


def test_trades_table_in_strategy_order_then_entry_time_numbered() -> None:
    # b trades first in time, but the table lists strategies in the given order; a's trips on two
    # symbols are numbered by entry time across symbols
    rows = [
        ledger_row(0, T0 + 1 * S, "b", "fill", 1.0, 10.0, 0.0, -10.0),
        ledger_row(1, T0 + 2 * S, "b", "fill", -1.0, 11.0, 0.0, 11.0),
        ledger_row(2, T0 + 5 * S, "a", "fill", 1.0, 20.0, 0.0, -20.0, symbol="BTC/USDT"),
        ledger_row(3, T0 + 3 * S, "a", "fill", 1.0, 10.0, 0.0, -10.0),
        ledger_row(4, T0 + 6 * S, "a", "fill", -1.0, 12.0, 0.0, 12.0),
        ledger_row(5, T0 + 7 * S, "a", "fill", -1.0, 21.0, 0.0, 21.0, symbol="BTC/USDT"),
    ]
    marks = records_table(MARKS, [])
    table = trades_table(records_table(LEDGER, rows), marks, ["a", "b"])
    got = [(r["strategy_id"], r["trip"], r["symbol"], r["pnl"]) for r in table.to_pylist()]
    assert got == [("a", 1, "ETH/USDT", 2.0), ("a", 2, "BTC/USDT", 1.0), ("b", 1, "ETH/USDT", 1.0)]


def test_trades_table_no_ledger_is_empty_with_schema() -> None:
    table = trades_table(records_table(LEDGER, []), records_table(MARKS, []), ["a"])
    assert table.num_rows == 0 and table.schema == TRADES
    assert np.asarray(table.column("pnl").to_numpy()).size == 0

