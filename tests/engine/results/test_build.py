"""Equity curves, the result bundle, the text summary and run ids."""

from __future__ import annotations

import math
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.model.errors import ConfigError
from engine.results.build import build_result, equity_curves, new_run_id, records_table, strategy_capital
from engine.results.records import FILLS, LEDGER, MARKS, ORDERS
from engine.results.summary import summary_table
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
    #    funding at T0+4m (<= the minute end) -> 399.375 + 99 = 498.375; then + 101 = 500.375
    assert curve(eq, "b") == pytest.approx([499.975, 501.475, 501.475, 498.375, 500.375])
    assert curve(eq, "a", "ts") == [T0 + k * M for k in range(1, 6)]


def test_equity_portfolio_is_account_and_buy_and_hold_no_fees() -> None:
    eq = scenario_result().equity
    expected = np.add([999.95, 1001.45, 1001.45, 1001.4245, 1001.4245], [499.975, 501.475, 501.475, 498.375, 500.375])
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


def test_summary_table_rows_in_series_order_with_two_decimals() -> None:
    lines = summary_table(scenario_result()).splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines if line.split()[:1] in (["a"], ["b"], ["portfolio"])}
    # a: pnl 1.4245, return 0.14245 %, turnover 0.2015, fees 0.0755, exposure 60 %, 2 fills,
    # 1 round trip, win 100 %
    a = rows["a"]
    assert (a[0], a[1], a[5], a[6], a[7], a[8], a[9], a[10]) == (
        "1.42",
        "0.14",
        "0.20",
        "0.08",
        "60.00",
        "2",
        "1",
        "100.00",
    )
    # b: max dd 1 - 498.375/501.475 = 0.618 %; no closed round trip: no win rate
    assert (rows["b"][4], rows["b"][-1]) == ("0.62", "-")
    names = [line.split()[0] for line in lines[4:8]]
    assert names == ["a", "b", "portfolio", "buy_and_hold"]


def test_summary_table_header_names_run_setup_and_synthetic() -> None:
    text = summary_table(scenario_result())
    head = text.splitlines()[0]
    for part in ("ETH/USDT", "2024-01-01T00:00:00Z", "2024-01-01T00:05:00Z", "taker", "25 ms"):
        assert part in head
    assert "SYNTHETIC" not in text
    assert "SYNTHETIC" in summary_table(scenario_result(venue="synthetic")).splitlines()[0]
    assert "no fees" in text  # the buy-and-hold note


def test_summary_table_independent_of_run_id_and_creation() -> None:
    one = summary_table(scenario_result(run_id="20240101T000000-aaaaaaaa", created_ns=T0))
    two = summary_table(scenario_result(run_id="20250101T000000-bbbbbbbb", created_ns=T0 + 10**15))
    assert one == two
    assert "aaaaaaaa" not in one


def test_new_run_id_format_time_prefix_and_unique() -> None:
    rid = new_run_id(config(), T0)
    assert re.fullmatch(r"20240101T000000-[0-9a-f]{8}", rid)
    ids = {new_run_id(config(), T0) for _ in range(200)}
    assert len(ids) == 200
    later = new_run_id(config(), T0 + 1_000_000_000)
    assert later > max(ids)
