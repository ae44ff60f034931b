"""README "How money is counted", in the results: the equity grid and the currencies.

Hand-made records (tests/engine/results_factory.py builders); every number is computed by hand in
the comments.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.results.build import BacktestResult, build_result, records_table
from engine.results.records import FILLS, LEDGER, MARKS, ORDERS
from engine.results.summary import summary_table
from tests.engine.results_factory import T0, M, fill_row, ledger_row, mark_row

S = 1_000_000_000


def curve(result: BacktestResult, series: str) -> list[float]:
    return result.equity.filter(pc.equal(result.equity["series"], series))["equity"].to_pylist()


def stats(result: BacktestResult) -> dict[str, dict[str, Any]]:
    return {r["series"]: r for r in result.stats.to_pylist()}


# -- the equity grid --------------------------------------------------------------------------------
def test_fill_at_exactly_a_minute_boundary_counts_from_the_next_one() -> None:
    # last trade before T0+1m: 100; a buys 1 @ 105 on a trade at exactly T0+1m; last before T0+2m: 106
    config = {"strategies": [{"id": "a", "capital": 1000.0}], "symbols": ["ETH/USDT"]}
    ledger = records_table(LEDGER, [ledger_row(0, T0 + M, "a", "fill", 1.0, 105.0, 0.0, -105.0)])
    marks = records_table(MARKS, [mark_row(T0 + M, 100.0), mark_row(T0 + 2 * M, 106.0)])
    result = build_result("r", config, "v", "f", records_table(ORDERS), records_table(FILLS), ledger, marks)
    # T0+1m: the state before the fill, 1,000 (counting it at the price before it gave
    # 1,000 - 105 + 100 = 995, neither state); T0+2m: 1,000 - 105 + 106 = 1,001
    assert curve(result, "a") == [1000.0, 1001.0]
    assert stats(result)["a"]["max_drawdown"] == 0.0


def test_funding_after_the_last_mark_extends_the_grid() -> None:
    # a holds 1 @ 100 from T0+10s; last mark T0+1m (100); funding paid 0.5 at T0+1m30s
    config = {"strategies": [{"id": "a", "capital": 1000.0}], "symbols": ["ETH/USDT:USDT"]}
    ledger = records_table(LEDGER, [ledger_row(0, T0 + 10 * S, "a", "fill", 1.0, 100.0, 0.0, -100.0, "ETH/USDT:USDT"),
                                    ledger_row(1, T0 + 90 * S, "a", "funding", 0.0, 100.0, 0.0, -0.5,
                                               "ETH/USDT:USDT")])
    marks = records_table(MARKS, [mark_row(T0 + M, 100.0, "ETH/USDT:USDT")])
    result = build_result("r", config, "v", "f", records_table(ORDERS), records_table(FILLS), ledger, marks)
    # T0+1m: 1,000 - 100 + 100 = 1,000; T0+2m (the minute holding the funding): 1,000 - 0.5 = 999.5
    assert curve(result, "a") == [1000.0, 999.5]
    assert (stats(result)["a"]["pnl"], stats(result)["a"]["funding_paid"]) == (-0.5, 0.5)


# -- currencies ---------------------------------------------------------------------------------------
def mixed_result(conversion: pa.Table | None) -> BacktestResult:
    """a: 1,000 USDT on ETH/USDT; b: 10 ETH on XRP/ETH. Both buy at T0+10s:
    a 1 ETH @ 100 USDT, fee 0.1 USDT; b 1,000 XRP @ 0.001 ETH, fee 0.001 ETH.
    Marks ETH/USDT 100 (T0+1m), 110 (T0+2m); XRP/ETH 0.001, 0.0012."""
    config = {"strategies": [{"id": "a", "capital": 1000.0, "symbol": "ETH/USDT"},
                             {"id": "b", "capital": 10.0, "symbol": "XRP/ETH"}],
              "symbols": ["ETH/USDT", "XRP/ETH"], "quote": "mixed", "currencies": ["ETH", "USDT"]}
    ledger = records_table(LEDGER, [
        ledger_row(0, T0 + 10 * S, "a", "fill", 1.0, 100.0, 0.1, -100.1, "ETH/USDT", fill_seq=0),
        ledger_row(1, T0 + 10 * S, "b", "fill", 1000.0, 0.001, 0.001, -1.001, "XRP/ETH", fill_seq=1),
    ])
    fills = records_table(FILLS, [fill_row(0, T0 + 10 * S, 1, 100.0, 1.0, 0.1, "ETH/USDT", "a"),
                                  fill_row(1, T0 + 10 * S, 1, 0.001, 1000.0, 0.001, "XRP/ETH", "b")])
    marks = records_table(MARKS, [mark_row(T0 + M, 100.0, "ETH/USDT"), mark_row(T0 + 2 * M, 110.0, "ETH/USDT"),
                                  mark_row(T0 + M, 0.001, "XRP/ETH"), mark_row(T0 + 2 * M, 0.0012, "XRP/ETH")])
    if conversion is not None:
        config["usdt_conversion"] = "ETH/USDT (test)"
    return build_result("r", config, "v", "f", records_table(ORDERS), fills, ledger, marks,
                        conversion=None if conversion is None else {"ETH": conversion})


ETH_USDT = pa.table({"ts": [T0 + M, T0 + 2 * M], "price": [100.0, 110.0]})


def test_currencies_each_series_in_its_own_and_never_added_unconverted() -> None:
    result = mixed_result(None)
    assert result.series == ["a", "b", "portfolio ETH", "portfolio USDT", "buy_and_hold ETH", "buy_and_hold USDT"]
    # a (USDT): 1,000 - 100.1 + 100 = 999.9, then + 10 = 1,009.9; b (ETH): 10 - 1.001 + 1 = 9.999, then 10.199
    assert curve(result, "a") == pytest.approx([999.9, 1009.9])
    assert curve(result, "b") == pytest.approx([9.999, 10.199])
    assert curve(result, "portfolio USDT") == pytest.approx([999.9, 1009.9])
    assert curve(result, "portfolio ETH") == pytest.approx([9.999, 10.199])
    # buy and hold, per currency: 1,000 USDT in ETH/USDT at 100 (10 ETH); 10 ETH in XRP/ETH at 0.001
    assert curve(result, "buy_and_hold USDT") == pytest.approx([1000.0, 1100.0])
    assert curve(result, "buy_and_hold ETH") == pytest.approx([10.0, 12.0])
    rows = stats(result)
    assert [rows[k]["currency"] for k in result.series] == ["USDT", "ETH", "ETH", "USDT", "ETH", "USDT"]
    assert (rows["b"]["pnl_usdt"], rows["a"]["pnl_usdt"]) == (None, pytest.approx(9.9))
    assert (rows["portfolio ETH"]["fees"], rows["portfolio USDT"]["fees"]) == (0.001, 0.1)
    text = summary_table(result)
    header = next(line.split() for line in text.splitlines() if line.startswith("series"))
    assert "amounts per currency (ETH, USDT)" in text and header[:4] == ["series", "currency", "pnl", "pnl"]


def test_currencies_converted_to_usdt_where_a_series_exists() -> None:
    result = mixed_result(ETH_USDT)
    assert result.series[2:5] == ["portfolio", "portfolio ETH", "portfolio USDT"]
    assert result.series[5:] == ["buy_and_hold", "buy_and_hold ETH", "buy_and_hold USDT"]
    rows = stats(result)
    # b in USDT: minute 1 -0.001 ETH x 100 = -0.1, minute 2 +0.2 ETH x 110 = +22 -> 21.9
    assert rows["b"]["pnl_usdt"] == pytest.approx(21.9)
    # portfolio in USDT: capital 1,000 + 10 ETH x 100 (the first minute's rate) = 2,000;
    # minute 1: 2,000 - 0.1 - 0.1 = 1,999.8; minute 2: + 10 (a) + 22 (b) = 2,031.8
    assert rows["portfolio"]["capital"] == pytest.approx(2000.0)
    assert curve(result, "portfolio") == pytest.approx([1999.8, 2031.8])
    assert (rows["portfolio"]["currency"], rows["portfolio"]["pnl"]) == ("USDT", pytest.approx(31.8))
    # fees 0.1 USDT + 0.001 ETH x 100 = 0.2; traded 100 USDT + 1 ETH x 100 = 200 on 2,000
    assert (rows["portfolio"]["fees"], rows["portfolio"]["turnover"]) == (pytest.approx(0.2), pytest.approx(0.1))
    assert rows["portfolio"]["fills"] == 2
    # buy and hold in USDT: 2,000; then + 100 (10 ETH x +10) + 2 ETH x 110 = 2,320
    assert curve(result, "buy_and_hold") == pytest.approx([2000.0, 2320.0])
    assert "pnl USDT" in summary_table(result, wide=True)
