"""`okxbot data synth`: write a seeded synthetic market (venue `synthetic`) into the lake."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "synth",
        help="write a seeded synthetic market (venue 'synthetic') into the lake",
        description="Generate fake but realistic trades, quotes, funding and 1m mark bars (regime-"
        "switching volatility, jumps, sweeps) into <data-root>/lake under venue 'synthetic'. The "
        "same options always give the same data; running twice adds nothing.",
    )
    parser.add_argument("--symbol", default="ETH/USDT:USDT", help="ccxt symbol (default: ETH/USDT:USDT)")
    parser.add_argument("--start", default="2024-01-01T00:00Z", help="UTC date or time (default: 2024-01-01)")
    parser.add_argument("--hours", type=float, default=24.0, help="how long (default: 24)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--rate", type=float, default=3.0, help="mean trades per second (default: 3)")
    parser.add_argument("--price", type=float, default=2000.0, help="start price (default: 2000)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate, write and print what was written, marked as synthetic.

    Exit 1 when a write failed after others were written (what was written is printed), 2 when
    nothing was written (docs/lake.md, "Exit codes").
    """
    from pathlib import Path

    from engine.commands.data_errors import DONE, PARTLY_DONE, error, one_line_os_errors
    from engine.store.lake import Lake, PartlyWritten
    from engine.store.synthetic import SynthConfig, write_synthetic

    cfg = SynthConfig(
        symbol=args.symbol, start=args.start, hours=args.hours, seed=args.seed,
        trade_rate=args.rate, start_price=args.price,
    )
    lake = Lake.at(Path(args.data_root))
    with one_line_os_errors():
        lake.check_writable()
        try:
            reports = write_synthetic(lake, cfg)
        except PartlyWritten as stopped:
            _print(lake, cfg, stopped.reports, "written before the failure")
            error(str(stopped))
            return PARTLY_DONE
    _print(lake, cfg, reports, "")
    return DONE


def _print(lake: Any, cfg: Any, reports: list[Any], note: str) -> None:
    from datetime import UTC, datetime

    from engine.commands.data_errors import warn
    from engine.store.screen import describe
    from engine.store.synthetic import VENUE

    def show(ns: int) -> str:
        return datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M")

    print(
        f"SYNTHETIC data (not a real market), seed {cfg.seed}: {cfg.symbol} venue {VENUE!r} "
        f"{show(cfg.start_ns)}..{show(cfg.end_ns)} UTC into {lake.root}" + (f" ({note})" if note else "")
    )
    for r in reports:
        rejected = sum(r.rejected.values())
        print(f"  {r.kind:<8} {r.received:>10,} rows: {r.new_rows:,} new, {r.duplicates:,} already there"
              + (f", {rejected:,} rejected" if rejected else ""))
        if rejected:
            warn(f"synthetic {r.kind}: rejected {rejected:,} rows: {describe(r.rejected, r.examples)}")
