"""Several symbols in one replay: merged in receive order, each strategy trading its own symbol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.time import to_ns
from engine.store.lake import Lake
from engine.store.synthetic import SynthConfig, write_synthetic

ETH, BTC = "ETH/USDT:USDT", "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def two_symbol_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("multi") / "data"
    lake = Lake.at(root)
    write_synthetic(lake, SynthConfig(symbol=ETH, start="2024-01-01T00:00Z", hours=4, seed=3, trade_rate=2.0))
    write_synthetic(lake, SynthConfig(symbol=BTC, start="2024-01-01T00:00Z", hours=4, seed=4, trade_rate=2.0,
                                      start_price=40_000.0))
    return root


def _config() -> BacktestConfig:
    return BacktestConfig(
        strategies=(
            StrategySpec("ema_cross_bars", {"fast": 5, "slow": 20, "size": 1.0, "size_unit": "base"}, "eth_trend", ETH),
            StrategySpec("rsi_mr", {"n": 7, "size": 0.05, "size_unit": "base"}, "btc_meanrev", BTC),
        ),
        symbols=(ETH, BTC), start=to_ns("2024-01-01T01:00Z"), end=to_ns("2024-01-01T04:00Z"), venue="synthetic",
    )


def test_two_symbols_each_strategy_fills_only_on_its_symbol(two_symbol_root: Path) -> None:
    result = run_backtest(_config(), two_symbol_root)
    fills = result.fills.to_pylist()
    by_symbol = {s: [f for f in fills if f["symbol"] == s] for s in (ETH, BTC)}
    assert by_symbol[ETH] and by_symbol[BTC]
    ledger = result.ledger.to_pylist()
    assert {r["symbol"] for r in ledger if r["strategy_id"] == "eth_trend"} == {ETH}
    assert {r["symbol"] for r in ledger if r["strategy_id"] == "btc_meanrev"} == {BTC}
    # fills happen at prices of their own symbol (ETH ~2000, BTC ~40000)
    assert max(f["price"] for f in by_symbol[ETH]) < 10_000 < min(f["price"] for f in by_symbol[BTC])
    # every fill is a real trade of its symbol, or a taker fill at one of its quotes (no trade id)
    for symbol, group in by_symbol.items():
        tape = Lake.at(two_symbol_root).read("trades", "synthetic", symbol)
        ids = set(tape.column("trade_id").to_pylist())
        quotes = Lake.at(two_symbol_root).read("quotes", "synthetic", symbol)
        quoted = set(quotes.column("bid").to_pylist()) | set(quotes.column("ask").to_pylist())
        assert all(f["trade_id"] in ids if f["trade_id"] else f["liquidity"] == "taker" and f["price"] in quoted
                   for f in group)
        assert any(not f["trade_id"] for f in group)  # the book is used


def test_two_symbols_marks_and_portfolio_add_up(two_symbol_root: Path) -> None:
    result = run_backtest(_config(), two_symbol_root)
    assert set(result.marks.column("symbol").to_pylist()) == {ETH, BTC}
    stats = {r["series"]: r for r in result.stats.to_pylist()}
    assert stats["portfolio"]["pnl"] == pytest.approx(stats["eth_trend"]["pnl"] + stats["btc_meanrev"]["pnl"])
    equity = result.equity.to_pylist()
    positions = [r["position"] for r in equity]
    assert all(np.isnan(p) for p in positions)  # no single position column with two symbols


def test_cli_assigns_strategies_to_symbols(two_symbol_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main

    args = ["--data-root", str(two_symbol_root), "backtest", "--symbol", ETH, "--symbol", BTC,
            "--strategy", "ema_cross_bars", "--param", "fast=5", "--param", "slow=20",
            "--strategy", f"rsi_mr@{BTC}", "--param", "size=0.05",
            "--start", "2024-01-01T01:00", "--end", "2024-01-01T04:00", "--no-save"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"symbols {ETH}, {BTC}" in out and "ema_cross_bars" in out and "rsi_mr" in out
    bad = [*args[:3], "--symbol", ETH, "--strategy", f"rsi_mr@{BTC}", "--start", "2024-01-01T01:00",
           "--end", "2024-01-01T04:00"]
    assert main(bad) == 2
    assert f"{BTC} is not one of the --symbol values" in capsys.readouterr().err
