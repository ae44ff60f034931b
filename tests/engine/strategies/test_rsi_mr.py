"""rsi_mr: entries, exits at the middle band, spot mode, warm-up, parameters."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.errors import UserError
from engine.model.time import NS_PER_MIN
from engine.strategies.catalog import build_strategy
from engine.strategies.rsi_mr import RsiMeanReversion
from engine.trading.strategy import Warmup
from tests.engine.strategies.recording_context import RecordingContext


def run(closes: list[float], **params: object) -> list[tuple[int, float]]:
    ctx = RecordingContext()
    ctx.start(build_strategy("rsi_mr", {"size_unit": "base", **params}))  # sizes as set
    ctx.bars(closes)
    return [(t // NS_PER_MIN - 1, target) for t, _, target in ctx.targets]


def test_rsi_mr_crafted_path_enters_exits_and_shorts() -> None:
    # n = 2. Changes -1, -1: RSI 0 -> long. +1: gains (0*1+1)/2 = .5, losses (1*1+0)/2 = .5 ->
    # RSI 50 -> exit. +1: .75 / .25 -> RSI 75 -> short. -0.5: .375 / .375 -> RSI 50 -> exit.
    closes = [10.0, 9.0, 8.0, 9.0, 10.0, 9.5]
    assert run(closes, n=2) == [(2, 1.0), (3, 0.0), (4, -1.0), (5, 0.0)]


def test_rsi_mr_spot_goes_flat_instead_of_short() -> None:
    closes = [10.0, 9.0, 8.0, 9.0, 10.0, 9.5]
    assert run(closes, n=2, allow_short="false") == [(2, 1.0), (3, 0.0)]


def test_rsi_mr_long_flips_straight_to_short_above_upper() -> None:
    # after 10, 9, 8 (RSI 0, long), +4: gains (0+4)/2 = 2, losses (1+0)/2 = .5 -> RSI 80
    assert run([10.0, 9.0, 8.0, 12.0], n=2, size=0.5) == [(2, 0.5), (3, -0.5)]


def test_rsi_mr_holds_between_bands() -> None:
    # long at RSI 0; then +0.5: gains .25, losses .5 -> RSI 33.3, between lower 30 and exit 50
    assert run([10.0, 9.0, 8.0, 8.5], n=2) == [(2, 1.0)]


def test_rsi_mr_nothing_before_n_plus_one_bars() -> None:
    closes = [100.0 - k for k in range(10)]  # RSI 0 from its first value
    assert run(closes, n=5) == [(5, 1.0)]


def reference(
    closes: list[float], n: int, lower: float, upper: float, exit_: float
) -> list[tuple[int, float]]:
    """Textbook Wilder RSI, 100 - 100/(1 + RS), and the rule as an if-chain."""
    changes = np.diff(closes)
    gains, losses = np.clip(changes, 0, None), np.clip(-changes, 0, None)
    target, out = 0.0, []
    for k in range(n, len(closes)):
        if k == n:
            g, lo = gains[:n].mean(), losses[:n].mean()
        else:
            g = (g * (n - 1) + gains[k - 1]) / n
            lo = (lo * (n - 1) + losses[k - 1]) / n
        r = 50.0 if g == lo == 0 else 100.0 if lo == 0 else 100 - 100 / (1 + g / lo)
        new = target
        if r < lower:
            new = 1.0
        elif r > upper:
            new = -1.0
        elif (target > 0 and r >= exit_) or (target < 0 and r <= exit_):
            new = 0.0
        if new != target:
            target = new
            out.append((k, new))
    return out


def test_rsi_mr_random_closes_match_textbook_reference() -> None:
    rng = np.random.default_rng(2)
    closes = (100 + np.cumsum(rng.normal(0, 1, 4000))).tolist()
    got = run(closes, n=6, lower=25, upper=75, exit=45)
    assert len(got) > 10
    assert got == reference(closes, 6, 25, 75, 45)


def test_rsi_mr_declares_warmup_and_params() -> None:
    s = RsiMeanReversion(n=9, bar_interval="5m")
    assert s.warmup() == Warmup(bars=10)
    assert s.bar_interval == "5m"
    names = {"n", "lower", "upper", "exit", "size", "size_unit", "allow_short", "bar_interval"}
    assert set(RsiMeanReversion.params) == names
    assert RsiMeanReversion.params["allow_short"].default is True
    assert RsiMeanReversion.uses("on_bar") and not RsiMeanReversion.uses("on_tick")


def test_rsi_mr_string_params_are_coerced() -> None:
    s = build_strategy("rsi_mr", {"n": "21", "lower": "20", "upper": "80.5", "allow_short": "no"})
    assert (s.n, s.lower, s.upper, s.allow_short) == (21, 20.0, 80.5, False)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("params", "named"),
    [({"n": 1}, "'n'"), ({"lower": -1}, "'lower'"), ({"upper": 101}, "'upper'"), ({"size": 0}, "'size'"),
     ({"lower": 55}, "'lower' .*'exit'"), ({"upper": 40}, "'exit' .*'upper'"),
     ({"allow_short": "maybe"}, "'allow_short'"), ({"bar_interval": "4h"}, "'bar_interval'")],
)
def test_rsi_mr_bad_param_raises_user_error_naming_it(params: dict[str, object], named: str) -> None:
    with pytest.raises(UserError, match=named):
        build_strategy("rsi_mr", params)
