"""An example research strategy: long above the slow SMA of bar closes, flat below.

Any module under research/ is imported when a strategy name is looked up, so
`okxbot backtest --strategy sma_trend ...` finds this class by its `name`.
"""

from __future__ import annotations

from engine import Bar, Param, Strategy, Warmup


class SmaTrend(Strategy):
    """Long `size` while the close is above the SMA of the last `slow` closes, flat otherwise."""

    name = "sma_trend"
    slow = Param(50, low=5, high=1000, doc="SMA length in bars")
    size = Param(1.0, low=0.0, open_low=True, doc="position in base currency")
    bar_interval = "1m"

    def warmup(self) -> Warmup:
        return Warmup(bars=self.slow)

    def reset(self) -> None:
        self.closes: list[float] = []

    def on_bar(self, bar: Bar) -> None:
        self.closes = [*self.closes[-(self.slow - 1):], bar.close]
        if len(self.closes) == self.slow:
            sma = sum(self.closes) / self.slow
            self.ctx.set_target(self.size if bar.close > sma else 0.0)
