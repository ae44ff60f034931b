"""README "How fills work", rule by rule, on small scenarios with numbers computed by hand.

The venue is driven as the replay drives it (tests/engine/venues/test_sim.py's rig): an order is
decided on the current event and arrives at the next one; `tick` is an event that is no print (a
quote), `trade` a print; the book the venue sees is set by the test. An OrderManager follows every
update, so an illegal transition would fail the test.
"""

from __future__ import annotations

import pytest

from engine.model.events import CancelOrder, OrderStatus, OrderUpdate
from engine.model.time import NS_PER_MS
from engine.model.types import Liquidity, Side
from engine.trading.oms import OrderManager
from engine.venues.matching import Book
from engine.venues.sim import SimConfig
from tests.engine.venues.test_sim import SWAP, T0, Rig, make_rig
from tests.factories import make_submit

S = OrderStatus
MODELS = ["touch", "walk"]


def fills_of(rig: Rig, cid: str) -> list[tuple[float, float, Liquidity]]:
    return [(f.price, f.size, f.liquidity) for f in rig.fills() if f.client_id == cid]


@pytest.mark.parametrize("model", MODELS)
def test_resting_buy_fills_the_excess_over_its_queue_then_through_prints_up_to_their_size(model: str) -> None:
    # buy 3 @100, queue ahead 2; prints at 100 of 1, 0.5 and 1 eat the queue (2.5 > 2): the last one's
    # excess is 0.5; then 2.4 at 99.5 (through) fills 2.4 of the 2.5 left. All at 100, as maker.
    rig = make_rig(SimConfig(fill_model=model, queue_ahead=2.0), last=100.5, tick_size=0.1)
    rig.submit("a", Side.BUY, 3.0, 100.0)
    for size in (1.0, 0.5, 1.0):
        rig.trade(100.0, size)
    rig.trade(99.5, 2.4)
    assert fills_of(rig, "a") == [(100.0, 0.5, Liquidity.MAKER), (100.0, pytest.approx(2.4), Liquidity.MAKER)]


@pytest.mark.parametrize("model", MODELS)
def test_market_buy_takes_the_ask_at_arrival(model: str) -> None:
    # bid 99 x 1 / ask 101 x 5: a market buy of 3 fills 3 @101 as taker at once, whatever the last
    # print was (a 0.5 seller-initiated print at 99 no longer sets its price)
    rig = make_rig(SimConfig(fill_model=model), last=99.0, tick_size=0.1)
    rig.prices.books[SWAP] = Book(99.0, 101.0, 1.0, 5.0)
    rig.submit("a", Side.BUY, 3.0)
    rig.tick(dt=7)
    assert fills_of(rig, "a") == [(101.0, 3.0, Liquidity.TAKER)]
    assert rig.fills()[0].ts == T0  # at its arrival time, decision + 0 latency
    rig.submit("b", Side.BUY, 3.0, 102.0)  # a marketable limit: the ask too, not the last print
    rig.tick()
    assert fills_of(rig, "b") == [(101.0, 3.0, Liquidity.TAKER)]


def test_walk_market_buy_takes_the_quoted_size_then_the_next_prints() -> None:
    # ask 101 x 5: 5 at the quote, the other 3 on the next prints, each up to its size (1, then 2)
    rig = make_rig(SimConfig(fill_model="walk"), last=100.0, tick_size=0.1)
    rig.prices.books[SWAP] = Book(100.0, 101.0, 4.0, 5.0)
    rig.submit("a", Side.BUY, 8.0)
    rig.tick()
    rig.prices.books[SWAP] = None
    rig.trade(101.5, 1.0)
    rig.trade(101.2, 4.0)
    assert fills_of(rig, "a") == [(101.0, 5.0, Liquidity.TAKER), (101.5, 1.0, Liquidity.TAKER),
                                  (101.2, 2.0, Liquidity.TAKER)]


