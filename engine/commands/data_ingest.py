"""`okxbot data ingest FILE... [--venue V] [--symbol S]`: add recorded or downloaded data to the lake."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "ingest",
        help="add trade, quote, bar or funding files to the lake (format detected from content)",
        description=(
            "Ingest files into the lake. Formats: OKX WebSocket pushes (JSON lines/array), OKX "
            "trade-history CSV/zip, Binance WebSocket recordings, freqtrade JSON, and generic "
            "CSV/Parquet trades, quotes, bars or funding. Re-ingesting a file adds nothing."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="files to ingest (.gz and .zip are opened)")
    parser.add_argument("--venue", help="venue when the file does not say it (e.g. binance)")
    parser.add_argument("--symbol", help="ccxt symbol when the file does not say it (e.g. ETH/USDT:USDT)")
    parser.add_argument("--interval", help="bar interval of generic bar files (default: inferred from spacing)")
    parser.add_argument(
        "--contract-value",
        type=float,
        metavar="CTVAL",
        help="base currency (USD for inverse swaps) per contract, for OKX swap files in contracts",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Ingest and print one line per (kind, venue, symbol), plus skipped lines per file."""
    from engine.store.formats import Options
    from engine.store.ingest import ingest_paths, merge_reports
    from engine.store.lake import Lake

    options = Options(args.venue, args.symbol, args.interval, args.contract_value)
    lake = Lake.at(args.data_root)
    results = ingest_paths(lake, args.files, options, progress=not args.no_progress)
    for report in merge_reports(r for result in results for r in result.reports):
        rejected = sum(report.rejected.values())
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(report.rejected.items()))
        print(
            f"{report.kind} {report.venue} {report.symbol}: received {report.received:,}, "
            f"new {report.new_rows:,}, duplicates {report.duplicates:,}, rejected {rejected:,}"
            + (f" ({reasons})" if reasons else "")
        )
    for result in results:
        if result.skipped:
            skipped = ", ".join(f"{what} {count:,}" for what, count in sorted(result.skipped.items()))
            print(f"{result.path}: skipped {sum(result.skipped.values()):,} lines ({skipped})")
        if not result.reports:
            print(f"{result.path}: no rows of a known kind")
    return 0
