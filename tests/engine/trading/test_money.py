"""README "How money is counted", in the trading core: spot cash, netting on spot, skipped targets
and orders, and equity at or below zero. Every number is computed by hand in the comments.

The rig is test_engine's (an engine and a SimVenue driven event by event); strategies get the
capitals the scenario states, so the account's cash in USDT is their sum.
"""

from __future__ import annotations

import math

import pytest

from engine.model.clock import SimClock
from engine.model.events import OrderType
from engine.model.types import Instrument, Side, make_instrument
from engine.trading.engine import EngineConfig, TradingEngine
from engine.trading.recorder import Skip
from engine.venues.sim import SimConfig, SimVenue
from tests.engine.trading.test_engine import SPOT, SWAP, T0, LastPrices, Manual, Rig, S, received

NO_FEES = SimConfig(maker_fee=0.0, taker_fee=0.0)


def money_rig(capitals: dict[str, tuple[str, float]], price: float, sim: SimConfig = NO_FEES,
              instruments: dict[str, Instrument] | None = None) -> Rig:
    """An engine and venue whose strategies trade the given (symbol, capital); last trade `price`."""
    fees = {"maker_fee": sim.maker_fee, "taker_fee": sim.taker_fee}  # the engine knows the venue's fees
    fees = {k: v for k, v in fees.items() if v is not None}
    instruments = instruments or {SWAP: make_instrument(SWAP, **fees), SPOT: make_instrument(SPOT, **fees)}
    clock = SimClock(T0, 0)
    prices = LastPrices(price)
    total = sum(cap for _sym, cap in capitals.values())
    engine = TradingEngine(EngineConfig(capital=total), instruments, clock, prices)
    venue = SimVenue(instruments, sim, engine.bus.publish, clock, prices)
    engine.attach(venue)
    rig = Rig(engine, venue, clock, prices)
    for sid, (symbol, capital) in capitals.items():
        rig.strategies[sid] = Manual()
        engine.add_strategy(sid, rig.strategies[sid], symbol, capital)
    engine.start()
    return rig


def spot_cash(rig: Rig) -> float:
    """The account's USDT: its capital plus the spot cash flows (what the cash check reads)."""
    return rig.engine.money.cash("USDT")


def skipped(rig: Rig) -> list[tuple[str, str, float, float]]:
    return [(r.strategy_id, r.kind, r.asked, r.kept) for r in rig.engine.recorder.skipped]


# -- cash on spot -----------------------------------------------------------------------------------
def test_spot_cash_buy_beyond_cash_shrunk_to_whole_lots_then_rest_rejected() -> None:
    # 10,000 USDT, last trade 2,003, target 100 ETH (cost 200,300): 10,000 / 2,003 = 4.9925112331...,
    # whole lots of 1e-8 ETH: 4.99251123 ETH, cost 4.99251123 x 2,003 = 9,999.99999369 USDT.
    rig = money_rig({"A": (SPOT, 10_000.0)}, price=2003.0)
    rig.act(rig.target("A", 100.0))
    assert received(rig) == [("", Side.BUY, 4.99251123, OrderType.MARKET)]
    order = rig.engine.oms.orders()[0]
    assert order.reason == ""
    rig.event(2003.0, symbol=SPOT)  # fills at 2,003, no fee; the rest of the gap (95.00748877) is refused
    assert rig.ledger("A", SPOT).position == pytest.approx(4.99251123)
    assert spot_cash(rig) == pytest.approx(10_000.0 - 9_999.99999369, abs=1e-8)  # 0.00000631 left
    assert rig.orders() == [(Side.BUY, 4.99251123, S.FILLED), (Side.BUY, pytest.approx(95.00748877), S.REJECTED)]
    reason = rig.engine.oms.orders()[-1].reason
    # 95.00748877 x 2,003 = 190,300.00000631 USDT; one lot is 1e-8 ETH x 2,003 = 0.00002003 > 0.00000631
    assert reason.startswith("risk: spot cash: 0.00 USDT free (0.00 cash less 0.00 reserved by open buys), "
                             "the order costs 190,300.00 USDT at 2003")
    assert "rounds to zero lots" in reason


