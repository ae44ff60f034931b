"""Inline SVG charts: downsampling, the frame's mapping, overlays drawn on the same frame."""

from __future__ import annotations

import numpy as np

from engine.results.svg import HEIGHT, PAD_B, PAD_L, PAD_T, WIDTH, Curve, Frame, downsample, frame_of, svg_chart


def test_downsample_keeps_ends_and_limit() -> None:
    idx = downsample(10_001, 2000)
    assert idx[0] == 0 and idx[-1] == 10_000 and len(idx) <= 2000
    assert np.all(np.diff(idx) > 0)
    assert downsample(5, 2000).tolist() == [0, 1, 2, 3, 4]


def test_frame_holds_curves_and_extra_points_with_a_margin() -> None:
    curve = Curve("c", np.array([10, 20]), np.array([100.0, 200.0]), "#000")
    frame = frame_of([curve], np.array([30]), np.array([250.0]))
    # values 100 .. 250, 4 % of 150 = 6 above and below
    assert (frame.t0, frame.t1) == (10, 30)
    assert (frame.lo, frame.hi) == (94.0, 256.0)


def test_frame_maps_ends_to_the_drawing_area() -> None:
    frame = Frame(0, 100, 0.0, 10.0)
    assert frame.x(np.array([0, 100])).tolist() == [PAD_L, WIDTH - 20]
    assert frame.y(np.array([10.0, 0.0])).tolist() == [PAD_T, HEIGHT - PAD_B]


def test_svg_chart_draws_overlay_after_lines() -> None:
    curve = Curve("c", np.array([0, 60]), np.array([1.0, 2.0]), "#000")
    svg = svg_chart([curve], "price", "", (np.array([30]), np.array([5.0]), lambda f: ['<circle id="mark"/>']))
    assert svg.index("<polyline") < svg.index('<circle id="mark"/>') < svg.index("</svg>")


def test_svg_chart_without_data_says_so() -> None:
    assert svg_chart([], "x") == "<p>(no data)</p>"
