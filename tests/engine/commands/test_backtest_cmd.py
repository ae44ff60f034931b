"""`okxbot backtest` as a user runs it: a subprocess on a temporary synthetic lake."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.store.lake import Lake
from engine.store.synthetic import SynthConfig, write_synthetic

ROOT = Path(__file__).resolve().parents[3]
OKXBOT = Path(sys.executable).with_name("okxbot")
SYMBOL = "ETH/USDT:USDT"
PERIOD = ["--start", "2024-01-01T01:00Z", "--end", "2024-01-01T03:00Z"]


@pytest.fixture(scope="module")
def lake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    write_synthetic(Lake.at(root), SynthConfig(symbol=SYMBOL, start="2024-01-01T00:00Z", hours=3.0, seed=5))
    return root


def okxbot(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OKXBOT), "--data-root", str(root), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def _table(stdout: str) -> dict[str, list[str]]:
    """Summary rows by series name (the lines between the header rule and the closing rule)."""
    lines = stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("series"))
    body = lines[head + 2 : next(i for i in range(head + 2, len(lines)) if lines[i].startswith("---"))]
    return {line.split()[0]: line.split()[1:] for line in body}


def test_backtest_cmd_portfolio_prints_summary_and_runs_list_shows_it(lake_root: Path) -> None:
    done = okxbot(
        lake_root, "backtest", "--symbol", SYMBOL, *PERIOD, "--fill-model", "walk", "--latency-ms", "5",
        "--strategy", "ema_cross", "--param", "fast=5", "--param", "slow=20", "--param", "size=0.1",
        "--strategy", "ema_cross", "--param", "fast=10", "--param", "slow=50", "--param", "size=0.1",
        "--strategy", "rsi_mr", "--param", "n=3", "--param", "size=0.1",
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.startswith("SYNTHETIC DATA")
    assert "fill model walk" in done.stdout and "latency 5 ms" in done.stdout
    rows = _table(done.stdout)
    assert list(rows) == ["ema_cross1", "ema_cross2", "rsi_mr", "portfolio", "buy_and_hold"]
    pnl = {name: float(cells[0]) for name, cells in rows.items()}
    assert pnl["portfolio"] == pytest.approx(pnl["ema_cross1"] + pnl["ema_cross2"] + pnl["rsi_mr"], abs=0.02)
    assert int(rows["ema_cross1"][-3]) > 0  # it traded: fills column
    saved = re.search(r"^run (\S+) saved in ", done.stdout, re.M)
    assert saved is not None
    listed = okxbot(lake_root, "runs", "list")
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[0] == saved.group(1) for line in listed.stdout.splitlines()[1:])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["--strategy", "nope"], ["'nope'", "unknown strategy"], id="unknown_strategy"),
        pytest.param(["--strategy", "ema_cross", "--param", "fast=1"], ["'fast'", "range"], id="param_out_of_range"),
        pytest.param(["--strategy", "ema_cross", "--param", "fast=300"], ["'fast'", "'slow'"],
                     id="params_in_wrong_relation"),
        pytest.param(["--strategy", "ema_cross", "--param", "speed=3"], ["'speed'"], id="unknown_param"),
        pytest.param(["--strategy", "ema_cross", "--param", "size=x"], ["'size'", "'x'"], id="param_not_a_number"),
        pytest.param(["--strategy", "ema_cross", "--param", "fast"], ["--param", "'fast'", "name=value"],
                     id="malformed_param"),
        pytest.param(["--strategy", "ema_cross", "--start", "2024-01-01T03:00Z", "--end", "2024-01-01T02:00Z"],
                     ["date range is empty"], id="empty_date_range"),
        pytest.param(["--strategy", "ema_cross", "--start", "2024-01-01T02:00Z", "--end", "2024-01-01T02:00Z"],
                     ["date range is empty"], id="zero_length_date_range"),
        pytest.param(["--strategy", "ema_cross", "--symbol", "BTC/USDT:USDT"], ["BTC/USDT:USDT", "no trades"],
                     id="no_data_for_symbol"),
        pytest.param(["--strategy", "ema_cross", "--start", "2025-01-01", "--end", "2025-01-02"],
                     ["no trades", "2025-01-01"], id="no_data_in_period"),
        pytest.param(["--strategy", "ema_cross", "--start", "yesterday"], ["--start", "'yesterday'"],
                     id="bad_start"),
    ],
)
def test_backtest_cmd_bad_input_one_line_exit_2(lake_root: Path, args: list[str], named: list[str]) -> None:
    # Later options win, so these override the defaults given first.
    done = okxbot(lake_root, "backtest", "--symbol", SYMBOL, *PERIOD, "--no-save", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("okxbot: error: ")
    for word in named:
        assert word in lines[0]
