"""An example research strategy: long above the slow SMA of bar closes, flat below.

Any module under research/ is imported when a strategy name is looked up, so
`okxbot backtest --strategy sma_trend ...` finds this class by its `name`.
"""

from __future__ import annotations

from engine import Bar, Param, Strategy, Warmup


class SmaTrend(Strategy):
    """Long while the close is above the SMA of the last `slow` closes, flat otherwise."""

    name = "sma_trend"                      # okxbot backtest --strategy sma_trend
    slow = Param(50, low=5, high=1000, doc="SMA length in bars")
    bar_interval = "1m"                     # on_bar gets 1-minute bars; --param bar_interval=5m

    def warmup(self) -> Warmup:
        return Warmup(bars=self.slow)        # history loaded before --start, without trading

    def reset(self) -> None:                 # the state a run starts from
        self.closes: list[float] = []

    def on_bar(self, bar: Bar) -> None:
        self.closes = [*self.closes[-(self.slow - 1):], bar.close]
        if len(self.closes) == self.slow:
            above = bar.close > sum(self.closes) / self.slow
            self.hold(1 if above else 0)     # long `size` (default: all its capital) or flat
            if above and self.ctx.equity() < 0.9 * self.ctx.capital:
                self.ctx.log(f"down 10%: position {self.ctx.position()} at {self.ctx.last_price()}")
