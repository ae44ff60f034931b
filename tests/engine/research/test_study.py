"""Optuna studies over the event-driven backtester (README "Studies"): each trial is a real
backtest of the range a study may see, refused or unscorable trials are FAIL with the reason, the
same command resumes, trials left RUNNING by a dead worker become FAIL, and the median pruner stops
the trials whose PnL a day so far is below the complete trials' median at that day."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from engine.backtest.run import run_backtest
from engine.research import study as study_mod
from engine.research.spec import StudySpec, load_spec
from engine.research.study import (
    fail_stale,
    hour_grid,
    hourly_path,
    load_or_create,
    open_storage,
    optimize,
    trial_config,
)
from tests.engine.backtest_factory import SYNTH_DAYS, shared_lake

SPEC = """
strategy = "ema_cross_bars"
symbols = ["ETH/USDT:USDT"]
venue = "synthetic"
start = "2024-01-01T23:00Z"
end = "2024-01-02T02:00Z"
objective = "pnl"
min_trips = 1
trials = 6
seed = 3

[params]
fast = { low = 2, high = 12 }
slow = { low = 3, high = 30 }
size = 0.1
size_unit = "base"
"""


@pytest.fixture()
def setup(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[StudySpec, Path]:
    """A spec on the shared synthetic lake; its data root is a copy-free symlink of the lake plus a
    fresh studies folder."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "lake").symlink_to(shared_lake(tmp_path_factory) / "lake")
    spec_path = tmp_path / "trend.toml"
    spec_path.write_text(SPEC, encoding="utf-8")
    return load_spec(spec_path), root


def states(study: optuna.Study) -> list[TrialState]:
    return [t.state for t in study.get_trials(deepcopy=False)]


def test_each_trial_is_the_backtest_of_the_range_before_the_holdout(setup: tuple[StudySpec, Path]) -> None:
    spec, root = setup
    outcome = optimize(spec, root)
    trials = outcome.study.get_trials(deepcopy=False)
    assert outcome.ran == 6 and len(trials) == 6
    # fast >= slow is refused by the strategy: FAIL with its reason, never a zero, and no backtest
    refused = [t for t in trials if t.params["fast"] >= t.params["slow"]]
    for t in refused:
        assert t.state is TrialState.FAIL and "must be smaller than parameter 'slow'" in t.user_attrs["fail_reason"]
        assert "pnl" not in t.user_attrs
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert complete, "the seeded study should find at least one valid trial"
    # the value is the portfolio PnL of the same backtest run by hand, over [start, holdout_start)
    t = complete[0]
    cfg = trial_config(spec, {**spec.fixed, **t.params}, spec.start, spec.holdout_start)
    assert cfg.end == spec.holdout_start < spec.end
    by_hand = run_backtest(cfg, root)
    stats = next(r for r in by_hand.stats.to_pylist() if r["series"] == "portfolio")
    assert t.value == pytest.approx(stats["pnl"], rel=1e-12)
    assert t.user_attrs["round_trips"] == stats["round_trips"]
    assert outcome.best is not None and outcome.best.value == max(c.value for c in complete)
    # each complete trial keeps its portfolio equity at every hour of (start, holdout_start]: 23:00 to
    # 01:24 holds the hours 00:00 and 01:00; a refused trial keeps none
    assert list(hour_grid(spec)) == [spec.start + 3_600 * 10**9, spec.start + 2 * 3_600 * 10**9]
    for c in complete:
        assert np.load(hourly_path(root, spec.name, c.number)).shape == (2,)
    eq = {(r["series"], r["ts"]): r["equity"] for r in by_hand.equity.to_pylist()}
    expected = [eq[("portfolio", int(h))] for h in hour_grid(spec)]
    assert list(np.load(hourly_path(root, spec.name, t.number))) == expected
    assert not any(hourly_path(root, spec.name, t.number).exists() for t in refused)


def test_too_few_round_trips_is_fail_not_zero(setup: tuple[StudySpec, Path]) -> None:
    spec, root = setup
    strict = StudySpec(**{**{f: getattr(spec, f) for f in spec.__dataclass_fields__}, "min_trips": 10_000,
                          "trials": 2})
    outcome = optimize(strict, root)
    assert states(outcome.study) == [TrialState.FAIL, TrialState.FAIL]
    reasons = [t.user_attrs["fail_reason"] for t in outcome.study.get_trials(deepcopy=False)]
    assert all("fewer than min_trips 10000" in r or "must be smaller" in r for r in reasons)


def test_the_same_command_resumes_and_stale_running_trials_fail(setup: tuple[StudySpec, Path]) -> None:
    spec, root = setup
    assert optimize(spec, root, trials=2).ran == 2
    # a worker killed mid-trial leaves it RUNNING
    stale = load_or_create(spec, open_storage(root))
    stale.ask()
    assert states(stale)[-1] is TrialState.RUNNING
    outcome = optimize(spec, root, trials=5)
    assert outcome.stale == 1
    got = states(outcome.study)
    # 2 finished + the stale one (now FAIL) = 3: two more trials reach the 5 asked
    assert len(got) == 5 and got[2] is TrialState.FAIL and TrialState.RUNNING not in got
    assert outcome.ran == 2
    assert outcome.study.trials[2].user_attrs["fail_reason"].startswith("its worker stopped")
    assert optimize(spec, root, trials=5).ran == 0  # complete: the command does nothing more


