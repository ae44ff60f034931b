"""Replaying symbols the lake holds only as bars (candles, no trades).

Each lake bar is released to the strategies at open + interval, like bars built from trades. The
venue sees each bar twice (README "How fills work", bar-only symbols): its open, at the open time,
where marketable orders that arrived by then fill; and its range, just before its close, where
resting orders fill at their limit when the range passes them, sharing the bar's volume. There
is no path inside a bar: nothing fills between its open and its close.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from engine.backtest.replay import OPEN, RANGE, BarRows, Bars, Tape


def bar_tape(symbol: str, bars: pa.Table, interval_ns: int) -> Tape:
    """The venue tape of a bar-only symbol: an OPEN row and a RANGE row per bar, in time order."""
    t = bars.column("ts_event").to_numpy().astype(np.int64)
    o, h, lo, c = (bars.column(n).to_numpy().astype(np.float64) for n in ("open", "high", "low", "close"))
    v = np.maximum(bars.column("volume").to_numpy().astype(np.float64), 0.0)
    ts = np.stack([t, t + interval_ns - 1], axis=1).ravel()
    price = np.stack([o, c], axis=1).ravel()
    size = np.stack([np.zeros_like(v), v], axis=1).ravel()
    phase = np.tile(np.array([OPEN, RANGE], np.int8), len(t))
    rows = BarRows(phase, np.repeat(t, 2), np.repeat(lo, 2), np.repeat(h, 2))
    return Tape(symbol, ts, ts.copy(), price, size, np.zeros(len(ts), np.int8), None, bar=rows)


def lake_bars(symbol: str, interval: str, bars: pa.Table, interval_ns: int, end: int) -> Bars:
    """The lake's bars as a release stream, keeping those complete by `end`."""
    t = bars.column("ts_event").to_numpy().astype(np.int64)
    keep = t + interval_ns <= end
    col = {n: bars.column(n).to_numpy().astype(np.float64)[keep] for n in ("open", "high", "low", "close", "volume")}
    t = t[keep]
    return Bars(symbol, interval, t, col["open"], col["high"], col["low"], col["close"], col["volume"],
                t + interval_ns)
