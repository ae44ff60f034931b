"""`okxbot data ls [--gap 1h] [--kind K]`: what the lake holds, and where it has holes."""

from __future__ import annotations

import argparse
from typing import Any

# engine.store.schema.KINDS, without importing pyarrow
KINDS = ("trades", "quotes", "bars", "mark", "funding", "books", "instruments", "gaps")


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "ls",
        help="list the lake's series: rows, first and last time, gaps",
        description="List every (kind, venue, symbol) series with rows, time span (UTC) and gaps.",
    )
    parser.add_argument("--gap", default="1h", help="report stretches without data longer than this (default 1h)")
    parser.add_argument("--kind", choices=KINDS, action="append", help="only this kind (repeatable)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per series and its gaps below it (the largest three when there are more)."""
    from engine.commands.data_errors import one_line_os_errors
    from engine.store.inspect import parse_duration, summarize
    from engine.store.lake import Lake, refuse_files

    gap_ns = parse_duration(args.gap)
    lake = Lake.at(args.data_root)
    refuse_files(lake.root.parent)
    with one_line_os_errors():
        infos = summarize(lake, gap_ns, args.kind)
    if not infos:
        print(f"no data in {lake.root}; add some with `okxbot data ingest FILE`")
        return 0
    header = ("KIND", "VENUE", "SYMBOL", "INTERVAL", "ROWS", "FIRST (UTC)", "LAST (UTC)", f"GAPS>{args.gap}")
    lines = [header] + [
        (i.kind, i.venue, i.symbol, i.interval or "-", f"{i.rows:,}", iso(i.first), iso(i.last), f"{i.gap_count:,}")
        for i in infos
    ]
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    for n, line in enumerate(lines):
        print(
            "  ".join(
                cell.rjust(w) if c in (4, 7) else cell.ljust(w)
                for c, (cell, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
        if n:
            print_gaps(infos[n - 1])
    return 0


def print_gaps(info: Any) -> None:
    """The series' gaps under its line: all when they are few, else how many and the largest."""
    shown = info.largest_gaps
    if info.gap_count > len(shown):
        print(f"    {info.gap_count:,} gaps, the {len(shown)} largest:")
    for gap in shown:
        note = f" ({gap.note})" if gap.note else ""
        print(f"    gap {duration(gap.length)}: {iso(gap.start)} -> {iso(gap.end)}{note}")


def iso(ts: int) -> str:
    """ISO 8601 UTC with milliseconds."""
    import datetime as dt

    moment = dt.datetime.fromtimestamp(ts // 1_000_000_000, dt.UTC).replace(microsecond=ts % 1_000_000_000 // 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration(ns: int) -> str:
    """Short human form of a duration: 3d4h, 2h05m, 4m10s, 12.5s."""
    seconds = ns / 1_000_000_000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{sec:02d}s"
