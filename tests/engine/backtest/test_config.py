"""The backtest configuration: the account's capital shared by weights, checked once."""

from __future__ import annotations

import pytest

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.model.errors import ConfigError

SYM = ("ETH/USDT:USDT",)


def cfg(*weights: float | None, capital: float = 10_000.0) -> BacktestConfig:
    specs = tuple(StrategySpec("ema_cross", {}, f"s{i}", weight=w) for i, w in enumerate(weights))
    return BacktestConfig(specs, SYM, 0, 1, capital=capital)


def test_capitals_equal_shares_by_default() -> None:
    assert cfg(None, None).capitals() == {"s0": 5_000.0, "s1": 5_000.0}
    assert cfg(None).capitals() == {"s0": 10_000.0}


def test_capitals_unweighted_share_what_the_weighted_leave() -> None:
    got = cfg(0.6, None, None).capitals()
    assert got == pytest.approx({"s0": 6_000.0, "s1": 2_000.0, "s2": 2_000.0})


def test_capitals_all_weighted_must_add_up_to_one() -> None:
    assert cfg(0.25, 0.75).capitals() == {"s0": 2_500.0, "s1": 7_500.0}
    with pytest.raises(ConfigError, match=r"weights \(s0 0.5, s1 0.3\) add up to 0.8; they must add up to 1"):
        cfg(0.5, 0.3)


def test_capitals_weighted_leaving_nothing_for_the_others_is_refused() -> None:
    with pytest.raises(ConfigError, match="add up to 1; they must add below 1, leaving a share for the others"):
        cfg(1.0, None)


@pytest.mark.parametrize("weight", [0.0, -0.1, 1.5])
def test_weight_out_of_range_names_the_strategy(weight: float) -> None:
    with pytest.raises(ConfigError, match=f"strategy 's0': weight {weight!r} must be in"):
        cfg(weight, None)


def test_to_json_records_account_capital_weights_and_strategy_capital() -> None:
    doc = cfg(0.6, None).to_json()
    assert doc["capital"] == 10_000.0
    assert [s["weight"] for s in doc["strategies"]] == pytest.approx([0.6, 0.4])
    assert [s["capital"] for s in doc["strategies"]] == pytest.approx([6_000.0, 4_000.0])
