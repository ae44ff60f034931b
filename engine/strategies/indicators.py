"""Streaming indicators: one value in, one value out, O(1) state in plain Python floats.

Strategies use these; their vectorised twins (numba kernels over arrays, for research) are in
`engine.strategies.indicators_nb`. A twin does the same arithmetic in the same order as its
class, so the two series are equal exactly (NaN where the class gives NaN). This module imports
no numba, so loading a strategy stays cheap.

EMA-based indicators (EMA, MACD) are seeded with the first value and defined from it; `ready`
says when `n` values have been seen. Window indicators (SMA, rolling std, z-score, RSI, ATR) are
NaN until their window is full. Running sums are recomputed from the window each time it wraps,
so rounding errors cannot pile up over a long series (O(1) amortised).
"""

from __future__ import annotations

import math
import numbers

from engine.model.errors import UserError

NAN = math.nan


def check_period(field: str, n: int, low: int = 1) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < low:
        raise UserError(f"indicator period {field!r} must be an integer >= {low}, got {n!r}")


def _rsi_of(gain: float, loss: float) -> float:
    # 100*g/(g+l) equals 100 - 100/(1 + g/l) and needs no special case when the loss is zero.
    total = gain + loss
    return 50.0 if total == 0.0 else 100.0 * gain / total


# -- streaming --------------------------------------------------------------------------------


class EMA:
    """Exponential moving average `e += alpha*(x - e)`, alpha = 2/(n+1), seeded with the first x."""

    __slots__ = ("alpha", "count", "n", "value")

    def __init__(self, n: int) -> None:
        check_period("n", n)
        self.n = n
        self.alpha = 2.0 / (n + 1)
        self.value = NAN
        self.count = 0

    def update(self, x: float) -> float:
        """Add one value; return the average."""
        if self.count:
            self.value += self.alpha * (x - self.value)
        else:
            self.value = x
        self.count += 1
        return self.value

    @property
    def ready(self) -> bool:
        return self.count >= self.n


class SMA:
    """Simple moving average over the last `n` values; NaN before `n` values."""

    __slots__ = ("_buf", "_i", "_sum", "count", "n", "value")

    def __init__(self, n: int) -> None:
        check_period("n", n)
        self.n = n
        self._buf = [0.0] * n
        self._i = 0
        self._sum = 0.0
        self.count = 0
        self.value = NAN

    def update(self, x: float) -> float:
        """Add one value; return the mean of the last `n` (NaN before `n` values)."""
        n, i, buf = self.n, self._i, self._buf
        self._sum += x - buf[i] if self.count >= n else x
        buf[i] = x
        i += 1
        if i == n:
            i = 0
            self._sum = _sum_list(buf)
        self._i = i
        self.count += 1
        if self.count >= n:
            self.value = self._sum / n
        return self.value


def _sum_list(values: list[float]) -> float:
    # A plain left-to-right loop (not sum(), which may compensate) so the kernel can match it.
    s = 0.0
    for v in values:
        s += v
    return s


class RollingStd:
    """Standard deviation (and mean) of the last `n` values, with `ddof` 0 or 1; sliding Welford."""

    __slots__ = ("_buf", "_i", "_m2", "_mean", "count", "ddof", "n", "value")

    def __init__(self, n: int, ddof: int = 0) -> None:
        check_period("n", n, 2)
        if ddof not in (0, 1):
            raise UserError(f"indicator argument 'ddof' must be 0 or 1, got {ddof!r}")
        self.n, self.ddof = n, ddof
        self._buf = [0.0] * n
        self._i = 0
        self._mean = 0.0
        self._m2 = 0.0
        self.count = 0
        self.value = NAN

    def update(self, x: float) -> float:
        """Add one value; return the window's standard deviation (NaN before `n` values)."""
        n, i, buf, mean = self.n, self._i, self._buf, self._mean
        if self.count >= n:
            old = buf[i]
            new_mean = mean + (x - old) / n
            self._m2 += (x - old) * (x - new_mean + old - mean)
        else:
            d = x - mean
            new_mean = mean + d / (self.count + 1)
            self._m2 += d * (x - new_mean)
        self._mean = new_mean
        buf[i] = x
        i += 1
        if i == n:
            i = 0
            self._mean = _sum_list(buf) / n
            self._m2 = _sum_sq_dev(buf, self._mean)
        self._i = i
        self.count += 1
        if self.count >= n:
            self.value = math.sqrt(max(self._m2, 0.0) / (n - self.ddof))
        return self.value

    @property
    def mean(self) -> float:
        """The window's mean (NaN before `n` values)."""
        return self._mean if self.count >= self.n else NAN


