"""A study's overfitting statistics from its complete trials' stored hourly equity (README
"Validation"); pruned trials are not among them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from engine.research.diagnostics import diagnose
from engine.research.study import hourly_path


def study_with(tmp_path: Path, curves: list[np.ndarray], values: list[float]) -> optuna.Study:
    """An in-memory study whose trial k has parameter x = k, the value given and the hourly equity given."""
    study = optuna.create_study(study_name="s", direction="maximize")
    for k, (curve, value) in enumerate(zip(curves, values, strict=True)):
        study.add_trial(create_trial(params={"x": k}, distributions={"x": IntDistribution(0, 100)}, value=value))
        path = hourly_path(tmp_path, "s", k)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, curve)
    return study


def curve(returns: np.ndarray) -> np.ndarray:
    return 1_000.0 * np.concatenate(([1.0], np.cumprod(1 + returns)))


def test_a_planted_edge_is_significant_and_not_overfit(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    noise = [curve(rng.normal(0, 0.01, 2_000)) for _ in range(20)]
    edge = curve(rng.normal(0.0015, 0.01, 2_000))  # per-period Sharpe 0.15
    d = diagnose(study_with(tmp_path, [*noise, edge], [0.0] * 20 + [1.0]), tmp_path)
    assert (d.trials, d.best) == (21, 20)
    assert d.dsr > 0.95 and d.pbo < 0.1 and d.notes == ()


def test_noise_is_neither_significant_nor_safe(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    curves = [curve(rng.normal(0, 0.01, 2_000)) for _ in range(20)]
    sharpe = [float(np.mean(np.diff(c) / c[:-1]) / np.std(np.diff(c) / c[:-1], ddof=1)) for c in curves]
    d = diagnose(study_with(tmp_path, curves, sharpe), tmp_path)
    assert d.best == int(np.argmax(sharpe)) and d.dsr < 0.95 and 0.2 < d.pbo < 0.8


def test_too_short_a_history_says_why(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    d = diagnose(study_with(tmp_path, [curve(rng.normal(0, 0.01, 10)) for _ in range(3)], [1.0, 2.0, 3.0]),
                 tmp_path)
    assert d.trials == 3 and np.isnan(d.dsr) and np.isnan(d.pbo)
    assert any(n.startswith("DSR:") for n in d.notes) and any(n.startswith("PBO:") for n in d.notes)


def test_pruned_trials_are_left_out(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    noise = [curve(rng.normal(0, 0.01, 2_000)) for _ in range(20)]
    edge = curve(rng.normal(0.0015, 0.01, 2_000))
    alone = diagnose(study_with(tmp_path / "alone", noise, [0.0] * 20), tmp_path / "alone")
    # a pruned trial (value: its last reported one) with the best curve, even were its hourly equity on disk
    study = study_with(tmp_path, noise, [0.0] * 20)
    study.add_trial(create_trial(params={"x": 20}, distributions={"x": IntDistribution(0, 100)},
                                 state=TrialState.PRUNED, value=5.0, intermediate_values={0: 5.0}))
    np.save(hourly_path(tmp_path, "s", 20), edge)
    d = diagnose(study, tmp_path)
    assert d.trials == 20 and d.best != 20
    assert (d.best, d.dsr, d.pbo, d.stability_ratio) == (alone.best, alone.dsr, alone.pbo, alone.stability_ratio)
