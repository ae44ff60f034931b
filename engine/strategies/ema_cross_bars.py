"""`ema_cross_bars`: the `ema_cross` rule on bar closes instead of trade prices.

Each completed bar's close updates a fast and a slow EMA (`e += 2/(n+1)*(close - e)`, seeded
with the first close). From the `slow`-th bar on, it holds +1 (long `size`) when fast > slow and
-1 when fast < slow (equal keeps the previous direction). Sizing is the shared rule (`size` in
`size_unit`). The strategy acts in `on_bar` only, while the engine's ticks still drive the fills.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model.events import Bar
from engine.strategies._common import BAR_INTERVALS
from engine.strategies.indicators import EMA
from engine.trading.strategy import Param, Strategy, Warmup

if TYPE_CHECKING:
    from engine.trading.frame import BarFrame, FloatArray


class EmaCrossBars(Strategy):
    """Fast/slow EMA crossover on bar closes."""

    name = "ema_cross_bars"
    # The annotations give mypy the instance type; the base class sets each to its coerced value.
    fast = Param(20, low=2, high=10_000, doc="fast EMA period, in bars")
    slow = Param(100, low=3, high=100_000, doc="slow EMA period, in bars")
    bar_interval = Param("1m", choices=BAR_INTERVALS, doc="bar length")
    ordered = ("fast", "slow")

    def warmup(self) -> Warmup:
        return Warmup(bars=self.slow)

    def reset(self) -> None:
        self._fast = EMA(self.fast)
        self._slow = EMA(self.slow)

    def on_bar(self, bar: Bar) -> None:
        close, slow = bar.close, self._slow
        f = self._fast.update(close)
        s = slow.update(close)
        if f == s or slow.count < slow.n:  # equal, or the slow EMA not ready: keep the direction
            return
        direction = 1.0 if f > s else -1.0
        if direction != self._direction:  # hold() would return at once: skip the call (hot path)
            self.hold(direction)

    def vector_positions(self, frame: BarFrame) -> FloatArray:
        """`on_bar` over whole arrays: the direction held after each bar's close."""
        from engine.strategies import vector  # numba: loaded by screens, not by every backtest

        return vector.cross_hold_nb(vector.ema(frame, self.fast), vector.ema(frame, self.slow), -1.0)
