"""ema_cross_bars: the cross on bar closes, warm-up in bars, parameters."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.errors import UserError
from engine.model.time import NS_PER_MIN
from engine.strategies.catalog import build_strategy
from engine.strategies.ema_cross_bars import EmaCrossBars
from engine.trading.strategy import Warmup
from tests.engine.strategies.recording_context import RecordingContext
from tests.engine.strategies.test_ema_cross import reference_targets


def run(closes: list[float], **params: object) -> list[tuple[int, float]]:
    ctx = RecordingContext()
    ctx.start(build_strategy("ema_cross_bars", {"size_unit": "base", **params}))  # sizes as set
    ctx.bars(closes)
    return [(t // NS_PER_MIN - 1, target) for t, _, target in ctx.targets]


def test_ema_cross_bars_uptrend_after_flat_bars_goes_long_once() -> None:
    closes = [10.0] * 100 + [10.0 + 0.01 * k for k in range(1, 30)]
    assert run(closes) == [(100, 1.0)]


def test_ema_cross_bars_random_closes_match_plain_loop() -> None:
    rng = np.random.default_rng(5)
    closes = (500 + np.cumsum(rng.normal(0, 1, 3000))).tolist()
    got = run(closes, fast=6, slow=25, size=3.0)
    assert len(got) > 10
    assert got == reference_targets(closes, 6, 25, 3.0)


def test_ema_cross_bars_falling_bars_act_first_on_the_slow_th_bar() -> None:
    assert run([100.0 - k for k in range(30)], fast=2, slow=7) == [(6, -1.0)]


def test_ema_cross_bars_ignores_ticks() -> None:
    assert EmaCrossBars.uses("on_bar") and not EmaCrossBars.uses("on_tick")
    ctx = RecordingContext()
    ctx.start(EmaCrossBars(fast=2, slow=3))
    ctx.trades([100.0 - k for k in range(20)])
    assert ctx.targets == []


def test_ema_cross_bars_declares_bar_warmup_and_interval() -> None:
    s = build_strategy("ema_cross_bars", {"slow": "40", "bar_interval": "15m"})
    assert s.warmup() == Warmup(bars=40)
    assert s.bar_interval == "15m"
    assert EmaCrossBars().bar_interval == "1m"
    assert EmaCrossBars.params["bar_interval"].choices == ("1m", "5m", "15m", "1h")


@pytest.mark.parametrize(
    ("params", "named"),
    [({"bar_interval": "2m"}, "'bar_interval'"), ({"fast": 0}, "'fast'"), ({"size": 0}, "'size'"),
     ({"fast": 9, "slow": 5}, "'fast' .*'slow'")],
)
def test_ema_cross_bars_bad_param_raises_user_error_naming_it(params: dict[str, object], named: str) -> None:
    with pytest.raises(UserError, match=named):
        build_strategy("ema_cross_bars", params)
