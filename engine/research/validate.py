"""Validate a study's trial (README "The gate"): walk-forward out of sample, the hold-out, the
overfitting statistics, and the gate's thresholds, each with its measured value and verdict.

- Walk-forward: the study's range [start, holdout_start) is cut into the spec's windows with a gap
  of the strategy's largest warm-up (its search space at its upper bounds) between each train and
  its test. On each train a sub-study (`NAME.wfK`, the spec's sampler and seed, `walk_forward.trials`
  trials) picks the best parameters; they are backtested on the test. The tests' equity curves are
  stitched into one out-of-sample curve: its Sharpe (annualised from minute returns, as the stats)
  and its maximum drawdown.
- Hold-out: the trial's parameters backtested on [holdout_start, end), which no study replayed.
- The gate compares every threshold of the spec's [gate] with its measured value.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from engine.backtest.run import run_backtest
from engine.model.errors import UserError
from engine.model.time import NS_PER_DAY, interval_ns, ns_to_iso
from engine.research.diagnostics import diagnose
from engine.research.registry import source_hash
from engine.research.spec import StudySpec
from engine.research.study import StudyChanged, delete_study, open_storage, optimize, studies_dir, trial_config
from engine.research.walkforward import WalkForward, split_walk_forward, stitch_equity
from engine.results.stats import max_drawdown, minute_returns, series_curve, sharpe
from engine.store.memo import MemoLake
from engine.strategies.catalog import strategy_class


@dataclass(frozen=True)
class WindowResult:
    train_start: int
    train_end: int
    test_start: int
    test_end: int
    params: dict[str, Any]
    in_sample: float  # the sub-study's best objective value
    oos_sharpe: float
    oos_pnl: float
    oos_value: float = math.nan  # the objective's figure on the test
    oos_trips: int | None = None  # closed round trips on the test


@dataclass(frozen=True)
class Check:
    name: str
    threshold: float
    value: float
    passed: bool


@dataclass(frozen=True)
class Validation:
    study: str
    trial: int
    params: dict[str, Any]
    windows: list[WindowResult]
    oos_sharpe: float
    oos_max_drawdown: float
    holdout: dict[str, Any]
    dsr: float
    pbo: float
    stability: float
    checks: list[Check]
    source_hash: str = ""  # of the strategy's code when it was validated (registry.source_hash)
    data_fingerprint: str = ""  # of the data the hold-out replayed
    objective: str = ""  # the spec's: what in_sample and oos_value measure

    @property
    def passed(self) -> bool:
        """Every threshold passed; a spec without a [gate] passes nothing."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        return out


def warmup_gap(spec: StudySpec) -> int:
    """The strategy's largest warm-up over the search space, in ns (bars x the largest interval)."""
    cls = strategy_class(spec.strategy)
    params = dict(spec.fixed)
    for d in spec.space:
        params[d.name] = max(d.choices, key=_interval_or_value) if d.kind == "choice" else \
            (int(d.high) if d.kind == "int" else d.high)
    try:
        strat = cls(**params)
    except UserError as exc:
        raise UserError(f"walk-forward: the warm-up at the space's upper bounds cannot be read ({exc})") from None
    warm = strat.warmup()
    if warm.ticks and not warm.bars:
        raise UserError(f"walk-forward: {spec.strategy} warms up on {warm.ticks} trades, which has no duration; "
                        "give it a bar warm-up")
    interval = strat.bar_interval
    return warm.bars * (interval_ns(interval) if isinstance(interval, str) else 0)


def _interval_or_value(v: Any) -> float:
    try:
        return float(interval_ns(v)) if isinstance(v, str) else float(v)
    except UserError:
        return 0.0


def _portfolio(result: Any) -> tuple[dict[str, Any], np.ndarray]:
    """The portfolio's statistics and its equity curve, the capital first."""
    stats = next(r for r in result.stats.to_pylist() if r["series"] == "portfolio")
    _ts, equity = series_curve(result.equity, "portfolio")
    return stats, np.concatenate(([stats["capital"]], equity))


