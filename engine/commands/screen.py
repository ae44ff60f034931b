"""`okxbot screen`: sweep a bar strategy's parameter grid over the lake's 1m bars and rank it.

Writes the ranked grid as CSV and the heatmap as SVG into `--out` (default
<data-root>/screens). Bad input (a malformed `--grid`, a parameter the strategy does not have,
a strategy without a vectorised form, no bars) gets one line naming the flag and the value, exit 2.
"""

from __future__ import annotations

import argparse
from typing import Any

METRICS = ("sharpe", "pnl", "return_pct", "max_dd_pct")


def add_parser(sub: Any) -> None:
    """Register the command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "screen", help="sweep a bar strategy's parameter grid over 1m bars and rank it",
        description="Trade every point of a parameter grid on the lake's 1m bars (built from trades where "
        "the lake has no candles) under the screen's convention: decide at a bar's close, fill at the next "
        "bar's open as taker, no funding, no lots, no limits (README \"Screens\"). Prints the best points and "
        "writes the ranked grid (CSV) and a heatmap (SVG).",
        epilog="example: okxbot screen --strategy ema_cross_bars --symbol BTC/USDT:USDT "
               "--grid fast=5:50:5 --grid slow=20:200:20 --metric sharpe --top 10",
    )
    p.add_argument("--strategy", required=True, metavar="NAME",
                   help="a strategy with a vectorised form (ema_cross_bars, macd_trend, rsi_mr, ...)")
    p.add_argument("--symbol", required=True, metavar="SYMBOL", help="ccxt symbol, e.g. BTC/USDT:USDT")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=START:STOP:STEP",
                   help="a swept parameter: a range with STOP included, or NAME=V1,V2,... (repeat per parameter)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="a fixed parameter (repeat)")
    p.add_argument("--start", default=None, help="UTC start (ISO date or time; default: the first bar)")
    p.add_argument("--end", default=None, help="UTC end, exclusive (default: after the last bar)")
    p.add_argument("--venue", default=None, help="lake venue to read (default: the one holding the symbol)")
    p.add_argument("--metric", choices=METRICS, default="sharpe", help="rank by this (default sharpe; "
                   "max_dd_pct ranks the lowest first)")
    p.add_argument("--top", type=int, default=10, metavar="N", help="print the best N points (default 10)")
    p.add_argument("--taker-fee", type=float, default=None, metavar="F",
                   help="taker fee, a fraction (default 0.0005, OKX's swap taker)")
    p.add_argument("--capital", type=float, default=10_000.0, help="capital, in the quote currency (default 10000)")
    p.add_argument("--out", default=None, metavar="DIR", help="where to write the CSV and the SVG "
                   "(default <data-root>/screens)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Parse the grid, screen, print the top points, write the table and the heatmap."""
    import time
    from pathlib import Path

    from engine.model.errors import UserError
    from engine.model.time import to_ns
    from engine.research.screen import TAKER_FEE, ScreenConfig, screen
    from engine.research.screen_grid import parse_grid
    from engine.research.screen_plot import write_screen
    from engine.strategies.catalog import parse_params, strategy_class

    if args.top < 1:
        raise UserError(f"--top {args.top} must be at least 1")
    cls = strategy_class(args.strategy)
    if not cls.has_vector_form():
        from engine.research.screen import vector_strategies

        raise UserError(f"--strategy {args.strategy}: has no vectorised form to screen "
                        f"(these have: {', '.join(vector_strategies())})")
    cfg = ScreenConfig(
        args.strategy, args.symbol, parse_grid(args.grid, cls), parse_params(args.param), args.venue,
        None if args.start is None else to_ns(args.start, "--start"),
        None if args.end is None else to_ns(args.end, "--end"), args.metric,
        TAKER_FEE if args.taker_fee is None else args.taker_fee, args.capital,
    )
    t0 = time.perf_counter()
    result = screen(cfg, args.data_root)
    seconds = time.perf_counter() - t0
    if result.table.empty:
        raise UserError(f"--grid: all {result.skipped} grid points were refused by the strategy ({result.skip_reason})")
    print(f"{args.strategy} on {args.symbol}: {len(result.frame):,} bars ({result.source}), "
          f"{len(result.table):,} grid points in {seconds:.2f} s, {result.skipped} skipped"
          + (f" ({result.skip_reason})" if result.skipped else ""))
    print(result.table.head(args.top).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    table, svg = write_screen(result, Path(args.out) if args.out else Path(args.data_root) / "screens")
    print(f"table: {table}")
    print(f"heatmap: {svg}")
    return 0
