"""Promotion (README "Promotion"): validate a study's trial through the validation notebook, and
only when its gate passes and its code is the code that was validated, write a registry entry."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from engine.model.errors import UserError
from engine.research.registry import add_entry, import_path, source_hash
from engine.research.reports import execute, to_html
from engine.research.spec import StudySpec
from engine.research.study import open_storage, studies_dir

MODES = ("paper", "live")


def best_trial(spec: StudySpec, data_root: str | Path, storage_url: str | None = None) -> int:
    study = optuna.load_study(study_name=spec.name, storage=open_storage(data_root, storage_url))
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise UserError(f"study {spec.name}: no complete trial to promote (okxbot studies show {spec.name})")
    return max(complete, key=lambda t: t.value if t.value is not None else -math.inf).number


def run_validation_notebook(spec: StudySpec, data_root: str | Path, trial: int, storage_url: str | None
                            ) -> tuple[dict[str, Any], Path]:
    """Execute pipelines/templates/validate_report.ipynb for the trial; (its verdict, its notebook)."""
    root = Path(data_root).resolve()
    out_dir = root / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    notebook = out_dir / f"validate-{spec.name}-{trial}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.ipynb"
    params = {"data_root": str(root), "spec_path": str(Path(spec.path).resolve()), "trial": trial,
              "storage_url": storage_url}
    execute("validate_report.ipynb", notebook, params, root, f"validation of {spec.name} trial {trial}")
    notebook.with_suffix(".html").write_text(to_html(notebook), encoding="utf-8")
    verdict = json.loads((studies_dir(root) / spec.name / f"validation-{trial}.json").read_text(encoding="utf-8"))
    return verdict, notebook


def check_modes(modes: tuple[str, ...]) -> None:
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise UserError(f"--mode {bad[0] if bad else ''!r} is not one of {', '.join(MODES)}")


def entry_for(spec: StudySpec, trial: int, verdict: dict[str, Any], notebook: Path,
              modes: tuple[str, ...] = ("paper",)) -> dict[str, Any]:
    """The registry entry of a validated trial; UserError with the reasons when it may not be promoted."""
    if not verdict.get("passed"):
        failed = [f"{c['name']} {c['threshold']:g} (measured "
                  + ("-" if c["value"] is None else f"{c['value']:.4g}") + ")"
                  for c in verdict.get("checks", []) if not c["passed"]]
        why = "; ".join(failed) if failed else "the spec has no [gate] thresholds"
        raise UserError(f"promotion of {spec.name} trial {trial} refused: the gate failed: {why} (report: "
                        f"{notebook.with_suffix('.html')})")
    now_hash = source_hash(spec.strategy)
    if verdict.get("source_hash") != now_hash:
        raise UserError(f"promotion of {spec.name} trial {trial} refused: the code of {spec.strategy} changed "
                        "since it was validated; validate it again")
    return {
        "id": f"{spec.name}/{trial}", "strategy": spec.strategy, "import_path": import_path(spec.strategy),
        "params": {**spec.fixed, **verdict["params"]}, "symbols": list(spec.symbols), "venue": spec.venue,
        "capital_weight": 1.0, "risk_limits": {}, "modes": list(modes), "source_hash": now_hash,
        "engine_version": __import__("engine").__version__, "data_fingerprint": verdict.get("data_fingerprint", ""),
        "study": spec.name, "trial": trial, "report": str(notebook), "gate": verdict["checks"],
        "promoted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "status": "active",
    }


def promote(spec: StudySpec, data_root: str | Path, trial: int | None = None, storage_url: str | None = None,
            modes: tuple[str, ...] = ("paper",)) -> tuple[dict[str, Any], bool]:
    """(the registry entry, whether it was written); UserError with the reasons when refused."""
    check_modes(modes)
    trial = best_trial(spec, data_root, storage_url) if trial is None else trial
    verdict, notebook = run_validation_notebook(spec, data_root, trial, storage_url)
    entry = entry_for(spec, trial, verdict, notebook, modes)
    return entry, add_entry(data_root, entry)