def test_spot_cash_open_buys_reserve_their_price_and_strategies_share_the_cash() -> None:
    # A and G have 5,000 USDT each: the account holds 10,000 USDT, no strategy is held to its share.
    rig = money_rig({"A": (SPOT, 5_000.0), "G": (SPOT, 5_000.0)}, price=2003.0)
    g = rig["G"].ctx
    first = g.submit_limit(Side.BUY, 3.0, 2000.0, SPOT)  # reserves 3 x 2,000 = 6,000 (more than G's 5,000)
    second = g.submit_limit(Side.BUY, 3.0, 2000.0, SPOT)  # 4,000 free: shrunk to 2 ETH, reserves 4,000
    third = g.submit_limit(Side.BUY, 1.0, 1000.0, SPOT)  # 0 free: rejected
    orders = {o.client_id: o for o in rig.engine.oms.orders()}
    assert (orders[first].size, orders[second].size) == (3.0, 2.0)
    assert orders[third].status is S.REJECTED
    assert orders[third].reason == ("risk: spot cash: 0.00 USDT free (10,000.00 cash less 10,000.00 reserved by "
                                    "open buys), the order costs 1,000.00 USDT at 1000: order of 1 ETH rejected")
    g.cancel(first)  # frees 6,000 once it lands, at the next event (a print above the bids: no fill)
    rig.event(2003.0, symbol=SPOT)
    assert rig.engine.oms.get(first).status is S.CANCELED
    rig.act(rig.target("A", 2.0))  # a market buy reserves 2 x 2,003 (the last trade) = 4,006
    assert received(rig)[-1] == ("", Side.BUY, 2.0, OrderType.MARKET)
    fourth = g.submit_limit(Side.BUY, 1.0, 2000.0, SPOT)  # free 10,000 - 4,000 - 4,006 = 1,994: 0.997 ETH
    assert rig.engine.oms.get(fourth).size == pytest.approx(0.997)


def test_spot_cash_fault_off_lets_the_cash_go_negative() -> None:
    # The deliberate fault: without the check 10,000 USDT buys 100 ETH at 2,003: cash 10,000 - 200,300.
    rig = money_rig({"A": (SPOT, 10_000.0)}, price=2003.0)
    rig.engine.risk.cash_check = False
    rig.act(rig.target("A", 100.0))
    rig.event(2003.0, symbol=SPOT)
    assert rig.ledger("A", SPOT).position == 100.0
    assert spot_cash(rig) == pytest.approx(-190_300.0)


# -- netting on spot --------------------------------------------------------------------------------
def test_spot_netting_short_backed_by_long_then_long_exit_leaves_everyone_flat() -> None:
    rig = money_rig({"A": (SPOT, 100_000.0), "B": (SPOT, 100_000.0)}, price=2000.0, sim=SimConfig())
    rig.act(rig.target("A", 1.0), rig.target("B", -0.5))
    # one buy for the gap of 0.5 (B's short is virtual). The spot fee (0.1%) is paid in the ETH
    # received, so the buy is sized 0.5 / 0.999 = 0.5005005005, rounded up to lots of 1e-8: 0.50050051
    assert received(rig) == [("", Side.BUY, 0.50050051, OrderType.MARKET)]
    # fill @ 2,001: receives 0.50050051 x 0.999 = 0.50000000949 ETH, pays 0.50050051 x 2,001 =
    # 1,001.50152051 USDT (the fee, 0.00050050051 ETH, is worth 1.00150152 USDT)
    rig.event(2001.0, symbol=SPOT)
    a, b = rig.ledger("A", SPOT), rig.ledger("B", SPOT)
    assert (a.position, b.position) == (pytest.approx(1.00000000949, abs=1e-14), -0.5)
    assert rig.engine.portfolio.account(SPOT).cash == pytest.approx(-1_001.50152051, abs=1e-8)
    assert a.fees == pytest.approx(1.00150152051)
    assert skipped(rig) == []
    rig.event(2010.0, rig.target("A", 0.0), symbol=SPOT)
    # targets sum to -0.5 < 0: the account goes flat, B's -0.5 is cut to 0 (no long to back it);
    # it sells its holding rounded down to lots: 0.5, the 0.00000000949 ETH of fee dust stays
    assert received(rig)[-1] == ("", Side.SELL, 0.5, OrderType.MARKET)
    assert skipped(rig) == [("B", "spot_short", -0.5, 0.0)]
    assert rig.engine.recorder.skipped[0].reason == (
        "spot: the account cannot hold less than zero ETH; the targets sum to -0.5, so the shorts share the "
        "longs' 0 pro rata")
    rig.event(2020.0, symbol=SPOT)  # fill: sell 0.5 @ 2,020, fee 1.01 USDT; A crosses 0.5 to B at 2,020
    a, b, acct = rig.ledger("A", SPOT), rig.ledger("B", SPOT), rig.engine.portfolio.account(SPOT)
    assert (b.position, a.position, acct.position) == (0.0, pytest.approx(0.00000000949, abs=1e-14),
                                                       pytest.approx(0.00000000949, abs=1e-14))
    # A: 0.5 from B @ 2,001 (-1,000.5), the fill (-1,001.50152051), 0.5 to B @ 2,020 (+1,010),
    # the sell (+1,010 - 1.01): 16.98847949 USDT, plus the dust
    assert a.cash == pytest.approx(16.98847949, abs=1e-8)
    # B sold 0.5 @ 2,001 and bought it back @ 2,020 inside the account: -9.5, no fee
    assert b.cash == pytest.approx(-9.5)
    assert acct.cash == pytest.approx(16.98847949 - 9.5, abs=1e-8)
    rig.event(2030.0, rig.target("B", -0.5), symbol=SPOT)  # the same cut again: not recorded again
    assert len(skipped(rig)) == 1 and len(rig.venue.received) == 2


