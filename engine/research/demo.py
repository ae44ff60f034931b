"""`make demo`, its research half (README "The two commands"): after the backtest half has written
the synthetic market (engine/backtest/demo.py), screen the trend strategy's grid, run the shipped
study research/studies/demo_trend.toml, validate its best trial through the validation notebook
(walk-forward, hold-out, the gate) and promote it into the registry, each step timed.

Run again, the demo reuses what it stored and restarts nothing: the study and its walk-forward
sub-studies are complete, so Optuna runs no trial; the validation notebook runs again on the same
trial and sub-studies and gives the same verdict; the registry keeps one entry per trial, so the
entry printed is the one written the first time.
"""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from engine.model.errors import UserError
from engine.model.time import ns_to_iso
from engine.research.spec import StudySpec, load_spec

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "research" / "studies" / "demo_trend.toml"
SCREEN_GRID = {"fast": list(range(5, 61, 5)), "slow": list(range(20, 201, 20))}  # the study's space, coarsely
SCREEN_TOP = 5
WIDTH = 100


class Steps:
    """The demo's steps in order, each under a heading and timed."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.times: list[tuple[str, float]] = []

    def run(self, name: str, title: str, step: Callable[..., T], *args: Any) -> T:
        """Print the heading, run `step(*args)`, print and keep its time; return what it returns."""
        print(f"\n== {name}: {title} ".ljust(WIDTH, "="))
        t0 = time.perf_counter()
        out = step(*args)
        self.times.append((name, time.perf_counter() - t0))
        print(f"[{name}: {self.times[-1][1]:.1f} s]")
        return out

    def summary(self) -> str:
        """The total time since the start and each step's."""
        return (f"\ndemo finished in {time.perf_counter() - self.started:.1f} s ("
                + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.times) + ")")


def research_part(data_root: str | Path, steps: Steps) -> int:
    """Screen, study, validate, promote; 0, or 1 (with one line on stderr) when a step could not run."""
    root = Path(data_root)
    try:
        spec = load_spec(SPEC)
        steps.run("screen", f"{spec.strategy}, a grid of fast x slow, on 1m bars", screen_step, spec, root)
        trial = steps.run("study", f"{spec.name}, {spec.trials} seeded trials, each a tick backtest", study_step,
                          spec, root)
        verdict, notebook = steps.run("validation", "walk-forward, hold-out and the gate, in a notebook",
                                      validation_step, spec, root, trial)
        steps.run("promotion", f"into {root / 'registry.json'} if the gate passed", promotion_step, spec, root,
                  trial, verdict, notebook)
    except UserError as exc:
        print(steps.summary())
        done = ", ".join(name for name, _ in steps.times)
        print(f"okxbot: error: {exc} (the demo stopped there; done: {done})", file=sys.stderr)
        return 1
    print(steps.summary())
    return 0


def screen_step(spec: StudySpec, root: Path) -> None:
    """The screen of the study's strategy over [start, hold-out start): the hold-out stays unseen."""
    from engine.research.screen import ScreenConfig, screen
    from engine.research.screen_plot import write_screen

    cfg = ScreenConfig(spec.strategy, spec.symbols[0], SCREEN_GRID, dict(spec.fixed), spec.venue, spec.start,
                       spec.holdout_start, "sharpe", capital=spec.capital)
    result = screen(cfg, root)
    print(f"{cfg.symbol}, {_time(spec.start)} .. {_time(spec.holdout_start)} (the hold-out stays "
          f"unseen):\n{len(result.frame):,} {result.source}, {len(result.table)} grid points ranked by Sharpe")
    if result.skipped:
        print(f"{result.skipped} grid points refused, e.g. {result.skip_reason.split(': ', 1)[-1]}")
    print(result.table.head(SCREEN_TOP).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    table, svg = write_screen(result, root / "screens")
    print(f"table: {table}\nheatmap: {svg}")


def study_step(spec: StudySpec, root: Path) -> int:
    """Run (or resume, or reuse) the study; the best trial's number."""
    from optuna.trial import TrialState

    from engine.research.study import JOURNAL, optimize, studies_dir

    print(f"{SPEC.relative_to(REPO)}: {spec.sampler} sampler, seed {spec.seed}, {spec.objective} of "
          f"{_time(spec.start)} .. {_time(spec.holdout_start)}")
    outcome = optimize(spec, root, progress=sys.stderr.isatty())
    trials = outcome.study.get_trials(deepcopy=False)
    stored = len(trials) - outcome.ran
    if not outcome.ran:
        print(f"reused: the study is complete in {studies_dir(root) / JOURNAL}, no trial run (the demo never "
              f"restarts a study;\nremove {studies_dir(root)} to start over)")
    else:
        print(f"{outcome.ran} trials run now" + (f", {stored} were stored (resumed)" if stored else ""))
    failed = sum(t.state is TrialState.FAIL for t in trials)
    print(f"{len(trials)} trials: {len(trials) - failed} complete, {failed} failed (refused parameters, or fewer "
          f"than {spec.min_trips} round trips)")
    best = outcome.best
    if best is None or best.value is None:
        raise UserError(f"study {spec.name}: no trial completed (okxbot studies show {spec.name})")
    params = ", ".join(f"{k}={v}" for k, v in best.params.items())
    print(f"best: trial {best.number}, {spec.objective} {best.value:.4g} ({params})")
    return best.number


def validation_step(spec: StudySpec, root: Path, trial: int) -> tuple[dict[str, Any], Path]:
    """The validation notebook, as `okxbot promote` runs it; its verdict printed as `okxbot validate` does."""
    from engine.research.promote import run_validation_notebook
    from engine.research.reports import TEMPLATES
    from engine.research.validate import walk_forward_lines

    wf = spec.walk_forward
    print(f"papermill runs {(TEMPLATES / 'validate_report.ipynb').relative_to(REPO)}: {wf.windows} {wf.mode} "
          f"windows,\na {wf.trials}-trial sub-study on each train, the trial on the hold-out, the gate of the spec")
    verdict, notebook = run_validation_notebook(spec, root, trial, None)
    print("\n".join(walk_forward_lines(verdict)))
    print(f"report: {notebook.with_suffix('.html')}")
    return verdict, notebook


def promotion_step(spec: StudySpec, root: Path, trial: int, verdict: dict[str, Any], notebook: Path) -> None:
    """Register the validated trial, or say why not (a refusal is the gate working, not a failed demo)."""
    from engine.research.promote import entry_for
    from engine.research.registry import add_entry, entry_text

    try:
        entry = entry_for(spec, trial, verdict, notebook)
    except UserError as exc:
        print(textwrap.fill(f"not promoted, nothing written: {exc}", WIDTH))
        return
    if add_entry(root, entry):
        print(f"promoted {entry['id']} ({entry['strategy']}, modes {', '.join(entry['modes'])})")
    else:
        print(f"already promoted: {entry['id']} is in the registry unchanged (promoting a trial again changes "
              "nothing)")
    print(f"$ okxbot registry show {entry['id']}")
    print(entry_text(root, entry["id"]))


def _time(ns: int) -> str:
    return ns_to_iso(ns)[:16] + "Z"
