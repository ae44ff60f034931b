"""A run's HTML report: one self-contained file (inline SVG and CSS, no scripts, no network).

It shows the equity curves (as return on capital, in %) of every strategy, the netted portfolio and buy and hold; the
portfolio's drawdown; the statistics table (the same cells as `summary_table`); the run's config,
code version, data fingerprint and fill model; and the first `MAX_FILLS` fills. Curves are
downsampled to at most `MAX_POINTS` points so the file stays light.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.results.build import BUY_AND_HOLD, BUY_AND_HOLD_NOTE, PORTFOLIO, BacktestResult
from engine.results.summary import describe, format_ns, header_line, summary_rows

MAX_POINTS = 2000
MAX_FILLS = 200
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 960, 320, 80, 20, 12, 28
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
STYLE_OF = {PORTFOLIO: ("#000000", 2.2, ""), BUY_AND_HOLD: ("#7f7f7f", 1.4, "6 4")}
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px} h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font:12px ui-monospace,monospace}
th,td{border:1px solid #ddd;padding:2px 8px;text-align:right} th:first-child,td:first-child{text-align:left}
.synthetic{background:#fde2e2;color:#8a1010;padding:6px 10px;font-weight:bold;display:inline-block}
.legend span{margin-right:16px;white-space:nowrap} .legend i{display:inline-block;width:18px;height:3px;
vertical-align:middle;margin-right:4px} pre{background:#f6f6f6;padding:8px;overflow:auto}
svg text{font:11px sans-serif;fill:#555}
"""


@dataclass(frozen=True, slots=True)
class Curve:
    """One line of a chart."""

    name: str
    ts: np.ndarray
    values: np.ndarray
    color: str
    width: float = 1.4
    dash: str = ""


