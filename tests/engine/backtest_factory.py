"""Shared builders of the backtester's tests: a small synthetic lake, configs, probe strategies.

The lake holds five hours of a synthetic ETH perpetual, 2024-01-01 21:00 .. 2024-01-02 02:00 UTC,
at about two trades per second: two hours of history before the trading start (23:00), a UTC
midnight (two day partitions, so replay windows) and a funding instant (00:00) inside the
trading period. It is written once per session and only read afterwards.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.data import DataSource
from engine.backtest.runner import Backtest
from engine.model.events import Bar, Trade
from engine.model.time import to_ns
from engine.store.lake import Lake
from engine.store.synthetic import VENUE, SynthConfig, generate, write_synthetic
from engine.trading.strategy import Context, Param, Strategy, Warmup
from engine.venues.sim import SimConfig

SYMBOL = "ETH/USDT:USDT"
SYNTH = SynthConfig(symbol=SYMBOL, start="2024-01-01T21:00Z", hours=5.0, seed=11, trade_rate=2.0)
START = to_ns("2024-01-01T23:00Z")  # trading starts; the two hours before are warm-up history
END = SYNTH.end_ns  # 2024-01-02T02:00Z
FUNDING_AT = to_ns("2024-01-02T00:00Z")
# Four whole UTC days of a thinner tape from a midnight on: replay windows of one day each (a study's
# trials report one step a day).
SYNTH_DAYS = SynthConfig(symbol=SYMBOL, start="2024-01-01T00:00Z", hours=96.0, seed=11, trade_rate=0.2)

# Parameters that make each reference strategy trade often on a few hours of data.
# Sizes in base units, so that tests can count contracts by hand.
BASE = {"size_unit": "base"}
ACTIVE: dict[str, dict[str, Any]] = {
    "ema_cross": {"fast": 5, "slow": 20, "size": 0.1, **BASE},
    "ema_cross_bars": {"fast": 2, "slow": 5, "size": 0.1, "bar_interval": "1m", **BASE},
    "rsi_mr": {"n": 3, "lower": 40.0, "upper": 60.0, "exit": 50.0, "size": 0.1, "bar_interval": "1m", **BASE},
    "macd_trend": {"fast": 2, "slow": 4, "signal": 2, "size": 0.1, "bar_interval": "1m", **BASE},
    "grid": {"levels": 3, "step": 0.0003, "size": 0.1, "max_position": 0.5, **BASE},
}

_LAKES: dict[SynthConfig, Path] = {}


def shared_lake(factory: pytest.TempPathFactory, synth: SynthConfig = SYNTH) -> Path:
    """A data root holding `synth`, written once per session; tests must only read it."""
    if synth not in _LAKES:
        root = factory.mktemp("lake")
        write_synthetic(Lake.at(root), synth)
        _LAKES[synth] = root
    return _LAKES[synth]


def bare_lake(factory: pytest.TempPathFactory) -> Path:
    """SYNTH's trades and funding only (no mark bars), a third of the trades without ts_recv."""
    root = factory.mktemp("bare")
    data = generate(SYNTH)
    recv = data.trades.column("ts_recv").to_numpy()
    missing = np.arange(len(recv)) % 3 == 0
    table = data.trades.set_column(1, "ts_recv", pa.array(recv, pa.int64(), mask=missing))
    lake = Lake.at(root)
    lake.write("trades", VENUE, SYMBOL, table)
    lake.write("funding", VENUE, SYMBOL, data.funding)
    return root


def spec(name: str, sid: str = "", **params: Any) -> StrategySpec:
    """A strategy spec: `params` over the ACTIVE ones when the name has them."""
    return StrategySpec(name, {**ACTIVE.get(name, {}), **params}, sid)


def config(*specs: StrategySpec, sim: SimConfig | None = None, **overrides: Any) -> BacktestConfig:
    """A backtest of `specs` on the shared lake's symbol from START to END."""
    cfg = BacktestConfig(strategies=specs, symbols=(SYMBOL,), start=START, end=END, venue=VENUE)
    if sim is not None:
        cfg = replace(cfg, sim=sim)
    return replace(cfg, **overrides) if overrides else cfg


def trades(root: Path, start: int | None = None, end: int | None = None) -> pa.Table:
    """The lake's trades of SYMBOL with ts_event in [start, end), in lake order."""
    return Lake.at(root).read("trades", VENUE, SYMBOL, start, end)


def replay_key(table: pa.Table) -> np.ndarray:
    """The replay time of each trade: ts_recv, ts_event where it is missing."""
    return np.asarray(pc.coalesce(table.column("ts_recv"), table.column("ts_event")).to_numpy(), dtype=np.int64)


def client_prefix(cfg: BacktestConfig) -> str:
    """The session prefix of the client order ids of a run of `cfg`."""
    return "bt" + cfg.digest()


# --- probe strategies (not registered by name: load them as "tests.engine.backtest_factory:X") ---

HOLD = "tests.engine.backtest_factory:Hold"
TICK_PROBE = "tests.engine.backtest_factory:TickProbe"
BAR_PROBE = "tests.engine.backtest_factory:BarProbe"


class Hold(Strategy):
    """Sets one target (`size`, negative for short) on the first trade it may trade on."""

    size = Param(1.0, low=-100.0, high=100.0)

    def on_start(self, ctx: Context) -> None:
        super().on_start(ctx)
        self.done = False

    def on_tick(self, tick: Trade) -> None:
        if not self.done and self.ctx.trading:
            self.done = True
            self.ctx.set_target(self.size)


class TickProbe(Strategy):
    """Records every trade it is handed and whether it could trade then; never trades."""

    ticks = Param(0, low=0, high=1_000_000)
    bars = Param(0, low=0, high=1_000_000)

    def on_start(self, ctx: Context) -> None:
        super().on_start(ctx)
        # ("tick", ts_recv, ts_event, price, size, side, trading) or
        # ("bar", open, now, open, high, low, close, volume, trading)
        self.seen: list[tuple[Any, ...]] = []

    def warmup(self) -> Warmup:
        return Warmup(ticks=self.ticks, bars=self.bars)

    def on_tick(self, tick: Trade) -> None:
        self.seen.append(("tick", tick.ts_recv, tick.ts_event, tick.price, tick.size, tick.side, self.ctx.trading))


class BarProbe(TickProbe):
    """TickProbe that also records the 1m bars, with the clock at their arrival."""

    bar_interval = "1m"

    def on_bar(self, bar: Bar) -> None:
        self.seen.append(("bar", bar.ts_event, self.ctx.now(), bar.open, bar.high, bar.low, bar.close,
                          bar.volume, self.ctx.trading))


def replay(cfg: BacktestConfig, root: Path) -> Backtest:
    """Run the Backtest itself (as run_backtest does) to reach its strategy objects afterwards."""
    perps = {s for s in cfg.symbols if ":" in s}
    bt = Backtest(cfg, DataSource(Lake.at(root), cfg.venue, list(cfg.symbols), cfg.start, cfg.end, perps))
    bt.run()
    return bt


def nan_to_none(value: Any) -> Any:
    """NaN as None, so that rows compare equal when both hold NaN."""
    return None if isinstance(value, float) and math.isnan(value) else value
