"""Optuna studies whose objective is the event-driven backtester (README "Studies").

A study runs the spec's strategy over the range a study may see ([start, holdout_start): the
hold-out is never replayed here) once per trial, with the trial's parameters, and scores the
portfolio's figure named by the spec's objective. A trial whose parameters the strategy refuses
(`validate`, `ordered`), with fewer closed round trips than `min_trips`, or whose figure is
undefined (a Calmar under 30 days, a Sortino without a losing minute) is FAIL with the reason in
its user attribute `fail_reason`, never a zero.

With a pruner (`pruner = "median"`) a trial reports its PnL a day so far (its PnL so far over the
days replayed so far, whatever the objective) after each replay window (step k: the window ends in
the k-th UTC day of the study's range) and is PRUNED, its backtest stopped and nothing of it kept,
when Optuna's median rule says so: its best value over its steps is below the median of the complete
trials' at that step. The rule compares values of different steps, so the value is a daily mean (one
scale all along), not the running PnL (fees alone make it drift down: a good first day would shield
a trial for ever). Without a pruner nothing is reported.

Storage: Optuna's journal file `<data-root>/studies/journal.log` (safe for several worker
processes), or a database URL. One `okxbot optimize` holds `<data-root>/studies/NAME.lock` while
it runs; a command that takes the lock knows no other is running, so trials still RUNNING were left
by a killed worker and become FAIL. The command runs the trials the study still lacks, so the same
command resumes an interrupted study. Each worker reads its data once (`MemoLake`).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.errors import UserError
from engine.model.time import NS_PER_DAY, NS_PER_MIN, ns_to_iso
from engine.research.files import try_lock
from engine.research.journal import JournalFile
from engine.research.spec import Dimension, StudySpec, sim_config
from engine.results.stats import series_curve
from engine.store.lake import Lake
from engine.store.memo import MemoLake
from engine.strategies.catalog import build_strategy

JOURNAL = "journal.log"
NS_PER_HOUR = 60 * NS_PER_MIN
FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


class InvalidTrial(Exception):
    """A trial that cannot be scored (refused parameters, too few round trips, an undefined figure)."""


def studies_dir(data_root: str | Path) -> Path:
    return Path(data_root) / "studies"


def open_storage(data_root: str | Path, url: str | None = None) -> optuna.storages.BaseStorage:
    """The journal file under the data root, or the database at `url`."""
    if url:
        return optuna.storages.RDBStorage(url, heartbeat_interval=60, grace_period=180)
    folder = studies_dir(data_root)
    folder.mkdir(parents=True, exist_ok=True)
    backend = JournalFile(str(folder / JOURNAL))
    return optuna.storages.JournalStorage(backend)


def sampler_for(spec: StudySpec, worker: int = 0) -> optuna.samplers.BaseSampler:
    """The spec's seeded sampler; worker k of several gets seed + k (several workers are not reproducible)."""
    seed = spec.seed + worker
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def pruner_for(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The spec's pruner: Optuna's median rule over trading days, or none."""
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=spec.pruner_startup_trials,
                                           n_warmup_steps=spec.pruner_warmup_days)
    return optuna.pruners.NopPruner()


def suggest(trial: optuna.Trial, dim: Dimension) -> Any:
    if dim.kind == "choice":
        return trial.suggest_categorical(dim.name, list(dim.choices))
    if dim.kind == "int":
        return trial.suggest_int(dim.name, int(dim.low), int(dim.high), log=dim.log)
    return trial.suggest_float(dim.name, dim.low, dim.high, log=dim.log)


def trial_config(spec: StudySpec, params: dict[str, Any], start: int, end: int) -> BacktestConfig:
    """The backtest of one trial over [start, end)."""
    return BacktestConfig(strategies=(StrategySpec(spec.strategy, params),), symbols=spec.symbols, start=start,
                          end=end, capital=spec.capital, venue=spec.venue, sim=sim_config(spec.backtest),
                          warmup=bool(spec.backtest.get("warmup", True)))


def score(spec: StudySpec, stats: dict[str, Any]) -> float:
    """The objective's value of a trial's portfolio statistics; InvalidTrial when it cannot count."""
    trips = int(stats.get("round_trips") or 0)
    if trips < spec.min_trips:
        raise InvalidTrial(f"{trips} closed round trips, fewer than min_trips {spec.min_trips}")
    value = stats.get(spec.objective)
    if value is None or not math.isfinite(float(value)):
        raise InvalidTrial(f"{spec.objective} is undefined for this trial ({value!r})")
    return float(value)


class Objective:
    """The trial function of one worker: its lake is read once and kept in memory."""

    def __init__(self, spec: StudySpec, data_root: str | Path, lake: Lake | None = None) -> None:
        self.spec = spec
        self.data_root = Path(data_root)
        self.lake = lake or MemoLake.at(data_root)

    def __call__(self, trial: optuna.Trial) -> float:
        spec = self.spec
        params = {**spec.fixed, **{d.name: suggest(trial, d) for d in spec.space}}
        try:
            build_strategy(spec.strategy, params)  # refused parameters: FAIL without a backtest
        except UserError as exc:
            return self._fail(trial, str(exc))
        report = None if spec.pruner == "none" else self._reporter(trial)
        with _quiet("okxbot.engine"):  # a trial's warnings (leverage) stay with its result, not on stderr
            result = run_backtest(trial_config(spec, params, spec.start, spec.holdout_start), self.lake, report)
        stats = next(r for r in result.stats.to_pylist() if r["series"] == "portfolio")
        save_hourly(self.data_root, spec, trial.number, result.equity, stats["capital"])
        for key in ("pnl", "sharpe", "sortino", "calmar", "max_drawdown", "round_trips"):
            value = stats.get(key)
            trial.set_user_attr(key, None if value is None or (isinstance(value, float) and math.isnan(value))
                                else value)
        try:
            return score(spec, stats)
        except InvalidTrial as exc:
            return self._fail(trial, str(exc))

    def _reporter(self, trial: optuna.Trial) -> Callable[[int, float], None]:
        """The backtest's hook: at the end of each replay window report the PnL a day so far at the
        window's last day (its number from the study's first), stop the trial when the pruner says so."""
        start = self.spec.start

        def report(end: int, pnl: float) -> None:
            step = (end - 1) // NS_PER_DAY - start // NS_PER_DAY
            daily = pnl / ((end - start) / NS_PER_DAY)
            trial.report(daily, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after trading day {step}: PnL {daily:.4g} a day so far")

        return report

    @staticmethod
    def _fail(trial: optuna.Trial, reason: str) -> float:
        trial.set_user_attr("fail_reason", reason)
        raise InvalidTrial(reason)


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    import logging

    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def hour_grid(spec: StudySpec) -> np.ndarray:
    """The hours every trial's equity is read at: each whole hour in (start, holdout_start]."""
    first = (spec.start // NS_PER_HOUR + 1) * NS_PER_HOUR
    return np.arange(first, spec.holdout_start + 1, NS_PER_HOUR, dtype=np.int64)


def hourly_path(data_root: str | Path, study: str, number: int) -> Path:
    return studies_dir(data_root) / study / "hourly" / f"trial-{number}.npy"


def save_hourly(data_root: str | Path, spec: StudySpec, number: int, equity: Any, capital: float) -> None:
    """The portfolio's equity at each hour of `hour_grid` (the capital before its first minute), kept
    for the overfitting statistics (README "Validation"); written whole or not at all."""
    ts, eq = series_curve(equity, "portfolio")
    hours = hour_grid(spec)
    at = np.searchsorted(ts, hours, side="right") - 1
    values = np.where(at >= 0, eq[np.maximum(at, 0)], capital) if ts.size else np.full(hours.size, capital)
    path = hourly_path(data_root, spec.name, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, values)
    tmp.replace(path)


def study_lock(data_root: str | Path, name: str) -> contextlib.AbstractContextManager[bool]:
    """Hold `<data-root>/studies/NAME.lock` when free: True when this command is the only one
    running the study, False when another one holds it (then RUNNING trials may be alive)."""
    return try_lock(studies_dir(data_root) / f"{name}.lock")


def fail_stale(study: optuna.Study) -> int:
    """Mark the study's RUNNING trials FAIL (their worker is gone); return how many."""
    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in stale:
        study._storage.set_trial_user_attr(t._trial_id, "fail_reason", "its worker stopped (killed or interrupted)")
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    return len(stale)


@dataclass
class StudyOutcome:
    """What `optimize` did: the study, the trials it ran now, the stale trials it failed."""

    study: optuna.Study
    ran: int
    stale: int

    @property
    def best(self) -> FrozenTrial | None:
        complete = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return max(complete, key=lambda t: t.value or -math.inf) if complete else None


class StudyChanged(UserError):
    """The stored study was run under a spec that decides its trials differently."""


def trial_basis(spec: StudySpec) -> dict[str, Any]:
    """What decides a trial's value (not how many trials, the walk-forward or the gate): a study
    keeps it, and refuses to go on under another (README "Studies")."""
    basis = {
        "strategy": spec.strategy, "symbols": list(spec.symbols), "venue": spec.venue,
        "start": ns_to_iso(spec.start), "end": ns_to_iso(spec.holdout_start), "objective": spec.objective,
        "min_trips": spec.min_trips, "sampler": spec.sampler, "seed": spec.seed, "pruner": spec.pruner,
        "pruner_startup_trials": spec.pruner_startup_trials, "pruner_warmup_days": spec.pruner_warmup_days,
        "capital": spec.capital, "fixed": spec.fixed, "backtest": spec.backtest,
        "space": [[d.name, d.kind, d.low, d.high, d.log, list(d.choices)] for d in spec.space],
    }
    result: dict[str, Any] = json.loads(json.dumps(basis, sort_keys=True, default=str))  # as stored
    return result


def load_or_create(spec: StudySpec, storage: optuna.storages.BaseStorage, worker: int = 0) -> optuna.Study:
    """The spec's study, created when new; StudyChanged when it was run under another basis."""
    study = optuna.create_study(study_name=spec.name, storage=storage, sampler=sampler_for(spec, worker),
                                pruner=pruner_for(spec), direction="maximize", load_if_exists=True)
    basis, stored = trial_basis(spec), study.user_attrs.get("basis")
    if stored is not None and stored != basis:
        changed = [k for k in sorted(set(basis) | set(stored)) if basis.get(k) != stored.get(k)]
        first = changed[0]
        more = f" (and {len(changed) - 1} more: {', '.join(changed[1:])})" if len(changed) > 1 else ""
        raise StudyChanged(
            f"study {spec.name!r} was run with {first} = {json.dumps(stored.get(first))}, the spec now says "
            f"{json.dumps(basis.get(first))}{more}: its trials would not compare. Delete it (okxbot studies "
            f"delete {spec.name}) or give the spec another file name")
    if stored is None:  # a new study, or one stored before the basis was kept
        study.set_user_attr("basis", basis)
    if study.user_attrs.get("spec") != str(spec.path):
        study.set_user_attr("spec", str(spec.path))
    if study.user_attrs.get("strategy") != spec.strategy:
        study.set_user_attr("strategy", spec.strategy)
    return study


def delete_study(data_root: str | Path, name: str, storage_url: str | None = None) -> list[str]:
    """Delete a study, its walk-forward sub-studies (NAME.wfK) and its files under the data root
    (hourly equity, validations); return the names of the studies deleted. Refused while an
    `okxbot optimize` of it runs."""
    import shutil

    if storage_url is None and not (studies_dir(data_root) / JOURNAL).is_file():
        return []  # no journal: nothing to delete (and none created)
    storage = open_storage(data_root, storage_url)
    mine = re.compile(re.escape(name) + r"(\.wf\d+)?")
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage) if mine.fullmatch(s.study_name))
    for n in names:
        with study_lock(data_root, n) as alone:
            if not alone:
                raise UserError(f"study {n!r} is running (an okxbot optimize holds {studies_dir(data_root)}/{n}.lock)")
            optuna.delete_study(study_name=n, storage=storage)
            shutil.rmtree(studies_dir(data_root) / n, ignore_errors=True)
    return names


