"""A study keeps what decides its trials (README "Studies"): the same command refuses to go on
under a spec that decides them differently, `okxbot studies delete` removes a study with its
sub-studies and files, and validation redoes a walk-forward sub-study of an earlier spec."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from engine.cli import main
from engine.model.time import ns_to_iso
from engine.research.spec import StudySpec, load_spec
from engine.research.study import StudyChanged, hourly_path, open_storage, optimize, studies_dir
from engine.research.validate import validate
from tests.engine.research.test_study import SPEC, setup  # noqa: F401
from tests.engine.research.test_validate import GATE


def _respec(spec: StudySpec, text: str) -> StudySpec:
    spec.path.write_text(text, encoding="utf-8")
    return load_spec(spec.path)


def _names(root: Path) -> list[str]:
    return sorted(s.study_name for s in optuna.get_all_study_summaries(open_storage(root)))


def test_more_trials_resume_but_another_objective_or_space_is_refused_by_name(
        setup: tuple[StudySpec, Path]) -> None:  # noqa: F811
    spec, root = setup
    optimize(spec, root, trials=3)
    assert optimize(_respec(spec, SPEC.replace("trials = 6", "trials = 8")), root, trials=4).ran == 1
    with pytest.raises(StudyChanged, match=r"objective = \"pnl\", the spec now says \"sharpe\".*studies delete trend"):
        optimize(_respec(spec, SPEC.replace('objective = "pnl"', 'objective = "sharpe"')), root)
    with pytest.raises(StudyChanged, match=r"space = .*12.*now says.*20"):
        optimize(_respec(spec, SPEC.replace("high = 12", "high = 20")), root)
    with pytest.raises(StudyChanged, match=r"end = .*and 1 more: start"):
        optimize(_respec(spec, SPEC.replace("2024-01-01T23:00Z", "2024-01-01T22:00Z")
                         .replace("2024-01-02T02:00Z", "2024-01-02T03:00Z")), root)
    assert len(optuna.load_study(study_name="trend", storage=open_storage(root)).trials) == 4  # nothing added


def test_studies_delete_removes_the_study_its_sub_studies_and_files(
        setup: tuple[StudySpec, Path], capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    spec, root = setup
    spec = _respec(spec, SPEC + GATE)
    optimize(spec, root)
    validate(spec, root)
    other = spec.path.with_name("trendy.toml")
    other.write_text(SPEC, encoding="utf-8")
    optimize(load_spec(other), root, trials=1)  # not touched: a name that merely starts alike
    assert _names(root) == ["trend", "trend.wf0", "trend.wf1", "trendy"]
    complete = next(t for t in optuna.load_study(study_name="trend", storage=open_storage(root)).trials
                    if t.state.name == "COMPLETE")
    assert hourly_path(root, "trend", complete.number).is_file()
    assert main(["--data-root", str(root), "studies", "delete", "trend"]) == 0
    assert "deleted trend, trend.wf0, trend.wf1" in capsys.readouterr().out
    assert _names(root) == ["trendy"]
    assert not (studies_dir(root) / "trend").exists()
    assert optimize(spec, root, trials=2).ran == 2  # a fresh start under any spec
    assert main(["--data-root", str(root), "studies", "delete", "nothing"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("no study 'nothing' to delete")


def test_validation_redoes_a_sub_study_of_an_earlier_walk_forward(setup: tuple[StudySpec, Path]) -> None:  # noqa: F811
    spec, root = setup
    spec = _respec(spec, SPEC + GATE)
    optimize(spec, root)
    first = validate(spec, root)  # rolling windows
    spec = _respec(spec, SPEC + GATE.replace("windows = 2", 'windows = 2\nmode = "anchored"'))
    second = validate(spec, root)
    assert _names(root) == ["trend", "trend.wf0", "trend.wf1"]
    assert first.windows[1].train_start != second.windows[1].train_start  # window 1 trains on more
    wf1 = optuna.load_study(study_name="trend.wf1", storage=open_storage(root))
    assert wf1.user_attrs["basis"]["start"] == ns_to_iso(second.windows[1].train_start)
    assert len(wf1.trials) == 3  # redone from scratch: 3 new trials, not the 3 old ones
