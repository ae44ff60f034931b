"""README "Inverse perpetuals" in the trading core: sizes in USD, amounts in BTC. Every number is
computed by hand in the comments.

The rig is test_engine's (an engine and a SimVenue driven event by event) on BTC/USD:BTC, whose
contract is 100 USD; the strategies' capitals are in BTC.
"""

from __future__ import annotations

import pytest

from engine.model.clock import SimClock
from engine.model.events import OrderStatus, OrderType, SubmitOrder
from engine.model.types import Side, make_instrument
from engine.trading.engine import EngineConfig, TradingEngine
from engine.trading.portfolio import PortfolioManager
from engine.trading.risk import RiskEngine, RiskLimits, RiskState
from engine.venues.sim import SimConfig, SimVenue
from tests.engine.trading.test_engine import T0, LastPrices, Manual, Rig, assert_account_matches_venue

INV = "BTC/USD:BTC"
NO_FEES = SimConfig(maker_fee=0.0, taker_fee=0.0)


def inverse_rig(capitals: dict[str, float], price: float, sim: SimConfig = NO_FEES,
                limits: RiskLimits | None = None) -> Rig:
    """An engine and venue trading BTC/USD:BTC (last trade `price`), strategies with capitals in BTC."""
    instruments = {INV: make_instrument(INV)}
    clock = SimClock(T0, 0)
    prices = LastPrices(price)
    prices.last[INV] = prices.before[INV] = price
    engine = TradingEngine(EngineConfig(capital=sum(capitals.values()), limits=limits or RiskLimits()),
                           instruments, clock, prices)
    venue = SimVenue(instruments, sim, engine.bus.publish, clock, prices, market=prices)
    engine.attach(venue)
    rig = Rig(engine, venue, clock, prices)
    for sid, capital in capitals.items():
        rig.strategies[sid] = Manual()
        engine.add_strategy(sid, rig.strategies[sid], INV, capital)
    engine.start()
    return rig


def trip(rig: Rig, target: float, price: float, sid: str = "A") -> None:
    """Set `target` on a trade at `price`; the market order fills on the next trade at `price`."""
    rig.event(price, rig.target(sid, target), symbol=INV)
    rig.event(price, symbol=INV)


def test_two_long_trips_lose_0_01333_btc_where_linear_shows_zero() -> None:
    rig = inverse_rig({"A": 1.0}, price=40_000.0)
    for target, price in ((4000.0, 40_000.0), (0.0, 50_000.0), (4000.0, 40_000.0), (0.0, 30_000.0)):
        trip(rig, target, price)
    a = rig.ledger("A", INV)
    # 4,000 x (1/40,000 - 1/50,000) = +0.02 BTC, 4,000 x (1/40,000 - 1/30,000) = -0.033333 BTC;
    # per 100 USD contract: +0.0005 and -0.00083333, -0.00033333 in all, x 40 contracts = -0.013333
    assert (a.position, a.cash) == (0.0, pytest.approx(-0.04 / 3, rel=1e-12))
    assert rig.engine.money.equity("BTC") == pytest.approx(1.0 - 0.04 / 3, rel=1e-12)
    # volume in BTC: 0.1 + 0.08 + 0.1 + 0.133333 = 1.24 / 3
    assert a.volume == pytest.approx(1.24 / 3, rel=1e-12)
    assert_account_matches_venue(rig, 30_000.0, INV)


def test_fees_are_charged_in_btc_on_the_usd_face_at_the_price() -> None:
    rig = inverse_rig({"A": 1.0}, price=40_000.0, sim=SimConfig(taker_fee=0.0005))
    trip(rig, 4000.0, 40_000.0)
    trip(rig, 0.0, 50_000.0)
    # 40 contracts x 100 USD / 40,000 x 0.05 % = 0.00005 BTC, then / 50,000: 0.00004 BTC
    assert list(rig.engine.recorder.fills_columns()["fee"]) == pytest.approx([0.00005, 0.00004], rel=1e-12)
    # PnL 0.02 less the fees 0.00009
    assert rig.ledger("A", INV).cash == pytest.approx(0.02 - 0.00009, rel=1e-12)
    assert rig.ledger("A", INV).fees == pytest.approx(0.00009, rel=1e-12)
    assert_account_matches_venue(rig, 50_000.0, INV)


def test_funding_is_paid_in_btc_at_the_mark() -> None:
    rig = inverse_rig({"A": 1.0}, price=40_000.0)
    trip(rig, 4000.0, 40_000.0)
    rig.engine.funding(INV, 0.0001, 50_000.0)
    # a long pays at a positive rate: 4,000 / 50,000 x 0.01 % = 0.000008 BTC
    assert rig.ledger("A", INV).funding == pytest.approx(-0.000008, rel=1e-12)
    assert rig.venue.cash[INV] == pytest.approx(0.1 - 0.000008, rel=1e-12)
    assert_account_matches_venue(rig, 50_000.0, INV)


def test_margin_cap_is_equity_times_leverage_times_price_in_usd() -> None:
    # 0.01 BTC at 10x and 40,000: at most 0.01 x 10 x 40,000 = 4,000 USD (linear would allow
    # 0.01 x 10 / 40,000 = 0.00025 of size, not one contract)
    rig = inverse_rig({"A": 0.01}, price=40_000.0)
    rig.act(rig.target("A", 10_000.0))
    (order,) = rig.engine.oms.orders()
    assert (order.side, order.size) == (Side.BUY, 4000.0)


