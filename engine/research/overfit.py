"""Guards against overfitting: deflated Sharpe ratio, PBO by CSCV, parameter stability.

The rules are in README "Validation"; Sharpe is per period, not annualised, std over T - 1.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from engine.model.errors import ConfigError

FloatArray = npt.NDArray[np.float64]

EULER_GAMMA = 0.5772156649015329
MIN_PERIODS = 30  # the DSR's normal approximation is noise below this many returns


@dataclass(frozen=True, slots=True)
class Moments:
    """What the DSR reads of the selected trial's returns."""

    sharpe: float
    skew: float
    kurtosis: float  # non-excess: 3 for a normal distribution
    periods: int


@dataclass(frozen=True, slots=True)
class Stability:
    """The best trial's objective against its neighbours' (README "Validation")."""

    best: float
    neighbours: int
    mean: float
    worst: float
    ratio: float
    drop: float


# --- deflated Sharpe ratio -----------------------------------------------------------------------


def sharpe_ratios(returns: FloatArray) -> FloatArray:
    """Per-period Sharpe of each column of a T x N return matrix (NaN where std = 0)."""
    r = np.asarray(returns, dtype=np.float64)
    std = r.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, r.mean(axis=0) / std, np.nan)


def moments(returns: FloatArray) -> Moments:
    """Sharpe (std over T - 1), skewness m3 / m2^1.5 and kurtosis m4 / m2^2 of one return series."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size < MIN_PERIODS:
        raise ConfigError(f"deflated Sharpe needs at least {MIN_PERIODS} returns, got {r.size}")
    d = r - r.mean()
    m2 = float(np.mean(d**2))
    if not m2 > 0:
        raise ConfigError(f"deflated Sharpe needs returns that vary, got {r.size} equal returns")
    return Moments(
        sharpe=float(r.mean()) / math.sqrt(m2 * r.size / (r.size - 1)),
        skew=float(np.mean(d**3)) / m2**1.5,
        kurtosis=float(np.mean(d**4)) / m2**2,
        periods=int(r.size),
    )


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """SR0: the expected best per-period Sharpe of n_trials trials without skill."""
    if n_trials < 1:
        raise ConfigError(f"deflated Sharpe n_trials {n_trials} must be at least 1")
    if not variance >= 0:
        raise ConfigError(f"deflated Sharpe variance of the trials' Sharpe {variance} must be >= 0")
    if n_trials == 1 or variance == 0:
        return 0.0
    z1 = float(norm.ppf(1 - 1 / n_trials))
    z2 = float(norm.ppf(1 - 1 / (n_trials * math.e)))
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def deflated_sharpe_from_moments(m: Moments, n_trials: int, variance: float) -> float:
    """DSR of a trial with these moments, selected as the best of n_trials."""
    if m.periods < MIN_PERIODS:
        raise ConfigError(f"deflated Sharpe needs at least {MIN_PERIODS} returns, got {m.periods}")
    sr0 = expected_max_sharpe(n_trials, variance)
    spread = 1 - m.skew * m.sharpe + (m.kurtosis - 1) / 4 * m.sharpe**2
    if not spread > 0:
        raise ConfigError(
            f"deflated Sharpe is undefined: 1 - skew*SR + (kurtosis-1)/4*SR^2 = {spread} "
            f"(SR {m.sharpe}, skew {m.skew}, kurtosis {m.kurtosis})"
        )
    return float(norm.cdf((m.sharpe - sr0) * math.sqrt(m.periods - 1) / math.sqrt(spread)))


def deflated_sharpe(returns: FloatArray, n_trials: int, variance: float) -> float:
    """DSR of the selected trial's per-period returns, after n_trials trials."""
    return deflated_sharpe_from_moments(moments(returns), n_trials, variance)


# --- probability of backtest overfitting (CSCV) --------------------------------------------------


