"""Screens: sweep a bar strategy's parameter grid over the lake's 1-minute bars (README "Screens").

`screen(cfg, data_root)` loads the bars, expands the grid, skips (and counts) the points the
strategy's `validate()` refuses, builds each point's direction series from the strategy's
vectorised form (each indicator window once, memoised on the frame) and trades them in
`screen_nb.sweep_nb`. The result ranks the points by a metric; any point opens as a vectorbt
`Portfolio` (`ScreenResult.portfolio`) and the grid as a heatmap (`ScreenResult.heatmap`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.model.errors import DataError, UserError
from engine.model.time import NS_PER_MIN
from engine.research.screen_grid import grid_points
from engine.research.screen_nb import BASE, FRACTION, ORDER_FIELDS, QUOTE, STATS, simulate_nb, sweep_nb
from engine.store.bars import bars_from_lake
from engine.store.lake import Lake
from engine.strategies.catalog import strategy_class
from engine.trading.frame import BarFrame, FloatArray
from engine.trading.strategy import Strategy

if TYPE_CHECKING:
    import vectorbt as vbt
    from matplotlib.figure import Figure

METRICS = {"sharpe": False, "pnl": False, "return_pct": False, "max_dd_pct": True}  # name: lower is better
UNITS = {"base": BASE, "quote": QUOTE, "fraction": FRACTION}
MINUTES_A_YEAR = 525_600.0
TAKER_FEE = 0.0005  # OKX's base-tier swap taker fee
CHUNK = 64  # grid points per kernel call: bounds the memory of the direction rows


@dataclass(frozen=True, slots=True)
class ScreenConfig:
    """What to sweep: a strategy's grid (`{"fast": [5, 10], ...}`) and fixed parameters, on a symbol."""

    strategy: str
    symbol: str
    grid: Mapping[str, Sequence[Any]]
    params: Mapping[str, Any] = field(default_factory=dict)
    venue: str | None = None
    start: int | None = None
    end: int | None = None
    metric: str = "sharpe"
    taker_fee: float = TAKER_FEE
    capital: float = 10_000.0

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise UserError(f"--metric {self.metric}: not one of {', '.join(METRICS)}")
        if not (math.isfinite(self.taker_fee) and 0 <= self.taker_fee < 1):
            raise UserError(f"--taker-fee {self.taker_fee:g} must be in [0, 1)")
        if not (math.isfinite(self.capital) and self.capital > 0):
            raise UserError(f"--capital {self.capital:g} must be a positive amount")


