"""`okxbot backtest` as a user runs it: a subprocess on a temporary synthetic lake."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.backtest.config import BacktestConfig
from engine.cli import build_parser
from engine.commands.backtest import config_from_args
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


def _config(root: Path, *args: str) -> BacktestConfig:
    parsed = build_parser().parse_args(["--data-root", str(root), "backtest", "--symbol", SYMBOL, *args])
    cfg = config_from_args(parsed)
    assert isinstance(cfg, BacktestConfig)
    return cfg


def test_backtest_cmd_weights_and_ids_share_the_account_capital(lake_root: Path) -> None:
    cfg = _config(lake_root, "--capital", "20000", "--strategy", "ema_cross", "--id", "fastie", "--weight", "0.7",
                  "--strategy", "rsi_mr", "--strategy", "macd_trend", "--id", "slowie")
    # 0.7 of 20,000 to fastie; the other two share the remaining 0.3 equally
    assert cfg.capitals() == pytest.approx({"fastie": 14_000.0, "rsi_mr": 3_000.0, "slowie": 3_000.0})


@pytest.mark.parametrize(("text", "amount", "currency"), [
    ("20000", 20_000.0, "USDT"), ("0.5BTC", 0.5, "BTC"), ("0.5 btc", 0.5, "BTC"), ("1e4 USDC", 10_000.0, "USDC"),
])
def test_backtest_cmd_capital_reads_an_amount_and_its_currency(lake_root: Path, text: str, amount: float,
                                                               currency: str) -> None:
    cfg = _config(lake_root, "--capital", text, "--strategy", "ema_cross")
    assert (cfg.capital, cfg.capital_currency) == (amount, currency)


def test_backtest_cmd_without_start_and_end_covers_all_the_data(lake_root: Path) -> None:
    ts = Lake.at(lake_root).read("trades", "synthetic", SYMBOL, columns=["ts_event"]).column("ts_event")
    cfg = _config(lake_root, "--strategy", "ema_cross")
    assert (cfg.start, cfg.end) == (ts[0].as_py(), ts[-1].as_py() + 1)
    assert _config(lake_root, "--strategy", "ema_cross", "--end", "2024-01-01T02:00Z").start == ts[0].as_py()


def test_backtest_cmd_data_root_after_the_subcommand(lake_root: Path, tmp_path: Path) -> None:
    done = subprocess.run([str(OKXBOT), "backtest", "--symbol", SYMBOL, *PERIOD, "--strategy", "rsi_mr", "--no-save",
                           "--data-root", str(lake_root)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "rsi_mr" in done.stdout and not (tmp_path / "data").exists()


def test_backtest_cmd_leverage_warning_on_stderr_and_exit_0(lake_root: Path) -> None:
    # 50 ETH at ~2,000 on a 10,000 account: about 10x, far past the stated 1.5x
    done = okxbot(lake_root, "backtest", "--symbol", SYMBOL, *PERIOD, "--no-save", "--strategy", "ema_cross",
                  "--param", "size_unit=base", "--param", "size=50")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("okxbot: warning: ")]
    assert len(warnings) == 1 and "past the stated 1.5x" in warnings[0]
    quiet = okxbot(lake_root, "backtest", "--symbol", SYMBOL, *PERIOD, "--no-save", "--strategy", "ema_cross")
    assert quiet.returncode == 0 and "warning" not in quiet.stderr  # sized by the default rule: 1x


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--weight", "0.5", "--strategy", "ema_cross"], "--weight must follow the --strategy"),
        (["--strategy", "ema_cross", "--weight", "0.5", "--weight", "0.2"], "--weight is given twice"),
        (["--strategy", "ema_cross", "--weight", "abc"], "invalid float value: 'abc'"),
        (["--strategy", "ema_cross", "--weight", "1.5"], "weight 1.5 must be in (0, 1]"),
        (["--strategy", "ema_cross", "--id", "a", "--strategy", "rsi_mr", "--id", "a"], "'a' is used twice"),
        (["--strategy", "ema_cross", "--capital", "-5"], "--capital '-5' must be a positive amount"),
        (["--strategy", "ema_cross", "--capital", "10k"], "--capital '10k' must be a positive amount"),
        (["--strategy", "ema_cross", "--capital", "1 BTC ETH"], "--capital '1 BTC ETH' must be a positive amount"),
    ],
)
def test_backtest_cmd_bad_weights_and_ids_one_line_exit_2(lake_root: Path, args: list[str], named: str) -> None:
    done = okxbot(lake_root, "backtest", "--symbol", SYMBOL, *PERIOD, "--no-save", *args)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("okxbot: error: ") and named in lines[0], done.stderr


def test_backtest_cmd_quote_staleness_reaches_the_venue_and_the_stored_config(lake_root: Path) -> None:
    cfg = _config(lake_root, "--strategy", "ema_cross", "--quote-staleness-ms", "250")
    assert cfg.sim.quote_staleness_ns == 250_000_000
    assert cfg.to_json()["quote_staleness_ns"] == 250_000_000
