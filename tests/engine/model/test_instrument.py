"""Instrument rounding: whole lots, down for orders and targets, up for a spot buy sized for its fee."""

from __future__ import annotations

import pytest

from engine.model.types import make_instrument

SPOT = make_instrument("ETH/USDT")  # lots of 1e-8 ETH
SWAP = make_instrument("ETH/USDT:USDT")  # 0.01 contracts of 0.1 ETH: lots of 0.001 ETH


def test_round_size_keeps_a_whole_number_of_lots_that_floats_show_just_below() -> None:
    # 0.50050051 / 1e-8 is 50,050,050.99999999 in floats: still 50,050,051 lots
    assert SPOT.round_size(0.50050051) == 0.50050051
    assert SPOT.contracts(0.50050051) == 0.50050051
    assert SPOT.round_size(-0.50050051) == -0.50050051


def test_round_size_rounds_toward_zero_and_ceil_size_away_from_it() -> None:
    # 0.5 / 0.999 = 0.5005005005...: down to 0.5005005, up to 0.50050051 (lots of 1e-8)
    assert SPOT.round_size(0.5 / 0.999) == 0.5005005
    assert SPOT.ceil_size(0.5 / 0.999) == 0.50050051
    assert SPOT.ceil_size(-0.5 / 0.999) == -0.50050051
    assert SWAP.round_size(1.2345) == 1.234 and SWAP.ceil_size(1.2341) == 1.235
    assert SWAP.ceil_size(1.234) == 1.234  # already whole lots: unchanged
    assert SWAP.ceil_size(0.0) == 0.0 and SWAP.round_size(0.0009) == 0.0


@pytest.mark.parametrize("size", [0.001, 0.1, 0.3, 2.7, 123.456])
def test_whole_lots_are_kept_whatever_their_float_form(size: float) -> None:
    assert SWAP.round_size(size) == size and SWAP.ceil_size(size) == size
