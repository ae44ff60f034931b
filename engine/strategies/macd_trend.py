"""`macd_trend`: follow the MACD on bar closes.

MACD line = EMA(fast) - EMA(slow) of the closes, signal = EMA(signal) of the line (all seeded
with their first value). Once warm (`slow + signal - 1` bars), the target is +size while the line
is above its signal and -size while below (flat instead of short when `allow_short` is false);
equal keeps the previous target. No histogram-slope filter: the rule stays one comparison.
`set_target` is called only when the target changes.
"""

from __future__ import annotations

from engine.model.events import Bar
from engine.strategies._common import BAR_INTERVALS
from engine.strategies.indicators import MACD
from engine.trading.strategy import Param, Strategy, Warmup


class MacdTrend(Strategy):
    """Long above the MACD signal line, short below; trades through `set_target`."""

    name = "macd_trend"
    # The annotations give mypy the instance type; the base class sets each to its coerced value.
    fast = Param(12, low=2, high=10_000, doc="fast EMA period, in bars")
    slow = Param(26, low=3, high=100_000, doc="slow EMA period, in bars")
    signal = Param(9, low=1, high=10_000, doc="signal EMA period, in bars")
    size = Param(1.0, low=0.0, open_low=True, doc="absolute target position, base currency")
    allow_short = Param(True, doc="short below the signal (false: go flat, for spot)")
    bar_interval = Param("1m", choices=BAR_INTERVALS, doc="bar length")
    ordered = ("fast", "slow")

    def warmup(self) -> Warmup:
        return Warmup(bars=self.slow + self.signal - 1)

    def reset(self) -> None:
        self._macd = MACD(self.fast, self.slow, self.signal)
        self._target = 0.0

    def on_bar(self, bar: Bar) -> None:
        hist = self._macd.update(bar.close)
        if not self._macd.ready or hist == 0.0:
            return
        short = -self.size if self.allow_short else 0.0
        target = self.size if hist > 0.0 else short
        if target != self._target:
            self._target = target
            self.ctx.set_target(target)
