"""Symbols the lake holds only as bars: pseudo trades inside each bar, bars released at their close."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from engine.backtest.bars import bar_tape, lake_bars
from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.replay import OPEN, RANGE
from engine.backtest.run import run_backtest
from engine.model.errors import DataError
from engine.model.events import Bar
from engine.model.time import NS_PER_MIN
from engine.model.types import Side
from engine.store.lake import Lake
from engine.trading.strategy import Param, Strategy
from engine.venues.sim import SimConfig

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


def test_bar_tape_one_open_and_one_range_row_per_bar() -> None:
    tape = bar_tape(SYMBOL, _bars([100.0, 110.0]), NS_PER_MIN)
    assert tape.bar is not None
    assert tape.bar.phase.tolist() == [OPEN, RANGE, OPEN, RANGE]
    # the open at the bar's open time, its range just before its close (price: the close)
    assert tape.key.tolist() == [T0, T0 + NS_PER_MIN - 1, T0 + NS_PER_MIN, T0 + 2 * NS_PER_MIN - 1]
    assert tape.price.tolist() == [100.0, 100.0, 100.0, 110.0]
    assert tape.bar.low.tolist() == [99.0, 99.0, 99.0, 99.0] and tape.bar.high.tolist() == [101.0, 101.0, 111.0, 111.0]
    assert tape.size.tolist() == [0.0, 4.0, 0.0, 4.0]  # the bar's volume belongs to its range


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


class _OrdersOnBar(Strategy):
    """On the bar opening at `when` (minutes after T0) it buys: a market order of `market`, and a
    limit order of `size` at each price in `limits`."""

    name = "test_orders_on_bar"
    when = Param(1, low=0)
    market = Param(0.0, low=0.0)
    limits = Param("", doc="limit prices, comma-separated")
    size = Param(1.0, low=0.0)
    bar_interval = "1m"

    def on_bar(self, bar: Bar) -> None:
        if bar.ts_event != T0 + self.when * NS_PER_MIN:
            return
        if self.market:
            self.ctx.set_target(self.market)
        for price in filter(None, self.limits.split(",")):
            self.ctx.submit_limit(Side.BUY, self.size, float(price))


def _run_bars(root: Path, closes: list[float], *, latency_ms: float = 0.0, queue: float = 0.0,
              **params: object) -> list[dict[str, object]]:
    _lake_with_bars(root, closes)
    cfg = BacktestConfig(
        strategies=(StrategySpec("test_orders_on_bar", params),), symbols=(SYMBOL,), start=T0,
        end=T0 + len(closes) * NS_PER_MIN, venue="testvenue",
        sim=SimConfig(latency_ns=round(latency_ms * 1_000_000), queue_ahead=queue),
    )
    return run_backtest(cfg, root).fills.to_pylist()


def test_bars_only_latency_fills_at_the_next_open_after_arrival_not_inside_a_bar(data_root: Path) -> None:
    # opens = previous closes: bar 2 opens at 101 (T0+2m), bar 3 at 105 (T0+3m). Decided when bar 1
    # closes (T0+2m) with 1 ms latency: it arrives after bar 2 opened, so it fills at bar 3's open,
    # whatever bar 2's direction (the old path through a bar gave its low or its high).
    for closes in ([100.0, 101.0, 105.0, 103.0], [100.0, 101.0, 96.0, 103.0]):
        (fill,) = _run_bars(data_root / str(closes[2]), closes, latency_ms=1.0, when=1, market=1.0)
        assert (fill["ts"], fill["price"], fill["liquidity"]) == (T0 + 3 * NS_PER_MIN, closes[2], "taker")


def test_bars_only_resting_limit_fills_at_its_limit_through_the_range(data_root: Path) -> None:
    # closes 100, 101, 98, 103 -> bar 2 (T0+2m..T0+3m): open 101, low 97. A buy at 98 placed when
    # bar 1 closes rests (below the last close 101) and fills at 98, as maker, at bar 2's close,
    # though the range went lower: no price improvement. A buy at 96 is never reached.
    fills = _run_bars(data_root, [100.0, 101.0, 98.0, 103.0], when=1, limits="98,96")
    assert [(f["price"], f["size"], f["liquidity"], f["ts"]) for f in fills] == [
        (98.0, 1.0, "maker", T0 + 3 * NS_PER_MIN - 1)]


def test_bars_only_touch_fills_only_with_no_queue_ahead(data_root: Path) -> None:
    # bar 2's low is exactly 97: a buy at 97 fills with no queue ahead, not behind a queue of 1
    closes = [100.0, 101.0, 98.0, 103.0]
    assert [f["price"] for f in _run_bars(data_root / "a", closes, when=1, limits="97")] == [97.0]
    assert _run_bars(data_root / "b", closes, when=1, limits="97", queue=1.0) == []


def test_bars_only_resting_orders_share_the_bar_volume(data_root: Path) -> None:
    # two buys of 3 at 98 and 98.5; bar 2 trades a volume of 4 through both: the higher first, 3,
    # then 1 of the other (our fills never exceed the volume)
    fills = _run_bars(data_root, [100.0, 101.0, 98.0, 103.0], when=1, limits="98,98.5", size=3.0)
    assert sorted((f["price"], f["size"]) for f in fills[:2]) == [(98.0, 1.0), (98.5, 3.0)]
