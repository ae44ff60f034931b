"""`ema_cross`: long when the fast EMA of trade prices is above the slow one, short when below.

The benchmark's strategy. Each trade price `p` updates two EMAs, `e += 2/(n+1)*(p - e)`, seeded
with the first price. Nothing is done until the slow EMA has seen `slow` prices (the `slow`-th
price is the first one acted on). Then it holds +1 (long `size`) when fast > slow and -1 when
fast < slow; when they are equal the previous direction is kept. Sizing is the shared rule
(`size` in `size_unit`, see engine.trading.sizing); the benchmark sizes in base units.
"""

from __future__ import annotations

from engine.model.events import Trade
from engine.trading.strategy import Param, Strategy, Warmup


class EmaCross(Strategy):
    """Fast/slow EMA crossover on every trade price."""

    name = "ema_cross"
    # The annotations give mypy the instance type; the base class sets each to its coerced value.
    fast = Param(20, low=2, high=10_000, doc="fast EMA period, in trades")
    slow = Param(100, low=3, high=100_000, doc="slow EMA period, in trades")
    ordered = ("fast", "slow")

    def warmup(self) -> Warmup:
        return Warmup(ticks=self.slow)

    def reset(self) -> None:
        self._fast_a = 2.0 / (self.fast + 1)
        self._slow_a = 2.0 / (self.slow + 1)
        self._fast_e = 0.0
        self._slow_e = 0.0
        self._left = self.slow  # prices still to see before the first decision

    def on_tick(self, tick: Trade) -> None:
        # The hot path of the benchmark: every trade of a backtest comes through here. Written
        # for CPython: attributes read into locals once, one attribute write per EMA, no
        # allocation beyond the float results, no calls but the rare hold. Warm-up lives
        # in `_warm` so the steady state pays only one truth test for it.
        p = tick.price
        if self._left and self._warm(p):
            return
        f = self._fast_e
        f += self._fast_a * (p - f)
        self._fast_e = f
        s = self._slow_e
        s += self._slow_a * (p - s)
        self._slow_e = s
        if f > s:
            direction = 1.0
        elif f < s:
            direction = -1.0
        else:
            return
        if direction != self._direction:
            self.hold(direction)

    def _warm(self, p: float) -> bool:
        """Update the EMAs on a warm-up price; False on the `slow`-th, which on_tick handles."""
        left = self._left - 1
        self._left = left
        if not left:
            return False
        if left == self.slow - 1:  # the first price seeds both averages
            self._fast_e = self._slow_e = p
        else:
            self._fast_e += self._fast_a * (p - self._fast_e)
            self._slow_e += self._slow_a * (p - self._slow_e)
        return True
