"""`okxbot runs list | show | export` against a real runs database in a temporary data root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.results.runs import save_run
from tests.engine.results_factory import T0, M, scenario_result

ROOT = Path(__file__).resolve().parents[3]
RUN_A = "20240101T000500-aaaa1111"
RUN_B = "20240101T000600-bbbb2222"


@pytest.fixture
def stored(data_root: Path) -> Path:
    """A data root with two stored runs (B newer)."""
    save_run(data_root, scenario_result(run_id=RUN_A, created_ns=T0 + 5 * M))
    save_run(data_root, scenario_result(run_id=RUN_B, created_ns=T0 + 6 * M, venue="synthetic"))
    return data_root


def okxbot(root: Path, *args: str) -> int:
    return main(["--data-root", str(root), "runs", *args])


def test_runs_list_prints_newest_first(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run id")
    assert [line.split()[0] for line in lines[1:]] == [RUN_B, RUN_A]
    # the portfolio pnl of the scenario, 1.4245 + 0.375, is shown
    assert "1.80" in lines[1].split()


def test_runs_list_empty_root_says_so(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(data_root, "list") == 0
    assert "no runs" in capsys.readouterr().out


def test_runs_show_prefix_prints_summary_and_config(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "show", "20240101T000600") == 0
    out = capsys.readouterr().out
    assert f"run {RUN_B}" in out and "SYNTHETIC" in out
    assert "portfolio" in out and "buy_and_hold" in out
    assert '"fill_model": "taker"' in out and "0.1.0+test" in out


def test_runs_show_unknown_id_one_error_line_exit_2(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "show", "zzz") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "'zzz'" in captured.err


def test_runs_show_ambiguous_prefix_exit_2(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "show", "20240101T") == 2
    assert "ambiguous" in capsys.readouterr().err


def test_runs_export_writes_files(stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "exp"
    assert okxbot(stored, "export", RUN_A[:20], "--out", str(out_dir), "--format", "both") == 0
    printed = [Path(p) for p in capsys.readouterr().out.split()]
    assert {p.name for p in printed} >= {"fills.parquet", "config.json", "report.html"}
    assert all(p.is_file() and p.parent == out_dir / RUN_A for p in printed)


def test_runs_export_default_folder_under_data_root(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "export", RUN_A, "--format", "html") == 0
    assert (stored / "exports" / RUN_A / "report.html").is_file()
    assert capsys.readouterr().out.strip() == str(stored / "exports" / RUN_A / "report.html")


def test_runs_without_subcommand_prints_help_exit_2(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(data_root) == 2
    assert "list" in capsys.readouterr().out


def test_runs_command_module_import_is_light() -> None:
    code = (
        "import argparse, sys\n"
        "import engine.commands.runs as runs\n"
        "runs.add_parser(argparse.ArgumentParser().add_subparsers())\n"
        "heavy = [m for m in ('duckdb', 'pyarrow', 'numpy', 'engine.runs') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
