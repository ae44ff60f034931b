"""Vectorised twins of the streaming indicators: numba kernels over numpy arrays, for research.

Each `*_nb` kernel takes and returns numpy arrays and mirrors its class in
`engine.strategies.indicators` step for step, so the two series are equal exactly. The friendly
functions at the end convert their input, check the period and call the kernel.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from engine.model.errors import UserError
from engine.strategies.indicators import RollingStd, check_macd, check_period

Array = npt.NDArray[np.float64]


# -- numba kernels: arrays in, arrays out; each mirrors its class above step for step ----------


@njit(cache=True)
def ema_nb(x: Array, n: int) -> Array:
    """EMA series of `x`, seeded with x[0]."""
    out = np.empty(x.shape[0])
    alpha = 2.0 / (n + 1)
    e = np.nan
    for t in range(x.shape[0]):
        e = e + alpha * (x[t] - e) if t else x[t]
        out[t] = e
    return out


@njit(cache=True)
def sma_nb(x: Array, n: int) -> Array:
    """Simple moving average series; NaN for the first n-1 values."""
    out = np.full(x.shape[0], np.nan)
    s = 0.0
    for t in range(x.shape[0]):
        s += x[t] - x[t - n] if t >= n else x[t]
        if (t + 1) % n == 0:
            s = 0.0
            for j in range(t + 1 - n, t + 1):
                s += x[j]
        if t >= n - 1:
            out[t] = s / n
    return out


@njit(cache=True)
def rolling_mean_std_nb(x: Array, n: int, ddof: int) -> tuple[Array, Array]:
    """Rolling mean and standard deviation series (sliding Welford); NaN for the first n-1."""
    mean_out = np.full(x.shape[0], np.nan)
    std_out = np.full(x.shape[0], np.nan)
    mean = 0.0
    m2 = 0.0
    for t in range(x.shape[0]):
        if t >= n:
            old = x[t - n]
            new_mean = mean + (x[t] - old) / n
            m2 += (x[t] - old) * (x[t] - new_mean + old - mean)
        else:
            d = x[t] - mean
            new_mean = mean + d / (t + 1)
            m2 += d * (x[t] - new_mean)
        mean = new_mean
        if (t + 1) % n == 0:
            s = 0.0
            for j in range(t + 1 - n, t + 1):
                s += x[j]
            mean = s / n
            m2 = 0.0
            for j in range(t + 1 - n, t + 1):
                m2 += (x[j] - mean) * (x[j] - mean)
        if t >= n - 1:
            mean_out[t] = mean
            std_out[t] = np.sqrt(max(m2, 0.0) / (n - ddof))
    return mean_out, std_out


@njit(cache=True)
def zscore_nb(x: Array, n: int, ddof: int) -> Array:
    """Rolling z-score series; 0 where the window is constant, NaN for the first n-1."""
    mean, std = rolling_mean_std_nb(x, n, ddof)
    out = np.full(x.shape[0], np.nan)
    for t in range(n - 1, x.shape[0]):
        out[t] = (x[t] - mean[t]) / std[t] if std[t] > 0.0 else 0.0
    return out


@njit(cache=True)
def rsi_nb(x: Array, n: int) -> Array:
    """Wilder RSI series; NaN for the first n values."""
    out = np.full(x.shape[0], np.nan)
    gain_avg = 0.0
    loss_avg = 0.0
    for k in range(1, x.shape[0]):
        change = x[k] - x[k - 1]
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        if k > n:
            gain_avg = (gain_avg * (n - 1) + gain) / n
            loss_avg = (loss_avg * (n - 1) + loss) / n
        else:
            gain_avg += gain
            loss_avg += loss
            if k < n:
                continue
            gain_avg /= n
            loss_avg /= n
        total = gain_avg + loss_avg
        out[k] = 50.0 if total == 0.0 else 100.0 * gain_avg / total
    return out


@njit(cache=True)
def macd_nb(x: Array, fast: int, slow: int, signal: int) -> tuple[Array, Array, Array]:
    """MACD line, signal and histogram series."""
    line = ema_nb(x, fast) - ema_nb(x, slow)
    sig = ema_nb(line, signal)
    return line, sig, line - sig


@njit(cache=True)
def atr_nb(high: Array, low: Array, close: Array, n: int) -> Array:
    """Wilder ATR series; NaN for the first n-1 bars."""
    out = np.full(high.shape[0], np.nan)
    s = 0.0
    a = np.nan
    for t in range(high.shape[0]):
        tr = high[t] - low[t]
        if t:
            up = abs(high[t] - close[t - 1])
            down = abs(low[t] - close[t - 1])
            tr = up if up > tr else tr
            tr = down if down > tr else tr
        if t >= n:
            a = (a * (n - 1) + tr) / n
        else:
            s += tr
            if t == n - 1:
                a = s / n
        out[t] = a
    return out


# -- friendly wrappers -------------------------------------------------------------------------


def _as_array(x: npt.ArrayLike) -> Array:
    return np.ascontiguousarray(x, dtype=np.float64)


def ema(x: npt.ArrayLike, n: int) -> Array:
    """EMA of a series, alpha = 2/(n+1), seeded with the first value."""
    check_period("n", n)
    return ema_nb(_as_array(x), int(n))


def sma(x: npt.ArrayLike, n: int) -> Array:
    """Simple moving average of a series (NaN before n values)."""
    check_period("n", n)
    return sma_nb(_as_array(x), int(n))


def rolling_std(x: npt.ArrayLike, n: int, ddof: int = 0) -> Array:
    """Rolling standard deviation of a series (NaN before n values)."""
    RollingStd(n, ddof)  # validates the arguments with the same messages
    return rolling_mean_std_nb(_as_array(x), int(n), int(ddof))[1]


def zscore(x: npt.ArrayLike, n: int, ddof: int = 0) -> Array:
    """Rolling z-score of a series (NaN before n values)."""
    RollingStd(n, ddof)
    return zscore_nb(_as_array(x), int(n), int(ddof))


def rsi(x: npt.ArrayLike, n: int = 14) -> Array:
    """Wilder RSI of a series (NaN before n + 1 values)."""
    check_period("n", n)
    return rsi_nb(_as_array(x), int(n))


def macd(x: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[Array, Array, Array]:
    """MACD line, signal line and histogram of a series."""
    check_macd(fast, slow, signal)
    return macd_nb(_as_array(x), int(fast), int(slow), int(signal))


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, n: int = 14) -> Array:
    """Wilder ATR of bar series (NaN before n bars)."""
    check_period("n", n)
    h, lo, c = _as_array(high), _as_array(low), _as_array(close)
    if not h.shape == lo.shape == c.shape:
        raise UserError(f"atr: high, low and close differ in length ({h.size}, {lo.size}, {c.size})")
    return atr_nb(h, lo, c, int(n))
