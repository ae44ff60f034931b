"""The one sizing rule every strategy shares: from a signal's direction to a position in size units.

A strategy says where it wants to be as a direction (+1 long, -1 short, 0 flat; fractions scale
it) and declares its size in one of three units:

- `fraction` (the default): a fraction of the strategy's capital, `base = size x capital / price`;
- `quote`: a notional in the quote currency, `base = size / price`;
- `base`: base currency as is, `base = size`.

An inverse contract (README "Inverse perpetuals") is sized in USD and its capital is in the coin:
`fraction` gives `size x capital x price`, `quote` is USD as is, `base` gives `size x price`.

The conversion happens only when the direction changes, at the last trade price of that moment,
so a position is never re-traded because the price moved.
"""

from __future__ import annotations

import math

from engine.model.errors import UserError

SIZE_UNITS = ("fraction", "quote", "base")


def position_size(size: float, unit: str, price: float, capital: float, inverse: bool = False) -> float:
    """The position of one direction unit, in base currency (USD for an inverse contract); a UserError
    when the price or capital cannot give one."""
    if unit == "base" and not inverse:
        return size
    if unit == "quote" and inverse:
        return size
    if unit not in SIZE_UNITS:
        raise UserError(f"size_unit {unit!r} is not one of {', '.join(SIZE_UNITS)}")
    if not (math.isfinite(price) and price > 0):
        raise UserError(f"size_unit {unit!r} needs a positive price to size at, got {price!r}")
    if inverse:  # fraction of the capital in the coin, or base (the coin), each worth `price` USD
        return (size * capital if unit == "fraction" else size) * price
    notional = size * capital if unit == "fraction" else size
    return notional / price
