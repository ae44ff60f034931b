"""A run's HTML report: one self-contained file (inline SVG and CSS, no scripts, no network).

It shows the equity curves (as return on capital, in %) of every strategy, the netted portfolio
and buy and hold; each strategy's and the portfolio's drawdown; per symbol the 1-minute price
(the marks) with the fills marked (at most `MAX_MARKERS` a symbol, evenly spread, the count said
on the page); the statistics table (every figure); the first `MAX_TRADES` round trips; the first
`MAX_FILLS` fills with their split among the strategies; the run's facts and config. Curves are
downsampled to at most `MAX_POINTS` points so the file stays light.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.results.build import BUY_AND_HOLD, BUY_AND_HOLD_NOTE, PORTFOLIO, BacktestResult
from engine.results.summary import describe, format_ns, header_line, readable_config, summary_rows
from engine.results.svg import MAX_POINTS, Curve, Frame, downsample, svg_chart
from engine.results.views import (
    FILL_HEADERS,
    TRADE_HEADERS,
    allocation_text,
    allocations_by_fill,
    fill_rows,
    number,
    trade_rows,
)

__all__ = ["MAX_FILLS", "MAX_MARKERS", "MAX_POINTS", "MAX_TRADES", "downsample", "render", "write_html"]

MAX_FILLS = 200
MAX_TRADES = 500
MAX_MARKERS = 3000
BUY_COLOR, SELL_COLOR = "#1a9641", "#d7191c"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
STYLE_OF = {PORTFOLIO: ("#000000", 2.2, ""), BUY_AND_HOLD: ("#7f7f7f", 1.4, "6 4")}
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1280px}
h1{font-size:20px} h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font:12px ui-monospace,monospace}
th,td{border:1px solid #ddd;padding:2px 8px;text-align:right;white-space:nowrap}
th:first-child,td:first-child,td.text{text-align:left}
.scroll{overflow-x:auto;max-width:100%}
.synthetic{background:#fde2e2;color:#8a1010;padding:6px 10px;font-weight:bold;display:inline-block}
.legend span{margin-right:16px;white-space:nowrap} .legend i{display:inline-block;width:18px;height:3px;
vertical-align:middle;margin-right:4px} pre{background:#f6f6f6;padding:8px;overflow:auto}
svg text{font:11px sans-serif;fill:#555} .note{color:#555}
"""


def _capital(result: BacktestResult, name: str) -> float:
    rows = result.stats.filter(pc.equal(result.stats.column("series"), name)).column("capital")
    return float(rows[0].as_py()) if len(rows) else float("nan")


def _series(equity: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    rows = equity.filter(pc.equal(equity.column("series"), name))
    return (
        np.asarray(rows.column("ts").to_numpy(), dtype=np.int64),
        np.asarray(rows.column("equity").to_numpy(), dtype=np.float64),
    )


def _style(i: int, name: str) -> tuple[str, float, str]:
    return STYLE_OF.get(name, (PALETTE[i % len(PALETTE)], 1.4, ""))


def equity_curves_svg(result: BacktestResult) -> str:
    """The equity chart: every strategy, the portfolio and buy and hold, each as a percentage of
    its own capital (strategies' capitals differ, so absolute curves would not share a scale)."""
    curves = []
    for i, name in enumerate(result.series):
        ts, eq = _series(result.equity, name)
        curves.append(Curve(name, ts, (eq / _capital(result, name) - 1.0) * 100.0, *_style(i, name)))
    return svg_chart(curves, "curve", "%")


def drawdown_svg(result: BacktestResult) -> str:
    """Each strategy's and the portfolio's drawdown, in percent below its running peak (capital included)."""
    curves = []
    for i, name in enumerate(result.series):
        if name == BUY_AND_HOLD:
            continue
        ts, eq = _series(result.equity, name)
        peak = np.maximum.accumulate(np.concatenate(([_capital(result, name)], eq)))[1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            dd = np.where(peak > 0, (eq / peak - 1.0) * 100.0, 0.0)
        curves.append(Curve(name, ts, dd, *_style(i, name)))
    return svg_chart(curves, "drawdown", "%")


def _marker(frame: Frame, fill: dict[str, Any], split: str) -> str:
    """A triangle with its tip at the fill's price: up for a buy, down for a sell, with a tooltip."""
    x, y = float(frame.x(np.array([fill["ts"]]))[0]), float(frame.y(np.array([fill["price"]]))[0])
    buy = fill["side"] > 0
    dy, color, word = (9, BUY_COLOR, "buy") if buy else (-9, SELL_COLOR, "sell")
    title = f"#{fill['seq']} {word} {number(fill['size'])} @ {number(fill['price'])} {format_ns(fill['ts'])}: {split}"
    return (
        f'<path class="fill" data-seq="{fill["seq"]}" d="M{x:.1f},{y:.1f}l-5,{dy}h10z" fill="{color}" '
        f'fill-opacity="0.8"><title>{escape(title)}</title></path>'
    )


def price_svg(result: BacktestResult, symbol: str) -> str:
    """The symbol's 1-minute marks with its fills marked; a sample when there are many, said on the page."""
    marks = result.marks.filter(pc.equal(result.marks.column("symbol"), symbol))
    ts = np.asarray(marks.column("ts").to_numpy(), dtype=np.int64)
    curve = Curve(f"{symbol} 1-minute close", ts, np.asarray(marks.column("price").to_numpy(), dtype=np.float64),
                  "#555555", 1.0)
    fills = result.fills.filter(pc.equal(result.fills.column("symbol"), symbol)).to_pylist()
    shown = [fills[i] for i in downsample(len(fills), MAX_MARKERS)]
    split = allocations_by_fill(result.allocations)

    def draw(frame: Frame) -> list[str]:
        return [_marker(frame, f, allocation_text(split.get(f["seq"], [])) or f["strategy_id"]) for f in shown]

    fill_ts = np.array([f["ts"] for f in shown], dtype=np.int64)
    fill_px = np.array([f["price"] for f in shown], dtype=np.float64)
    chart = svg_chart([curve], "price", "", (fill_ts, fill_px, draw))
    if len(shown) == len(fills):
        note = f"{len(fills):,} fills on {symbol}, every one marked"
    else:
        note = f"{len(fills):,} fills on {symbol}; {len(shown):,} of them marked, evenly spread in time order"
    note += " (green up: buy, red down: sell; hover for size, price and the split among strategies)."
    return f'{chart}\n<p class="note" data-fills="{len(fills)}" data-marked="{len(shown)}">{escape(note)}</p>'


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], table_id: str,
               text_columns: Sequence[str] = ()) -> str:
    """An escaped HTML table; `text_columns` are left-aligned."""
    opening = ['<td class="text">' if h in text_columns else "<td>" for h in headers]
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "\n".join(
        "<tr>" + "".join(f"{td}{escape(c)}</td>" for c, td in zip(row, opening, strict=True)) + "</tr>"
        for row in rows
    )
    return (f'<div class="scroll"><table id="{table_id}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n'
            "</tbody>\n</table></div>")


