"""engine.strategies.vector: the twins equal the streaming indicators (NaN until ready), and each
bar strategy's vectorised form holds what its on_bar holds, bar by bar."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.model.time import NS_PER_MIN
from engine.strategies import vector
from engine.strategies.catalog import build_strategy, strategy_class
from engine.strategies.indicators import EMA, MACD, RSI
from engine.trading.frame import BarFrame
from tests.engine.strategies.recording_context import RecordingContext


def frame_of(closes: np.ndarray) -> BarFrame:
    opens = np.r_[closes[0], closes[:-1]]
    ts = np.arange(closes.size, dtype=np.int64) * NS_PER_MIN
    return BarFrame.of(ts, opens, np.maximum(opens, closes), np.minimum(opens, closes), closes, np.ones(closes.size))


def random_walk(seed: int, n: int = 600, flat_every: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 1.0, n)
    if flat_every:
        steps[::flat_every] = 0.0  # unchanged closes: RSI gains and losses of zero
    return 100.0 + np.cumsum(steps)


def streaming(indicator: Any, closes: np.ndarray, ready: Any) -> np.ndarray:
    out = []
    for c in closes:
        value = indicator.update(float(c))
        out.append(value if ready(indicator) else math.nan)
    return np.array(out)


def assert_same(twin: np.ndarray, stream: np.ndarray) -> None:
    assert np.array_equal(np.isnan(twin), np.isnan(stream))
    np.testing.assert_allclose(twin[~np.isnan(twin)], stream[~np.isnan(stream)], rtol=1e-12, atol=0)


@pytest.mark.parametrize(("seed", "n"), [(1, 2), (2, 7), (3, 50), (4, 200)])
def test_ema_twin_equals_streaming_nan_until_ready(seed: int, n: int) -> None:
    closes = random_walk(seed)
    twin = vector.ema(frame_of(closes), n)
    assert np.isnan(twin[: n - 1]).all() and not np.isnan(twin[n - 1 :]).any()
    assert_same(twin, streaming(EMA(n), closes, lambda e: e.ready))


@pytest.mark.parametrize(("seed", "fast", "slow", "signal"), [(5, 2, 3, 1), (6, 12, 26, 9), (7, 5, 90, 20)])
def test_macd_twin_equals_streaming_nan_until_ready(seed: int, fast: int, slow: int, signal: int) -> None:
    closes = random_walk(seed)
    line, sig, hist = vector.macd(frame_of(closes), fast, slow, signal)
    assert np.isnan(hist[: slow + signal - 2]).all() and not np.isnan(hist[slow + signal - 2 :]).any()
    for twin, attr in ((line, "line"), (sig, "signal"), (hist, "hist")):
        m = MACD(fast, slow, signal)
        stream = []
        for c in closes:
            m.update(float(c))
            stream.append(getattr(m, attr) if m.ready else math.nan)
        assert_same(twin, np.array(stream))


@pytest.mark.parametrize(("seed", "n", "flat"), [(8, 2, 0), (9, 14, 3), (10, 100, 0), (11, 5, 1)])
def test_rsi_twin_equals_streaming_nan_for_first_n(seed: int, n: int, flat: int) -> None:
    closes = random_walk(seed, flat_every=flat)
    twin = vector.rsi(frame_of(closes), n)
    assert np.isnan(twin[:n]).all() and not np.isnan(twin[n:]).any()
    assert_same(twin, streaming(RSI(n), closes, lambda r: r.value == r.value))


def test_twin_of_one_window_is_computed_once_per_frame() -> None:
    frame = frame_of(random_walk(12))
    first = vector.ema(frame, 10)
    for slow in (20, 30):
        build_strategy("ema_cross_bars", {"fast": 10, "slow": slow}).vector_positions(frame)
    assert vector.ema(frame, 10) is first
    assert frame.computed == [("ema", 10), ("ema", 20), ("ema", 30)]


def on_bar_directions(name: str, params: dict[str, Any], closes: np.ndarray) -> np.ndarray:
    """The direction the streaming strategy holds after each bar, from the targets it set."""
    ctx = RecordingContext()
    ctx.start(build_strategy(name, {"size_unit": "base", **params}))
    ctx.bars([float(c) for c in closes])
    held = np.zeros(closes.size)
    for t, _symbol, target in ctx.targets:
        held[t // NS_PER_MIN - 1 :] = target
    return held


@pytest.mark.parametrize(("name", "params"), [
    ("ema_cross_bars", {"fast": 3, "slow": 8}),
    ("ema_cross_bars", {"fast": 20, "slow": 60}),
    ("macd_trend", {"fast": 4, "slow": 10, "signal": 5}),
    ("macd_trend", {"fast": 4, "slow": 10, "signal": 5, "allow_short": False}),
    ("rsi_mr", {"n": 6, "lower": 35.0, "exit": 50.0, "upper": 65.0}),
    ("rsi_mr", {"n": 6, "lower": 35.0, "exit": 45.0, "upper": 65.0, "allow_short": False}),
])
def test_vector_positions_hold_what_on_bar_holds(name: str, params: dict[str, Any]) -> None:
    closes = random_walk(13, n=800, flat_every=7)
    directions = build_strategy(name, params).vector_positions(frame_of(closes))
    expected = on_bar_directions(name, params, closes)
    assert np.array_equal(directions, expected)
    assert len(np.unique(directions)) >= 2  # the series trades: the test could fail


def test_vector_form_declared_by_bar_strategies_only() -> None:
    assert [n for n in ("ema_cross", "ema_cross_bars", "grid", "macd_trend", "rsi_mr")
            if strategy_class(n).has_vector_form()] == ["ema_cross_bars", "macd_trend", "rsi_mr"]
    with pytest.raises(NotImplementedError, match="ema_cross"):
        build_strategy("ema_cross").vector_positions(frame_of(random_walk(1, 5)))
