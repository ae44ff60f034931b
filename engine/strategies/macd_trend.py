"""`macd_trend`: follow the MACD on bar closes.

MACD line = EMA(fast) - EMA(slow) of the closes, signal = EMA(signal) of the line (all seeded
with their first value). Once warm (`slow + signal - 1` bars), it holds +1 (long `size`) while the
line is above its signal and -1 while below (flat instead of short when `allow_short` is false);
equal keeps the previous direction. No histogram-slope filter: the rule stays one comparison.
Sizing is the shared rule (`size` in `size_unit`, see engine.trading.sizing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model.events import Bar
from engine.strategies._common import BAR_INTERVALS
from engine.strategies.indicators import MACD
from engine.trading.strategy import Param, Strategy, Warmup

if TYPE_CHECKING:
    from engine.trading.frame import BarFrame, FloatArray


class MacdTrend(Strategy):
    """Long above the MACD signal line, short below."""

    name = "macd_trend"
    # The annotations give mypy the instance type; the base class sets each to its coerced value.
    fast = Param(12, low=2, high=10_000, doc="fast EMA period, in bars")
    slow = Param(26, low=3, high=100_000, doc="slow EMA period, in bars")
    signal = Param(9, low=1, high=10_000, doc="signal EMA period, in bars")
    allow_short = Param(True, doc="short below the signal (false: go flat, for spot)")
    bar_interval = Param("1m", choices=BAR_INTERVALS, doc="bar length")
    ordered = ("fast", "slow")

    def warmup(self) -> Warmup:
        return Warmup(bars=self.slow + self.signal - 1)

    def reset(self) -> None:
        self._macd = MACD(self.fast, self.slow, self.signal)

    def on_bar(self, bar: Bar) -> None:
        hist = self._macd.update(bar.close)
        if not self._macd.ready or hist == 0.0:
            return
        self.hold(1.0 if hist > 0.0 else (-1.0 if self.allow_short else 0.0))

    def vector_positions(self, frame: BarFrame) -> FloatArray:
        """`on_bar` over whole arrays: the direction held after each bar's close."""
        from engine.strategies import vector  # numba: loaded by screens, not by every backtest

        hist = vector.macd(frame, self.fast, self.slow, self.signal)[2]
        return vector.sign_hold_nb(hist, -1.0 if self.allow_short else 0.0)