@dataclass(frozen=True)
class ScreenResult:
    """The ranked grid (`table`: the parameters, then STATS; best first), what was skipped and why."""

    config: ScreenConfig
    frame: BarFrame
    table: pd.DataFrame
    skipped: int
    skip_reason: str
    source: str

    def strategy(self, params: Mapping[str, Any] | None = None) -> Strategy:
        """The strategy at a grid point (default: the best ranked)."""
        return strategy_class(self.config.strategy)(**{**self.config.params, **self._point(params)})

    def orders(self, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """The orders of one grid point (default: the best): bar, ts, qty (signed), price, fee."""
        strat = self.strategy(params)
        raw = point_orders(self.frame, strat, self.config)
        out = pd.DataFrame(raw, columns=list(ORDER_FIELDS))
        out["bar"] = out["bar"].astype(np.int64)
        out.insert(1, "ts", pd.to_datetime(self.frame.ts[out["bar"].to_numpy()], utc=True))
        return out

    def portfolio(self, params: Mapping[str, Any] | None = None) -> vbt.Portfolio:
        """One grid point (default: the best) as a vectorbt Portfolio, for its statistics and plots."""
        from engine.research.screen_plot import vbt_portfolio

        return vbt_portfolio(self.frame, self.orders(params), self.config)

    def heatmap(self, x: str | None = None, y: str | None = None, metric: str | None = None) -> Figure:
        """The metric over two swept parameters (best over the others) as a matplotlib Figure."""
        from engine.research.screen_plot import heatmap

        return heatmap(self.table, list(self.config.grid), x, y, metric or self.config.metric)

    def _point(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        if params is not None:
            return dict(params)
        if self.table.empty:
            raise UserError("the screen ran no grid point")
        return {k: _plain(self.table.iloc[0][k]) for k in self.config.grid}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def screen(cfg: ScreenConfig, data_root: str | Path) -> ScreenResult:
    """Sweep `cfg` over the lake's 1-minute bars under `data_root` (README "Screens")."""
    lake = Lake.at(data_root)
    venue = cfg.venue or venue_of(lake, cfg.symbol)
    frame, source = load_bars(lake, venue, cfg.symbol, cfg.start, cfg.end)
    return screen_frame(cfg, frame, source)


def screen_frame(cfg: ScreenConfig, frame: BarFrame, source: str = "bars given") -> ScreenResult:
    """Sweep `cfg` over bars already in memory."""
    cls = strategy_class(cfg.strategy)
    if not cls.has_vector_form():
        with_form = ", ".join(vector_strategies())
        raise UserError(f"--strategy {cfg.strategy}: has no vectorised form to screen (these have: {with_form})")
    if len(frame) < 2:
        raise DataError(f"{cfg.symbol}: {len(frame)} bar(s) in the range; a screen needs at least 2")
    points, strategies, skipped, reason = _valid_points(cls, cfg)
    rows = []
    for lo in range(0, len(strategies), CHUNK):
        rows.append(_sweep(frame, strategies[lo:lo + CHUNK], cfg))
    stats = np.concatenate(rows) if rows else np.empty((0, len(STATS)))
    table = pd.concat([pd.DataFrame(points, columns=list(cfg.grid)), pd.DataFrame(stats, columns=list(STATS))],
                      axis=1)
    table["orders"] = table["orders"].astype(np.int64)
    table = table.sort_values(cfg.metric, ascending=METRICS[cfg.metric], na_position="last", kind="stable")
    return ScreenResult(cfg, frame, table.reset_index(drop=True), skipped, reason, source)


def vector_strategies() -> list[str]:
    """The names of the strategies with a vectorised form."""
    from engine.strategies.catalog import all_strategies

    return sorted(n for n, c in all_strategies().items() if c.has_vector_form())


def _valid_points(cls: type[Strategy], cfg: ScreenConfig) -> tuple[list[dict[str, Any]], list[Strategy], int, str]:
    """The grid points the strategy accepts, their strategies, how many it refused and the first reason."""
    points, strategies, skipped, reason = [], [], 0, ""
    for point in grid_points(cfg.grid):
        try:
            strat = cls(**{**cfg.params, **point})
        except UserError as exc:
            skipped += 1
            reason = reason or str(exc)
            continue
        if strat.bar_interval != "1m":
            raise UserError(f"--param bar_interval={strat.bar_interval}: a screen runs on 1m bars")
        points.append(point)
        strategies.append(strat)
    return points, strategies, skipped, reason


def _sweep(frame: BarFrame, strategies: Sequence[Strategy], cfg: ScreenConfig) -> FloatArray:
    directions = np.empty((len(strategies), len(frame)))
    for k, strat in enumerate(strategies):
        directions[k] = strat.vector_positions(frame)
    sizes = np.array([s.size for s in strategies], dtype=np.float64)
    units = np.array([UNITS[s.size_unit] for s in strategies], dtype=np.int64)
    return sweep_nb(frame.open, frame.close, directions, sizes, units, cfg.capital, cfg.taker_fee,
                    MINUTES_A_YEAR)


def point_orders(frame: BarFrame, strat: Strategy, cfg: ScreenConfig) -> FloatArray:
    """The orders of one strategy instance: rows of ORDER_FIELDS (README "Screens", the convention)."""
    out = np.empty((len(frame), len(ORDER_FIELDS)))
    _, n = simulate_nb(frame.open, frame.close, strat.vector_positions(frame), float(strat.size),
                       UNITS[strat.size_unit], cfg.capital, cfg.taker_fee, MINUTES_A_YEAR, out)
    return out[:n]


def load_bars(lake: Lake, venue: str, symbol: str, start: int | None, end: int | None) -> tuple[BarFrame, str]:
    """The 1-minute bars of [start, end): the lake's candles (complete by `end`), else built from its
    trades; and which of the two."""
    table = lake.read("bars", venue, symbol, start, end, interval="1m")
    source = "1m bars of the lake"
    if not table.num_rows:
        table = bars_from_lake(lake, venue, symbol, "1m", start, end)
        source = "1m bars built from trades"
    ts = np.asarray(table.column("ts_event").to_numpy(), dtype=np.int64)
    keep = ts + NS_PER_MIN <= end if end is not None else np.ones(ts.size, dtype=bool)
    cols = [np.asarray(table.column(k).to_numpy(), dtype=np.float64)[keep]
            for k in ("open", "high", "low", "close", "volume")]
    if not keep.any():
        raise DataError(f"no 1m bars or trades for {symbol} on venue {venue!r} in the range")
    return BarFrame.of(ts[keep], *cols), source


def venue_of(lake: Lake, symbol: str) -> str:
    """The one venue holding bars or trades of `symbol` (a DataError naming the choices otherwise)."""
    venues = sorted(set(lake.venues("bars", symbol)) | set(lake.venues("trades", symbol)))
    if len(venues) == 1:
        return venues[0]
    if not venues:
        raise DataError(f"no bars or trades for {symbol} in the lake at {lake.root} (see `okxbot data ls`)")
    raise DataError(f"{symbol}: pick the venue with --venue (venues: {', '.join(venues)})")
