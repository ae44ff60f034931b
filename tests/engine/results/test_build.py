"""Equity curves, the result bundle, the allocations of fills and run ids."""

from __future__ import annotations

import math
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.model.errors import ConfigError
from engine.results.build import (
    allocations_table,
    build_result,
    equity_curves,
    new_run_id,
    records_table,
    strategy_capital,
)
from engine.results.records import ALLOCATIONS, FILLS, LEDGER, MARKS, ORDERS
from tests.engine.results_factory import (
    T0,
    M,
    config,
    ledger_row,
    mark_row,
    scenario_result,
    scenario_tables,
)


def curve(equity: pa.Table, series: str, column: str = "equity") -> list[float]:
    return equity.filter(pc.equal(equity["series"], series))[column].to_pylist()


def test_equity_scenario_strategies_marked_each_minute() -> None:
    eq = scenario_result().equity
    # a: 1000 - 100.05 + 1*100 = 999.95; + 50.5 cash, 0.5*102 = 1001.45; minute 3 carries 102;
    #    sold 0.5: cash 950.45 + 50.9745 = 1001.4245, flat
    assert curve(eq, "a") == pytest.approx([999.95, 1001.45, 1001.45, 1001.4245, 1001.4245])
    # b: 500 - 50.025 + 0.5*100 = 499.975; cash 449.975 - 50.5 = 399.475 + 1*102 = 501.475;
    #    minute 4: 399.475 + 99 = 498.475 (the funding at exactly T0+4m is not before T0+4m: it counts
    #    from T0+5m); minute 5: 399.475 - 0.1 + 101 = 500.375
    assert curve(eq, "b") == pytest.approx([499.975, 501.475, 501.475, 498.475, 500.375])
    assert curve(eq, "a", "ts") == [T0 + k * M for k in range(1, 6)]


def test_equity_portfolio_is_account_and_buy_and_hold_no_fees() -> None:
    eq = scenario_result().equity
    expected = np.add([999.95, 1001.45, 1001.45, 1001.4245, 1001.4245], [499.975, 501.475, 501.475, 498.475, 500.375])
    assert curve(eq, "portfolio") == pytest.approx(expected.tolist())
    # 1500 at the first mark (100) buys 15 ETH: 15 * [100, 102, 102, 99, 101]
    assert curve(eq, "buy_and_hold") == pytest.approx([1500.0, 1530.0, 1530.0, 1485.0, 1515.0])
    assert curve(eq, "buy_and_hold", "position") == [15.0] * 5


def test_equity_single_symbol_has_positions() -> None:
    eq = scenario_result().equity
    assert curve(eq, "a", "position") == pytest.approx([1.0, 0.5, 0.5, 0.0, 0.0])
    assert curve(eq, "portfolio", "position") == pytest.approx([1.5, 1.5, 1.5, 1.0, 1.0])


def test_equity_two_symbols_positions_nan_and_equal_weight_hold() -> None:
    ledger = records_table(
        LEDGER,
        [
            ledger_row(0, T0 + 5, "a", "fill", 2.0, 10.0, 0.0, -20.0, symbol="X/USDT"),
            ledger_row(1, T0 + M + 5, "a", "fill", 1.0, 50.0, 0.0, -50.0, symbol="Y/USDT"),
        ],
    )
    # X: 10 at T0+1m, 12 at T0+2m; Y's first mark only at T0+2m (50)
    marks = records_table(
        MARKS,
        [
            mark_row(T0 + M, 10.0, "X/USDT"),
            mark_row(T0 + 2 * M, 12.0, "X/USDT"),
            mark_row(T0 + 2 * M, 50.0, "Y/USDT"),
        ],
    )
    eq = equity_curves(ledger, marks, {"a": 200.0})
    # a: minute 1: 180 + 2*10 = 200; minute 2: 130 + 2*12 + 1*50 = 204
    assert curve(eq, "a") == pytest.approx([200.0, 204.0])
    # hold: 100 in X at 10 (10 units), 100 in Y at its first mark 50 (2 units, cash until then)
    # minute 1: 10*10 + 100 = 200; minute 2: 10*12 + 2*50 = 220
    assert curve(eq, "buy_and_hold") == pytest.approx([200.0, 220.0])
    assert all(math.isnan(p) for p in eq["position"].to_pylist())


