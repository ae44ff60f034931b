"""OKX rows of the simulator's REST side, from arrays: numbers, contracts, candles, books."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from engine.venues.okx.sim_market import (
    Bars,
    Instrument,
    Tape,
    book_levels,
    candle_rows,
    mark_row,
    num,
    ticker_row,
    trade_rows,
)

SPOT = Instrument("ETH/USDT", "ETH-USDT", "0.01", "0.0001", "0.001")
LINEAR = Instrument("ETH/USDT:USDT", "ETH-USDT-SWAP", "0.01", "0.01", "0.01", Decimal("0.1"))
INVERSE = Instrument("BTC/USD:BTC", "BTC-USD-SWAP", "0.1", "1", "1", Decimal("100"))


def tape(prices: list[float], sizes: list[float], sides: list[int], ts: list[int] | None = None) -> Tape:
    n = len(prices)
    return Tape(
        ts=np.array(ts if ts is not None else [60_000 * i + 5 for i in range(n)], np.int64),
        ids=[str(100 + i) for i in range(n)],
        keys=np.arange(100, 100 + n, dtype=np.int64),
        price=np.array(prices, float),
        size=np.array(sizes, float),
        side=np.array(sides, np.int8),
    )


def test_num_writes_plain_decimals_without_exponent_or_trailing_zeros() -> None:
    assert [num(42000.0), num(0.1), num(1e-8), num(Decimal("3.00")), num(Decimal("0E-8"))] == [
        "42000", "0.1", "0.00000001", "3", "0"]


def test_contracts_linear_divide_by_ct_val_inverse_times_price_spot_as_is() -> None:
    assert LINEAR.contracts(0.3, 2000.0) == "3"
    assert INVERSE.contracts(0.01, 40_000.0) == "4"
    assert SPOT.contracts(0.0137, 2000.0) == "0.0137"


def test_instrument_rows_state_type_ct_val_and_expiry() -> None:
    assert (SPOT.row()["instType"], SPOT.row()["ctVal"], SPOT.row()["minSz"]) == ("SPOT", "", "0.001")
    assert (INVERSE.row()["ctType"], INVERSE.row()["ctVal"], INVERSE.row()["settleCcy"]) == ("inverse", "100", "BTC")
    future = Instrument("BTC/USDT:USDT-250328", "BTC-USDT-250328", "0.1", "1", "1", Decimal("0.01")).row()
    assert (future["instType"], future["expTime"]) == ("FUTURES", "1743148800000")


def test_trade_rows_in_contracts_with_okx_sides() -> None:
    rows = trade_rows(tape([2000.0, 2001.5], [0.3, 0.05], [1, -1]), LINEAR, np.array([1, 0]))
    assert [(r["tradeId"], r["px"], r["sz"], r["side"], r["ts"]) for r in rows] == [
        ("101", "2001.5", "0.5", "sell", "60005"), ("100", "2000", "3", "buy", "5")]


def test_bars_from_trades_bucket_by_open_time_and_skip_empty_minutes() -> None:
    trades = tape([10.0, 12.0, 9.0, 11.0, 20.0], [1.0, 2.0, 1.0, 1.0, 0.5], [1] * 5,
                  ts=[0, 10_000, 20_000, 59_999, 180_000])
    bars = Bars.from_trades(trades, 60_000)
    assert bars.ts.tolist() == [0, 180_000]
    assert [bars.open[0], bars.high[0], bars.low[0], bars.close[0], bars.base[0]] == [10.0, 12.0, 9.0, 11.0, 5.0]
    assert bars.quote.tolist() == [10 + 24 + 9 + 11, 10.0]


def test_candle_rows_derivative_volumes_and_confirm_of_the_open_bar() -> None:
    bars = Bars.from_trades(tape([2000.0, 2010.0], [0.3, 0.2], [1, 1], ts=[0, 60_000]), 60_000)
    rows = candle_rows(bars, LINEAR, np.array([1, 0]), now_ms=60_001, bar_ms=60_000)
    assert rows == [["60000", "2010", "2010", "2010", "2010", "2", "0.2", "402", "0"],
                    ["0", "2000", "2000", "2000", "2000", "3", "0.3", "600", "1"]]
    spot = candle_rows(bars, SPOT, np.array([0]), now_ms=60_001, bar_ms=60_000)
    assert spot[0][5:8] == ["0.3", "600", "600"]


def test_book_levels_synthesised_around_the_last_trade_by_taker_side() -> None:
    assert book_levels(tape([2000.0], [0.3], [1]), LINEAR) == ([(1999.99, 0.3)], [(2000.0, 0.3)], 5)
    assert book_levels(tape([2000.0], [0.3], [-1]), LINEAR) == ([(2000.0, 0.3)], [(2000.01, 0.3)], 5)
    assert book_levels(tape([], [], []), LINEAR) == ([], [], 0)


def test_ticker_row_covers_the_day_before_the_last_trade() -> None:
    day = 86_400_000
    trades = tape([1.0, 2.0, 3.0, 2.5], [1.0, 1.0, 2.0, 1.0], [1, 1, -1, 1], ts=[0, day, day + 5, 2 * day - 1])
    row = ticker_row(trades, SPOT)
    assert (row["last"], row["open24h"], row["high24h"], row["low24h"], row["vol24h"], row["volCcy24h"]) == (
        "2.5", "2", "3", "2", "4", "10.5")
    assert (row["sodUtc0"], row["instType"], row["ts"]) == ("2", "SPOT", str(2 * day - 1))
    assert ticker_row(tape([], [], []), SPOT)["last"] == ""


def test_mark_row_falls_back_to_the_last_trade_and_spot_is_margin() -> None:
    assert mark_row(tape([2000.0], [1.0], [1]), SPOT) == {
        "instType": "MARGIN", "instId": "ETH-USDT", "markPx": "2000", "ts": "5"}
    assert mark_row(tape([], [], []), SPOT) is None
