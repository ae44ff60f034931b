"""The shared sizing rule: a direction unit in base currency, by hand."""

from __future__ import annotations

import math

import pytest

from engine.model.errors import UserError
from engine.trading.sizing import base_size


@pytest.mark.parametrize(
    ("size", "unit", "price", "capital", "expected"),
    [
        (1.0, "fraction", 2_000.0, 10_000.0, 5.0),  # all of 10,000 at 2,000
        (0.5, "fraction", 42_000.0, 10_000.0, 5_000.0 / 42_000.0),  # half the capital in BTC
        (1_000.0, "quote", 2_000.0, 10_000.0, 0.5),  # a 1,000 notional
        (0.3, "base", math.nan, 10_000.0, 0.3),  # base units need no price
    ],
)
def test_base_size_each_unit_by_hand(size: float, unit: str, price: float, capital: float, expected: float) -> None:
    assert base_size(size, unit, price, capital) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("price", [math.nan, 0.0, -5.0])
def test_base_size_without_a_price_names_unit_and_price(price: float) -> None:
    with pytest.raises(UserError, match=r"size_unit 'fraction' needs a positive price"):
        base_size(1.0, "fraction", price, 10_000.0)


def test_base_size_unknown_unit_is_named() -> None:
    with pytest.raises(UserError, match="size_unit 'lots' is not one of fraction, quote, base"):
        base_size(1.0, "lots", 100.0, 10_000.0)
