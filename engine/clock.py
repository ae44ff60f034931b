"""Clocks: simulated time for backtests, wall time for paper and live trading."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Current time in int64 ns UTC."""
        ...


class SimClock:
    """Time set by the replay: the time and the replay index (`seq`) of the event being processed."""

    __slots__ = ("seq", "ts")

    def __init__(self, ts: int = 0, seq: int = -1) -> None:
        self.ts = ts
        self.seq = seq

    def now(self) -> int:
        return self.ts


class LiveClock:
    """Wall-clock time."""

    def now(self) -> int:
        return time.time_ns()