def validate(spec: StudySpec, data_root: str | Path, trial: int | None = None, storage_url: str | None = None,
             trials_per_window: int | None = None) -> Validation:
    """Validate `trial` (default: the study's best) of the study `spec` names; store and return it."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name=spec.name, storage=open_storage(data_root, storage_url))
    complete = {t.number: t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    if not complete:
        raise UserError(f"study {spec.name}: no complete trial to validate (okxbot studies show {spec.name})")
    if trial is None:
        trial = max(complete.values(), key=lambda t: t.value if t.value is not None else -math.inf).number
    if trial not in complete:
        raise UserError(f"study {spec.name}: trial {trial} is not a complete trial")
    params = {**spec.fixed, **complete[trial].params}
    lake = MemoLake.at(data_root)
    gap = warmup_gap(spec)
    windows = split_walk_forward(spec.start, spec.holdout_start,
                                 WalkForward(gap=gap, warmup=gap, n_windows=spec.walk_forward.windows,
                                             mode=spec.walk_forward.mode))  # type: ignore[arg-type]
    short = [k for k, w in enumerate(windows) if w.train_end - w.train_start < gap]
    if short:
        w = windows[short[0]]
        raise UserError(f"walk-forward: window {short[0]}'s train ({(w.train_end - w.train_start) // 60_000_000_000} "
                        f"min) is shorter than the warm-up gap ({gap // 60_000_000_000} min, the space's largest "
                        "warm-up): use fewer [walk_forward] windows, a longer range, or narrower [params]")
    per_window = trials_per_window or spec.walk_forward.trials or max(5, spec.trials // max(1, len(windows)))
    results, curves = [], []
    for k, w in enumerate(windows):
        sub = replace(spec, name=f"{spec.name}.wf{k}", start=w.train_start, end=w.train_end, holdout=0.0,
                      trials=per_window)
        try:
            best = optimize(sub, data_root, storage_url=storage_url).best
        except StudyChanged:  # a sub-study of an earlier spec (other windows, space...): derived, so redone
            delete_study(data_root, sub.name, storage_url)
            best = optimize(sub, data_root, storage_url=storage_url).best
        if best is None:
            results.append(WindowResult(w.train_start, w.train_end, w.test_start, w.test_end, {}, math.nan,
                                        math.nan, math.nan))
            continue
        chosen = {**spec.fixed, **best.params}
        stats, curve = _portfolio(run_backtest(trial_config(spec, chosen, w.test_start, w.test_end), lake))
        curves.append(curve)
        results.append(WindowResult(w.train_start, w.train_end, w.test_start, w.test_end, best.params,
                                    float(best.value if best.value is not None else math.nan),
                                    float(stats["sharpe"]), float(stats["pnl"]), _number(stats.get(spec.objective)),
                                    int(stats.get("round_trips") or 0)))
    stitched = stitch_equity(curves) if curves else np.empty(0)
    hold_stats: dict[str, Any] = {}
    fingerprint = ""
    if spec.holdout_start < spec.end:
        held = run_backtest(trial_config(spec, params, spec.holdout_start, spec.end), lake)
        hold_stats, _ = _portfolio(held)
        fingerprint = held.data_fingerprint
    d = diagnose(study, data_root)
    # the stitched curve, read as the statistics read a run (capital first, then each minute)
    oos_sharpe = sharpe(minute_returns(stitched[1:], stitched[0])) if stitched.size else math.nan
    oos_dd = max_drawdown(stitched[1:], stitched[0]) if stitched.size else math.nan
    measured = {
        "min_oos_sharpe": oos_sharpe,
        "min_holdout_sharpe": float(hold_stats.get("sharpe", math.nan)),
        "max_drawdown": max(oos_dd, float(hold_stats.get("max_drawdown", math.nan))),
        "min_trips": float(complete[trial].user_attrs.get("round_trips") or 0),
        "min_dsr": d.dsr,
        "max_pbo": d.pbo,
        "min_stability": d.stability_ratio,
    }
    checks = [Check(name, limit, measured[name],
                    bool(measured[name] <= limit if name.startswith("max_") else measured[name] >= limit))
              for name, limit in spec.gate.items()]  # NaN never passes
    out = Validation(spec.name, trial, complete[trial].params, results, oos_sharpe, oos_dd,
                     {k: hold_stats.get(k) for k in ("pnl", "sharpe", "max_drawdown", "round_trips")},
                     d.dsr, d.pbo, d.stability_ratio, checks, source_hash(spec.strategy), fingerprint, spec.objective)
    path = studies_dir(data_root) / spec.name / f"validation-{trial}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(out.to_json()), indent=2) + "\n", encoding="utf-8")
    return out


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _plain(value: Any) -> Any:
    """JSON-able: NaN as null, numpy numbers as Python ones."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def walk_forward_lines(v: dict[str, Any]) -> list[str]:
    """A validation (Validation.to_json() or its stored validation-N.json) as lines of at most 100
    columns: one row per window, the stitched out-of-sample line, the hold-out line and the gate."""
    objective = str(v.get("objective") or "value")[:7]
    lines = [_cut(f"walk-forward of trial {v['trial']}: " + ", ".join(f"{k}={x}" for k, x in v["params"].items())),
             f"{'win':>3} {'train':<24} {'test':<24} {'IS ' + objective:>11} {'OOS ' + objective:>11} "
             f"{'trips':>5}  best params"]
    for k, w in enumerate(v["windows"]):
        trips = w.get("oos_trips")
        params = ", ".join(f"{p}={x}" for p, x in w["params"].items()) or "none complete"
        lines.append(_cut(f"{k:>3} {_span(w['train_start'], w['train_end']):<24} "
                          f"{_span(w['test_start'], w['test_end']):<24} {_num(w['in_sample']):>11} "
                          f"{_num(w.get('oos_value')):>11} {'-' if trips is None else trips:>5}  {params}"))
    dd = v.get("oos_max_drawdown")
    lines.append(f"out of sample (stitched): sharpe {_num(v.get('oos_sharpe'))}, max drawdown "
                 + (f"{dd:.2%}" if _finite(dd) else "-"))
    lines.append(_cut("hold-out: " + ", ".join(f"{k} {_num(x)}" for k, x in v.get("holdout", {}).items())))
    checks = v.get("checks", [])
    lines.append("gate:" if checks else "gate: no thresholds in the spec's [gate]: nothing can pass")
    lines += [f"  {'PASS' if c['passed'] else 'FAIL'}  {c['name']} {c['threshold']:g}: measured {_num(c['value'])}"
              for c in checks]
    passed = v.get("passed", bool(checks) and all(c["passed"] for c in checks))
    lines.append("verdict: " + ("PASSED" if passed else "FAILED"))
    return lines


def _span(start: int, end: int) -> str:
    """[start, end) in 22 to 24 columns: dates when both are midnights, else month-day and time."""
    if start % NS_PER_DAY == 0 and end % NS_PER_DAY == 0:
        return f"{ns_to_iso(start)[:10]}..{ns_to_iso(end)[:10]}"
    return f"{ns_to_iso(start)[5:16]}..{ns_to_iso(end)[5:16]}".replace("T", " ")


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _num(x: Any) -> str:
    """A figure as 4 significant digits, "-" when missing or not finite."""
    return f"{x:.4g}" if _finite(x) else "-"


def _cut(line: str) -> str:
    return line if len(line) <= 100 else line[:97] + "..."
