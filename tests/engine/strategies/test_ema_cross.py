"""ema_cross: signals on crafted paths, warm-up, parameters."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.errors import UserError
from engine.model.time import NS_PER_S
from engine.strategies.catalog import build_strategy, strategy_class
from engine.strategies.ema_cross import EmaCross
from engine.trading.strategy import Warmup
from tests.engine.strategies.recording_context import RecordingContext


def reference_targets(prices: list[float], fast: int, slow: int, size: float) -> list[tuple[int, float]]:
    """The rule written as a plain loop: (index of the price, new target) at each change."""
    af, a_s = 2 / (fast + 1), 2 / (slow + 1)
    f = s = prices[0]
    target = 0.0
    out = []
    for i, p in enumerate(prices):
        if i:
            f += af * (p - f)
            s += a_s * (p - s)
        if i + 1 < slow:
            continue
        new = size if f > s else -size if f < s else target
        if new != target:
            target = new
            out.append((i, new))
    return out


def run(prices: list[float], **params: object) -> list[tuple[int, float]]:
    ctx = RecordingContext()
    ctx.start(build_strategy("ema_cross", {"size_unit": "base", **params}))  # sizes as set
    ctx.trades(prices)
    # trades() delivers price i at clock (i + 1) seconds
    return [(t // NS_PER_S - 1, target) for t, _, target in ctx.targets]


def test_ema_cross_uptrend_after_flat_prices_goes_long_exactly_once() -> None:
    prices = [100.0] * 100 + [100.0 + 0.1 * k for k in range(1, 51)]
    got = run(prices)
    assert got == [(100, 1.0)]  # the first rising price: the fast EMA moves further than the slow
    assert got == reference_targets(prices, 20, 100, 1.0)


def test_ema_cross_random_walk_matches_plain_loop() -> None:
    rng = np.random.default_rng(11)
    prices = (1000 + np.cumsum(rng.normal(0, 1, 5000))).tolist()
    got = run(prices, fast=5, slow=30, size=0.25)
    assert len(got) > 10
    assert got == reference_targets(prices, 5, 30, 0.25)


def test_ema_cross_downtrend_acts_first_on_the_slow_th_price() -> None:
    prices = [100.0 - k for k in range(40)]  # fast < slow from the second price on
    got = run(prices, fast=3, slow=10)
    assert got == [(9, -1.0)]


def test_ema_cross_flat_prices_keep_flat_target() -> None:
    assert run([50.0] * 300) == []


def test_ema_cross_reversal_sets_each_target_once() -> None:
    prices = [100.0 - k for k in range(20)] + [81.0 + 2 * k for k in range(40)]
    got = run(prices, fast=3, slow=10, size=2.0)
    assert [t for _, t in got] == [-2.0, 2.0]
    assert got == reference_targets(prices, 3, 10, 2.0)


def test_ema_cross_restart_replays_identically() -> None:
    rng = np.random.default_rng(3)
    prices = (100 + np.cumsum(rng.normal(0, 0.5, 2000))).tolist()
    strategy = EmaCross(fast=4, slow=20)
    first, second = RecordingContext(), RecordingContext()
    first.start(strategy)
    first.trades(prices)
    second.start(strategy)
    second.trades(prices)
    assert first.targets == second.targets and first.targets


def test_ema_cross_declares_warmup_and_params() -> None:
    s = EmaCross(slow=250)
    assert s.warmup() == Warmup(ticks=250)
    spec = EmaCross.params
    assert (spec["fast"].default, spec["fast"].low, spec["fast"].high) == (20, 2, 10_000)
    assert (spec["slow"].default, spec["slow"].low, spec["slow"].high) == (100, 3, 100_000)
    assert spec["size"].default == 1.0 and spec["size"].type is float
    assert all(p.doc for p in spec.values())
    assert strategy_class("ema_cross") is EmaCross
    assert EmaCross.uses("on_tick") and not EmaCross.uses("on_bar")


def test_ema_cross_string_params_are_coerced() -> None:
    s = build_strategy("ema_cross", {"fast": "30", "slow": "200", "size": "0.5"})
    assert (s.fast, s.slow, s.size) == (30, 200, 0.5)  # type: ignore[attr-defined]
    assert type(s.fast) is int and type(s.size) is float  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "named"),
    [({"fast": 0}, "'fast'"), ({"fast": 1}, "'fast'"), ({"slow": 100_001}, "'slow'"),
     ({"size": 0}, "'size'"), ({"size": -1.0}, "'size'"), ({"fast": "abc"}, "'fast'"),
     ({"fast": 2.5}, "'fast'"), ({"speed": 3}, "'speed'")],
)
def test_ema_cross_bad_param_raises_user_error_naming_it(params: dict[str, object], named: str) -> None:
    with pytest.raises(UserError, match=named):
        build_strategy("ema_cross", params)


def test_ema_cross_fast_not_below_slow_names_both() -> None:
    with pytest.raises(UserError, match=r"'fast' \(50\).*'slow' \(50\)"):
        build_strategy("ema_cross", {"fast": 50, "slow": 50})