def downsample(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most `max_points` evenly spread points of n, first and last included."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def _series(equity: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    rows = equity.filter(pc.equal(equity.column("series"), name))
    return (
        np.asarray(rows.column("ts").to_numpy(), dtype=np.int64),
        np.asarray(rows.column("equity").to_numpy(), dtype=np.float64),
    )


def _polyline(curve: Curve, x: np.ndarray, y: np.ndarray, css_class: str) -> str:
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
    dash = f' stroke-dasharray="{curve.dash}"' if curve.dash else ""
    return (
        f'<polyline class="{css_class}" data-series="{escape(curve.name)}" fill="none" '
        f'stroke="{curve.color}" stroke-width="{curve.width}"{dash} points="{points}"/>'
    )


def svg_chart(curves: Sequence[Curve], css_class: str, y_unit: str = "") -> str:
    """An inline SVG line chart of `curves` sharing one time axis, with y and x labels."""
    drawn = [c for c in curves if c.ts.size]
    if not drawn:
        return "<p>(no data)</p>"
    t0 = min(int(c.ts[0]) for c in drawn)
    t1 = max(int(c.ts[-1]) for c in drawn)
    lo = min(float(np.nanmin(c.values)) for c in drawn)
    hi = max(float(np.nanmax(c.values)) for c in drawn)
    lo, hi = (lo - 1.0, hi + 1.0) if hi == lo else (lo, hi)
    inner_w, inner_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    parts = [f'<svg width="{WIDTH}" height="{HEIGHT}" role="img">']
    parts.append(
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{inner_w}" height="{inner_h}" fill="none" stroke="#ccc"/>'
    )
    for frac in (0.0, 0.5, 1.0):
        value, ypos = lo + (hi - lo) * frac, PAD_T + inner_h * (1 - frac)
        parts.append(
            f'<text x="{PAD_L - 6}" y="{ypos + 4:.1f}" text-anchor="end">{value:,.2f}{y_unit}</text>'
        )
    parts.append(f'<text x="{PAD_L}" y="{HEIGHT - 8}">{format_ns(t0)}</text>')
    parts.append(f'<text x="{WIDTH - PAD_R}" y="{HEIGHT - 8}" text-anchor="end">{format_ns(t1)}</text>')
    span = max(t1 - t0, 1)
    for curve in drawn:
        idx = downsample(curve.ts.size)
        x = PAD_L + (curve.ts[idx] - t0) / span * inner_w
        y = PAD_T + (1 - (curve.values[idx] - lo) / (hi - lo)) * inner_h
        parts.append(_polyline(curve, x, y, css_class))
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{c.color}"></i>{escape(c.name)}</span>' for c in drawn)
    return "\n".join(parts) + f'\n<div class="legend">{legend}</div>'


def _capital(result: BacktestResult, name: str) -> float:
    rows = result.stats.filter(pc.equal(result.stats.column("series"), name)).column("capital")
    return float(rows[0].as_py()) if len(rows) else float("nan")


def equity_curves_svg(result: BacktestResult) -> str:
    """The equity chart: every strategy, the portfolio and buy and hold, each as a percentage of
    its own capital (strategies' capitals differ, so absolute curves would not share a scale)."""
    curves = []
    for i, name in enumerate(result.series):
        color, width, dash = STYLE_OF.get(name, (PALETTE[i % len(PALETTE)], 1.4, ""))
        ts, eq = _series(result.equity, name)
        curves.append(Curve(name, ts, (eq / _capital(result, name) - 1.0) * 100.0, color, width, dash))
    return svg_chart(curves, "curve", "%")


def drawdown_svg(result: BacktestResult) -> str:
    """The portfolio's drawdown in percent below its running peak (capital included)."""
    ts, eq = _series(result.equity, PORTFOLIO)
    peak = np.maximum.accumulate(np.concatenate(([_capital(result, PORTFOLIO)], eq)))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, (eq / peak - 1.0) * 100.0, 0.0)
    return svg_chart([Curve(PORTFOLIO, ts, dd, "#d62728")], "drawdown", "%")


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], table_id: str) -> str:
    """An escaped HTML table."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'


def fills_table(fills: pa.Table) -> str:
    """The first MAX_FILLS fills."""
    headers = ["seq", "time", "strategy", "symbol", "side", "price", "size", "fee", "liquidity"]
    rows = [
        [
            str(f["seq"]),
            format_ns(f["ts"]),
            f["strategy_id"] or "",
            f["symbol"] or "",
            "buy" if (f["side"] or 0) > 0 else "sell",
            f"{f['price']:.10g}",
            f"{f['size']:.10g}",
            f"{f['fee']:.10g}",
            f["liquidity"] or "",
        ]
        for f in fills.slice(0, MAX_FILLS).to_pylist()
    ]
    caption = f"<h2>Fills (first {min(fills.num_rows, MAX_FILLS)} of {fills.num_rows})</h2>"
    return caption + "\n" + html_table(headers, rows, "fills")


def render(result: BacktestResult) -> str:
    """The report's HTML text."""
    config = result.config
    banner = '<p class="synthetic">SYNTHETIC DATA</p>' if config.get("venue") == "synthetic" else ""
    headers, rows = summary_rows(result)
    facts = [
        ("run id", result.run_id),
        ("created", format_ns(result.created_ns)),
        ("code version", result.code_version),
        ("data fingerprint", result.data_fingerprint),
        ("fill model", describe(config.get("fill_model"))),
        ("venue", describe(config.get("venue"))),
    ]
    return "\n".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
            f"<title>Backtest {escape(result.run_id)}</title>\n<style>{CSS}</style>\n</head>\n<body>",
            f"<h1>Backtest {escape(result.run_id)}</h1>",
            banner,
            f'<p class="meta">{escape(header_line(config))}</p>',
            "<h2>Equity: return on each series' capital</h2>",
            equity_curves_svg(result),
            "<h2>Portfolio drawdown</h2>",
            drawdown_svg(result),
            "<h2>Statistics</h2>",
            html_table(headers, rows, "stats"),
            f"<p>{escape(BUY_AND_HOLD_NOTE)}</p>",
            "<h2>Run</h2>",
            html_table(["", ""], facts, "facts"),
            "<h2>Config</h2>",
            f"<pre>{escape(json.dumps(config, indent=2, sort_keys=True, default=str))}</pre>",
            fills_table(result.fills),
            "</body>\n</html>\n",
        ]
    )


def write_html(result: BacktestResult, path: str | Path) -> Path:
    """Write the run's self-contained HTML report to `path`; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(result), encoding="utf-8")
    return out