def trades_section(result: BacktestResult) -> str:
    """The first MAX_TRADES round trips of every strategy."""
    n = result.trades.num_rows
    caption = f"<h2>Trades: round trips (first {min(n, MAX_TRADES)} of {n})</h2>"
    table = html_table(TRADE_HEADERS, trade_rows(result.trades, MAX_TRADES), "trades", ("strategy", "symbol", "side"))
    return caption + "\n" + table


def fills_section(result: BacktestResult) -> str:
    """The first MAX_FILLS fills, each with its split among the strategies."""
    n = result.fills.num_rows
    caption = f"<h2>Fills (first {min(n, MAX_FILLS)} of {n}), split among the strategies</h2>"
    rows = fill_rows(result.fills, result.allocations, MAX_FILLS)
    return caption + "\n" + html_table(FILL_HEADERS, rows, "fills", ("strategies: share",))


def render(result: BacktestResult) -> str:
    """The report's HTML text."""
    config = result.config
    banner = '<p class="synthetic">SYNTHETIC DATA</p>' if config.get("venue") == "synthetic" else ""
    headers, rows = summary_rows(result, wide=True)
    facts = [
        ("run id", result.run_id),
        ("created", format_ns(result.created_ns)),
        ("code version", result.code_version),
        ("data fingerprint", result.data_fingerprint),
        ("fill model", describe(config.get("fill_model"))),
        ("venue", describe(config.get("venue"))),
    ]
    prices = [f"<h2>Price: {escape(str(s))}</h2>\n{price_svg(result, str(s))}" for s in config.get("symbols") or []]
    return "\n".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
            f"<title>Backtest {escape(result.run_id)}</title>\n<style>{CSS}</style>\n</head>\n<body>",
            f"<h1>Backtest {escape(result.run_id)}</h1>",
            banner,
            f'<p class="meta">{escape(header_line(config))}</p>',
            "<h2>Equity: return on each series' capital</h2>",
            equity_curves_svg(result),
            "<h2>Drawdown below each series' running peak</h2>",
            drawdown_svg(result),
            *prices,
            "<h2>Statistics</h2>",
            html_table(headers, rows, "stats"),
            f"<p>{escape(BUY_AND_HOLD_NOTE)}. A '-' is a figure that is undefined for that series "
            "(the definitions are in the README).</p>",
            trades_section(result),
            fills_section(result),
            "<h2>Run</h2>",
            html_table(["", ""], facts, "facts", ("",)),
            "<h2>Config</h2>",
            f"<pre>{escape(json.dumps(readable_config(config), indent=2, sort_keys=True, default=str))}</pre>",
            "</body>\n</html>\n",
        ]
    )


def write_html(result: BacktestResult, path: str | Path) -> Path:
    """Write the run's self-contained HTML report to `path`; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(result), encoding="utf-8")
    return out
