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
    assert [line.split()[0] for line in lines[1:3]] == [RUN_B, RUN_A]
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


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The only line the command wrote: an error on stderr, nothing on stdout."""
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("okxbot: error: ")
    return captured.err


@pytest.mark.parametrize("limit", ["-1", "0", "abc"])
def test_runs_list_bad_limit_one_line_exit_2(stored: Path, capsys: pytest.CaptureFixture[str], limit: str) -> None:
    assert okxbot(stored, "list", "--limit", limit) == 2
    assert f"--limit '{limit}'" in one_error_line(capsys)


def test_runs_list_fits_100_columns_wide_shows_all(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].split() == ["run", "id", "strategies", "symbols", "pnl", "return", "%", "sharpe"]
    assert lines[-1].startswith("--wide adds: created, venue, period")
    assert okxbot(stored, "list", "--wide") == 0
    wide = capsys.readouterr().out.splitlines()
    for header in ("created", "venue", "period", "fill model", "max dd %"):
        assert header in wide[0]
    # RUN_B: created T0 + 6m, the scenario's period T0 .. T0 + 5m, ISO times
    assert "2024-01-01T00:06:00Z" in wide[1] and "2024-01-01T00:00:00Z..2024-01-01T00:05:00Z" in wide[1]


def test_runs_show_fits_100_columns_times_iso(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "show", RUN_A, "--trades", "--fills") == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert '"start": "2024-01-01T00:00:00Z"' in out and '"end": "2024-01-01T00:05:00Z"' in out
    assert '"latency": "25 ms"' in out and str(T0) not in out
    assert "2 venue fills (1 shared by several strategies" in out


def test_runs_show_trades_lists_every_round_trip(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "show", RUN_A, "--trades", "--wide") == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("trades (2 round trips):")
    header, a, b = lines[start + 1], lines[start + 2].split(), lines[start + 3].split()
    assert header.split()[:2] == ["strategy", "#"] and "funding paid" in header
    # a: long 1 @ 100 -> 101.5 in 3m10s, PnL 1.42; b: open, valued at the mark 101
    assert a == ["a", "1", "ETH/USDT", "long", "2024-01-01T00:00:10Z", "2024-01-01T00:03:20Z", "3m10s", "1", "100",
                 "101.5", "1.42", "0.08", "0.00", "closed"]
    assert (b[0], b[9], b[-1]) == ("b", "101", "open")


def test_runs_show_fills_show_the_split(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "show", RUN_A, "--fills") == 0
    out = capsys.readouterr().out
    assert "a +1 (fee 0.05), b +0.5 (fee 0.025)" in out and "a -0.5" in out
    assert "trades (" not in out  # only what was asked


def test_runs_show_wide_has_every_figure(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "show", RUN_A, "--wide") == 0
    out = capsys.readouterr().out
    for header in ("cagr %", "calmar", "profit factor", "expectancy", "avg trip", "longest trip", "funding paid"):
        assert header in out
    assert "--wide adds" not in out


def test_runs_export_missing_parent_one_line_exit_2(stored: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "nonexistent" / "dir"
    assert okxbot(stored, "export", RUN_A, "--out", str(target)) == 2
    assert f"export folder {target}: its parent" in one_error_line(capsys)
    assert not target.parent.exists()


def test_runs_export_unknown_format_one_line_exit_2(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "export", RUN_A, "--format", "csv") == 2
    assert "--format 'csv': must be one of both, html, parquet" in one_error_line(capsys)


def test_runs_export_unknown_and_ambiguous_id_one_line_exit_2(stored: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "export", "nope") == 2
    assert "unknown run id 'nope'" in one_error_line(capsys)
    assert okxbot(stored, "export", "20240101T") == 2
    assert "ambiguous run id '20240101T'" in one_error_line(capsys)


def test_backtest_then_runs_show_prints_typed_params_with_defaults(
    data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.store.lake import Lake
    from engine.store.synthetic import SynthConfig, write_synthetic

    write_synthetic(Lake.at(data_root), SynthConfig(start="2024-01-01T00:00Z", hours=1.0, trade_rate=1.0))
    argv = ["--data-root", str(data_root), "backtest", "--strategy", "ema_cross_bars", "--param", "fast=10",
            "--symbol", "ETH/USDT:USDT", "--start", "2024-01-01T00:30", "--end", "2024-01-01T01:00"]
    assert main(argv) == 0
    capsys.readouterr()
    assert okxbot(data_root, "show", "2") == 0  # the one run, by a prefix of its id (the year)
    out = capsys.readouterr().out
    params = out[out.index('"params": {'):out.index("}", out.index('"params": {'))]
    # typed (10, not "10"), and the defaults it ran with
    assert '"fast": 10,' in params and '"slow": 100' in params and '"size": 1.0' in params
    assert '"bar_interval": "1m"' in params


def test_runs_show_and_export_latest_is_the_newest_run(stored: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(stored, "show", "latest") == 0
    assert capsys.readouterr().out.splitlines()[0] == f"run {RUN_B}"  # B was created after A
    assert okxbot(stored, "export", "latest", "--out", str(tmp_path), "--format", "parquet") == 0
    assert (tmp_path / RUN_B / "fills.parquet").is_file() and not (tmp_path / RUN_A).exists()


def test_runs_show_latest_without_runs_one_line_exit_2(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert okxbot(data_root, "show", "latest") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "latest" in err[0]
