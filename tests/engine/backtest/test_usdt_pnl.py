"""PnL in USDT for symbols quoted in another currency, from a conversion series."""

from __future__ import annotations

import pyarrow as pa
import pytest

from engine.results.build import BacktestResult, build_result, records_table
from engine.results.records import FILLS, LEDGER, MARKS, ORDERS
from engine.results.summary import summary_table
from tests.engine.results_factory import T0, M, ledger_row


def _symbol(quote: str) -> str:
    return f"XRP/{quote}"


def _config(quote: str) -> dict[str, object]:
    return {
        "strategies": [{"id": "a", "name": "x", "params": {}, "capital": 10.0}],
        "symbols": [_symbol(quote)], "start": T0, "end": T0 + 3 * M, "fill_model": "touch",
        "latency_ns": 0, "venue": "binance", "quote": quote, "usdt_conversion": "ETH/USDT (binance)",
    }


def _result(quote: str, conversion: pa.Table | None) -> BacktestResult:
    # a buys 1000 XRP at 0.001 ETH (no fee) just after T0; marks: 0.001, 0.002, 0.003 at the minute ends
    symbol = _symbol(quote)
    ledger = records_table(LEDGER, [ledger_row(0, T0 + 1, "a", "fill", 1000.0, 0.001, 0.0, -1.0, symbol)])
    marks = records_table(MARKS, [{"ts": T0 + k * M, "symbol": symbol, "price": 0.001 * k} for k in (1, 2, 3)])
    return build_result("r", _config(quote), "v", "f", ORDERS.empty_table(), FILLS.empty_table(), ledger, marks,
                        created_ns=1, conversion=conversion)


def test_pnl_usdt_converts_each_minutes_pnl_at_that_minutes_rate() -> None:
    # ETH/USDT: 200 at minute 1, 300 at minute 2, 100 at minute 3
    conversion = pa.table({"ts": [T0 + M, T0 + 2 * M, T0 + 3 * M], "price": [200.0, 300.0, 100.0]})
    result = _result("ETH", conversion)
    row = {r["series"]: r for r in result.stats.to_pylist()}["a"]
    # equity (ETH): minute 1: 10 - 1 + 1000*0.001 = 10; minute 2: 11; minute 3: 12
    # PnL per minute: 0, +1, +1 ETH -> 0*200 + 1*300 + 1*100 = 400 USDT
    assert row["pnl"] == pytest.approx(2.0)
    assert row["pnl_usdt"] == pytest.approx(400.0)
    text = summary_table(result)
    assert "pnl USDT" in text and "pnl in ETH, USDT via ETH/USDT (binance)" in text


def test_pnl_usdt_without_conversion_series_is_empty_and_not_shown() -> None:
    result = _result("ETH", None)
    assert all(r["pnl_usdt"] is None for r in result.stats.to_pylist())
    assert "pnl USDT" not in summary_table(result)


def test_pnl_usdt_equals_pnl_for_usdt_quotes() -> None:
    result = _result("USDT", None)
    for r in result.stats.to_pylist():
        assert r["pnl_usdt"] == pytest.approx(r["pnl"])