def test_equity_unknown_strategy_in_ledger_raises() -> None:
    ledger = records_table(LEDGER, [ledger_row(0, T0, "ghost", "fill", 1.0, 10.0, 0.0, -10.0)])
    with pytest.raises(ValueError, match="ghost"):
        equity_curves(ledger, records_table(MARKS, [mark_row(T0 + M, 10.0)]), {"a": 100.0})


def test_equity_traded_symbol_without_marks_raises() -> None:
    ledger = records_table(LEDGER, [ledger_row(0, T0, "a", "fill", 1.0, 10.0, 0.0, -10.0, symbol="Z/USDT")])
    with pytest.raises(ValueError, match="Z/USDT"):
        equity_curves(ledger, records_table(MARKS, [mark_row(T0 + M, 10.0)]), {"a": 100.0})


def test_equity_no_marks_gives_empty_curves() -> None:
    eq = equity_curves(records_table(LEDGER), records_table(MARKS), {"a": 100.0})
    assert eq.num_rows == 0


def test_strategy_capital_config_order_and_bad_entries() -> None:
    assert list(strategy_capital(config())) == ["a", "b"]
    with pytest.raises(ConfigError, match=r"strategies\[0\]\.id.*'portfolio'"):
        strategy_capital({"strategies": [{"id": "portfolio", "capital": 1.0}]})
    with pytest.raises(ConfigError, match=r"strategies\[1\]\.capital.*-5"):
        strategy_capital({"strategies": [{"id": "a", "capital": 1.0}, {"id": "b", "capital": -5}]})


def test_build_result_missing_column_names_it() -> None:
    tables = scenario_tables()
    tables["fills"] = tables["fills"].drop_columns(["fee"])
    with pytest.raises(ValueError, match=r"fills.*fee"):
        build_result("r", config(), "v", "fp", **tables)


def test_build_result_keeps_records_and_derives_series() -> None:
    r = scenario_result()
    assert r.series == ["a", "b", "portfolio", "buy_and_hold"]
    assert r.stats["series"].to_pylist() == r.series
    assert r.orders.schema == ORDERS and r.fills.schema == FILLS and r.ledger.num_rows == 6


def test_new_run_id_format_time_prefix_and_unique() -> None:
    rid = new_run_id(config(), T0)
    assert re.fullmatch(r"20240101T000000-[0-9a-f]{8}", rid)
    ids = {new_run_id(config(), T0) for _ in range(200)}
    assert len(ids) == 200
    later = new_run_id(config(), T0 + 1_000_000_000)
    assert later > max(ids)


def test_allocations_are_the_ledger_rows_booked_at_fills() -> None:
    # scenario: fill 0 (buy 1.5) went a +1.0 (fee 0.05), b +0.5 (fee 0.025); fill 1 is a's sale of 0.5;
    # the cross at T0+90s and the funding belong to no fill
    r = scenario_result()
    assert r.allocations.schema == ALLOCATIONS
    assert r.allocations.to_pylist() == [
        {"fill_seq": 0, "strategy_id": "a", "kind": "fill", "qty": 1.0, "fee": 0.05},
        {"fill_seq": 0, "strategy_id": "b", "kind": "fill", "qty": 0.5, "fee": 0.025},
        {"fill_seq": 1, "strategy_id": "a", "kind": "fill", "qty": -0.5, "fee": 0.0255},
    ]


def test_allocations_fill_rows_sum_to_each_fill() -> None:
    r = scenario_result()
    for fill in r.fills.to_pylist():
        shares = [a for a in r.allocations.to_pylist() if a["fill_seq"] == fill["seq"] and a["kind"] == "fill"]
        assert sum(a["qty"] for a in shares) == pytest.approx(fill["side"] * fill["size"])
        assert sum(a["fee"] for a in shares) == pytest.approx(fill["fee"])


def test_allocations_ledger_without_fill_seq_has_none() -> None:
    # a ledger from before fill_seq existed (null column) gives no allocations, and -1 in the ledger
    tables = scenario_tables()
    ledger = tables["ledger"].drop_columns(["fill_seq"])
    result = build_result("r", config(), "v", "f", tables["orders"], tables["fills"],
                          ledger.append_column("fill_seq", pa.nulls(ledger.num_rows, pa.int64())), tables["marks"])
    assert result.allocations.num_rows == 0
    assert set(result.ledger.column("fill_seq").to_pylist()) == {-1}
    assert allocations_table(result.ledger).num_rows == 0
