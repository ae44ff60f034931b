"""Validating a study's trial (README "The gate"): walk-forward sub-studies on each train, the best
backtested on each test, the hold-out, and every gate threshold with its measured value."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest

from engine.backtest.run import run_backtest
from engine.model.time import NS_PER_MIN
from engine.research.spec import load_spec
from engine.research.study import open_storage, optimize, studies_dir, trial_config
from engine.research.validate import validate, warmup_gap
from tests.engine.backtest_factory import shared_lake
from tests.engine.research.test_study import SPEC

GATE = """
[walk_forward]
windows = 2
trials = 3

[gate]
min_oos_sharpe = -1000.0
min_holdout_sharpe = 1000.0
max_drawdown = 0.5
min_trips = 1
max_pbo = 0.5
"""


@pytest.fixture()
def setup(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    root = tmp_path / "root"
    root.mkdir()
    (root / "lake").symlink_to(shared_lake(tmp_path_factory) / "lake")
    path = tmp_path / "trend.toml"
    path.write_text(SPEC + GATE, encoding="utf-8")
    spec = load_spec(path)
    optimize(spec, root)
    return spec, root


def stats_of(result: object) -> dict:
    return next(r for r in result.stats.to_pylist() if r["series"] == "portfolio")  # type: ignore[attr-defined]


def test_walk_forward_holdout_and_gate(setup: tuple) -> None:
    spec, root = setup
    # the warm-up at the space's upper bounds: slow 30 one-minute bars, the gap between train and test
    assert warmup_gap(spec) == 30 * NS_PER_MIN
    v = validate(spec, root)
    # 23:00 .. 01:24 (the hold-out starts at 01:24): span 144 min - gap 30 = 114 = 3 x 38 min
    assert [(w.test_start, w.test_end) for w in v.windows] == [
        (spec.holdout_start - 76 * NS_PER_MIN, spec.holdout_start - 38 * NS_PER_MIN),
        (spec.holdout_start - 38 * NS_PER_MIN, spec.holdout_start)]
    for w in v.windows:
        assert w.test_start - w.train_end == 30 * NS_PER_MIN and w.train_end - w.train_start == 38 * NS_PER_MIN
    # each window's parameters come from its own sub-study on its train, stored next to the study
    storage = open_storage(root)
    for k, w in enumerate(v.windows):
        sub = optuna.load_study(study_name=f"trend.wf{k}", storage=storage)
        assert len(sub.trials) == 3
        if w.params:
            assert w.params == sub.best_trial.params
            by_hand = stats_of(run_backtest(trial_config(spec, {**spec.fixed, **w.params}, w.test_start,
                                                         w.test_end), root))
            assert (w.oos_pnl, w.oos_sharpe) == (pytest.approx(by_hand["pnl"]), pytest.approx(by_hand["sharpe"],
                                                                                            nan_ok=True))
            # the objective's own figure (pnl here) and the round trips on the test, for `studies show`
            assert (w.oos_value, w.oos_trips) == (pytest.approx(by_hand["pnl"]), by_hand["round_trips"])
    # the hold-out is the trial's parameters on [holdout_start, end), which no study replayed
    held = stats_of(run_backtest(trial_config(spec, {**spec.fixed, **v.params}, spec.holdout_start, spec.end), root))
    assert v.holdout["pnl"] == pytest.approx(held["pnl"])
    # every threshold of [gate] with its measured value: an impossible hold-out Sharpe fails, so the gate fails
    checks = {c.name: c for c in v.checks}
    assert set(checks) == {"min_oos_sharpe", "min_holdout_sharpe", "max_drawdown", "min_trips", "max_pbo"}
    assert not checks["min_holdout_sharpe"].passed and not v.passed
    assert checks["min_trips"].value >= 1 and checks["min_trips"].passed
    assert math.isnan(checks["max_pbo"].value) and not checks["max_pbo"].passed  # 2 hours: no PBO, never a pass
    stored = json.loads((studies_dir(root) / "trend" / f"validation-{v.trial}.json").read_text())
    assert stored["passed"] is False and stored["checks"][0]["name"] == "min_oos_sharpe"
    assert stored["objective"] == "pnl" and len(stored["windows"]) == 2
