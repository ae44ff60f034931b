"""`okxbot data ingest FILE... [--venue V] [--symbol S]`: add recorded or downloaded data to the lake.

Exit 0 when every file was ingested (rejected rows are counted on stderr), 1 when some files
were refused or torn while others were kept, 2 when nothing was written (docs/lake.md).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from engine.commands.data_errors import DONE, NOTHING_DONE, PARTLY_DONE, error, one_line_os_errors, warn

if TYPE_CHECKING:
    from engine.store.ingest import FileResult


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "ingest",
        help="add trade, quote, bar or funding files to the lake (format detected from content)",
        description=(
            "Ingest files into the lake. Formats: OKX WebSocket pushes (JSON lines/array), OKX "
            "trade-history CSV/zip, Binance WebSocket recordings, freqtrade JSON, and generic "
            "CSV/Parquet trades, quotes, bars or funding. Re-ingesting a file adds nothing. Exit 0: "
            "done; 1: some files refused or torn, the rest kept; 2: nothing written."
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
    """Ingest; print one line per (kind, venue, symbol) on stdout, rejections and refusals on stderr."""
    from engine.model.errors import UserError
    from engine.store.formats import Options
    from engine.store.ingest import ingest_paths

    options = Options(args.venue, args.symbol, args.interval, args.contract_value)
    with one_line_os_errors():
        results = ingest_paths(_lake(args.data_root), args.files, options, progress=not args.no_progress)
    kept = [r for r in results if r.reports]
    refused = [r.refused for r in results if r.refused is not None]
    if not kept and len(refused) == 1:
        raise UserError(refused[0])
    _print_kept(kept)
    for line in refused:
        error(line)
    if not kept:
        return NOTHING_DONE
    return PARTLY_DONE if refused or any(r.torn for r in kept) else DONE


def _lake(data_root: str) -> Any:
    from engine.store.lake import Lake

    return Lake.at(data_root)


def _print_kept(kept: list[FileResult]) -> None:
    from engine.store.ingest import merge_reports
    from engine.store.screen import describe

    for report in merge_reports(r for result in kept for r in result.reports):
        print(
            f"{report.kind} {report.venue} {report.symbol}: received {report.received:,}, "
            f"new {report.new_rows:,}, duplicates {report.duplicates:,}, rejected {sum(report.rejected.values()):,}"
        )
    for result in kept:
        if result.skipped:
            skipped = ", ".join(f"{what} {count:,}" for what, count in sorted(result.skipped.items()))
            print(f"{result.path}: skipped {sum(result.skipped.values()):,} lines ({skipped})")
        for r in result.reports:
            if r.rejected:
                warn(
                    f"{result.path}: {r.kind} {r.venue} {r.symbol}: rejected {sum(r.rejected.values()):,} "
                    f"of {r.received:,} rows: {describe(r.rejected, r.examples)}"
                )
        if result.torn:
            rows = sum(r.received for r in result.reports)
            warn(f"{result.path}: torn, {result.torn}; kept the {rows:,} rows of the complete lines before it")
