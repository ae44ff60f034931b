"""`okxbot runs list | show RUN_ID | export RUN_ID`: the stored backtest runs.

Only the parser is built at import time; engine.results.runs (duckdb, pyarrow) is imported when a
sub-command runs. Output fits 100 columns unless `--wide` is given; times are ISO 8601 UTC.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from engine.commands import help_when_bare

FORMATS = {"parquet": ("parquet",), "html": ("html",), "both": ("parquet", "html")}
LIST_COLUMNS = ("run id", "created", "strategies", "symbols", "venue", "period", "fill model",
                "pnl", "return %", "sharpe", "max dd %")
LIST_WIDE_ONLY = ("created", "venue", "period", "fill model", "max dd %")
LIST_NUMBERS = ("pnl", "return %", "sharpe", "max dd %")


def add_parser(sub: Any) -> None:
    """Register `runs` and its sub-commands."""
    parser: argparse.ArgumentParser = sub.add_parser("runs", help="stored backtest runs: list, show, export")
    inner = parser.add_subparsers(dest="runs_command", metavar="SUBCOMMAND")

    p_list = inner.add_parser("list", help="the newest runs, newest first")
    p_list.add_argument("--limit", default="50", metavar="N", help="how many runs to show (default 50)")
    p_list.add_argument("--wide", action="store_true", help="every column, however wide")
    p_list.set_defaults(func=run_list)

    p_show = inner.add_parser("show", help="a run's statistics and config; its trades and fills on request")
    p_show.add_argument("run_id", metavar="RUN_ID", help="a run id, a unique prefix of one, or `latest`")
    p_show.add_argument("--wide", action="store_true", help="every figure and column, however wide")
    p_show.add_argument("--trades", action="store_true", help="also list every round trip of every strategy")
    p_show.add_argument("--fills", action="store_true", help="also list every fill with its split among strategies")
    p_show.set_defaults(func=run_show)

    p_export = inner.add_parser("export", help="write a run's tables (Parquet), config and HTML report")
    p_export.add_argument("run_id", metavar="RUN_ID", help="a run id, a unique prefix of one, or `latest`")
    p_export.add_argument(
        "--out", type=Path, default=None, help="output folder (default <data-root>/exports)"
    )
    p_export.add_argument(
        "--format", default="both", metavar="{both,html,parquet}", help="what to write (default both)"
    )
    p_export.set_defaults(func=run_export)

    help_when_bare(parser)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def _percent(value: Any) -> Any:
    return None if value is None else value * 100.0


def format_runs(runs: list[dict[str, Any]], wide: bool = False) -> str:
    """The `runs list` table: one line per run; at most 100 characters a line unless `wide`."""
    from engine.results.summary import format_ns, hidden_note
    from engine.results.text import WIDTH, drop_columns, fit, render

    rows = [
        [
            r["run_id"], format_ns(r["created_ns"]), _cell(r["strategies"]), _cell(r["symbols"]),
            _cell(r["venue"]), f"{format_ns(r['start_ns'])}..{format_ns(r['end_ns'])}", _cell(r["fill_model"]),
            _cell(r["pnl"]), _cell(_percent(r["total_return"])), _cell(r["sharpe"]),
            _cell(_percent(r["max_drawdown"])),
        ]
        for r in runs
    ]
    headers = list(LIST_COLUMNS)
    hidden: list[str] = []
    if not wide:
        headers, rows = drop_columns(headers, rows, LIST_WIDE_ONLY)
        headers, rows, dropped = fit(headers, rows, WIDTH, ("symbols", "sharpe"), "strategies")
        hidden = [*LIST_WIDE_ONLY, *dropped]
    text_columns = [h for h in headers if h not in LIST_NUMBERS]
    return "\n".join([*render(headers, rows, text_columns), *hidden_note(hidden)])


def _positive_int(text: str, option: str) -> int:
    from engine.model.errors import UserError

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UserError(f"{option} {text!r}: must be a whole number >= 1")
    return value


def run_list(args: argparse.Namespace) -> int:
    """Print the newest runs."""
    from engine.results.runs import list_runs

    runs = list_runs(args.data_root, limit=_positive_int(args.limit, "--limit"))
    print(format_runs(runs, args.wide) if runs else f"no runs stored under {args.data_root}")
    return 0


def text_table(headers: list[str], rows: list[list[str]], left: tuple[str, ...], drop: tuple[str, ...],
               shrink: str, wide: bool) -> list[str]:
    """A table's lines: as wide as needed (`wide`), else fitted to 100 characters with a note."""
    from engine.results.summary import hidden_note
    from engine.results.text import WIDTH, fit, render

    if wide:
        return render(headers, rows, left)
    headers, rows, dropped = fit(headers, rows, WIDTH, drop, shrink)
    return [*render(headers, rows, left), *hidden_note(dropped)]


def show_lines(result: Any, wide: bool, trades: bool, fills: bool) -> list[str]:
    """What `runs show` prints."""
    from engine.results.summary import readable_config, summary_table
    from engine.results.text import WIDTH, wrap
    from engine.results.views import (
        FILL_HEADERS,
        FILL_TEXT_COLUMNS,
        TRADE_HEADERS,
        TRADE_TEXT_COLUMNS,
        fill_rows,
        trade_rows,
    )

    owners: dict[int, set[str]] = {}
    for seq, sid in zip(*(result.allocations.column(c).to_pylist() for c in ("fill_seq", "strategy_id")), strict=True):
        owners.setdefault(seq, set()).add(sid)
    shared = sum(1 for ids in owners.values() if len(ids) > 1)
    lines = [
        f"run {result.run_id}",
        summary_table(result, wide=wide),
        f"code version: {result.code_version}",
        f"data fingerprint: {result.data_fingerprint}",
        *wrap(f"{result.fills.num_rows} venue fills ({shared} shared by several strategies; --fills shows "
              f"the split), {result.trades.num_rows} round trips (--trades lists them)", WIDTH, "  "),
        "config:",
        json.dumps(readable_config(result.config), indent=2, sort_keys=True, default=str),
    ]
    if trades:
        lines += ["", f"trades ({result.trades.num_rows} round trips):"]
        lines += text_table(TRADE_HEADERS, trade_rows(result.trades), TRADE_TEXT_COLUMNS,
                            ("exit time", "funding paid", "symbol", "#", "status", "fees"), "strategy", wide)
    if fills:
        lines += ["", f"fills ({result.fills.num_rows}):"]
        lines += text_table(FILL_HEADERS, fill_rows(result.fills, result.allocations), FILL_TEXT_COLUMNS,
                            ("liquidity", "symbol", "fee"), "strategies: share", wide)
    return lines


def run_show(args: argparse.Namespace) -> int:
    """Print a run's summary table, provenance and config; its trades and fills when asked."""
    from engine.results.runs import load_run

    result = load_run(args.data_root, args.run_id)
    print("\n".join(show_lines(result, args.wide, args.trades, args.fills)))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write a run's files and print their paths."""
    from engine.model.errors import UserError
    from engine.results.runs import export_run, load_run

    if args.format not in FORMATS:
        raise UserError(f"--format {args.format!r}: must be one of {', '.join(sorted(FORMATS))}")
    result = load_run(args.data_root, args.run_id)
    out = args.out if args.out is not None else Path(args.data_root) / "exports"
    for path in export_run(result, out, FORMATS[args.format]):
        print(path)
    return 0