def test_buy_joining_the_bid_rests_and_fills_as_maker_at_its_price_on_a_sweep() -> None:
    # book 100 / 100.5: a buy @100 joins the bid (not marketable); 59 s later a sweep prints 99.5:
    # it fills at 100, maker (not 99.5, taker)
    rig = make_rig(last=100.2, tick_size=0.1)
    rig.prices.books[SWAP] = Book(100.0, 100.5, 3.0, 3.0)
    rig.submit("a", Side.BUY, 1.0, 100.0)
    assert [u.status for u in rig.tick()] == [S.LIVE]
    rig.trade(99.5, 4.0, dt=59_000_000_000, side=-1)
    assert fills_of(rig, "a") == [(100.0, 1.0, Liquidity.MAKER)]


def test_marketable_limit_that_arrives_after_the_market_moved_takes_the_ask_then() -> None:
    # decided on ask 100.5; it arrives 5 ms later when the book is 99 / 99.5: it takes 99.5 at once
    latency = 5 * NS_PER_MS
    rig = make_rig(SimConfig(latency_ns=latency), last=100.2, tick_size=0.1)
    rig.prices.books[SWAP] = Book(100.0, 100.5, 3.0, 3.0)
    rig.submit("a", Side.BUY, 1.0, 101.0)
    rig.prices.books[SWAP] = Book(99.0, 99.5, 3.0, 3.0)
    rig.tick(dt=latency)
    assert fills_of(rig, "a") == [(99.5, 1.0, Liquidity.TAKER)] and rig.fills()[0].ts == T0 + latency


def test_amend_across_the_market_is_a_new_arrival_and_takes() -> None:
    # a buy resting at 100 amended to 103 while the book is 100.5 / 101: it takes the ask, 101, as taker
    rig = make_rig(last=100.4, tick_size=0.1)
    rig.prices.books[SWAP] = Book(100.0, 100.5, 3.0, 3.0)
    rig.submit("a", Side.BUY, 1.0, 100.0)
    rig.tick()
    rig.prices.books[SWAP] = Book(100.5, 101.0, 3.0, 3.0)
    rig.amend("a", price=103.0)
    rig.tick()
    assert fills_of(rig, "a") == [(101.0, 1.0, Liquidity.TAKER)]


def test_post_only_is_judged_against_the_opposite_quote_and_again_on_amend() -> None:
    # last print 100.2 (buyer), book 100.0 / 100.5: a post-only buy at 100.3 rests (it is below the ask)
    rig = make_rig(last=100.2, tick_size=0.1)
    rig.prices.before[SWAP] = (100.2, 1)
    rig.prices.books[SWAP] = Book(100.0, 100.5, 3.0, 3.0)
    rig.submit("a", Side.BUY, 1.0, 100.3, post_only=True)
    assert [u.status for u in rig.tick()] == [S.LIVE]
    # amended to 100.6, at or above the ask: refused, the order keeps its price and place
    rig.amend("a", price=100.6)
    (refused,) = rig.tick()
    assert refused.status is S.LIVE and refused.price == 100.3 and "post-only at 100.6 would take" in refused.reason
    rig.trade(100.3, 1.0, side=-1)
    assert fills_of(rig, "a") == [(100.3, 1.0, Liquidity.MAKER)]


def test_post_only_amend_that_would_take_leaves_the_order_as_it_was() -> None:
    rig = make_rig(last=2000.0)
    rig.prices.books[SWAP] = Book(1999.0, 2001.0, 3.0, 3.0)
    rig.submit("a", Side.SELL, 1.0, 2005.0, post_only=True)
    rig.tick()
    rig.amend("a", price=1999.0, size=2.0)
    (refused,) = rig.tick()
    assert (refused.price, refused.size) == (2005.0, 1.0) and "amend rejected" in refused.reason


def test_market_order_cannot_be_cancelled_after_its_arrival() -> None:
    # decided at t, latency 5: arrives at t+5; a cancel decided at t+1 lands at t+6, after the arrival:
    # refused, and the order fills on the next print
    latency = 5
    rig = make_rig(SimConfig(latency_ns=latency))
    rig.submit("a", Side.BUY, 1.0)
    rig.tick(dt=1)
    rig.cancel("a")
    rig.tick(dt=4)  # t+5: it arrives (no book: it will take the next print)
    (refused,) = rig.tick(dt=1)  # t+6: the cancel lands
    assert refused.status is S.LIVE and "cancel refused" in refused.reason
    rig.trade(2001.0)
    assert fills_of(rig, "a") == [(2001.0, 1.0, Liquidity.TAKER)]


