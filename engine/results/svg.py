"""Inline SVG line charts for the HTML report: no scripts, no fonts, no network.

A chart is a frame (time on x, values on y) with labelled axes, its lines downsampled to at most
`MAX_POINTS` points each, and optional marks (the report's fills) drawn on the same frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from engine.results.summary import format_ns

MAX_POINTS = 2000
MARGIN = 0.04  # of the value range, above and below, so that marks at the extremes stay inside
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 960, 320, 80, 20, 12, 28


@dataclass(frozen=True, slots=True)
class Curve:
    """One line of a chart."""

    name: str
    ts: np.ndarray
    values: np.ndarray
    color: str
    width: float = 1.4
    dash: str = ""


@dataclass(frozen=True, slots=True)
class Frame:
    """The time and value ranges a chart maps to its drawing area."""

    t0: int
    t1: int
    lo: float
    hi: float

    def x(self, ts: np.ndarray) -> np.ndarray:
        """Horizontal pixel positions of times."""
        return np.asarray(PAD_L + (ts - self.t0) / max(self.t1 - self.t0, 1) * (WIDTH - PAD_L - PAD_R))

    def y(self, values: np.ndarray) -> np.ndarray:
        """Vertical pixel positions of values (SVG y grows downwards)."""
        return np.asarray(PAD_T + (1 - (values - self.lo) / (self.hi - self.lo)) * (HEIGHT - PAD_T - PAD_B))


def downsample(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most `max_points` evenly spread points of n, first and last included."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def frame_of(curves: Sequence[Curve], ts: np.ndarray, values: np.ndarray) -> Frame:
    """The frame holding every curve and the extra points (ts, values)."""
    all_ts = np.concatenate([*(c.ts for c in curves), ts]).astype(np.int64)
    finite = np.concatenate([*(c.values for c in curves), values])
    finite = finite[np.isfinite(finite)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    margin = 1.0 if hi == lo else (hi - lo) * MARGIN
    lo, hi = lo - margin, hi + margin
    return Frame(int(all_ts.min()), int(all_ts.max()), lo, hi)


def _axes(frame: Frame, y_unit: str) -> list[str]:
    inner_w, inner_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    parts = [f'<rect x="{PAD_L}" y="{PAD_T}" width="{inner_w}" height="{inner_h}" fill="none" stroke="#ccc"/>']
    for frac in (0.0, 0.5, 1.0):
        value, ypos = frame.lo + (frame.hi - frame.lo) * frac, PAD_T + inner_h * (1 - frac)
        parts.append(f'<text x="{PAD_L - 6}" y="{ypos + 4:.1f}" text-anchor="end">{value:,.2f}{y_unit}</text>')
    parts.append(f'<text x="{PAD_L}" y="{HEIGHT - 8}">{format_ns(frame.t0)}</text>')
    parts.append(f'<text x="{WIDTH - PAD_R}" y="{HEIGHT - 8}" text-anchor="end">{format_ns(frame.t1)}</text>')
    return parts


def _polyline(curve: Curve, frame: Frame, css_class: str) -> str:
    idx = downsample(curve.ts.size)
    x, y = frame.x(curve.ts[idx]), frame.y(curve.values[idx])
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
    dash = f' stroke-dasharray="{curve.dash}"' if curve.dash else ""
    return (
        f'<polyline class="{css_class}" data-series="{escape(curve.name)}" fill="none" '
        f'stroke="{curve.color}" stroke-width="{curve.width}"{dash} points="{points}"/>'
    )


Overlay = Callable[[Frame], list[str]]


def svg_chart(
    curves: Sequence[Curve],
    css_class: str,
    y_unit: str = "",
    overlay: tuple[np.ndarray, np.ndarray, Overlay] | None = None,
) -> str:
    """An inline SVG line chart of `curves` sharing one time axis, with y and x labels.

    `overlay` = (times, values, draw): extra points the frame must hold and a function drawing
    them on the frame (after the lines, so they stay visible).
    """
    drawn = [c for c in curves if c.ts.size]
    extra_ts, extra_values, draw = overlay if overlay else (np.zeros(0), np.zeros(0), None)
    if not drawn and not extra_ts.size:
        return "<p>(no data)</p>"
    frame = frame_of(drawn, extra_ts, extra_values)
    parts = [f'<svg width="{WIDTH}" height="{HEIGHT}" role="img">', *_axes(frame, y_unit)]
    parts += [_polyline(curve, frame, css_class) for curve in drawn]
    if draw is not None:
        parts += draw(frame)
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{c.color}"></i>{escape(c.name)}</span>' for c in drawn)
    return "\n".join(parts) + f'\n<div class="legend">{legend}</div>'
