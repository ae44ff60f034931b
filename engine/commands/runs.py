"""`okxbot runs list | show RUN_ID | export RUN_ID`: the stored backtest runs.

Only the parser is built at import time; engine.results.runs (duckdb, pyarrow) is imported when a
sub-command runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

FORMATS = {"parquet": ("parquet",), "html": ("html",), "both": ("parquet", "html")}


def add_parser(sub: Any) -> None:
    """Register `runs` and its sub-commands."""
    parser: argparse.ArgumentParser = sub.add_parser("runs", help="stored backtest runs: list, show, export")
    inner = parser.add_subparsers(dest="runs_command", metavar="SUBCOMMAND")

    p_list = inner.add_parser("list", help="the newest runs, newest first")
    p_list.add_argument("--limit", type=int, default=50, help="how many runs to show (default 50)")
    p_list.set_defaults(func=run_list)

    p_show = inner.add_parser("show", help="a run's statistics and config")
    p_show.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p_show.set_defaults(func=run_show)

    p_export = inner.add_parser("export", help="write a run's tables (Parquet), config and HTML report")
    p_export.add_argument("run_id", metavar="RUN_ID", help="a run id or a unique prefix of one")
    p_export.add_argument(
        "--out", type=Path, default=None, help="output folder (default <data-root>/exports)"
    )
    p_export.add_argument(
        "--format", choices=sorted(FORMATS), default="both", help="what to write (default both)"
    )
    p_export.set_defaults(func=run_export)

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def format_runs(runs: list[dict[str, Any]]) -> str:
    """The `runs list` table: one line per run."""
    from engine.results.summary import format_ns

    headers = [
        "run id",
        "created",
        "strategies",
        "symbols",
        "venue",
        "period",
        "fill model",
        "pnl",
        "return %",
        "sharpe",
    ]
    rows = [
        [
            r["run_id"],
            format_ns(r["created_ns"]),
            _cell(r["strategies"]),
            _cell(r["symbols"]),
            _cell(r["venue"]),
            f"{format_ns(r['start_ns'])}..{format_ns(r['end_ns'])}",
            _cell(r["fill_model"]),
            _cell(r["pnl"]),
            _cell(None if r["total_return"] is None else r["total_return"] * 100.0),
            _cell(r["sharpe"]),
        ]
        for r in runs
    ]
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [headers, *rows]
    )


def run_list(args: argparse.Namespace) -> int:
    """Print the newest runs."""
    from engine.results.runs import list_runs

    runs = list_runs(args.data_root, limit=args.limit)
    print(format_runs(runs) if runs else f"no runs stored under {args.data_root}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print a run's summary table, provenance and config."""
    from engine.results.runs import load_run
    from engine.results.summary import summary_table

    result = load_run(args.data_root, args.run_id)
    print(f"run {result.run_id}")
    print(summary_table(result))
    print(f"code version: {result.code_version}")
    print(f"data fingerprint: {result.data_fingerprint}")
    print("config:")
    print(json.dumps(result.config, indent=2, sort_keys=True, default=str))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write a run's files and print their paths."""
    from engine.results.runs import export_run, load_run

    result = load_run(args.data_root, args.run_id)
    out = args.out if args.out is not None else Path(args.data_root) / "exports"
    for path in export_run(result, out, FORMATS[args.format]):
        print(path)
    return 0
