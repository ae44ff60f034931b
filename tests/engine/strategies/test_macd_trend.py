"""macd_trend: long above the signal line, short below, warm-up, parameters."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.errors import UserError
from engine.model.time import NS_PER_MIN
from engine.strategies.catalog import build_strategy
from engine.strategies.macd_trend import MacdTrend
from engine.trading.strategy import Warmup
from tests.engine.strategies.recording_context import RecordingContext


def run(closes: list[float], **params: object) -> list[tuple[int, float]]:
    ctx = RecordingContext()
    ctx.start(build_strategy("macd_trend", {"size_unit": "base", **params}))  # sizes as set
    ctx.bars(closes)
    return [(t // NS_PER_MIN - 1, target) for t, _, target in ctx.targets]


def reference(
    closes: list[float], fast: int, slow: int, signal: int, short: float
) -> list[tuple[int, float]]:
    """Three seeded EMAs in a plain loop; +1 above the signal, `short` below, from bar slow+signal-1."""
    af, a_s, ag = 2 / (fast + 1), 2 / (slow + 1), 2 / (signal + 1)
    f = s = closes[0]
    sig = 0.0
    target, out = 0.0, []
    for i, c in enumerate(closes):
        if i:
            f += af * (c - f)
            s += a_s * (c - s)
            sig += ag * ((f - s) - sig)
        if i + 1 < slow + signal - 1 or f - s == sig:
            continue
        new = 1.0 if f - s > sig else short
        if new != target:
            target = new
            out.append((i, new))
    return out


def test_macd_trend_rising_then_falling_goes_long_then_short() -> None:
    closes = [float(k) for k in range(1, 21)] + [20.0 - 2 * k for k in range(1, 10)]
    got = run(closes, fast=2, slow=3, signal=2)
    # The histogram is already positive on the second bar ((1 + 2/3*3) - (1 + 3/2) - 2/3*0.5 = 1/6
    # for closes 1, 4), but nothing happens before bar slow + signal - 1 = 4 (index 3).
    assert got[0] == (3, 1.0)
    assert [t for _, t in got] == [1.0, -1.0]
    assert got == reference(closes, 2, 3, 2, -1.0)


def test_macd_trend_spot_goes_flat_instead_of_short() -> None:
    closes = [float(k) for k in range(1, 21)] + [20.0 - 2 * k for k in range(1, 10)]
    got = run(closes, fast=2, slow=3, signal=2, allow_short=False)
    assert [t for _, t in got] == [1.0, 0.0]


def test_macd_trend_flat_closes_never_trade() -> None:
    assert run([7.0] * 200) == []


def test_macd_trend_random_closes_match_plain_loop() -> None:
    rng = np.random.default_rng(8)
    closes = (300 + np.cumsum(rng.normal(0, 1, 3000))).tolist()
    got = run(closes, fast=5, slow=13, signal=4, size=1.0)
    assert len(got) > 10
    assert got == reference(closes, 5, 13, 4, -1.0)


def test_macd_trend_declares_warmup_and_params() -> None:
    assert MacdTrend().warmup() == Warmup(bars=26 + 9 - 1)
    assert MacdTrend(slow=40, signal=5).warmup() == Warmup(bars=44)
    defaults = {k: p.default for k, p in MacdTrend.params.items()}
    assert defaults == {"fast": 12, "slow": 26, "signal": 9, "allow_short": True, "bar_interval": "1m",
                        "size": 1.0, "size_unit": "fraction"}  # the shared sizing rule comes last
    assert MacdTrend.uses("on_bar") and not MacdTrend.uses("on_tick")


def test_macd_trend_string_params_are_coerced() -> None:
    s = build_strategy("macd_trend", {"fast": "8", "slow": "21", "signal": "5", "size": "2"})
    assert (s.fast, s.slow, s.signal, s.size) == (8, 21, 5, 2.0)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "named"),
    [({"fast": 1}, "'fast'"), ({"signal": 0}, "'signal'"), ({"size": -2}, "'size'"),
     ({"fast": 30}, "'fast' .*'slow'"), ({"bar_interval": "1d"}, "'bar_interval'")],
)
def test_macd_trend_bad_param_raises_user_error_naming_it(params: dict[str, object], named: str) -> None:
    with pytest.raises(UserError, match=named):
        build_strategy("macd_trend", params)