@functools.cache
def combination_matrix(blocks: int) -> FloatArray:
    """C(blocks, blocks/2) x blocks 0/1 matrix: row c marks the in-sample blocks of combination c.

    Rows are in lexicographic order, so row C - 1 - c is the complement of row c.
    """
    rows = list(itertools.combinations(range(blocks), blocks // 2))
    out = np.zeros((len(rows), blocks))
    out[np.repeat(np.arange(len(rows)), blocks // 2), np.concatenate(rows)] = 1.0
    out.flags.writeable = False
    return out


def _half_scores(total: FloatArray, squares: FloatArray, counts: FloatArray) -> FloatArray:
    """Sharpe of each half up to a positive factor per row, 0 where a half is flat.

    Sharpe = (S1/n) / sqrt((S2 - S1^2/n) / (n - 1)) = S1 / sqrt(n S2 - S1^2) * sqrt(n - 1), and
    every trial of a row has the same n, so S1 / sqrt(n S2 - S1^2) ranks them the same way.
    """
    scaled = squares * counts
    var = scaled - total * total
    flat = var <= 1e-12 * scaled
    var[flat] = 1.0
    score = total / np.sqrt(var, out=var)
    score[flat] = 0.0
    return score


def logits(returns: FloatArray, blocks: int = 16) -> FloatArray:
    """λ of every CSCV combination: the logit of the in-sample winner's out-of-sample rank."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 2:
        raise ConfigError(f"PBO needs a T x N return matrix with N >= 2 trials, got shape {r.shape}")
    if blocks < 2 or blocks % 2:
        raise ConfigError(f"PBO blocks {blocks} must be even and at least 2")
    if r.shape[0] < 2 * blocks:
        raise ConfigError(f"PBO needs at least 2 returns a block: {r.shape[0]} periods for {blocks} blocks")
    if not np.isfinite(r).all():
        raise ConfigError("PBO returns contain NaN or infinity")
    # the first T mod S blocks get one row more, as np.array_split cuts
    size, extra = divmod(r.shape[0], blocks)
    counts = np.array([size + 1] * extra + [size] * (blocks - extra), dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum(counts[:-1])]).astype(np.int64)
    sums = np.add.reduceat(r, starts, axis=0)
    squares = np.add.reduceat(r * r, starts, axis=0)
    combos = combination_matrix(blocks)
    # one Sharpe per (combination, trial); a combination's out-of-sample half is the in-sample
    # half of its complement, the row read from the other end
    score = _half_scores(combos @ sums, combos @ squares, (combos @ counts)[:, None])
    oos = score[::-1]
    chosen = oos[np.arange(len(score)), score.argmax(axis=1)][:, None]
    n = r.shape[1]
    # average rank among the N out-of-sample Sharpes: 1 = worst, N = best, ties share
    below = (oos < chosen).sum(axis=1)
    ties = (oos == chosen).sum(axis=1) - 1
    omega = (1 + below + 0.5 * ties) / (n + 1)
    return np.asarray(np.log(omega / (1 - omega)), dtype=np.float64)


def probability_of_overfitting(returns: FloatArray, blocks: int = 16) -> float:
    """PBO: the share of CSCV combinations whose in-sample winner is at or below the OOS median."""
    return float(np.mean(logits(returns, blocks) <= 0))


# --- parameter stability -------------------------------------------------------------------------


def stability(
    params: FloatArray, objective: FloatArray, best: int | None = None, relative: float | None = None
) -> Stability:
    """How far the objective falls from the best trial to its neighbours (higher is better)."""
    p = np.asarray(params, dtype=np.float64)
    y = np.asarray(objective, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2 or y.shape != (p.shape[0],) or p.shape[0] == 0:
        raise ConfigError(f"stability needs n x d params and n objectives, got {p.shape} and {y.shape}")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ConfigError(f"stability objective is {y[bad[0]]} at trial {bad[0]}: drop failed trials first")
    if relative is not None and not relative > 0:
        raise ConfigError(f"stability relative {relative} must be positive")
    i = int(np.argmax(y)) if best is None else best
    if not 0 <= i < len(y):
        raise ConfigError(f"stability best {best} is not a trial index (0 .. {len(y) - 1})")
    radius = _grid_steps(p) if relative is None else relative * (p.max(0) - p.min(0))
    near = (np.abs(p - p[i]) <= radius * (1 + 1e-9)).all(axis=1)
    near[i] = False
    top = float(y[i])
    if not near.any():
        return Stability(top, 0, math.nan, math.nan, math.nan, math.nan)
    mean = float(y[near].mean())
    return Stability(
        best=top,
        neighbours=int(near.sum()),
        mean=mean,
        worst=float(y[near].min()),
        ratio=mean / top if top > 0 else math.nan,
        drop=(top - mean) / abs(top) if top != 0 else math.nan,
    )


def _grid_steps(p: FloatArray) -> FloatArray:
    """Smallest gap between two distinct values of each parameter (0 when it takes one value)."""
    steps = np.zeros(p.shape[1])
    for d in range(p.shape[1]):
        gaps = np.diff(np.unique(p[:, d]))
        steps[d] = gaps.min() if gaps.size else 0.0
    return steps
