"""Screen against engine: on a lake holding only 1m bars, the screen and `run_backtest` (bar-only
replay, no warm-up) agree on the orders and the PnL under README "Screens", the convention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.time import NS_PER_MIN, NS_PER_S, to_ns
from engine.research.screen import ScreenConfig, screen
from engine.store.lake import Lake
from engine.trading.risk import RiskLimits
from engine.venues.sim import SimConfig

SYMBOL = "BTC/USDT:USDT"
VENUE = "testvenue"
T0 = to_ns("2024-03-01T00:00Z")
N = 900
FEE = 0.0005
CAPITAL = 1e9  # the margin check cannot bind
BASE = {"size": 0.5, "size_unit": "base"}  # whole lots (0.0001 BTC): rounding cannot bite


@pytest.fixture(scope="module")
def bar_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bars")
    rng = np.random.default_rng(21)
    close = np.round(40_000.0 + np.cumsum(rng.normal(0.0, 25.0, N)), 1)
    opens = np.round(np.r_[close[0], close[:-1]] + rng.normal(0.0, 5.0, N), 1)
    table = pa.table({
        "ts_event": pa.array(T0 + np.arange(N, dtype=np.int64) * NS_PER_MIN, pa.int64()),
        "open": opens, "high": np.maximum(opens, close) + 3.0, "low": np.minimum(opens, close) - 3.0,
        "close": close, "volume": np.full(N, 50.0), "interval": ["1m"] * N,
    })
    Lake.at(root).write("bars", VENUE, SYMBOL, table)
    return root


@pytest.mark.parametrize(("name", "point"), [
    ("ema_cross_bars", {"fast": 5, "slow": 30}),
    ("ema_cross_bars", {"fast": 9, "slow": 60}),
    ("macd_trend", {"fast": 6, "slow": 19, "signal": 5}),
    ("rsi_mr", {"n": 8, "lower": 35.0, "exit": 50.0, "upper": 65.0}),
])
def test_screen_and_backtest_agree_on_orders_and_pnl(bar_lake: Path, name: str, point: dict[str, Any]) -> None:
    cfg = ScreenConfig(name, SYMBOL, {k: [v] for k, v in point.items()}, BASE, taker_fee=FEE, capital=CAPITAL)
    row = screen(cfg, bar_lake).table.iloc[0]
    spec = StrategySpec(name, {**point, **BASE})
    bt = run_backtest(BacktestConfig(
        strategies=(spec,), symbols=(SYMBOL,), start=T0, end=T0 + N * NS_PER_MIN, capital=CAPITAL, venue=VENUE,
        sim=SimConfig("touch", 0, taker_fee=FEE), limits=RiskLimits(max_orders=10**12), warmup=False,
    ), bar_lake)
    filled = [o for o in bt.orders.to_pylist() if o["status"] == "filled"]
    assert len(filled) == len(bt.orders) == row["orders"] >= 10
    stats = next(r for r in bt.stats.to_pylist() if r["series"] == name)
    assert stats["pnl"] == pytest.approx(row["pnl"], rel=1e-6)
    assert stats["fees"] == pytest.approx(row["fees"], rel=1e-9)


def test_trades_only_lake_screens_1m_bars_built_from_trades(tmp_path: Path) -> None:
    # minute 0: 100, 103, 101; minute 1: nothing; minute 2: 99, 104 -> two bars, the empty minute gives none
    trades = [(0, 100.0), (20, 103.0), (50, 101.0), (125, 99.0), (170, 104.0)]
    rows = [{"ts_event": T0 + t * NS_PER_S, "ts_recv": None, "trade_id": str(k), "price": p, "size": 1.0, "side": 1}
            for k, (t, p) in enumerate(trades)]
    Lake.at(tmp_path).write("trades", VENUE, "ETH/USDT", pa.Table.from_pylist(rows))
    result = screen(ScreenConfig("ema_cross_bars", "ETH/USDT", {"fast": [2], "slow": [3]}), tmp_path)
    assert result.source == "1m bars built from trades"
    assert result.frame.ts.tolist() == [T0, T0 + 2 * NS_PER_MIN]
    assert [result.frame.open.tolist(), result.frame.high.tolist(), result.frame.close.tolist()] == [
        [100.0, 99.0], [103.0, 104.0], [101.0, 104.0]]
