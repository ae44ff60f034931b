"""`okxbot optimize` and `okxbot studies`: reproducible with one job, resumable, several workers
(pruning too), the walk-forward table of a validated study, one line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from engine.cli import main
from engine.research.study import hourly_path, open_storage
from engine.store.synthetic import SynthConfig
from tests.engine.backtest_factory import SYNTH, SYNTH_DAYS, shared_lake
from tests.engine.research.test_study import DAYS_SPEC, MEDIAN, SPEC
from tests.engine.research.test_validate import GATE

OKXBOT = str(Path(sys.executable).with_name("okxbot"))


def data_root(tmp_path: Path, factory: pytest.TempPathFactory, name: str, synth: SynthConfig = SYNTH) -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / "lake").symlink_to(shared_lake(factory, synth) / "lake")
    return root


@pytest.fixture()
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "trend.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def trials_of(root: Path) -> list[tuple[str, dict[str, object], float | None]]:
    study = optuna.load_study(study_name="trend", storage=open_storage(root))
    return [(t.state.name, t.params, t.value) for t in study.get_trials(deepcopy=False)]


def test_a_seeded_study_with_one_job_gives_the_same_trials_in_another_process(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, spec_file: Path) -> None:
    runs = []
    for name in ("a", "b"):
        root = data_root(tmp_path, tmp_path_factory, name)
        out = subprocess.run([OKXBOT, "--data-root", str(root), "optimize", str(spec_file), "--trials", "5"],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert "study trend: 5 trials (5 run now)" in out.stdout and "best: trial" in out.stdout
        runs.append(trials_of(root))
    assert runs[0] == runs[1] and len(runs[0]) == 5


def test_several_jobs_share_the_trials_and_studies_show_lists_them(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, spec_file: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = data_root(tmp_path, tmp_path_factory, "jobs")
    assert main(["--data-root", str(root), "optimize", str(spec_file), "--trials", "6", "--jobs", "2"]) == 0
    assert len(trials_of(root)) == 6
    capsys.readouterr()
    assert main(["--data-root", str(root), "studies", "list"]) == 0
    listed = capsys.readouterr().out
    assert "trend" in listed and "ema_cross_bars" in listed and " 6 " in listed
    assert main(["--data-root", str(root), "studies", "show", "trend", "--top", "3"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("study trend: 6 trials (")
    assert all(len(line) <= 100 for line in shown)


@pytest.mark.parametrize(("args", "message"), [
    (["optimize", "SPEC", "--trials", "many"], "--trials 'many' must be a whole number"),
    (["optimize", "SPEC", "--jobs", "0"], "--jobs 0 must be at least 1"),
    (["optimize", "absent"], "study spec 'absent': no such file"),
    (["studies", "show", "nothing"], "no study 'nothing'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, spec_file: Path, capsys: pytest.CaptureFixture[str],
                                          args: list[str], message: str) -> None:
    argv = ["--data-root", str(tmp_path / "root"), *(str(spec_file) if a == "SPEC" else a for a in args)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_a_bad_spec_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SPEC.replace('objective = "pnl"', 'objective = "luck"'), encoding="utf-8")
    assert main(["--data-root", str(tmp_path), "optimize", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "objective = 'luck' is not one of sharpe, sortino, calmar, pnl" in err and "\n" not in err


def test_studies_show_counts_and_lists_the_pruned_trials(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    root = data_root(tmp_path, tmp_path_factory, "pruned", SYNTH_DAYS)
    spec = tmp_path / "trend.toml"
    spec.write_text(MEDIAN + DAYS_SPEC.replace("trials = 6", "trials = 12"), encoding="utf-8")
    argv = ["--data-root", str(root)]
    assert main([*argv, "optimize", str(spec)]) == 0
    states = [state for state, _params, _value in trials_of(root)]
    assert states.count("PRUNED") > 0
    capsys.readouterr()
    assert main([*argv, "studies", "show", "trend", "--top", "12"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert f"{states.count('PRUNED')} pruned" in shown[0] and f"{states.count('COMPLETE')} complete" in shown[0]
    rows = [line for line in shown if " pruned " in line]
    assert len(rows) == states.count("PRUNED") and all("a day so far" in line for line in rows)
    # a pruned trial's value is no result: the value column shows none
    assert all(line.split()[2] == "-" for line in rows)
    assert "walk-forward: not validated (okxbot validate trend)" in shown


def test_studies_show_prints_the_walk_forward_table_of_a_validated_trial(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    root = data_root(tmp_path, tmp_path_factory, "wf")
    spec = tmp_path / "trend.toml"
    spec.write_text(SPEC + GATE, encoding="utf-8")
    argv = ["--data-root", str(root)]
    assert main([*argv, "optimize", str(spec)]) == 0
    capsys.readouterr()
    # validated: the gate's impossible hold-out Sharpe fails it (exit 1); show prints what validate stored
    assert main([*argv, "validate", str(spec)]) == 1
    validated = capsys.readouterr().out.splitlines()
    assert main([*argv, "studies", "show", "trend"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 100 for line in shown) and not any("not validated" in line for line in shown)
    (path,) = (root / "studies" / "trend").glob("validation-*.json")
    stored = json.loads(path.read_text())
    assert any(w["params"] for w in stored["windows"])
    at = next(k for k, line in enumerate(shown) if line.startswith(f"walk-forward of trial {stored['trial']}: "))
    assert shown[at + 1].split() == ["win", "train", "test", "IS", "pnl", "OOS", "pnl", "trips", "best", "params"]
    # 23:00 .. 01:24 in two windows of 38 minutes, 30 minutes of warm-up gap between train and test
    ranges = [("01-01 23:00..01-01 23:38", "01-02 00:08..01-02 00:46"),
              ("01-01 23:38..01-02 00:16", "01-02 00:46..01-02 01:24")]
    for k, (w, (train, test)) in enumerate(zip(stored["windows"], ranges, strict=True)):
        row = shown[at + 2 + k]
        assert row.startswith(f"{k:>3} {train} {test} ")
        figures = row[53:].split()
        if w["params"]:
            assert figures[:3] == [f"{w['in_sample']:.4g}", f"{w['oos_value']:.4g}", str(w["oos_trips"])]
            assert row.endswith(", ".join(f"{p}={x}" for p, x in w["params"].items()))
        else:
            assert figures[:3] == ["-", "-", "-"] and row.endswith("  none complete")
    rest = shown[at + 4:at + 8 + len(stored["checks"])]
    assert rest[0].startswith("out of sample (stitched): sharpe ")
    assert rest[1] == "hold-out: " + ", ".join(f"{k} {x:.4g}" for k, x in stored["holdout"].items())
    assert rest[2] == "gate:" and any(line.startswith("  FAIL  min_holdout_sharpe 1000: measured ") for line in rest)
    assert rest[-1] == "verdict: FAILED" and shown[at + 8 + len(stored["checks"])].startswith("trial state")
    assert shown[at:at + 8 + len(stored["checks"])] == validated  # the table `okxbot validate` printed
    # a damaged file is named in one line; the good one is still printed
    (path.parent / "validation-99.json").write_text("{", encoding="utf-8")
    assert main([*argv, "studies", "show", "trend"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert validated[0] in shown and any("validation-99.json is not a readable validation" in x for x in shown)


def test_several_jobs_prune_with_the_spec_s_pruner(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = data_root(tmp_path, tmp_path_factory, "jobs", SYNTH_DAYS)
    spec = tmp_path / "trend.toml"
    spec.write_text(MEDIAN + DAYS_SPEC.replace("trials = 6", "trials = 10"), encoding="utf-8")
    assert main(["--data-root", str(root), "optimize", str(spec), "--jobs", "2"]) == 0
    study = optuna.load_study(study_name="trend", storage=open_storage(root))
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 10 and {t.state.name for t in trials} <= {"COMPLETE", "FAIL", "PRUNED"}
    # the workers report after each trading day, as one process does
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert complete and all(set(t.intermediate_values) == {0, 1, 2} for t in complete)
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert all(hourly_path(root, "trend", t.number).exists() for t in complete)
    assert not any(hourly_path(root, "trend", t.number).exists() for t in pruned)


def test_study_commands_on_an_empty_data_root_answer_and_create_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    assert main(["--data-root", str(root), "studies", "list"]) == 0
    assert "no studies in" in capsys.readouterr().out
    assert main(["--data-root", str(root), "studies", "show", "trend"]) == 2
    assert "no study 'trend'" in capsys.readouterr().err
    assert main(["--data-root", str(root), "studies", "delete", "trend"]) == 2
    assert "no study 'trend' to delete" in capsys.readouterr().err
    assert list(root.iterdir()) == []  # read-only commands leave no journal behind
