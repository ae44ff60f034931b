"""The text summary of a result: the stats table the CLI, the demo and the notebook print."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from engine.results.build import BUY_AND_HOLD_NOTE, BacktestResult

SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (header, stats field, format): '%' shows a fraction as a percentage.
    ("pnl", "pnl", "money"),
    ("return %", "total_return", "%"),
    ("sharpe", "sharpe", "ratio"),
    ("sortino", "sortino", "ratio"),
    ("max dd %", "max_drawdown", "%"),
    ("turnover", "turnover", "ratio"),
    ("fees", "fees", "money"),
    ("exposure %", "exposure", "%"),
    ("fills", "fills", "int"),
    ("round trips", "round_trips", "int"),
    ("win %", "win_rate", "%"),
)


def format_cell(value: Any, kind: str) -> str:
    """A stats value as the summary shows it: 2 decimals, percentages scaled, '-' for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "int":
        return str(int(value))
    number = float(value) * 100.0 if kind == "%" else float(value)
    text = f"{number:.2f}"
    return "0.00" if text == "-0.00" else text


def summary_rows(result: BacktestResult) -> tuple[list[str], list[list[str]]]:
    """(headers, rows of text cells) of the stats in series order; shared with the HTML report."""
    by_series = {row["series"]: row for row in result.stats.to_pylist()}
    columns = SUMMARY_COLUMNS
    quote = result.config.get("quote", "USDT")
    if quote != "USDT" and any(row.get("pnl_usdt") is not None for row in by_series.values()):
        columns = (("pnl", "pnl", "money"), ("pnl USDT", "pnl_usdt", "money"), *SUMMARY_COLUMNS[1:])
    headers = ["series", *(h for h, _, _ in columns)]
    rows = [
        [name, *(format_cell(by_series[name].get(field), kind) for _, field, kind in columns)]
        for name in result.series
        if name in by_series
    ]
    return headers, rows


def format_ns(ts: Any) -> str:
    """An ns timestamp as ISO UTC to the second ('-' when absent)."""
    if not isinstance(ts, int):
        return "-"
    return datetime.fromtimestamp(ts / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def header_line(config: Mapping[str, Any]) -> str:
    """Symbols, period, fill model and latency of a run; SYNTHETIC when the venue is synthetic."""
    symbols = ", ".join(str(s) for s in config.get("symbols") or []) or "-"
    latency = config.get("latency_ns")
    latency_text = f"{latency / 1e6:g} ms" if isinstance(latency, int | float) else "-"
    parts = [
        f"symbols {symbols}",
        f"period {format_ns(config.get('start'))} .. {format_ns(config.get('end'))}",
        f"fill model {describe(config.get('fill_model'))}",
        f"latency {latency_text}",
    ]
    quote = config.get("quote", "USDT")
    if quote != "USDT":
        conv = config.get("usdt_conversion")
        parts.append(f"pnl in {quote}" + (f", USDT via {conv}" if conv else ", no USDT conversion series"))
    if config.get("venue") == "synthetic":
        parts.insert(0, "SYNTHETIC DATA")
    return " | ".join(parts)


def describe(value: Any) -> str:
    """A config value as short deterministic text."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def summary_table(result: BacktestResult) -> str:
    """A deterministic fixed-width text table of the stats, one row per series."""
    headers, rows = summary_rows(result)
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    widths = [max(w, 8) for w in widths]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "-" * len(line(headers))
    body = [line(r) for r in rows]
    return (
        "\n".join([header_line(result.config), rule, line(headers), rule, *body, rule, BUY_AND_HOLD_NOTE])
        + "\n"
    )
