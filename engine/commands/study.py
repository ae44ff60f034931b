"""`okxbot optimize SPEC` and `okxbot studies list | show STUDY`: Optuna studies (README "Studies").

Only the parser is built at import time; optuna and the backtester are imported when a command runs.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from engine.commands import help_when_bare

SPEC_DIR = Path("research") / "studies"


def add_parser(sub: Any) -> None:
    """Register `optimize` and `studies`."""
    p = sub.add_parser("optimize", help="run (or resume) an Optuna study of a strategy from a spec",
                       description="Run the trials a study still lacks, each an event-driven backtest of the "
                                   "range before the spec's hold-out. Interrupted, the same command resumes.")
    p.add_argument("spec", metavar="SPEC", help=f"a spec file, or NAME for {SPEC_DIR}/NAME.toml")
    p.add_argument("--trials", default=None, metavar="N", help="total trials of the study (default: the spec's)")
    p.add_argument("--jobs", default="1", metavar="N",
                   help="worker processes (default 1; with more than one the trials are not reproducible)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="a database URL for many machines (default: <data-root>/studies/journal.log)")
    p.set_defaults(func=run_optimize)

    v = sub.add_parser("validate", help="walk-forward, hold-out and the gate of a study's trial",
                       description="Validate a study's trial (default: its best): sub-studies on each walk-forward "
                                   "train, their best on each test, the trial on the hold-out, the overfitting "
                                   "statistics, and every threshold of the spec's [gate].")
    v.add_argument("spec", metavar="SPEC", help=f"the study's spec file, or NAME for {SPEC_DIR}/NAME.toml")
    v.add_argument("--trial", default=None, metavar="N", help="the trial to validate (default: the best)")
    v.add_argument("--storage", default=None, metavar="URL", help="a database URL (default: the journal)")
    v.set_defaults(func=run_validate)

    s = sub.add_parser("studies", help="the stored studies: list, show, delete")
    inner = s.add_subparsers(dest="studies_command", metavar="SUBCOMMAND")
    p_list = inner.add_parser("list", help="every study with its trials and best value")
    p_list.add_argument("--storage", default=None, metavar="URL", help="a database URL (default: the journal)")
    p_list.set_defaults(func=run_list)
    p_show = inner.add_parser("show", help="a study's best trial, its parameter importances and its trials")
    p_show.add_argument("study", metavar="STUDY", help="the study's name (its spec's file name)")
    p_show.add_argument("--storage", default=None, metavar="URL", help="a database URL (default: the journal)")
    p_show.add_argument("--top", default="10", metavar="N", help="how many of the best trials to list (default 10)")
    p_show.set_defaults(func=run_show)

    p_del = inner.add_parser("delete", help="delete a study, its walk-forward sub-studies and its files")
    p_del.add_argument("study", metavar="STUDY", help="the study's name (its spec's file name)")
    p_del.add_argument("--storage", default=None, metavar="URL", help="a database URL (default: the journal)")
    p_del.set_defaults(func=run_delete)

    help_when_bare(s)


def _count(text: str | None, flag: str, default: int) -> int:
    from engine.model.errors import UserError

    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{flag} {text!r} must be a whole number") from None
    if value < 1:
        raise UserError(f"{flag} {value} must be at least 1")
    return value


def spec_path(text: str) -> Path:
    """A spec file as given, else research/studies/NAME.toml."""
    from engine.model.errors import UserError

    given = Path(text)
    for candidate in (given, SPEC_DIR / f"{text}.toml"):
        if candidate.is_file():
            return candidate
    raise UserError(f"study spec {text!r}: no such file, nor {SPEC_DIR / (text + '.toml')}")


def run_optimize(args: argparse.Namespace) -> int:
    from engine.research.spec import load_spec
    from engine.research.study import optimize

    spec = load_spec(spec_path(args.spec))
    trials = _count(args.trials, "--trials", spec.trials)
    jobs = _count(args.jobs, "--jobs", 1)
    outcome = optimize(spec, args.data_root, trials, args.storage, jobs, progress=True)
    study = outcome.study
    print(f"study {spec.name}: {len(study.trials)} trials ({outcome.ran} run now"
          + (f", {outcome.stale} left running by a stopped worker marked failed" if outcome.stale else "") + ")")
    print(_best_text(study, spec.objective))
    if not args.storage:
        journal = Path(args.data_root) / "studies" / "journal.log"
        print(f"dashboard: optuna-dashboard {journal}")
    return 0


def _best_text(study: Any, objective: str) -> str:
    from optuna.trial import TrialState

    complete = [t for t in study.get_trials(deepcopy=False) if t.state is TrialState.COMPLETE]
    if not complete:
        return "no trial completed: see `okxbot studies show " + study.study_name + "` for why"
    best = max(complete, key=lambda t: t.value)
    params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
    return f"best: trial {best.number}, {objective} {best.value:.4g} ({params})"


def run_list(args: argparse.Namespace) -> int:
    import optuna

    from engine.research.study import JOURNAL, open_storage, studies_dir

    journal = studies_dir(args.data_root) / JOURNAL
    summaries = (optuna.get_all_study_summaries(open_storage(args.data_root, args.storage))
                 if args.storage or journal.is_file() else [])
    if not summaries:
        print(f"no studies in {Path(args.data_root) / 'studies'} (run `okxbot optimize SPEC`)")
        return 0
    print(f"{'study':<24} {'strategy':<18} {'trials':>7} {'best':>12}")
    for s in sorted(summaries, key=lambda x: x.study_name):
        best = "-" if s.best_trial is None or s.best_trial.value is None else f"{s.best_trial.value:.4g}"
        strategy = str(s.user_attrs.get("strategy", "-"))
        print(f"{s.study_name[:24]:<24} {strategy[:18]:<18} {s.n_trials:>7} {best:>12}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    import optuna
    from optuna.trial import TrialState

    from engine.model.errors import UserError
    from engine.research.study import JOURNAL, open_storage, studies_dir

    if not args.storage and not (studies_dir(args.data_root) / JOURNAL).is_file():
        raise UserError(f"no study {args.study!r} (no studies in {studies_dir(args.data_root)})")
    storage = open_storage(args.data_root, args.storage)
    try:
        study = optuna.load_study(study_name=args.study, storage=storage)
    except KeyError:
        names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
        raise UserError(f"no study {args.study!r} (studies: {', '.join(names) or 'none'})") from None
    top = _count(args.top, "--top", 10)
    trials = study.get_trials(deepcopy=False)
    by_state = {st.name.lower(): sum(t.state is st for t in trials) for st in TrialState if any(t.state is st
                                                                                               for t in trials)}
    print(f"study {study.study_name}: {len(trials)} trials ("
          + ", ".join(f"{n} {k}" for k, n in by_state.items()) + ")")
    print(_best_text(study, "value"))
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    if len(complete) >= 2:
        try:
            importances = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError) as exc:  # e.g. one parameter never varied
            print(f"parameter importances: not available ({exc})")
        else:
            print("parameter importances: " + ", ".join(f"{k} {v:.2f}" for k, v in importances.items()))
    from engine.research.diagnostics import diagnose

    d = diagnose(study, args.data_root)
    if d.trials:
        print(f"overfitting: DSR {d.dsr:.3f} of trial {d.best} after {d.trials} trials, PBO {d.pbo:.3f}, "
              f"stability {d.stability_ratio:.3f} ({d.neighbours} neighbours)".replace("nan", "-"))
    for note in d.notes:
        print(f"  {note}"[:100])
    for line in _validations(args.data_root, study.study_name):
        print(line)
    for line in _trial_lines(trials, top):
        print(line if len(line) <= 100 else line[:97] + "...")
    return 0


def _trial_lines(trials: list[Any], top: int) -> list[str]:
    """The best `top` complete trials, then failed and pruned ones up to `top` rows, with why."""
    from optuna.trial import TrialState

    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    shown = sorted(complete, key=lambda t: -(t.value if t.value is not None else -math.inf))[:top]
    shown += [t for t in trials if t.state is TrialState.FAIL][: max(0, top - len(shown))]
    shown += [t for t in trials if t.state is TrialState.PRUNED][: max(0, top - len(shown))]
    lines = [f"{'trial':>5} {'state':<8} {'value':>12} {'trips':>6}  params / why it failed or was pruned"]
    for t in shown:
        value = "-" if t.value is None or t.state is not TrialState.COMPLETE else f"{t.value:.4g}"
        what = t.user_attrs.get("fail_reason") or ", ".join(f"{k}={v}" for k, v in t.params.items())
        if t.state is TrialState.PRUNED and t.last_step is not None:
            what = f"pruned after trading day {t.last_step}: PnL {t.intermediate_values[t.last_step]:.4g} a day so far"
        trips = str(t.user_attrs.get("round_trips", "-"))
        lines.append(f"{t.number:>5} {t.state.name.lower():<8} {value:>12} {trips:>6}  {what}")
    return lines


def _validations(data_root: str | Path, name: str) -> list[str]:
    """The walk-forward tables of the study's stored validations (one per validated trial), or how
    to make one."""
    import json
    import re

    from engine.research.study import studies_dir
    from engine.research.validate import walk_forward_lines

    found = {int(m.group(1)): p for p in (studies_dir(data_root) / name).glob("validation-*.json")
             if (m := re.fullmatch(r"validation-(\d+)", p.stem))}
    if not found:
        sub = re.fullmatch(r"(.+)\.wf\d+", name)  # a walk-forward sub-study is validated with its study
        return [f"walk-forward: not validated (okxbot validate {sub.group(1) if sub else name})"]
    lines = []
    for trial in sorted(found):
        try:
            lines += walk_forward_lines(json.loads(found[trial].read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:  # not JSON, or not a validation
            lines.append(_cut(f"walk-forward: {found[trial].name} is not a readable validation ({exc})"))
    return lines


def _cut(line: str) -> str:
    return line if len(line) <= 100 else line[:97] + "..."


def run_validate(args: argparse.Namespace) -> int:
    from engine.research.spec import load_spec
    from engine.research.validate import validate, walk_forward_lines

    spec = load_spec(spec_path(args.spec))
    from engine.model.errors import UserError

    if args.trial is not None and not args.trial.isdigit():
        raise UserError(f"--trial {args.trial!r} must be a trial number (0, 1, ...)")
    trial = None if args.trial is None else int(args.trial)
    v = validate(spec, args.data_root, trial, args.storage)
    for line in walk_forward_lines(v.to_json()):
        print(line)
    return 0 if v.passed else 1


def run_delete(args: argparse.Namespace) -> int:
    from engine.model.errors import UserError
    from engine.research.study import delete_study

    deleted = delete_study(args.data_root, args.study, args.storage)
    if not deleted:
        raise UserError(f"no study {args.study!r} to delete")
    print(f"deleted {', '.join(deleted)} (trials, hourly equity, validations)")
    return 0
