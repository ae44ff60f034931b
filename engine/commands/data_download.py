"""`okxbot data download`: real OKX trades or candles into the lake, resumable."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from typing import Any

from engine.model.errors import UserError

REST_URL_ENV = "OKXBOT_OKX_REST_URL"


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "download",
        help="download OKX trades or candles into the lake (resumable)",
        description="Fetch OKX history into <data-root>/lake. Killed or interrupted runs continue "
        "where they stopped; a finished range is not fetched again.",
    )
    parser.add_argument("--symbol", required=True, help="ccxt symbol, e.g. ETH/USDT or ETH/USDT:USDT")
    parser.add_argument("--start", required=True, help="UTC date or time: 2024-01-01, 2024-01-01T12:00")
    parser.add_argument("--end", help="UTC date or time, exclusive (default: now)")
    parser.add_argument("--kind", choices=("trades", "bars"), default="trades", help="default: trades")
    parser.add_argument("--interval", default="1m", help="bar interval for --kind bars (default: 1m)")
    parser.add_argument(
        "--rest-url",
        default=os.environ.get(REST_URL_ENV),
        help=f"OKX REST base URL, for a proxy or a local fake (env {REST_URL_ENV}; default www.okx.com)",
    )
    parser.add_argument("--refetch", action="store_true", help="ignore recorded progress inside the range")
    parser.add_argument(
        "--flush-pages",
        type=int,
        default=20,
        help="pages of 100 rows fetched between lake writes; a kill loses at most these (default: 20)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


def parse_time(field: str, text: str) -> int:
    """ns UTC of an ISO date or date-time; naive times are UTC. Errors name the option."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{field} {text!r} is not a date like 2024-01-01 or 2024-01-01T12:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _show(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def run(args: argparse.Namespace) -> int:
    """Run the download and print one summary line.

    Exit 1 when the retries gave up after some pages were written (the line says what was kept),
    2 when nothing was written (docs/lake.md, "Exit codes").
    """
    import time
    from pathlib import Path

    from engine.commands.data_errors import DONE, PARTLY_DONE, error, one_line_os_errors
    from engine.commands.download import DownloadConfig, DownloadRequest, DownloadStopped, download

    start = parse_time("--start", args.start)
    end = parse_time("--end", args.end) if args.end else time.time_ns()
    if end <= start:
        raise UserError(f"--end {args.end!r} is not after --start {args.start!r}")
    request = DownloadRequest(args.symbol, start, end, args.kind, args.interval, args.refetch)
    config = DownloadConfig(
        rest_url=args.rest_url or None, flush_pages=args.flush_pages, progress=not args.no_progress
    )
    with one_line_os_errors():
        try:
            report = download(Path(args.data_root), request, config)
        except DownloadStopped as stopped:
            _summary(args, stopped.report)
            kept = stopped.report.complete_from
            if kept is not None:
                print(f"kept: {_show(kept)}..{_show(stopped.report.end)} is complete in the lake; "
                      "the same command again continues below it")
            error(str(stopped))
            return PARTLY_DONE
    _summary(args, report)
    return DONE


def _summary(args: argparse.Namespace, report: Any) -> None:
    from engine.commands.data_errors import warn

    what = f"bars {args.interval}" if report.kind == "bars" else "trades"
    print(
        f"okx {report.symbol} {what} {_show(report.start)}..{_show(report.end)}: "
        f"{report.new_rows} rows written, {report.duplicates} already in the lake, "
        f"{report.pages} pages fetched" + (f", {report.rejected} rejected" if report.rejected else "")
    )
    if report.rejected:
        warn(f"okx {report.symbol} {what}: rejected {report.rejected} rows sent by OKX as invalid")
