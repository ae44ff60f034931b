"""Instruments of inverse perpetuals: sized in USD contracts, settled in the coin (README "Inverse
perpetuals"); the linear ones keep their base-currency contracts."""

from __future__ import annotations

import pytest

from engine.model.errors import UserError
from engine.model.types import make_instrument

INV = "BTC/USD:BTC"


def test_make_instrument_inverse_btc_counts_contracts_of_100_usd_settled_in_btc() -> None:
    inst = make_instrument(INV)
    assert (inst.inverse, inst.is_perp, inst.settle, inst.size_currency) == (True, True, "BTC", "USD")
    assert (inst.contract_value, inst.lot_size) == (100.0, 1.0)


def test_make_instrument_inverse_other_coins_count_contracts_of_10_usd() -> None:
    inst = make_instrument("ETH/USD:ETH")
    assert (inst.inverse, inst.contract_value, inst.settle, inst.size_currency) == (True, 10.0, "ETH", "USD")


@pytest.mark.parametrize("symbol", ["BTC/USDT:USDT", "BTC/USDT", "ETH/BTC"])
def test_make_instrument_linear_and_spot_are_not_inverse(symbol: str) -> None:
    inst = make_instrument(symbol)
    assert not inst.inverse and inst.size_currency == inst.base


@pytest.mark.parametrize(
    ("size", "rounded", "contracts"),
    [(250.0, 200.0, 2.0), (-399.9, -300.0, 3.0), (100.0, 100.0, 1.0), (99.0, 0.0, 0.0), (4000.0, 4000.0, 40.0)],
)
def test_inverse_round_size_keeps_whole_100_usd_contracts(size: float, rounded: float, contracts: float) -> None:
    inst = make_instrument(INV)
    assert inst.round_size(size) == rounded
    assert inst.contracts(size) == contracts


def test_inverse_size_below_one_contract_names_size_and_minimum_in_usd() -> None:
    inst = make_instrument(INV)
    assert inst.size_error(50.0, 40_000.0) == "size 50 USD is below the minimum of 100 USD for BTC/USD:BTC"
    assert inst.size_error(100.0, 40_000.0) is None


def test_inverse_min_notional_is_the_usd_face_value_not_times_the_price() -> None:
    # 2 contracts are 200 USD whatever the price; a 300 USD minimum refuses them, 200 admits them
    assert make_instrument(INV, min_notional=300.0).size_error(200.0, 40_000.0) == (
        "notional 200 USD is below the minimum 300")
    assert make_instrument(INV, min_notional=200.0).size_error(200.0, 40_000.0) is None


def test_inverse_value_and_notional_in_the_coin() -> None:
    inst = make_instrument(INV)
    # 4,000 USD long at 40,000: worth -4,000 / 40,000 = -0.1 (a constant that cancels in PnL), 0.1 BTC of notional
    assert (inst.value(4000.0, 40_000.0), inst.notional(-4000.0, 40_000.0)) == (-0.1, 0.1)
    # the value's change is the PnL: 4,000 x (1/40,000 - 1/50,000) = 0.02 BTC
    assert inst.value(4000.0, 50_000.0) - inst.value(4000.0, 40_000.0) == pytest.approx(0.02, rel=1e-12)
    linear = make_instrument("BTC/USDT:USDT")
    assert (linear.value(-0.1, 40_000.0), linear.notional(-0.1, 40_000.0)) == (-4000.0, 4000.0)


def test_make_instrument_inverse_false_is_todays_linear_contract() -> None:
    # the inverse_as_linear fault: 0.01 BTC contracts, sizes in BTC
    inst = make_instrument(INV, inverse=False)
    assert (inst.inverse, inst.contract_value, inst.lot_size, inst.size_currency) == (False, 0.01, 0.01, "BTC")


def test_make_instrument_inverse_spot_is_refused_by_name() -> None:
    with pytest.raises(UserError, match="symbol 'BTC/USDT' is spot: only a perpetual swap can be inverse"):
        make_instrument("BTC/USDT", inverse=True)