def test_a_study_running_elsewhere_keeps_its_running_trials(setup: tuple[StudySpec, Path]) -> None:
    spec, root = setup
    study = load_or_create(spec, open_storage(root))
    study.ask()
    with study_mod.study_lock(root, spec.name) as alone:
        assert alone  # this "other command" holds the lock
        outcome = optimize(spec, root, trials=2)
    assert outcome.stale == 0 and TrialState.RUNNING in states(outcome.study)
    assert fail_stale(outcome.study) == 1


def test_each_worker_reads_its_partitions_once(setup: tuple[StudySpec, Path], monkeypatch: Any) -> None:
    spec, root = setup
    import engine.store.memo as memo

    opened: list[Any] = []
    real = memo.pq.ParquetFile

    def counting(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(memo.pq, "ParquetFile", counting)
    outcome = optimize(spec, root, trials=4)
    assert len([t for t in outcome.study.trials if t.state is TrialState.COMPLETE]) >= 2
    # several backtests, each file opened once
    assert opened and len(opened) == len(set(opened))


MEDIAN = 'pruner = "median"\npruner_startup_trials = 2\n'
# Three trading days of the four-day lake (the fourth is the hold-out): one replay window, one step, a day
DAYS_SPEC = SPEC.replace('start = "2024-01-01T23:00Z"', 'start = "2024-01-01"').replace(
    'end = "2024-01-02T02:00Z"', 'end = "2024-01-05"\nholdout = 0.25')


@pytest.fixture()
def days(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int], tuple[StudySpec, Path]]:
    """A data root on the four-day lake, and a maker of specs on it: `head` first, then DAYS_SPEC
    with `trials` trials."""
    root = tmp_path / "days"
    root.mkdir()
    (root / "lake").symlink_to(shared_lake(tmp_path_factory, SYNTH_DAYS) / "lake")

    def make(head: str, trials: int) -> tuple[StudySpec, Path]:
        path = tmp_path / "trend.toml"
        path.write_text(head + DAYS_SPEC.replace("trials = 6", f"trials = {trials}"), encoding="utf-8")
        return load_spec(path), root

    return make


def test_the_median_pruner_stops_the_trials_below_the_median_of_the_complete_ones(days: Any) -> None:
    spec, root = days(MEDIAN, 12)
    trials = optimize(spec, root).study.get_trials(deepcopy=False)
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(trials) == 12 and pruned and len(complete) >= 2
    # a trial reports its PnL a day so far after each trading day: days 0, 1 and 2; after the third its
    # PnL over three days (marked at the last trades, not the mark bars of the results: close, not equal)
    for t in complete:
        assert set(t.intermediate_values) == {0, 1, 2}
        assert 3 * t.intermediate_values[2] == pytest.approx(t.value, abs=1.0)
    for p in pruned:
        # pruned for the stated reason, at the day it stopped: its best PnL a day so far is below the median
        # of the trials complete before it (one job: the lower numbers) at that day, after the two startup ones
        day = p.last_step
        assert day is not None and set(p.intermediate_values) == set(range(day + 1))
        before = [t.intermediate_values[day] for t in complete if t.number < p.number]
        assert len(before) >= 2
        assert max(p.intermediate_values.values()) < float(np.median(before))
        # nothing of it is kept: no statistics, no hourly equity, no failure
        assert "pnl" not in p.user_attrs and "fail_reason" not in p.user_attrs
        assert not hourly_path(root, spec.name, p.number).exists()
    assert all(hourly_path(root, spec.name, t.number).exists() for t in complete)


def test_the_pruner_s_warmup_days_are_never_pruned(days: Any) -> None:
    spec, root = days(MEDIAN + "pruner_warmup_days = 1\n", 12)
    pruned = [t for t in optimize(spec, root).study.get_trials(deepcopy=False) if t.state is TrialState.PRUNED]
    assert pruned and all(p.last_step is not None and p.last_step >= 1 for p in pruned)


def test_without_a_pruner_nothing_is_reported_or_pruned(days: Any) -> None:
    spec, root = days("", 12)
    trials = optimize(spec, root).study.get_trials(deepcopy=False)
    assert len(trials) == 12 and TrialState.PRUNED not in {t.state for t in trials}
    assert all(t.intermediate_values == {} for t in trials)


def test_a_resumed_study_prunes_with_its_spec_s_pruner(days: Any) -> None:
    spec, root = days(MEDIAN, 12)
    assert optimize(spec, root, trials=3).ran == 3
    outcome = optimize(spec, root)  # another command: the pruner comes from the spec again
    trials = outcome.study.get_trials(deepcopy=False)
    assert outcome.ran == 9 and len(trials) == 12
    assert any(t.state is TrialState.PRUNED for t in trials[3:])