def test_a_cancel_landing_with_or_before_the_arrival() -> None:
    # decided on the same event as the order, a cancel lands at the same time, after the arrival it
    # follows: refused (a market order executes from its arrival) ...
    rig = make_rig(SimConfig(latency_ns=5))
    rig.submit("a", Side.BUY, 1.0)
    rig.cancel("a")
    assert [(u.status, "cancel refused" in u.reason) for u in rig.tick(dt=5)] == [(S.LIVE, True)]
    # ... but a cancel that lands before the arrival (its decision stamped earlier) wins
    rig = make_rig(SimConfig(latency_ns=5))
    rig.venue.submit(make_submit("a", side=Side.BUY, size=1.0, symbol=SWAP, ts=T0 + 10))  # arrives T0+15
    rig.venue.cancel(CancelOrder("a", SWAP, T0 + 9))  # lands T0+14
    assert [u.status for u in rig.tick(dt=20)] == [S.CANCELED]
    assert rig.trade(2000.0) == [] and rig.fills() == []


def test_buying_and_selling_on_quotes_with_no_trade_in_between() -> None:
    rig = make_rig(last=100.0, tick_size=0.1)
    rig.prices.books[SWAP] = Book(99.9, 100.1, 5.0, 5.0)
    rig.submit("b", Side.BUY, 2.0)
    rig.tick()
    rig.prices.books[SWAP] = Book(100.3, 100.4, 5.0, 5.0)
    rig.submit("s", Side.SELL, 2.0)
    rig.tick()
    assert fills_of(rig, "b") == [(100.1, 2.0, Liquidity.TAKER)]
    assert fills_of(rig, "s") == [(100.3, 2.0, Liquidity.TAKER)]
    assert rig.venue.positions[SWAP] == 0.0


def test_one_print_is_shared_by_our_resting_orders_best_price_first() -> None:
    # buy 2 @100 (first), buy 2 @100.5 (second); a print of 3 at 99.8 goes through both: the better
    # priced gets 2, the other the last 1; 3 in all, the print's size
    rig = make_rig(last=101.0, tick_size=0.1)
    rig.submit("low", Side.BUY, 2.0, 100.0)
    rig.submit("high", Side.BUY, 2.0, 100.5)
    rig.tick()
    rig.trade(99.8, 3.0, side=-1)
    assert fills_of(rig, "high") == [(100.5, 2.0, Liquidity.MAKER)]
    assert fills_of(rig, "low") == [(100.0, 1.0, Liquidity.MAKER)]


@pytest.mark.parametrize("model", MODELS)
def test_a_callback_may_cancel_a_sibling_when_one_print_fills_both(model: str) -> None:
    # one-cancels-other: the strategy cancels the other order on the first fill; nothing crashes, the
    # order manager sees only legal transitions, no fill comes after the cancel took effect
    oms = OrderManager()
    rig = make_rig(SimConfig(fill_model=model), last=101.0, tick_size=0.1)

    def sink(update: OrderUpdate) -> None:
        rig.updates.append(update)
        oms.apply_update(update)
        if update.fill is not None and update.client_id == "a":
            rig.cancel("b")

    rig.venue.sink = sink
    for cid, price in (("a", 100.0), ("b", 99.5)):
        oms.submit(make_submit(cid, side=Side.BUY, size=1.0, price=price, symbol=SWAP, ts=T0))
        rig.submit(cid, Side.BUY, 1.0, price)
    rig.tick()
    rig.trade(99.0, 5.0, side=-1)  # through both; the cancel, decided now, lands at the next event
    rig.tick()
    rig.trade(98.0, 5.0, side=-1)
    assert oms.get("a").status is S.FILLED
    b = oms.get("b")
    assert b.status in (S.FILLED, S.CANCELED)
    after = [f for f in rig.fills() if f.client_id == "b" and f.ts > T0 + 2]
    assert after == []  # nothing after the cancel landed
