"""A study's overfitting statistics (README "Validation"), from its COMPLETE trials: the deflated
Sharpe ratio of the best trial, the probability of backtest overfitting over the trials' hourly
returns, and the stability of the objective around the best parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from engine.model.errors import ConfigError
from engine.research.overfit import deflated_sharpe, probability_of_overfitting, sharpe_ratios, stability
from engine.research.study import hourly_path
from engine.research.walkforward import period_returns

PBO_BLOCKS = 16


@dataclass(frozen=True)
class Diagnostics:
    trials: int  # COMPLETE trials with their hourly equity
    best: int | None  # the best trial's number
    dsr: float
    pbo: float
    stability_ratio: float
    neighbours: int
    notes: tuple[str, ...] = ()  # why a figure is not available


def diagnose(study: optuna.Study, data_root: str | Path, blocks: int = PBO_BLOCKS,
             relative: float = 0.1) -> Diagnostics:
    """The three statistics of `study`; a figure that cannot be computed is NaN with a note saying why."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if hourly_path(data_root, study.study_name, t.number).is_file()]
    notes: list[str] = []
    if not complete:
        return Diagnostics(0, None, math.nan, math.nan, math.nan, 0, ("no complete trial with its hourly equity",))
    curves = [np.load(hourly_path(data_root, study.study_name, t.number)) for t in complete]
    returns = np.column_stack([period_returns(c) for c in curves])  # T x N
    values = np.array([float(t.value if t.value is not None else math.nan) for t in complete])
    best_i = int(np.nanargmax(values))
    dsr = pbo = math.nan
    sharpes = sharpe_ratios(returns)
    try:
        variance = float(np.var(sharpes, ddof=1)) if len(complete) > 1 else 0.0
        dsr = deflated_sharpe(returns[:, best_i], len(complete), variance)
    except ConfigError as exc:
        notes.append(f"DSR: {exc}")
    if len(complete) < 2:
        notes.append("PBO: needs at least two complete trials")
    else:
        try:
            pbo = probability_of_overfitting(returns, blocks)
        except ConfigError as exc:
            notes.append(f"PBO: {exc}")
    names = sorted({k for t in complete for k, v in t.params.items() if isinstance(v, int | float)})
    ratio, neighbours = math.nan, 0
    if names and len(complete) > 1:
        params = np.array([[float(t.params.get(k, math.nan)) for k in names] for t in complete])
        stab = stability(params, values, best=best_i, relative=relative)
        ratio, neighbours = stab.ratio, stab.neighbours
        if neighbours == 0:
            notes.append(f"stability: no trial within {relative:g} of each parameter's range of the best")
    return Diagnostics(len(complete), complete[best_i].number, dsr, pbo, ratio, neighbours, tuple(notes))
