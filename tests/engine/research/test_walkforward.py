"""Walk-forward windows on hand-computed ranges, the validator against mutated splitters, and
the in-sample/out-of-sample helpers."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model.errors import ConfigError
from engine.research import walkforward
from engine.research.walkforward import (
    WalkForward,
    Window,
    check_windows,
    compare_windows,
    split_walk_forward,
    stitch_equity,
)

# --- the splitter, by hand -----------------------------------------------------------------------


def test_split_n_windows_only_rolling_gives_equal_train_and_test() -> None:
    # span 100, gap 4: train = test = (100 - 4) // (3 + 1) = 24; tests end at 100 going back:
    # [28, 52), [52, 76), [76, 100); trains end 4 before: [0, 24), [24, 48), [48, 72)
    spec = WalkForward(gap=4, warmup=4, n_windows=3)
    assert split_walk_forward(0, 100, spec) == [
        Window(0, 24, 28, 52),
        Window(24, 48, 52, 76),
        Window(48, 72, 76, 100),
    ]


def test_split_anchored_trains_all_start_at_start() -> None:
    spec = WalkForward(gap=4, warmup=4, n_windows=3, mode="anchored")
    assert split_walk_forward(0, 100, spec) == [
        Window(0, 24, 28, 52),
        Window(0, 48, 52, 76),
        Window(0, 72, 76, 100),
    ]


def test_split_train_and_test_lengths_leave_the_remainder_at_the_start() -> None:
    # start 1_000, span 105, train 40, gap 5, test 20: n = (105 - 40 - 5) // 20 = 3, remainder 0;
    # span 110 instead: n = (110 - 45) // 20 = 3, remainder 5 left unused before the first train
    spec = WalkForward(gap=5, warmup=2, train=40, test=20)
    assert split_walk_forward(1_000, 1_110, spec) == [
        Window(1_005, 1_045, 1_050, 1_070),
        Window(1_025, 1_065, 1_070, 1_090),
        Window(1_045, 1_085, 1_090, 1_110),
    ]


def test_split_n_windows_and_train_solve_the_test_length() -> None:
    # span 100, train 50, gap 0, n 2: test = (100 - 50 - 0) // 2 = 25
    spec = WalkForward(gap=0, warmup=0, n_windows=2, train=50)
    assert split_walk_forward(0, 100, spec) == [Window(0, 50, 50, 75), Window(25, 75, 75, 100)]


def test_split_n_windows_and_test_solve_the_train_length() -> None:
    # span 100, test 10, gap 10, n 3: train = 100 - 10 - 30 = 60
    spec = WalkForward(gap=10, warmup=10, n_windows=3, test=10)
    assert split_walk_forward(0, 100, spec)[0] == Window(0, 60, 70, 80)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (WalkForward(gap=3, warmup=4, n_windows=3), "gap 3 is shorter than the warmup 4"),
        (WalkForward(gap=0, warmup=-1, n_windows=3), "warmup -1 is negative"),
        (WalkForward(gap=0, warmup=0, n_windows=0), "n_windows 0 must be positive"),
        (WalkForward(gap=0, warmup=0, train=10), "needs n_windows"),
        (WalkForward(gap=0, warmup=0, n_windows=3, train=60, test=20), "do not fit"),  # 60 + 60 > 100
        (WalkForward(gap=0, warmup=0, n_windows=3, test=40), "do not fit"),  # train = 100 - 120 < 0
        (WalkForward(gap=0, warmup=0, n_windows=200), "do not fit"),  # train = test = 100 // 201 = 0
        (WalkForward(gap=0, warmup=0, n_windows=2, mode="expanding"), "mode 'expanding'"),  # type: ignore[arg-type]
    ],
)
def test_split_bad_parameters_raise_naming_them(spec: WalkForward, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        split_walk_forward(0, 100, spec)


def test_split_empty_range_raises() -> None:
    with pytest.raises(ConfigError, match="start 5 >= end 5"):
        split_walk_forward(5, 5, WalkForward(gap=0, warmup=0, n_windows=1))


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(-10**12, 10**12),
    span=st.integers(1, 10**6),
    n=st.integers(1, 40),
    warmup=st.integers(0, 1_000),
    extra_gap=st.integers(0, 1_000),
    anchored=st.booleans(),
)
def test_split_any_fitting_parameters_obey_the_rules(
    start: int, span: int, n: int, warmup: int, extra_gap: int, anchored: bool
) -> None:
    spec = WalkForward(gap=warmup + extra_gap, warmup=warmup, n_windows=n, mode="anchored" if anchored else "rolling")
    try:
        windows = split_walk_forward(start, start + span, spec)
    except ConfigError as error:
        assert "do not fit" in str(error)
        assert (span - spec.gap) // (n + 1) <= 0  # only when train = test would be empty
        return
    check_windows(windows, warmup)
    assert len(windows) == n
    assert windows[-1].test_end == start + span
    assert all(w.train_start >= start for w in windows)
    assert len({w.test_end - w.test_start for w in windows}) == 1
    if anchored:
        assert all(w.train_start == start for w in windows)
    else:
        assert len({w.train_end - w.train_start for w in windows}) == 1


# --- the validator, and mutations of the splitter that it must catch -----------------------------


def test_check_windows_accepts_the_splitter_output() -> None:
    spec = WalkForward(gap=4, warmup=4, n_windows=3)
    check_windows(split_walk_forward(0, 100, spec), warmup=4)


def test_check_windows_rejects_gap_below_warmup_overlap_hole_and_empty() -> None:
    with pytest.raises(ConfigError, match=r"gap of 2 ns .* less than the warmup 3"):
        check_windows([Window(0, 10, 12, 20)], warmup=3)
    with pytest.raises(ConfigError, match="test window 1 starting at 15 overlaps"):
        check_windows([Window(0, 10, 10, 20), Window(5, 15, 15, 25)], warmup=0)
    with pytest.raises(ConfigError, match="test window 1 starting at 21 leaves a hole"):
        check_windows([Window(0, 10, 10, 20), Window(5, 15, 21, 25)], warmup=0)
    with pytest.raises(ConfigError, match="window 0 is empty"):
        check_windows([Window(0, 0, 10, 20)], warmup=0)
    with pytest.raises(ConfigError, match="no window"):
        check_windows([], warmup=0)


def test_mutated_splitter_with_gap_zero_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    place = walkforward._place_windows

    def gap_zero(*args: Any) -> list[Window]:
        return [replace(w, train_end=w.test_start) for w in place(*args)]

    monkeypatch.setattr(walkforward, "_place_windows", gap_zero)
    with pytest.raises(ConfigError, match="gap of 0 ns"):
        split_walk_forward(0, 100, WalkForward(gap=4, warmup=4, n_windows=3))


def test_mutated_splitter_with_overlapping_tests_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    place = walkforward._place_windows

    def overlapping(*args: Any) -> list[Window]:
        # each test window reaches one step into the next: [28, 53), [52, 77), [76, 100)
        windows = place(*args)
        return [replace(w, test_end=w.test_end + 1) for w in windows[:-1]] + windows[-1:]

    monkeypatch.setattr(walkforward, "_place_windows", overlapping)
    with pytest.raises(ConfigError, match="test window 1 starting at 52 overlaps"):
        split_walk_forward(0, 100, WalkForward(gap=4, warmup=4, n_windows=3))


# --- in-sample vs out-of-sample, and the stitched curve ------------------------------------------


def test_compare_windows_known_curves() -> None:
    # train 100 -> 110 -> 99 -> 108.9: r = [0.1, -0.1, 0.1], mean 1/30, sample std:
    # deviations [1/15, -2/15, 1/15], squares sum 6/225, / 2 = 3/225, std = sqrt(3)/15
    # Sharpe = (1/30) / (sqrt(3)/15) = 1 / (2 sqrt(3)) = 0.288675
    # test 100 -> 101 -> 101.505 -> 102.0125...: r = [0.01, 0.005, 0.005], mean 0.02/3,
    # deviations [1/300, -1/600, -1/600], squares sum 6/360000, / 2 = 1/120000
    # std = 0.0028868, Sharpe = 0.0066667 / 0.0028868 = 2.309401
    train = np.array([100.0, 110.0, 99.0, 108.9])
    test = np.array([100.0, 101.0, 101.505, 101.505 * 1.005])
    (stats,) = compare_windows([train], [test])
    assert stats.is_return == pytest.approx(0.089)
    assert stats.oos_return == pytest.approx(1.01 * 1.005 * 1.005 - 1)
    assert stats.is_sharpe == pytest.approx(1 / (2 * math.sqrt(3)))
    assert stats.oos_sharpe == pytest.approx(2.309401, rel=1e-6)
    assert stats.efficiency == pytest.approx(2.309401 * 2 * math.sqrt(3), rel=1e-6)


def test_compare_windows_losing_train_has_no_efficiency() -> None:
    (stats,) = compare_windows([np.array([100.0, 90.0, 85.0])], [np.array([100.0, 101.0, 103.0])])
    assert stats.is_sharpe < 0
    assert math.isnan(stats.efficiency)


def test_compare_windows_mismatched_lengths_raise() -> None:
    with pytest.raises(ConfigError, match="2 train curves and 1 test curves"):
        compare_windows([np.ones(3), np.ones(3)], [np.ones(3)])


def test_stitch_equity_chains_returns_continuously() -> None:
    # window 1: 100 -> 110 (+10 %); window 2 has its own capital 50 -> 45 -> 54 (-10 %, +20 %)
    # stitched from 1_000: 1_000, 1_100, 990, 1_188
    stitched = stitch_equity([np.array([100.0, 110.0]), np.array([50.0, 45.0, 54.0])], capital=1_000.0)
    assert stitched == pytest.approx([1_000.0, 1_100.0, 990.0, 1_188.0])


def test_stitch_equity_defaults_to_the_first_capital_and_keeps_returns() -> None:
    curves = [np.array([100.0, 105.0, 95.0]), np.array([7.0, 7.7]), np.array([3.0, 2.0, 2.5])]
    stitched = stitch_equity(curves)
    assert stitched[0] == 100.0
    expected = np.concatenate([walkforward.period_returns(c) for c in curves])
    assert walkforward.period_returns(stitched) == pytest.approx(expected)


def test_stitch_equity_bad_curve_raises() -> None:
    with pytest.raises(ConfigError, match=r"test curve 1 starts at 0\.0"):
        stitch_equity([np.array([1.0, 2.0]), np.array([0.0, 1.0])])
    with pytest.raises(ConfigError, match="no test curve"):
        stitch_equity([])
