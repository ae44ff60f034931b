"""Walk-forward windows, in-sample vs out-of-sample figures and the stitched out-of-sample curve.

The rules are in README "Validation". Times are int64 nanoseconds, windows are half open.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from engine.model.errors import ConfigError

Mode = Literal["rolling", "anchored"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class WalkForward:
    """How to cut a range: give n_windows, train, test (ns) as README "Validation" lists."""

    gap: int
    warmup: int
    n_windows: int | None = None
    train: int | None = None
    test: int | None = None
    mode: Mode = "rolling"


@dataclass(frozen=True, slots=True)
class Window:
    """One walk-forward window: fit on [train_start, train_end), judge on [test_start, test_end)."""

    train_start: int
    train_end: int
    test_start: int
    test_end: int


@dataclass(frozen=True, slots=True)
class WindowStats:
    """In-sample against out-of-sample figures of one window (per-period Sharpe)."""

    is_return: float
    oos_return: float
    is_sharpe: float
    oos_sharpe: float
    efficiency: float


def split_walk_forward(start: int, end: int, spec: WalkForward) -> list[Window]:
    """Cut [start, end) into walk-forward windows; raise ConfigError on parameters that do not fit."""
    if end <= start:
        raise ConfigError(f"walk-forward range is empty: start {start} >= end {end}")
    if spec.mode not in ("rolling", "anchored"):
        raise ConfigError(f"walk-forward mode {spec.mode!r} is not 'rolling' or 'anchored'")
    if spec.warmup < 0:
        raise ConfigError(f"walk-forward warmup {spec.warmup} is negative")
    if spec.gap < spec.warmup:
        raise ConfigError(f"walk-forward gap {spec.gap} is shorter than the warmup {spec.warmup}")
    n, train, test = _solve_lengths(end - start, spec)
    windows = _place_windows(start, end, n, train, test, spec)
    check_windows(windows, spec.warmup)
    return windows


def _solve_lengths(span: int, spec: WalkForward) -> tuple[int, int, int]:
    n, train, test, gap = spec.n_windows, spec.train, spec.test, spec.gap
    for name, value in (("n_windows", n), ("train", train), ("test", test)):
        if value is not None and value <= 0:
            raise ConfigError(f"walk-forward {name} {value} must be positive")
    if n is not None and train is None and test is None:
        train = test = (span - gap) // (n + 1)
    elif n is not None and train is not None and test is None:
        test = (span - train - gap) // n
    elif n is not None and train is None and test is not None:
        train = span - gap - n * test
    elif n is None and train is not None and test is not None:
        n = (span - train - gap) // test
    elif n is None or train is None or test is None:
        raise ConfigError(
            f"walk-forward needs n_windows, or two of n_windows/train/test: got n_windows {n}, "
            f"train {train}, test {test}"
        )
    assert n is not None and train is not None and test is not None
    if n <= 0 or train <= 0 or test <= 0 or train + gap + n * test > span:
        raise ConfigError(
            f"walk-forward windows do not fit the range of {span} ns: n_windows {n}, train {train}, "
            f"test {test}, gap {gap}"
        )
    return n, train, test


def _place_windows(start: int, end: int, n: int, train: int, test: int, spec: WalkForward) -> list[Window]:
    windows = []
    for i in range(n):
        test_start = end - (n - i) * test
        train_end = test_start - spec.gap
        train_start = start if spec.mode == "anchored" else train_end - train
        windows.append(Window(train_start, train_end, test_start, test_start + test))
    return windows


def check_windows(windows: Sequence[Window], warmup: int) -> None:
    """Raise ConfigError unless the windows obey README "Validation"'s walk-forward rules."""
    if not windows:
        raise ConfigError("walk-forward produced no window")
    for i, w in enumerate(windows):
        if w.train_start >= w.train_end or w.test_start >= w.test_end:
            raise ConfigError(f"walk-forward window {i} is empty: {w}")
        if w.test_start - w.train_end < warmup:
            raise ConfigError(
                f"walk-forward window {i} has a gap of {w.test_start - w.train_end} ns between train "
                f"and test, less than the warmup {warmup}"
            )
        if i > 0 and w.test_start != windows[i - 1].test_end:
            how = "overlaps" if w.test_start < windows[i - 1].test_end else "leaves a hole after"
            raise ConfigError(
                f"walk-forward test window {i} starting at {w.test_start} {how} test window {i - 1} "
                f"ending at {windows[i - 1].test_end}"
            )


def period_returns(equity: FloatArray) -> FloatArray:
    """r_k = e_k / e_(k-1) - 1 of an equity curve e_0 .. e_n."""
    e = np.asarray(equity, dtype=np.float64)
    return e[1:] / e[:-1] - 1.0


def sharpe_per_period(returns: FloatArray) -> float:
    """mean(r) / std(r) with std over T - 1, not annualised; NaN when T < 2 or std = 0."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return math.nan
    std = float(r.std(ddof=1))
    return float(r.mean()) / std if std > 0 else math.nan


def compare_windows(train_curves: Sequence[FloatArray], test_curves: Sequence[FloatArray]) -> list[WindowStats]:
    """In-sample (train) against out-of-sample (test) return and Sharpe, window by window."""
    if len(train_curves) != len(test_curves):
        raise ConfigError(
            f"compare_windows got {len(train_curves)} train curves and {len(test_curves)} test curves"
        )
    out = []
    for i, (train, test) in enumerate(zip(train_curves, test_curves, strict=True)):
        for name, curve in (("train", train), ("test", test)):
            _check_curve(curve, f"{name} curve {i}")
        is_sharpe = sharpe_per_period(period_returns(train))
        oos_sharpe = sharpe_per_period(period_returns(test))
        efficiency = oos_sharpe / is_sharpe if is_sharpe > 0 else math.nan
        out.append(
            WindowStats(
                is_return=float(train[-1] / train[0] - 1.0),
                oos_return=float(test[-1] / test[0] - 1.0),
                is_sharpe=is_sharpe,
                oos_sharpe=oos_sharpe,
                efficiency=efficiency,
            )
        )
    return out


def stitch_equity(test_curves: Sequence[FloatArray], capital: float | None = None) -> FloatArray:
    """Chain the windows' out-of-sample equity curves into one continuous curve."""
    if not test_curves:
        raise ConfigError("stitch_equity got no test curve")
    for i, curve in enumerate(test_curves):
        _check_curve(curve, f"test curve {i}")
    level = float(test_curves[0][0]) if capital is None else float(capital)
    if not level > 0:
        raise ConfigError(f"stitch_equity capital {level} must be positive")
    parts = [np.array([level])]
    for curve in test_curves:
        scaled = np.asarray(curve, dtype=np.float64) * (level / float(curve[0]))
        parts.append(scaled[1:])
        level = float(scaled[-1])
    return np.concatenate(parts)


def _check_curve(curve: FloatArray, name: str) -> None:
    if len(curve) < 1:
        raise ConfigError(f"{name} is empty")
    if not curve[0] > 0:
        raise ConfigError(f"{name} starts at {curve[0]}, not a positive equity")