def optimize(spec: StudySpec, data_root: str | Path, trials: int | None = None, storage_url: str | None = None,
             jobs: int = 1, progress: bool = False) -> StudyOutcome:
    """Run the trials the study still lacks to reach `trials` (default the spec's): in this process
    (`jobs` 1, reproducible with a seeded sampler) or in `jobs` worker processes sharing the storage."""
    if jobs < 1:
        raise UserError(f"--jobs {jobs} must be at least 1")
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a FAIL trial is counted, with its reason: not a warning
    storage = open_storage(data_root, storage_url)
    with study_lock(data_root, spec.name) as alone:
        study = load_or_create(spec, storage)
        stale = fail_stale(study) if alone else 0
        done = len(study.get_trials(deepcopy=False, states=FINISHED))
        todo = max(0, (trials or spec.trials) - done)
        if todo and jobs == 1:
            study.optimize(Objective(spec, data_root), n_trials=todo, catch=(InvalidTrial,),
                           show_progress_bar=progress)
        elif todo:
            _run_workers(spec, data_root, storage_url, todo, jobs, study, progress)
    return StudyOutcome(study, todo, stale)


def _run_workers(spec: StudySpec, data_root: str | Path, storage_url: str | None, todo: int, jobs: int,
                 study: optuna.Study, progress: bool) -> None:
    """`jobs` processes share the `todo` trials; the parent shows their progress from the storage."""
    import multiprocessing as mp
    import time

    shares = [todo // jobs + (1 if k < todo % jobs else 0) for k in range(jobs)]
    ctx = mp.get_context("spawn")  # a clean interpreter per worker: no inherited threads or locks
    workers = [ctx.Process(target=_worker, args=(str(spec.path), str(data_root), n, storage_url, k), daemon=True)
               for k, n in enumerate(shares) if n]
    before = len(study.get_trials(deepcopy=False, states=FINISHED))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=todo, unit="trial")
    try:
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            time.sleep(0.5)
            if bar is not None:
                bar.n = len(study.get_trials(deepcopy=False, states=FINISHED)) - before
                bar.refresh()
    finally:
        for w in workers:
            if w.pid is None:  # never started (start() raised)
                continue
            if w.is_alive():
                w.terminate()
            w.join()
        if bar is not None:
            bar.n = len(study.get_trials(deepcopy=False, states=FINISHED)) - before
            bar.close()
    failed = [w.exitcode for w in workers if w.exitcode]
    if failed:
        raise UserError(f"{len(failed)} of {len(workers)} study workers failed (exit codes {failed}); "
                        "run the same command again to resume")


def _worker(spec_path: str, data_root: str, trials: int, storage_url: str | None, index: int) -> None:
    """One worker process: its own sampler seed, its own in-memory lake, `trials` trials."""
    from engine.research.spec import load_spec

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    spec = load_spec(spec_path)
    study = load_or_create(spec, open_storage(data_root, storage_url), worker=index)
    study.optimize(Objective(spec, data_root), n_trials=trials, catch=(InvalidTrial,))
