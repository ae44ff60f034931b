"""README "Inverse perpetuals" in the results: equity, round trips and statistics of a BTC/USD:BTC
ledger (sizes in USD, amounts in BTC), each number by hand.

The scenario, T0 = 2024-01-01 00:00 UTC, strategy a with 1 BTC:
- T0+10s  buy 100 USD @ 40,000: cash +100 / 40,000 = +0.0025 BTC
- T0+70s  buy 100 USD @ 50,000: cash +0.002 (entry: 200 / 0.0045 = 44,444.44, the harmonic mean)
- T0+130s sell 200 USD @ 45,000, fee 0.000001 BTC: cash -200 / 45,000 - 0.000001
- marks (minute ends): T0+1m 40,000, T0+2m 50,000, T0+3m 45,000
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.model.time import NS_PER_S
from engine.results.build import BacktestResult, build_result, records_table
from engine.results.records import FILLS, LEDGER, MARKS, ORDERS
from tests.engine.results_factory import T0, M, fill_row, ledger_row, mark_row

INV = "BTC/USD:BTC"
S = NS_PER_S
FILLS_ = [(10, 100.0, 40_000.0, 0.0), (70, 100.0, 50_000.0, 0.0), (130, -200.0, 45_000.0, 0.000001)]


def inverse_result(fills: list[tuple[int, float, float, float]], inverse: bool = True) -> BacktestResult:
    """The result of strategy a's fills (second, signed USD, price, fee) on INV, capital 1 BTC."""
    ledger = records_table(LEDGER, [ledger_row(i, T0 + sec * S, "a", "fill", q, p, fee, q / p - fee, INV, i)
                                    for i, (sec, q, p, fee) in enumerate(fills)])
    fill_rows = records_table(FILLS, [fill_row(i, T0 + sec * S, 1 if q > 0 else -1, p, abs(q), fee, INV, "a")
                                      for i, (sec, q, p, fee) in enumerate(fills)])
    marks = records_table(MARKS, [mark_row(T0 + k * M, p, INV) for k, p in ((1, 40_000.0), (2, 50_000.0),
                                                                              (3, 45_000.0))])
    config: dict[str, Any] = {"strategies": [{"id": "a", "name": "x", "capital": 1.0}], "symbols": [INV],
                              **({"inverse": [INV]} if inverse else {})}
    return build_result("r", config, "v", "f", records_table(ORDERS), fill_rows, ledger, marks)


def curve(result: BacktestResult, series: str) -> list[float]:
    return [r["equity"] for r in result.equity.to_pylist() if r["series"] == series]


def stats(result: BacktestResult, series: str) -> dict[str, Any]:
    return next(r for r in result.stats.to_pylist() if r["series"] == series)


def test_inverse_equity_in_btc_values_the_usd_position_at_minus_one_over_the_mark() -> None:
    result = inverse_result(FILLS_)
    # T0+1m: 1 + 0.0025 - 100 / 40,000 = 1; T0+2m: 1 + 0.0045 - 200 / 50,000 = 1.0005;
    # T0+3m: flat, 1 + 0.0045 - 200 / 45,000 - 0.000001 = 1.0000545556
    expected = [1.0, 1.0005, 1.0 + 0.0045 - 200 / 45_000 - 0.000001]
    assert curve(result, "a") == pytest.approx(expected, rel=1e-12)
    assert curve(result, "portfolio") == pytest.approx(expected, rel=1e-12)
    assert stats(result, "a")["currency"] == "BTC"
    # valued as linear, the 100 USD position would be worth 100 x 40,000 "BTC"
    assert curve(inverse_result(FILLS_, inverse=False), "a")[0] > 1000.0


def test_inverse_trip_entry_is_the_harmonic_mean_and_pnl_follows_it() -> None:
    (trip,) = inverse_result(FILLS_).trades.to_pylist()
    # entry 200 / (100/40,000 + 100/50,000) = 44,444.44 (the arithmetic 45,000 would make it break even);
    # PnL 200 x (1/44,444.44 - 1/45,000) - 0.000001 = 0.0045 - 0.0044444 - 0.000001
    assert (trip["entry_price"], trip["exit_price"], trip["size"]) == (
        pytest.approx(200 / 0.0045, rel=1e-12), pytest.approx(45_000.0, rel=1e-12), 200.0)
    assert trip["pnl"] == pytest.approx(200 * (0.0045 / 200 - 1 / 45_000) - 0.000001, rel=1e-9)
    assert (trip["fees"], trip["closed"]) == (pytest.approx(0.000001), True)


def test_inverse_open_trip_valued_at_the_last_mark() -> None:
    (trip,) = inverse_result(FILLS_[:2]).trades.to_pylist()
    # still long 200 USD at the last mark 45,000: 0.0045 - 200 / 45,000 = 0.0000555556 BTC
    assert trip["closed"] is False
    assert (trip["exit_price"], trip["pnl"]) == (pytest.approx(45_000.0), pytest.approx(0.0045 - 200 / 45_000))


def test_inverse_turnover_counts_the_notional_in_btc() -> None:
    result = inverse_result(FILLS_)
    # 100 / 40,000 + 100 / 50,000 + 200 / 45,000 = 0.0089444 BTC on 1 BTC of capital
    notional = 0.0025 + 0.002 + 200 / 45_000
    assert stats(result, "a")["turnover"] == pytest.approx(notional, rel=1e-12)
    assert stats(result, "portfolio")["turnover"] == pytest.approx(notional, rel=1e-12)
    assert stats(result, "a")["fees"] == pytest.approx(0.000001)


def test_inverse_buy_and_hold_is_a_long_of_the_capital_at_the_first_mark() -> None:
    # 1 BTC at 40,000: a long of 40,000 USD, worth 1 + 40,000 x (1/40,000 - 1/p) BTC
    expected = [1.0, 1.0 + 40_000 * (1 / 40_000 - 1 / 50_000), 1.0 + 40_000 * (1 / 40_000 - 1 / 45_000)]
    assert curve(inverse_result(FILLS_), "buy_and_hold") == pytest.approx(expected, rel=1e-12)
