"""Symbols the lake holds only as bars: pseudo trades inside each bar, bars released at their close."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from engine.backtest.bars import bar_tape, lake_bars
from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.errors import DataError
from engine.model.events import Bar
from engine.model.time import NS_PER_MIN
from engine.store.lake import Lake
from engine.trading.strategy import Param, Strategy

SYMBOL = "BTC/USDT:USDT"
T0 = 1_700_000_000 * 1_000_000_000 // NS_PER_MIN * NS_PER_MIN  # a whole minute


def _bars(closes: list[float]) -> pa.Table:
    """1m bars: open = previous close (first: the first close), high/low 1 around."""
    opens = [closes[0], *closes[:-1]]
    return pa.table({
        "ts_event": pa.array([T0 + k * NS_PER_MIN for k in range(len(closes))], pa.int64()),
        "open": opens, "high": [max(o, c) + 1 for o, c in zip(opens, closes, strict=True)],
        "low": [min(o, c) - 1 for o, c in zip(opens, closes, strict=True)], "close": closes,
        "volume": [4.0] * len(closes), "interval": ["1m"] * len(closes),
    })


def test_bar_tape_up_bar_orders_open_low_high_close() -> None:
    tape = bar_tape(SYMBOL, _bars([100.0, 110.0]), NS_PER_MIN)
    # bar 0: open 100 close 100 (up or flat) -> O, L, H, C; bar 1: open 100 close 110 (up)
    assert tape.price.tolist() == [100.0, 99.0, 101.0, 100.0, 100.0, 99.0, 111.0, 110.0]
    assert tape.key.tolist()[:4] == [T0, T0 + NS_PER_MIN // 4, T0 + NS_PER_MIN // 2, T0 + NS_PER_MIN - 1]
    assert tape.size.tolist() == [1.0] * 8


def test_bar_tape_down_bar_orders_open_high_low_close() -> None:
    tape = bar_tape(SYMBOL, _bars([100.0, 90.0]), NS_PER_MIN)
    assert tape.price.tolist()[4:] == [100.0, 101.0, 89.0, 90.0]


def test_lake_bars_release_at_close_and_drop_incomplete() -> None:
    bars = lake_bars(SYMBOL, "1m", _bars([1.0, 2.0, 3.0]), NS_PER_MIN, end=T0 + 2 * NS_PER_MIN + 1)
    assert bars.release.tolist() == [T0 + NS_PER_MIN, T0 + 2 * NS_PER_MIN]
    assert bars.close.tolist() == [1.0, 2.0]


class _BuyOnSecondBar(Strategy):
    name = "test_buy_on_second_bar"
    size = Param(1.0, low=0.0)
    bar_interval = "1m"

    def on_bar(self, bar: Bar) -> None:
        if bar.ts_event == T0 + NS_PER_MIN:
            self.ctx.set_target(self.size)


def _lake_with_bars(root: Path, closes: list[float]) -> None:
    Lake.at(root).write("bars", "testvenue", SYMBOL, _bars(closes))


def test_backtest_on_bars_only_fills_at_next_bar_open(data_root: Path) -> None:
    closes = [100.0, 101.0, 105.0, 103.0, 104.0]
    _lake_with_bars(data_root, closes)
    cfg = BacktestConfig(
        strategies=(StrategySpec("test_buy_on_second_bar", {"size": 1.0}),), symbols=(SYMBOL,),
        start=T0, end=T0 + 5 * NS_PER_MIN, venue="testvenue",
    )
    result = run_backtest(cfg, data_root)
    fills = result.fills.to_pylist()
    assert len(fills) == 1
    # decided when bar 1 (open T0+1m) completed at T0+2m; the next bar opens at T0+2m at 101
    assert fills[0]["ts"] == T0 + 2 * NS_PER_MIN
    assert fills[0]["price"] == closes[1]  # bar 2's open is bar 1's close in this data
    assert fills[0]["event_seq"] > fills[0]["decide_seq"]
    final = result.stats.filter(pa.compute.equal(result.stats["series"], "portfolio")).to_pylist()[0]
    assert final["pnl"] == pytest.approx(104.0 - 101.0 - fills[0]["fee"])


def test_backtest_bars_only_rejects_tick_strategies_and_other_intervals(data_root: Path) -> None:
    _lake_with_bars(data_root, [100.0, 101.0])
    base = {"symbols": (SYMBOL,), "start": T0, "end": T0 + 2 * NS_PER_MIN, "venue": "testvenue"}
    with pytest.raises(DataError, match="only bars of 1m"):
        run_backtest(BacktestConfig(strategies=(StrategySpec("ema_cross"),), **base), data_root)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="only bars of 1m"):
        spec = StrategySpec("ema_cross_bars", {"bar_interval": "5m"})
        run_backtest(BacktestConfig(strategies=(spec,), **base), data_root)  # type: ignore[arg-type]
