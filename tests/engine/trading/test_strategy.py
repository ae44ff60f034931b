"""The Strategy base: declared parameters, their checks, reset, the shared sizing of `hold`."""

from __future__ import annotations

import pytest

from engine.model.errors import UserError
from engine.model.events import Bar
from engine.trading.strategy import Param, Strategy
from tests.engine.strategies.recording_context import RecordingContext


class Ordered(Strategy):
    fast = Param(5, low=2)
    slow = Param(20, low=3)
    step = Param(0.5, low=0.0, open_low=True)
    ordered = ("fast", "slow")

    def reset(self) -> None:
        self.resets = getattr(self, "resets", 0) + 1


class Follower(Strategy):
    """Holds the direction it is told on each bar."""

    bar_interval = "1m"  # a plain declaration: tunable like a Param

    def reset(self) -> None:
        self.script: list[float] = []

    def on_bar(self, bar: Bar) -> None:
        if self.script:
            self.hold(self.script.pop(0))


def test_param_open_low_refuses_the_bound_and_says_so() -> None:
    assert Ordered(step=1e-9).step == 1e-9
    with pytest.raises(UserError, match=r"'step' of strategy 'Ordered': 0.0 is outside its range \(0, inf\]"):
        Ordered(step=0.0)
    assert Ordered.params["fast"].range_text() == "[2, inf]"


def test_ordered_params_must_increase_and_the_message_names_both() -> None:
    with pytest.raises(UserError, match=r"parameter 'fast' \(20\) must be smaller than parameter 'slow' \(20\)"):
        Ordered(fast=20, slow=20)


def test_reset_runs_after_params_and_again_on_start() -> None:
    s = Ordered()
    assert s.resets == 1
    RecordingContext().start(s)
    assert s.resets == 2


def test_params_list_own_first_then_the_shared_sizing() -> None:
    assert list(Ordered.params) == ["fast", "slow", "step", "size", "size_unit"]


def test_plain_bar_interval_is_a_tunable_checked_param() -> None:
    assert "bar_interval" in Follower.params
    assert Follower(bar_interval="5m").bar_interval == "5m"
    with pytest.raises(UserError, match="interval '7x'"):
        Follower(bar_interval="7x")


def _run(script: list[float], closes: list[float], **params: object) -> list[float]:
    ctx = RecordingContext(capital=10_000.0)
    s = ctx.start(Follower(**params))
    assert isinstance(s, Follower)
    s.script = list(script)
    ctx.bars(closes)
    return [target for _t, _sym, target in ctx.targets]


def test_hold_fraction_converts_at_the_price_of_the_change_only() -> None:
    # 10,000 capital, size 0.5 of it: long at 2,000 -> 2.5; still long at 2,500 -> no new target;
    # short at 2,500 -> -2.0; flat -> 0
    got = _run([1, 1, -1, 0], [2_000.0, 2_500.0, 2_500.0, 1_000.0], size=0.5)
    assert got == [2.5, -2.0, 0.0]


def test_hold_quote_and_base_units() -> None:
    assert _run([1, -0.5], [2_000.0, 4_000.0], size=1_000.0, size_unit="quote") == [0.5, -0.125]
    assert _run([1, -1], [2_000.0, 4_000.0], size=0.3, size_unit="base") == [0.3, -0.3]


@pytest.mark.parametrize(
    ("value", "text"),
    [("abc", "'abc' is not an integer"), (2.5, "2.5 is not an integer"), ("maybe", None)],
)
def test_param_type_errors_quote_the_offending_value(value: object, text: str | None) -> None:
    if text is None:  # a bool parameter
        with pytest.raises(UserError, match="parameter 'on' of strategy 'Toggle': 'maybe' is not true or false"):
            Toggle(on=value)
        return
    with pytest.raises(UserError, match=f"parameter 'fast' of strategy 'Ordered': {text}"):
        Ordered(fast=value)


class Toggle(Strategy):
    on = Param(True)
