"""`rsi_mr`: RSI mean reversion on bar closes.

Wilder's RSI of period `n` on each completed bar's close (defined from the `n+1`-th bar):
- RSI < lower: hold +1 (long `size`; oversold, expect a bounce);
- RSI > upper: hold -1, or flat when `allow_short` is false (spot);
- otherwise a long exits (0) once RSI >= exit and a short once RSI <= exit.
An entry signal wins over an exit, so a long flips straight to short above `upper`.
Sizing is the shared rule (`size` in `size_unit`, see engine.trading.sizing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model.events import Bar
from engine.strategies._common import BAR_INTERVALS
from engine.strategies.indicators import RSI
from engine.trading.strategy import Param, Strategy, Warmup

if TYPE_CHECKING:
    from engine.trading.frame import BarFrame, FloatArray


class RsiMeanReversion(Strategy):
    """Buy oversold, sell overbought, exit at the middle band."""

    name = "rsi_mr"
    # The annotations give mypy the instance type; the base class sets each to its coerced value.
    n = Param(14, low=2, high=1_000, doc="RSI period, in bars")
    lower = Param(30.0, low=0.0, high=100.0, doc="enter long below this RSI")
    upper = Param(70.0, low=0.0, high=100.0, doc="enter short above this RSI")
    exit = Param(50.0, low=0.0, high=100.0, doc="middle band: leave a position here")
    allow_short = Param(True, doc="short above `upper` (false: go flat, for spot)")
    bar_interval = Param("1m", choices=BAR_INTERVALS, doc="bar length")
    ordered = ("lower", "exit", "upper")

    def warmup(self) -> Warmup:
        return Warmup(bars=self.n + 1)

    def reset(self) -> None:
        self._rsi = RSI(self.n)
        self._side = 0.0

    def on_bar(self, bar: Bar) -> None:
        r = self._rsi.update(bar.close)
        if r != r:  # NaN: fewer than n + 1 bars so far
            return
        self._side = self.decide(r, self._side)
        self.hold(self._side)

    def vector_positions(self, frame: BarFrame) -> FloatArray:
        """`on_bar` over whole arrays: the direction held after each bar's close."""
        from engine.strategies import vector  # numba: loaded by screens, not by every backtest

        short = -1.0 if self.allow_short else 0.0
        return vector.band_hold_nb(vector.rsi(frame, self.n), self.lower, self.upper, self.exit, short)

    def decide(self, r: float, current: float) -> float:
        """The direction (+1, -1, 0) for RSI `r` given the current one."""
        if r < self.lower:
            return 1.0
        if r > self.upper:
            return -1.0 if self.allow_short else 0.0
        if (current > 0.0 and r >= self.exit) or (current < 0.0 and r <= self.exit):
            return 0.0
        return current
