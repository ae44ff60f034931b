"""The backtest half of `make demo`: a synthetic market, a two-strategy netted portfolio, a summary
and an HTML report (the research half follows, in engine/research/demo.py).

Everything runs from files (the lake and DuckDB): no server, no network. The data are SYNTHETIC
(a seeded generator), because a fresh clone has no recorded market data.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.time import ns_to_iso, to_ns
from engine.results.report import write_html
from engine.results.runs import ensure_writable, save_run
from engine.results.summary import summary_table
from engine.store.lake import Lake
from engine.store.synthetic import SynthConfig, write_synthetic

SYMBOL = "ETH/USDT:USDT"
DATA_START = "2024-01-01T00:00Z"
HOURS = 48.0
TRADING_START = "2024-01-01T06:00Z"  # the first hours are the strategies' warm-up history

PORTFOLIO = (
    StrategySpec("ema_cross_bars", {"fast": 20, "slow": 100, "size": 1.0, "bar_interval": "1m"}, "trend"),
    StrategySpec("rsi_mr", {"n": 14, "lower": 30.0, "upper": 70.0, "exit": 50.0, "size": 1.0,
                            "bar_interval": "1m"}, "meanrev"),
)


def demo_config() -> BacktestConfig:
    """The demo portfolio over the synthetic data."""
    synth = SynthConfig(symbol=SYMBOL, start=DATA_START, hours=HOURS)
    return BacktestConfig(strategies=PORTFOLIO, symbols=(SYMBOL,), start=to_ns(TRADING_START),
                          end=synth.end_ns, venue="synthetic", progress=True)


def main(data_root: str | Path) -> int:
    """Write the data (idempotent), backtest, print, store and report."""
    root = Path(data_root)
    Lake.at(root).check_writable()
    ensure_writable(root)
    synth = SynthConfig(symbol=SYMBOL, start=DATA_START, hours=HOURS)
    reports = write_synthetic(Lake.at(root), synth)
    trades = next(r for r in reports if r.kind == "trades")
    print(f"SYNTHETIC market data (seeded generator, not a real market): {SYMBOL}\n"
          f"  {ns_to_iso(synth.start_ns)} .. {ns_to_iso(synth.end_ns)}, {trades.received:,} trades "
          f"({trades.new_rows:,} new) in {root / 'lake'}")
    cfg = demo_config()
    result = run_backtest(cfg, root)
    print()
    print(summary_table(result))
    print(_netting_line(cfg, root, result))
    save_run(root, result)
    html = write_html(result, root / "reports" / f"{result.run_id}.html")
    print(f"run {result.run_id} stored in {root / 'okxbot.duckdb'} (okxbot runs show {result.run_id[:15]})")
    print(f"HTML report with the equity curves: {html}")
    return 0


def _netting_line(cfg: BacktestConfig, root: Path, result: object) -> str:
    """Fees of the netted portfolio against the two strategies run alone (real runs, not a formula)."""
    capitals = cfg.capitals()  # alone, each strategy keeps the capital it has in the portfolio
    alone = [run_backtest(replace(cfg, strategies=(spec,), capital=capitals[spec.strategy_id], progress=False), root)
             for spec in cfg.strategies]
    fees = [float(sum(r.fills.column("fee").to_pylist())) for r in alone]
    netted = float(sum(result.fills.column("fee").to_pylist()))  # type: ignore[attr-defined]
    parts = " + ".join(f"{s.strategy_id} {f:.2f}" for s, f in zip(cfg.strategies, fees, strict=True))
    return (f"netting: the portfolio paid {netted:.2f} in fees; run alone, each with its capital in the\n"
            f"portfolio, the strategies pay {parts} = {sum(fees):.2f}; saved {sum(fees) - netted:.2f}")
