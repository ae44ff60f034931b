"""Clocks: simulated time for backtests, wall time for paper and live trading.

Both satisfy the trading core's `Clock` port (`engine.trading.ports`): `ts` and `now()` give the
current time in int64 ns UTC, `seq` the replay index of the event being processed.
"""

from __future__ import annotations

import time


class SimClock:
    """Time set by the replay: the time and the replay index (`seq`) of the event being processed."""

    __slots__ = ("seq", "ts")

    def __init__(self, ts: int = 0, seq: int = -1) -> None:
        self.ts = ts
        self.seq = seq

    def now(self) -> int:
        return self.ts


class LiveClock:
    """Wall-clock time; there is no replay index (`seq` is -1)."""

    seq = -1

    @property
    def ts(self) -> int:
        return time.time_ns()

    def now(self) -> int:
        return time.time_ns()
