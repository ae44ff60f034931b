"""Replaying symbols the lake holds only as bars (candles, no trades).

Each lake bar is released at open + interval, like bars built from trades. Orders still need a
tape to fill on: each bar becomes four pseudo trades inside its own interval, open at the open
time, then low and high (in the order a bar of that direction most plausibly took: O-L-H-C when
it closed up, O-H-L-C when down), close just before the interval ends. A market order decided at
a bar's release thus fills at the next bar's open; a limit order fills when the bar's range
reaches it. Each pseudo trade carries a quarter of the bar's volume.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from engine.backtest.replay import Bars, Tape


def bar_tape(symbol: str, bars: pa.Table, interval_ns: int) -> Tape:
    """Four pseudo trades per bar (O, L/H, H/L, C), in time order."""
    t = bars.column("ts_event").to_numpy().astype(np.int64)
    o, h, lo, c = (bars.column(n).to_numpy().astype(np.float64) for n in ("open", "high", "low", "close"))
    v = bars.column("volume").to_numpy().astype(np.float64)
    up = c >= o
    second, third = np.where(up, lo, h), np.where(up, h, lo)
    ts = np.stack([t, t + interval_ns // 4, t + interval_ns // 2, t + interval_ns - 1], axis=1).ravel()
    price = np.stack([o, second, third, c], axis=1).ravel()
    size = np.repeat(np.maximum(v, 0.0) / 4, 4)
    side = np.zeros(len(ts), np.int8)
    return Tape(symbol, ts, ts.copy(), price, size, side, None)


def lake_bars(symbol: str, interval: str, bars: pa.Table, interval_ns: int, end: int) -> Bars:
    """The lake's bars as a release stream, keeping those complete by `end`."""
    t = bars.column("ts_event").to_numpy().astype(np.int64)
    keep = t + interval_ns <= end
    col = {n: bars.column(n).to_numpy().astype(np.float64)[keep] for n in ("open", "high", "low", "close", "volume")}
    t = t[keep]
    return Bars(symbol, interval, t, col["open"], col["high"], col["low"], col["close"], col["volume"],
                t + interval_ns)