def _sum_sq_dev(values: list[float], mean: float) -> float:
    s = 0.0
    for v in values:
        s += (v - mean) * (v - mean)
    return s


class ZScore:
    """(x - mean) / std over the last `n` values including x; 0 when the window is constant."""

    __slots__ = ("_std", "value")

    def __init__(self, n: int, ddof: int = 0) -> None:
        self._std = RollingStd(n, ddof)
        self.value = NAN

    def update(self, x: float) -> float:
        """Add one value; return its z-score (NaN before `n` values)."""
        std = self._std.update(x)
        if std == std:  # not NaN: the window is full
            self.value = (x - self._std.mean) / std if std > 0.0 else 0.0
        return self.value


class RSI:
    """Wilder's RSI: averages of the first `n` gains/losses, then `a = (a*(n-1) + g)/n`.

    NaN until `n + 1` values (n changes) have been seen; 50 when there was no change at all.
    """

    __slots__ = ("_gain", "_loss", "_prev", "count", "n", "value")

    def __init__(self, n: int = 14) -> None:
        check_period("n", n)
        self.n = n
        self._prev = NAN
        self._gain = 0.0
        self._loss = 0.0
        self.count = 0
        self.value = NAN

    def update(self, x: float) -> float:
        """Add one value; return the RSI in [0, 100] (NaN before `n + 1` values)."""
        k, n = self.count, self.n  # k = index of this change (1-based) when k >= 1
        self.count = k + 1
        change = x - self._prev
        self._prev = x
        if k == 0:
            return self.value
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        if k > n:
            self._gain = (self._gain * (n - 1) + gain) / n
            self._loss = (self._loss * (n - 1) + loss) / n
        else:
            self._gain += gain
            self._loss += loss
            if k < n:
                return self.value
            self._gain /= n
            self._loss /= n
        self.value = _rsi_of(self._gain, self._loss)
        return self.value


class MACD:
    """MACD: line = EMA(fast) - EMA(slow), signal = EMA(signal) of the line, hist = line - signal.

    `update` returns the histogram; `line`, `signal` and `hist` hold the latest values. Defined
    from the first value; `ready` after `slow + signal - 1` values.
    """

    __slots__ = ("_fast", "_signal", "_slow", "count", "hist", "line", "signal")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        check_macd(fast, slow, signal)
        self._fast, self._slow, self._signal = EMA(fast), EMA(slow), EMA(signal)
        self.line = self.signal = self.hist = NAN
        self.count = 0

    def update(self, x: float) -> float:
        """Add one value; return the histogram."""
        self.line = self._fast.update(x) - self._slow.update(x)
        self.signal = self._signal.update(self.line)
        self.hist = self.line - self.signal
        self.count += 1
        return self.hist

    @property
    def ready(self) -> bool:
        return self.count >= self._slow.n + self._signal.n - 1


def check_macd(fast: int, slow: int, signal: int) -> None:
    check_period("fast", fast)
    check_period("slow", slow)
    check_period("signal", signal)
    if fast >= slow:
        raise UserError(f"MACD 'fast' ({fast}) must be smaller than 'slow' ({slow})")


class ATR:
    """Wilder's average true range from bars: the mean of the first `n` true ranges, then
    `a = (a*(n-1) + tr)/n`. The first bar's true range is high - low. NaN before `n` bars."""

    __slots__ = ("_close", "_sum", "count", "n", "value")

    def __init__(self, n: int = 14) -> None:
        check_period("n", n)
        self.n = n
        self._close = NAN
        self._sum = 0.0
        self.count = 0
        self.value = NAN

    def update(self, high: float, low: float, close: float) -> float:
        """Add one bar; return the ATR (NaN before `n` bars)."""
        tr = high - low
        if self.count:
            up = abs(high - self._close)
            down = abs(low - self._close)
            tr = up if up > tr else tr
            tr = down if down > tr else tr
        self._close = close
        self.count += 1
        n = self.n
        if self.count > n:
            self.value = (self.value * (n - 1) + tr) / n
        else:
            self._sum += tr
            if self.count == n:
                self.value = self._sum / n
        return self.value
