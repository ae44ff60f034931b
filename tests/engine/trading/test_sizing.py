"""The shared sizing rule: a direction unit in base currency (USD on an inverse contract), by hand."""

from __future__ import annotations

import math

import pytest

from engine.model.errors import UserError
from engine.trading.sizing import position_size


@pytest.mark.parametrize(
    ("size", "unit", "price", "capital", "expected"),
    [
        (1.0, "fraction", 2_000.0, 10_000.0, 5.0),  # all of 10,000 at 2,000
        (0.5, "fraction", 42_000.0, 10_000.0, 5_000.0 / 42_000.0),  # half the capital in BTC
        (1_000.0, "quote", 2_000.0, 10_000.0, 0.5),  # a 1,000 notional
        (0.3, "base", math.nan, 10_000.0, 0.3),  # base units need no price
    ],
)
def test_position_size_each_unit_by_hand(size: float, unit: str, price: float, capital: float,
                                         expected: float) -> None:
    assert position_size(size, unit, price, capital) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("size", "unit", "price", "capital", "expected"),
    [
        (0.5, "fraction", 40_000.0, 0.2, 4_000.0),  # half of 0.2 BTC = 0.1 BTC, at 40,000: 4,000 USD
        (4_000.0, "quote", math.nan, 0.2, 4_000.0),  # USD as is, no price needed
        (0.1, "base", 40_000.0, 0.2, 4_000.0),  # 0.1 BTC at 40,000
    ],
)
def test_position_size_inverse_contract_is_usd(size: float, unit: str, price: float, capital: float,
                                               expected: float) -> None:
    assert position_size(size, unit, price, capital, inverse=True) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("price", [math.nan, 0.0, -5.0])
def test_position_size_without_a_price_names_unit_and_price(price: float) -> None:
    with pytest.raises(UserError, match=r"size_unit 'fraction' needs a positive price"):
        position_size(1.0, "fraction", price, 10_000.0)
    with pytest.raises(UserError, match=r"size_unit 'base' needs a positive price"):
        position_size(1.0, "base", price, 1.0, inverse=True)


def test_position_size_unknown_unit_is_named() -> None:
    with pytest.raises(UserError, match="size_unit 'lots' is not one of fraction, quote, base"):
        position_size(1.0, "lots", 100.0, 10_000.0)
