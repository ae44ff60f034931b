"""README "How fills work", checked again at each fill: the venue asks the account before every
fill, at the fill's price, and cancels what the limits no longer allow. Numbers by hand.

The rig is test_engine's (an engine and a SimVenue driven event by event, the venue seeing the
last trade before each event); no fees, so that the cash is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from engine.model.clock import SimClock
from engine.model.events import Fill, OrderType, OrderUpdate, SubmitOrder
from engine.model.time import NS_PER_S
from engine.model.types import Side, make_instrument
from engine.trading.engine import EngineConfig, TradingEngine
from engine.trading.risk import RiskLimits
from engine.venues.sim import SimConfig, SimVenue
from tests.engine.trading.test_engine import SPOT, SWAP, T0, LastPrices, Manual, Rig, S

LATE = SimConfig(maker_fee=0.0, taker_fee=0.0, latency_ns=NS_PER_S)  # decided now, arrives 1 s later
NOW = SimConfig(maker_fee=0.0, taker_fee=0.0)


@dataclass
class FillRig(Rig):
    seen: list[Fill] = field(default_factory=list)  # every fill the venue reported


def rig_for(capital: float, price: float, symbol: str, sim: SimConfig = LATE,
            limits: RiskLimits | None = None, ids: tuple[str, ...] = ("A",)) -> FillRig:
    """Strategies sharing `capital` on `symbol`, last trade `price`."""
    fees = {"maker_fee": sim.maker_fee or 0.0, "taker_fee": sim.taker_fee or 0.0}  # the engine knows the venue's
    instruments = {SWAP: make_instrument(SWAP, **fees), SPOT: make_instrument(SPOT, **fees)}
    clock = SimClock(T0, 0)
    prices = LastPrices(price)
    engine = TradingEngine(EngineConfig(capital=capital, limits=limits or RiskLimits()), instruments, clock,
                           prices)
    venue = SimVenue(instruments, sim, engine.bus.publish, clock, prices)
    engine.attach(venue)
    rig = FillRig(engine, venue, clock, prices)
    engine.bus.subscribe(OrderUpdate, lambda u: rig.seen.append(u.fill) if u.fill is not None else None)
    for sid in ids:
        rig.strategies[sid] = Manual()
        engine.add_strategy(sid, rig.strategies[sid], symbol, capital / len(ids))
    engine.start()
    return rig


def reasons(rig: FillRig) -> list[str]:
    return [o.reason for o in rig.engine.oms.orders()]


def fills(rig: FillRig) -> list[tuple[Side, float, float]]:
    return [(f.side, f.size, f.price) for f in rig.seen]


def test_margin_checked_at_decision_price_cuts_the_fill_at_the_worse_price() -> None:
    # 1,000 USDT at leverage 1. Decided at 100: a buy of 9 ETH is 900 USDT, within the margin.
    rig = rig_for(1_000.0, 100.0, SWAP, limits=RiskLimits(max_leverage=1.0))
    rig.act(rig.target("A", 9.0))
    assert rig.orders() == [(Side.BUY, 9.0, S.NEW)]  # on its way
    # It arrives 1 s later and fills at 200: 1,000 / 200 = 5 ETH fill, the other 4 are cancelled.
    rig.event(200.0, dt=2 * NS_PER_S, symbol=SWAP)
    assert fills(rig) == [(Side.BUY, 5.0, 200.0)]
    first = rig.engine.oms.orders()[0]
    assert (first.status, first.filled_size) == (S.CANCELED, 5.0)
    assert first.reason.startswith("cut at fill: margin: equity 1000 USDT at leverage 1 and price 200")
    assert "fill of 9 ETH at 200 cut to 5" in first.reason
    # The gap of 4 is planned again, and the check at that decision (price 200) finds no margin left.
    assert rig.orders()[1:] == [(Side.BUY, 4.0, S.REJECTED)]
    assert reasons(rig)[1].startswith("risk: margin")
    assert rig.engine.portfolio.position(SWAP) == 5.0
    assert rig.venue.positions[SWAP] == 5.0


def test_margin_fill_within_the_limit_at_the_fill_price_is_not_cut() -> None:
    # The same order filled at 110: 9 x 110 = 990 <= 1,000, it fills whole.
    rig = rig_for(1_000.0, 100.0, SWAP, limits=RiskLimits(max_leverage=1.0))
    rig.act(rig.target("A", 9.0))
    rig.event(110.0, dt=2 * NS_PER_S, symbol=SWAP)
    assert fills(rig) == [(Side.BUY, 9.0, 110.0)]
    assert rig.orders() == [(Side.BUY, 9.0, S.FILLED)]


def test_spot_cash_at_the_fill_price_cuts_a_market_buy_to_whole_lots() -> None:
    # 10,000 USDT; a market buy of 4.9 ETH decided at 2,000 reserves 9,800. It fills at 2,100:
    # 4.9 x 2,100 = 10,290 > 10,000, so 10,000 / 2,100 = 4.761904761... -> 4.76190476 ETH (lots of 1e-8)
    # for 9,999.999996 USDT; the account keeps 0.000004 USDT and never goes below zero.
    rig = rig_for(10_000.0, 2_000.0, SPOT)
    rig.act(rig.target("A", 4.9))
    rig.event(2_100.0, dt=2 * NS_PER_S, symbol=SPOT)
    assert fills(rig) == [(Side.BUY, 4.76190476, 2_100.0)]
    assert rig.engine.money.cash("USDT") == pytest.approx(0.000004, abs=1e-9)
    first = rig.engine.oms.orders()[0]
    assert first.status is S.CANCELED
    assert first.reason.startswith("cut at fill: spot cash: 10,000.00 USDT free")
    # the rest of the target (0.13809524 ETH, 289.99 USDT) is refused at its decision: no cash left
    assert rig.orders()[1:] == [(Side.BUY, pytest.approx(0.13809524), S.REJECTED)]


def test_spot_cash_at_fill_keeps_the_other_open_buys_reservations() -> None:
    # B's own limit buy of 2 ETH @ 1,900 rests and reserves 3,800 of the 10,000 USDT.
    rig = rig_for(10_000.0, 2_000.0, SPOT, ids=("A", "B"))
    rig.act(lambda: rig["B"].ctx.submit_limit(Side.BUY, 2.0, 1_900.0))
    # A's target of 4.9 ETH at 2,000 costs 9,800; 6,200 are free: shrunk to 3.1 ETH at the decision.
    rig.act(rig.target("A", 4.9))
    assert rig.orders()[0][1] == pytest.approx(3.1)
    # It fills at 2,100: 3.1 x 2,100 = 6,510 > 6,200 free -> 6,200 / 2,100 = 2.95238095 ETH fill
    rig.event(2_100.0, dt=2 * NS_PER_S, symbol=SPOT)
    assert fills(rig) == [(Side.BUY, 2.95238095, 2_100.0)]
    # 10,000 - 2.95238095 x 2,100 = 3,800.000005: B's reservation is still backed
    assert rig.engine.money.cash("USDT") == pytest.approx(3_800.000005, abs=1e-9)
    assert rig.orders("B")[0][2] is S.LIVE


def test_pause_after_the_decision_cancels_an_entry_at_its_fill() -> None:
    # An entry decided before the pause arrives after it: nothing fills, the order is cancelled.
    rig = rig_for(100_000.0, 2_000.0, SWAP)
    rig.act(rig.target("A", 1.0))
    rig.engine.risk.pause()
    rig.event(2_000.0, dt=2 * NS_PER_S, symbol=SWAP)
    assert fills(rig) == []
    first = rig.engine.oms.orders()[0]
    assert first.status is S.CANCELED
    assert first.reason.startswith("cut at fill: paused (reduce only): position 0 ETH")
    assert rig.orders()[1:] == [(Side.BUY, 1.0, S.REJECTED)]  # planned again, refused at the decision
    assert rig.engine.portfolio.position(SWAP) == 0.0


def test_pause_lets_a_reducing_fill_through() -> None:
    rig = rig_for(100_000.0, 2_000.0, SWAP, sim=NOW)
    rig.act(rig.target("A", 1.0))
    rig.event(2_000.0, symbol=SWAP)
    rig.act(rig.target("A", 0.0))
    rig.engine.risk.pause()
    rig.event(2_010.0, symbol=SWAP)
    assert fills(rig) == [(Side.BUY, 1.0, 2_000.0), (Side.SELL, 1.0, 2_010.0)]
    assert rig.engine.portfolio.position(SWAP) == 0.0


def test_reduce_only_limit_cut_at_fill_when_a_later_sell_filled_first() -> None:
    # A holds 1 ETH; a reduce-only limit sell of 1 @ 2,010 rests (nothing else open: it passes);
    # then a plain market sell of 0.6 fills at 2,005, leaving 0.4; the print at 2,010 reaches the
    # reduce-only sell, which may only close the 0.4 left: 0.4 fills, 0.6 is cancelled, never short.
    rig = rig_for(100_000.0, 2_000.0, SWAP, sim=NOW)

    def send(side: Side, size: float, kind: OrderType, price: float = float("nan"), reduce: bool = False) -> None:
        rig.engine.bus.publish(SubmitOrder(rig.engine.ids.next(), SWAP, side, size, kind, rig.clock.ts, price,
                                           "A", reduce_only=reduce))

    rig.act(lambda: send(Side.BUY, 1.0, OrderType.MARKET))
    rig.event(2_000.0, symbol=SWAP)
    rig.act(lambda: send(Side.SELL, 1.0, OrderType.LIMIT, 2_010.0, reduce=True),
            lambda: send(Side.SELL, 0.6, OrderType.MARKET))
    rig.event(2_005.0, symbol=SWAP)
    rig.event(2_010.0, symbol=SWAP)
    assert fills(rig) == [(Side.BUY, 1.0, 2_000.0), (Side.SELL, 0.6, 2_005.0), (Side.SELL, 0.4, 2_010.0)]
    reduce = rig.engine.oms.orders()[1]
    assert (reduce.status, reduce.filled_size) == (S.CANCELED, 0.4)
    assert reduce.reason.startswith("cut at fill: reduce-only order: position 0.4 ETH")
    assert rig.engine.portfolio.position(SWAP) == pytest.approx(0.0, abs=1e-12)
