"""Vectorised twins of the streaming indicators over a `BarFrame`, and the direction rules the
bar strategies' vectorised forms are made of (README "Screens").

A twin equals its streaming indicator in `engine.strategies.indicators` bar by bar, NaN wherever
the streaming one is not `ready` (an EMA before `n` values, the MACD before `slow + signal - 1`,
the RSI before `n + 1`). Twins are memoised on the frame: one window is computed once, however
many grid points of a screen read it. The kernels are those of `indicators_nb`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.strategies.indicators import check_macd, check_period
from engine.strategies.indicators_nb import ema_nb, macd_nb, rsi_nb
from engine.trading.frame import BarFrame, FloatArray


def _not_ready(x: FloatArray, first_ready: int) -> FloatArray:
    out = x.copy()
    out[:first_ready] = np.nan
    return out


def ema(frame: BarFrame, n: int) -> FloatArray:
    """EMA(n) of the closes; NaN for the first n-1 bars (`EMA.ready`)."""
    check_period("n", n)
    return frame.memo(("ema", n), lambda: _not_ready(ema_nb(frame.close, int(n)), n - 1))


def macd(frame: BarFrame, fast: int, slow: int, signal: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD line, signal and histogram of the closes; NaN for the first slow+signal-2 bars (`MACD.ready`)."""
    check_macd(fast, slow, signal)

    def compute() -> tuple[FloatArray, FloatArray, FloatArray]:
        first = slow + signal - 2
        line, sig, hist = macd_nb(frame.close, int(fast), int(slow), int(signal))
        return _not_ready(line, first), _not_ready(sig, first), _not_ready(hist, first)

    return frame.memo(("macd", fast, slow, signal), compute)


def rsi(frame: BarFrame, n: int) -> FloatArray:
    """Wilder RSI(n) of the closes; NaN for the first n bars."""
    check_period("n", n)
    return frame.memo(("rsi", n), lambda: rsi_nb(frame.close, int(n)))


# -- direction rules: numba kernels, arrays in, arrays out ---------------------------------------


@njit(cache=True)
def sign_hold_nb(x: FloatArray, short: float) -> FloatArray:
    """+1 where x > 0, `short` where x < 0; 0 and NaN keep the previous direction (0 at first)."""
    out = np.empty(x.shape[0])
    d = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        if v > 0.0:
            d = 1.0
        elif v < 0.0:
            d = short
        out[i] = d
    return out


@njit(cache=True)
def cross_hold_nb(fast: FloatArray, slow: FloatArray, short: float) -> FloatArray:
    """+1 where fast > slow, `short` where fast < slow; equal or NaN keeps the previous direction."""
    out = np.empty(fast.shape[0])
    d = 0.0
    for i in range(fast.shape[0]):
        if fast[i] > slow[i]:
            d = 1.0
        elif fast[i] < slow[i]:
            d = short
        out[i] = d
    return out


@njit(cache=True)
def band_hold_nb(r: FloatArray, lower: float, upper: float, exit_level: float, short: float) -> FloatArray:
    """Mean reversion on an oscillator: +1 below `lower`, `short` above `upper`, and back to 0 once a
    long reaches `exit_level` from below (a short from above); NaN keeps the direction."""
    out = np.empty(r.shape[0])
    d = 0.0
    for i in range(r.shape[0]):
        v = r[i]
        if v == v:
            if v < lower:
                d = 1.0
            elif v > upper:
                d = short
            elif (d > 0.0 and v >= exit_level) or (d < 0.0 and v <= exit_level):
                d = 0.0
        out[i] = d
    return out
