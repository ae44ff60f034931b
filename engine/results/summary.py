"""The text summary of a result: the stats table the CLI, the demo and the notebook print.

By default it fits 100 columns: the default figures, fewer when names or numbers are long (the
last lines say what is hidden); `wide=True` shows every figure on lines as long as they need.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.results.build import BUY_AND_HOLD_NOTE, BacktestResult
from engine.results.text import WIDTH, fit, render, wrap, wrap_parts


@dataclass(frozen=True, slots=True)
class Column:
    """One figure of the summary: its header, stats field, format and whether it shows by default."""

    header: str
    field: str
    kind: str  # money | % (a fraction shown as a percentage) | ratio | int | duration (seconds)
    default: bool = True


SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column("pnl", "pnl", "money"),
    Column("return %", "total_return", "%"),
    Column("cagr %", "cagr", "%", False),
    Column("sharpe", "sharpe", "ratio"),
    Column("sortino", "sortino", "ratio"),
    Column("calmar", "calmar", "ratio", False),
    Column("max dd %", "max_drawdown", "%"),
    Column("turnover", "turnover", "ratio", False),
    Column("fees", "fees", "money"),
    Column("funding paid", "funding_paid", "money", False),
    Column("exposure %", "exposure", "%"),
    Column("exp-adj ret %", "exposure_adjusted_return", "%", False),
    Column("fills", "fills", "int"),
    Column("trips", "round_trips", "int"),
    Column("win %", "win_rate", "%"),
    Column("profit factor", "profit_factor", "ratio", False),
    Column("expectancy", "expectancy", "money", False),
    Column("avg trip", "avg_trip_duration_s", "duration", False),
    Column("longest trip", "longest_trip_duration_s", "duration", False),
)
PNL_USDT = Column("pnl USDT", "pnl_usdt", "money")
CURRENCY = Column("currency", "currency", "text")
# Dropped in this order when the default table is wider than the width.
DROP_ORDER = (
    "sortino", "fills", "exposure %", "fees", "win %", "trips", "max dd %", "pnl USDT", "sharpe", "return %",
    "currency",
)


def format_duration(seconds: Any) -> str:
    """Seconds as '45s', '12m05s', '3h07m' or '2d04h' ('-' for NaN)."""
    if seconds is None or math.isnan(seconds):
        return "-"
    s = round(float(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


# Amounts in these are shown to the cent; in any other currency (a coin) to 6 decimals.
CENT_CURRENCIES = frozenset({"USDT", "USDC", "USD", "BUSD", "DAI", "EUR"})


def money_decimals(currency: Any) -> int:
    """Decimals of an amount in `currency`: 2 for USD-like currencies, 6 for coins (0.000001 BTC)."""
    return 2 if not currency or currency in CENT_CURRENCIES else 6


def format_cell(value: Any, kind: str, decimals: int = 2) -> str:
    """A stats value as the summary shows it: 2 decimals (`decimals` for money), percentages scaled,
    '-' for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "text":
        return str(value)
    if kind == "int":
        return str(int(value))
    if kind == "duration":
        return format_duration(value)
    number = float(value) * 100.0 if kind == "%" else float(value)
    places = decimals if kind == "money" else 2
    text = f"{number:.{places}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def summary_columns(result: BacktestResult, wide: bool = True) -> list[Column]:
    """The columns of the stats table: every figure (`wide`) or the default ones."""
    columns = [c for c in SUMMARY_COLUMNS if wide or c.default]
    quote = result.config.get("quote", "USDT")
    stats = result.stats.to_pylist()
    currencies = {row.get("currency") or quote for row in stats}
    if currencies != {"USDT"} and any(row.get("pnl_usdt") is not None for row in stats):
        columns.insert(1, PNL_USDT)
    if len(currencies) > 1:  # several currencies: say which each row is in
        columns.insert(0, CURRENCY)
    return columns


