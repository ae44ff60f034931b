"""`okxbot optimize` and `okxbot studies`: reproducible with one job, resumable, several workers,
one line for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from engine.cli import main
from engine.research.study import open_storage
from tests.engine.backtest_factory import shared_lake
from tests.engine.research.test_study import SPEC

OKXBOT = str(Path(sys.executable).with_name("okxbot"))


def data_root(tmp_path: Path, factory: pytest.TempPathFactory, name: str) -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / "lake").symlink_to(shared_lake(factory) / "lake")
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