def test_spot_netting_shorts_share_the_longs_pro_rata_by_internal_crosses() -> None:
    rig = money_rig({k: (SPOT, 10_000.0) for k in "ABC"}, price=2000.0)
    # A +1, B -2, C -2 sum to -3: A keeps 1, B and C share it 2:2 -> -0.5 each; net 0, crossed at 2,000
    rig.act(rig.target("A", 1.0), rig.target("B", -2.0), rig.target("C", -2.0))
    assert rig.venue.received == []
    positions = [rig.ledger(k, SPOT).position for k in "ABC"]
    assert positions == [1.0, -0.5, -0.5]
    assert [rig.ledger(k, SPOT).cash for k in "ABC"] == [-2000.0, 1000.0, 1000.0]
    assert skipped(rig) == [("B", "spot_short", -2.0, -0.5), ("C", "spot_short", -2.0, -0.5)]
    # A +2: B and C get -1 each (2 x 2/4); one more change each, recorded; A buys 1 more at the venue
    rig.event(2000.0, rig.target("A", 2.0), symbol=SPOT)
    assert skipped(rig)[2:] == [("B", "spot_short", -2.0, -1.0), ("C", "spot_short", -2.0, -1.0)]
    assert rig.venue.received == []  # gaps A +1, B -0.5, C -0.5: crossed again, nothing to buy
    assert [rig.ledger(k, SPOT).position for k in "ABC"] == [2.0, -1.0, -1.0]
    assert rig.engine.portfolio.account(SPOT).position == 0.0


# -- skipped targets and orders ----------------------------------------------------------------------
def test_skipped_target_below_one_lot_recorded_once_per_change_and_not_ordered() -> None:
    # ETH swap: one lot is 0.01 contracts of 0.1 ETH = 0.001 ETH
    rig = money_rig({"A": (SWAP, 10_000.0)}, price=2000.0)
    rig.act(rig.target("A", 0.0005))
    rig.event(2000.0, rig.target("A", 0.0005))  # the same target: no second record
    rig.event(2000.0, rig.target("A", 0.0004))  # a new one: recorded
    assert rig.engine.oms.orders() == []
    assert skipped(rig) == [("A", "target", 0.0005, 0.0), ("A", "target", 0.0004, 0.0)]
    assert rig.engine.recorder.skipped[0].reason == "0.0005 ETH is below one lot of 0.001 ETH"


def test_skipped_order_below_minimum_size_names_the_strategies() -> None:
    # min_size 1 contract = 0.1 ETH; A +1.0 and B -0.95 net to a buy of 0.05 ETH: below it, not sent
    swap = make_instrument(SWAP, min_size=1.0)
    rig = money_rig({"A": (SWAP, 10_000.0), "B": (SWAP, 10_000.0)}, price=2000.0,
                    instruments={SWAP: swap, SPOT: make_instrument(SPOT)})
    rig.act(rig.target("A", 1.0), rig.target("B", -0.95))
    rig.event(2000.0)
    assert rig.engine.oms.orders() == [] and rig.venue.received == []
    (row,) = rig.engine.recorder.skipped
    assert row == Skip(T0, "A,B", SWAP, "order", 0.05, 0.0, "size 0.05 ETH is below the minimum of 0.1 ETH for "
                                                            "ETH/USDT:USDT")


# -- equity at or below zero --------------------------------------------------------------------------
def test_equity_at_or_below_zero_lets_only_reducing_orders_through() -> None:
    rig = money_rig({"A": (SWAP, 1_000.0)}, price=2000.0, sim=SimConfig())
    rig.act(rig.target("A", 1.0))
    rig.event(2000.0)  # buys 1 ETH @ 2,000 (margin: 1,000 x 10 / 2,000 = 5 ETH allowed), fee 1.0
    rig.event(900.0, rig.target("A", 2.0))  # equity 1,000 - 2,000 - 1 + 900 = -101
    last = rig.engine.oms.orders()[-1]
    assert (last.side, last.size, last.status) == (Side.BUY, 1.0, S.REJECTED)
    assert last.reason.startswith("risk: equity -101 USDT at or below zero (reduce only)")
    rig.event(900.0, rig.target("A", 0.5))
    rig.event(910.0)
    assert rig.orders()[-1] == (Side.SELL, 0.5, S.FILLED)
    assert rig.ledger("A").position == 0.5
    # cash flows -2,001 + 455 - fee 0.2275 (0.5 x 910 x 0.05%), plus 0.5 ETH at 910: equity -91.2275
    assert math.isclose(rig.engine.money.equity("USDT"), 1_000.0 - 2_001.0 + 455.0 - 0.2275 + 455.0)