def summary_rows(result: BacktestResult, wide: bool = True) -> tuple[list[str], list[list[str]]]:
    """(headers, rows of text cells) of the stats in series order; shared with the HTML report."""
    by_series = {row["series"]: row for row in result.stats.to_pylist()}
    columns = summary_columns(result, wide)
    headers = ["series", *(c.header for c in columns)]
    quote = result.config.get("quote", "USDT")
    rows = [
        [name, *(format_cell(by_series[name].get(c.field), c.kind,
                             2 if c is PNL_USDT else money_decimals(by_series[name].get("currency") or quote))
                 for c in columns)]
        for name in result.series
        if name in by_series
    ]
    return headers, rows


def format_ns(ts: Any) -> str:
    """An ns timestamp as ISO UTC to the second ('-' when absent)."""
    if not isinstance(ts, int):
        return "-"
    return datetime.fromtimestamp(ts / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def header_parts(config: Mapping[str, Any]) -> list[str]:
    """Symbols, period, fill model and latency of a run; SYNTHETIC first when the venue is synthetic."""
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
    conv = config.get("usdt_conversion")
    if quote == "mixed":
        names = ", ".join(str(c) for c in config.get("currencies") or [])
        parts.append(f"amounts per currency ({names})" + (f", USDT via {conv}" if conv else ""))
    elif quote != "USDT":
        parts.append(f"pnl in {quote}" + (f", USDT via {conv}" if conv else ", no USDT conversion series"))
    capital_conv = config.get("capital_conversion")
    if capital_conv:
        parts.append(f"capital converted at {capital_conv}")
    marks = config.get("marks")
    if isinstance(marks, Mapping) and marks:
        parts.append(marks_text(marks))
    if config.get("venue") == "synthetic":
        parts.insert(0, "SYNTHETIC DATA")
    return parts


def marks_text(marks: Mapping[str, Any]) -> str:
    """What the equity is marked at: 'marks: mark bars', or per source when the symbols differ."""
    by_source: dict[str, list[str]] = {}
    for symbol, source in marks.items():
        by_source.setdefault(str(source), []).append(str(symbol))
    if len(by_source) == 1:
        return f"marks: {next(iter(by_source))}"
    return "marks: " + ", ".join(f"{source} ({', '.join(symbols)})" for source, symbols in by_source.items())


def header_line(config: Mapping[str, Any]) -> str:
    """The header parts on one line."""
    return " | ".join(header_parts(config))


def describe(value: Any) -> str:
    """A config value as short deterministic text."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def readable_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with its times as ISO text and the latency in ms, for people to read."""
    out = dict(config)
    for key in ("start", "end"):
        if isinstance(out.get(key), int):
            out[key] = format_ns(out[key])
    if isinstance(out.get("latency_ns"), int | float):
        out["latency"] = f"{out.pop('latency_ns') / 1e6:g} ms"
    return out


def hidden_note(hidden: Sequence[str]) -> list[str]:
    """The lines naming the columns the default summary leaves out."""
    return wrap_parts([f"--wide adds: {hidden[0]}", *hidden[1:]], WIDTH, ", ", "  ", ",") if hidden else []


def summary_table(result: BacktestResult, wide: bool = False) -> str:
    """A deterministic fixed-width text table of the stats, one row per series.

    Default: the default figures, every line at most 100 characters (columns dropped, then long
    series names cut, when they do not fit). `wide`: every figure, lines as long as needed.
    """
    headers, rows = summary_rows(result, wide)
    hold = BUY_AND_HOLD_NOTE + ("; per currency, each currency's capital across its own symbols"
                                if result.config.get("quote") == "mixed" else "")
    if wide:
        top, note, hidden = [header_line(result.config)], [hold], []
    else:
        headers, rows, _ = fit(headers, rows, WIDTH, DROP_ORDER, "series")
        top = wrap_parts(header_parts(result.config), WIDTH)
        note = wrap(hold, WIDTH, indent="  ")
        hidden = [c.header for c in summary_columns(result, True) if c.header not in headers]
    table = render(headers, rows, (CURRENCY.header,))
    rule = "-" * max(len(line) for line in table)
    return "\n".join([*top, rule, table[0], rule, *table[1:], rule, *note, *hidden_note(hidden)]) + "\n"
