"""Streaming indicators against hand arithmetic, independent references and their vectorised twins."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from engine.model.errors import UserError
from engine.strategies.indicators import ATR, EMA, MACD, RSI, SMA, RollingStd, ZScore
from engine.strategies.indicators_nb import atr, ema, macd, rolling_std, rsi, sma, zscore


def _prices(seed: int, n: int = 3000, start: float = 60_000.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start + np.cumsum(rng.normal(0.0, 5.0, n))


def _bars(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = _prices(seed, n)
    high = close + rng.uniform(0.0, 8.0, n)
    low = close - rng.uniform(0.0, 8.0, n)
    return high, low, close


def _stream(indicator: EMA | SMA | RollingStd | ZScore | RSI | MACD, xs: np.ndarray) -> np.ndarray:
    return np.array([indicator.update(float(v)) for v in xs])


# -- hand-computed cases --------------------------------------------------------------------


def test_ema_small_case_matches_hand_arithmetic() -> None:
    e = EMA(3)  # alpha = 2/(3+1) = 0.5
    got = [e.update(v) for v in (1.0, 2.0, 3.0, 4.0)]
    assert got == [1.0, 1.0 + 0.5 * (2 - 1), 1.5 + 0.5 * (3 - 1.5), 2.25 + 0.5 * (4 - 2.25)]


def test_ema_ready_after_n_values() -> None:
    e = EMA(3)
    flags = []
    for v in (5.0, 6.0, 7.0, 8.0):
        e.update(v)
        flags.append(e.ready)
    assert flags == [False, False, True, True]


def test_sma_small_case_is_nan_before_n_then_window_means() -> None:
    s = SMA(3)
    got = [s.update(v) for v in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)]
    assert math.isnan(got[0]) and math.isnan(got[1])
    assert got[2:] == [(1 + 2 + 3) / 3, (2 + 3 + 4) / 3, (3 + 4 + 5) / 3, (4 + 5 + 6) / 3, (5 + 6 + 7) / 3]


def test_rsi_small_case_matches_wilder_arithmetic() -> None:
    # changes: +1, +2, -1, +2, 0; n = 2
    r = RSI(2)
    got = [r.update(v) for v in (1.0, 2.0, 4.0, 3.0, 5.0, 5.0)]
    gain, loss = (1 + 2) / 2, 0.0
    expected = [100.0]  # no loss yet
    gain, loss = (gain * 1 + 0) / 2, (loss * 1 + 1) / 2
    expected.append(100 - 100 / (1 + gain / loss))
    gain, loss = (gain * 1 + 2) / 2, (loss * 1 + 0) / 2
    expected.append(100 - 100 / (1 + gain / loss))
    gain, loss = (gain * 1 + 0) / 2, (loss * 1 + 0) / 2
    expected.append(100 - 100 / (1 + gain / loss))
    assert math.isnan(got[0]) and math.isnan(got[1])
    assert got[2:] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("path", "expected"), [([1, 2, 3, 4], 100.0), ([4, 3, 2, 1], 0.0), ([2, 2, 2, 2], 50.0)]
)
def test_rsi_one_way_or_flat_path_gives_bound_or_middle(path: list[float], expected: float) -> None:
    r = RSI(3)
    got = [r.update(float(v)) for v in path]
    assert got[-1] == expected


def test_rsi_warmup_nan_for_first_n_values() -> None:
    r = RSI(5)
    got = [r.update(v) for v in _prices(3, 12)]
    assert all(math.isnan(v) for v in got[:5])
    assert all(0.0 <= v <= 100.0 for v in got[5:])


def test_rolling_std_small_case_matches_population_formula() -> None:
    s = RollingStd(3)
    got = [s.update(v) for v in (2.0, 4.0, 4.0, 5.0)]
    m1, m2 = (2 + 4 + 4) / 3, (4 + 4 + 5) / 3
    assert math.isnan(got[0]) and math.isnan(got[1])
    assert got[2] == pytest.approx(math.sqrt(((2 - m1) ** 2 + 2 * (4 - m1) ** 2) / 3), abs=1e-12)
    assert got[3] == pytest.approx(math.sqrt((2 * (4 - m2) ** 2 + (5 - m2) ** 2) / 3), abs=1e-12)
    assert s.mean == pytest.approx(m2, abs=1e-12)


def test_zscore_small_case_and_constant_window() -> None:
    z = ZScore(3)
    got = [z.update(v) for v in (1.0, 2.0, 3.0)]
    assert got[2] == pytest.approx((3 - 2) / math.sqrt(2 / 3), abs=1e-12)
    flat = ZScore(3)
    assert [flat.update(7.0) for _ in range(4)][2:] == [0.0, 0.0]


def test_macd_small_case_matches_hand_arithmetic() -> None:
    m = MACD(fast=2, slow=3, signal=2)  # alphas 2/3, 1/2, 2/3
    first = m.update(1.0)
    hist = m.update(4.0)
    fast, slow = 1 + 2 / 3 * (4 - 1), 1 + 0.5 * (4 - 1)
    line = fast - slow
    signal = 0 + 2 / 3 * (line - 0)
    assert first == 0.0
    assert (m.line, m.signal, hist) == pytest.approx((line, signal, line - signal), abs=1e-12)
    assert m.hist == hist


def test_macd_ready_after_slow_plus_signal_minus_one() -> None:
    m = MACD(fast=3, slow=5, signal=4)
    flags = []
    for v in _prices(4, 10):
        m.update(float(v))
        flags.append(m.ready)
    assert flags.index(True) == 5 + 4 - 2  # the (5+4-1)-th value, zero-based


def test_atr_small_case_matches_wilder_arithmetic() -> None:
    a = ATR(2)
    bars = [(10.0, 8.0, 9.0), (12.0, 9.0, 11.0), (11.0, 10.0, 10.5), (15.0, 14.0, 14.5)]
    got = [a.update(*b) for b in bars]
    tr = [10 - 8, max(12 - 9, abs(12 - 9), abs(9 - 9)), max(11 - 10, abs(11 - 11), abs(10 - 11)),
          max(15 - 14, abs(15 - 10.5), abs(14 - 10.5))]
    first = (tr[0] + tr[1]) / 2
    second = (first * 1 + tr[2]) / 2
    assert math.isnan(got[0])
    assert got[1:] == [first, second, (second * 1 + tr[3]) / 2]


# -- streaming equals vectorised ------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n", [2, 14, 50])
def test_streaming_equals_vectorised_on_random_data(seed: int, n: int) -> None:
    x = _prices(seed)
    np.testing.assert_array_equal(_stream(EMA(n), x), ema(x, n))
    np.testing.assert_array_equal(_stream(SMA(n), x), sma(x, n))
    np.testing.assert_array_equal(_stream(RollingStd(n, 1), x), rolling_std(x, n, 1))
    np.testing.assert_array_equal(_stream(ZScore(n), x), zscore(x, n))
    np.testing.assert_array_equal(_stream(RSI(n), x), rsi(x, n))
    m = MACD(n, 2 * n + 1, 9)
    hist = _stream(m, x)
    line, signal, vhist = macd(x, n, 2 * n + 1, 9)
    np.testing.assert_array_equal(hist, vhist)
    assert (m.line, m.signal) == (line[-1], signal[-1])
    high, low, close = _bars(seed)
    a = ATR(n)
    streamed = [a.update(float(h), float(lo), float(c)) for h, lo, c in zip(high, low, close, strict=True)]
    np.testing.assert_array_equal(np.array(streamed), atr(high, low, close, n))


# -- against independent references -----------------------------------------------------------


def test_ema_matches_pandas_ewm_adjust_false() -> None:
    x = _prices(5)
    ref = pd.Series(x).ewm(span=20, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(ema(x, 20), ref, rtol=1e-12)


def test_window_indicators_match_direct_window_statistics() -> None:
    x = _prices(6, 500)
    n = 7
    windows = [x[t - n + 1 : t + 1] for t in range(n - 1, x.size)]
    np.testing.assert_allclose(sma(x, n)[n - 1 :], [statistics.fmean(w) for w in windows], rtol=1e-12)
    np.testing.assert_allclose(rolling_std(x, n, 1)[n - 1 :], [statistics.stdev(w) for w in windows],
                               rtol=1e-7)
    z_ref = [(w[-1] - statistics.fmean(w)) / statistics.pstdev(w) for w in windows]
    np.testing.assert_allclose(zscore(x, n)[n - 1 :], z_ref, rtol=1e-7, atol=1e-9)
    assert np.isnan(sma(x, n)[: n - 1]).all() and np.isnan(rolling_std(x, n)[: n - 1]).all()


def test_long_series_with_large_offset_does_not_drift() -> None:
    # Running sums are recomputed when the window wraps; without that, this series drifts to a
    # relative error of ~2e-14 in the mean and ~1e-6 in the standard deviation.
    x = _prices(7, 200_000, start=1e6)
    n = 30
    windows = np.lib.stride_tricks.sliding_window_view(x, n)
    np.testing.assert_allclose(sma(x, n)[n - 1 :], windows.mean(axis=1), rtol=5e-15)
    np.testing.assert_allclose(rolling_std(x, n)[n - 1 :], windows.std(axis=1), rtol=1e-8)


def test_wrappers_accept_lists_and_integer_arrays() -> None:
    assert ema([1, 2, 3, 4], 3).tolist() == [1.0, 1.5, 2.25, 3.125]
    assert sma(np.arange(5), 5)[-1] == 2.0


# -- bad arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: EMA(0), lambda: SMA(-1), lambda: RSI(0), lambda: ATR(0),
                                  lambda: ema([1.0], 0), lambda: rsi([1.0], 0)])
def test_period_below_one_raises_user_error_naming_n(make: Callable[[], object]) -> None:
    with pytest.raises(UserError, match="'n'"):
        make()


def test_rolling_std_period_one_and_bad_ddof_rejected() -> None:
    with pytest.raises(UserError, match=r"'n'.*>= 2"):
        RollingStd(1)
    with pytest.raises(UserError, match=r"'ddof'.*got 2"):
        rolling_std([1.0, 2.0], 2, ddof=2)


def test_macd_fast_not_below_slow_raises_naming_both() -> None:
    with pytest.raises(UserError, match=r"'fast' \(26\).*'slow' \(12\)"):
        MACD(26, 12)
    with pytest.raises(UserError, match="'fast'"):
        macd([1.0, 2.0], 5, 5, 3)


def test_atr_mismatched_lengths_raise() -> None:
    with pytest.raises(UserError, match="differ in length"):
        atr([1.0, 2.0], [0.5], [0.7, 1.5], 2)