def test_margin_cap_counts_the_position_held_and_says_why_in_usd() -> None:
    risk = RiskEngine(RiskLimits(), {INV: make_instrument(INV)})
    order = SubmitOrder("c1", INV, Side.BUY, 10_000.0, OrderType.MARKET, T0)
    decision = risk.check(order, RiskState(position=1000.0, price=40_000.0, equity=0.01, ts=T0))
    # room 0.01 x 10 x 40,000 = 4,000 USD less the 1,000 held: 3,000
    assert (decision.accepted, decision.size) == (True, 3000.0)
    assert decision.reason == ("margin: equity 0.01 BTC at leverage 10 and price 40000: position 1000, open buys 0: "
                               "order shrunk from 10000 to 3000 USD")


def test_max_notional_on_inverse_is_the_usd_position() -> None:
    rig = inverse_rig({"A": 1.0}, price=40_000.0, limits=RiskLimits(max_notional=2_500.0))
    rig.act(rig.target("A", 4000.0))
    (order,) = rig.engine.oms.orders()
    # 2,500 USD of notional (linear would read 2,500 / 40,000 = 0.0625 of size: no contract)
    assert order.size == 2500.0


def test_target_below_one_contract_is_skipped_naming_usd_sizes() -> None:
    rig = inverse_rig({"A": 1.0}, price=40_000.0)
    rig.act(rig.target("A", 50.0))
    assert rig.engine.oms.orders() == []
    (skip,) = rig.engine.recorder.skipped
    assert (skip.kind, skip.asked, skip.reason) == ("target", 50.0, "50 USD is below one lot of 100 USD")


def test_own_order_below_one_contract_is_rejected_naming_size_and_contract() -> None:
    rig = inverse_rig({"A": 1.0}, price=40_000.0)
    rig.act(lambda: rig["A"].ctx.submit_limit(Side.BUY, 50.0, 39_000.0))
    (update,) = rig["A"].updates
    assert update.status is OrderStatus.REJECTED
    assert update.reason == "size 50 USD is below the minimum of 100 USD for BTC/USD:BTC"


def test_harmonic_mean_entry_of_two_entries_at_different_prices() -> None:
    rig = inverse_rig({"A": 1.0}, price=40_000.0)
    trip(rig, 100.0, 40_000.0)
    trip(rig, 200.0, 50_000.0)
    # cash 100/40,000 + 100/50,000 = 0.0045 BTC for 200 USD: the entry is 200 / 0.0045 = 44,444.44,
    # the harmonic mean, where the PnL 0.0045 - 200 / p is zero (not at the arithmetic 45,000)
    a = rig.ledger("A", INV)
    assert a.equity(200 / 0.0045) == pytest.approx(0.0, abs=1e-15)
    assert a.equity(45_000.0) == pytest.approx(0.0045 - 200 / 45_000, rel=1e-9)
    assert a.equity(45_000.0) > 0


def test_two_strategies_netting_on_inverse_sum_to_the_account() -> None:
    rig = inverse_rig({"A": 0.5, "B": 0.5}, price=40_000.0)
    rig.act(rig.target("A", 4000.0), rig.target("B", -1000.0))
    rig.event(40_000.0, symbol=INV)  # one buy of 3,000 fills; A and B cross 1,000 at 40,000
    assert [(c.side, c.size) for c in rig.venue.received] == [(Side.BUY, 3000.0)]
    a, b, acct = rig.ledger("A", INV), rig.ledger("B", INV), rig.engine.portfolio.account(INV)
    # at 50,000: A 4,000 x (1/40,000 - 1/50,000) = 0.02, B -1,000 x the same = -0.005, the account's
    # 3,000: 0.015 = 0.02 - 0.005
    assert (a.equity(50_000.0), b.equity(50_000.0)) == (pytest.approx(0.02), pytest.approx(-0.005))
    assert acct.equity(50_000.0) == pytest.approx(0.015, rel=1e-12)
    rig.engine.portfolio.check_invariant({INV: 50_000.0})
    assert_account_matches_venue(rig, 50_000.0, INV)


def test_portfolio_cross_and_funding_on_inverse_by_hand() -> None:
    pm = PortfolioManager()
    pm.inverse(INV)
    pm.set_target("A", INV, 1000.0)
    pm.set_target("B", INV, -1000.0)
    (long, short) = pm.cross(INV, 40_000.0, T0)
    # A receives 1,000 USD long, paying nothing up front: cash +1,000 / 40,000 = +0.025 BTC ...
    assert (long.qty, long.cash_flow, short.qty, short.cash_flow) == (1000.0, 0.025, -1000.0, -0.025)
    rows = pm.apply_funding(INV, 0.001, 50_000.0, T0 + 1)
    # ... and pays 1,000 / 50,000 x 0.1 % = 0.00002 BTC of funding, which B receives
    assert [(r.strategy_id, r.cash_flow) for r in rows] == [("A", -0.00002), ("B", 0.00002)]
    pm.check_invariant({INV: 50_000.0})


def test_portfolio_inverse_after_rows_is_refused() -> None:
    pm = PortfolioManager()
    pm.set_target("A", INV, 100.0)
    pm.set_target("B", INV, -100.0)
    pm.cross(INV, 40_000.0, T0)
    with pytest.raises(ValueError, match="BTC/USD:BTC already has ledger rows"):
        pm.inverse(INV)
