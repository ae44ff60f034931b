"""SimVenue as a unit: rounding, fees, matching (touch and walk), latency, cancels, amends, funding.

The venue is driven as the replay drives it: the test sets the SimClock (time and replay index)
and hands it real Trade events one by one; its OrderUpdates land in a list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from engine.model.clock import SimClock
from engine.model.errors import ConfigError
from engine.model.events import AmendOrder, CancelOrder, Fill, OrderStatus, OrderType, OrderUpdate, SubmitOrder, Trade
from engine.model.time import NS_PER_MS, NS_PER_S
from engine.model.types import Instrument, Liquidity, Side, make_instrument
from engine.venues.matching import Book
from engine.venues.sim import SimConfig, SimVenue

SWAP = "ETH/USDT:USDT"
SPOT = "ETH/USDT"
T0 = 1_700_000_000 * NS_PER_S
NAN = math.nan
S = OrderStatus


class LastPrices:
    """PriceSource and MarketView: the last trade per symbol as the replay reports it; the venue sees
    the trade before the event being matched, and the book the test sets (None: no usable book)."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.before: dict[str, tuple[float, int]] = {}
        self.books: dict[str, Book | None] = {}

    def last_price(self, symbol: str) -> float:
        return self.last.get(symbol, NAN)

    def book(self, symbol: str, at: int, decided: int) -> Book | None:
        return self.books.get(symbol)

    def last_trade(self, symbol: str, at: int, decided: int) -> tuple[float, int]:
        return self.before.get(symbol, (self.last.get(symbol, NAN), 0))

    def earliest(self, symbol: str, decided: int) -> int:
        return decided + 1


@dataclass
class Rig:
    """A SimVenue with its clock, prices and the updates it emitted. Orders are decided on the
    current event and arrive at the next one (`trade`, or `tick` for an event that is no print)."""

    venue: SimVenue
    clock: SimClock
    prices: LastPrices
    updates: list[OrderUpdate] = field(default_factory=list)

    def submit(self, cid: str, side: Side, size: float, price: float = NAN, *, symbol: str = SWAP,
               post_only: bool = False, kind: OrderType | None = None) -> list[OrderUpdate]:
        """Decide an order (a limit order when priced) on the current event; return its immediate updates."""
        kind = kind or (OrderType.MARKET if math.isnan(price) else OrderType.LIMIT)
        n = len(self.updates)
        self.venue.submit(SubmitOrder(cid, symbol, side, size, kind, self.clock.ts, price, post_only=post_only))
        return self.updates[n:]

    def cancel(self, cid: str, symbol: str = SWAP) -> list[OrderUpdate]:
        n = len(self.updates)
        self.venue.cancel(CancelOrder(cid, symbol, self.clock.ts))
        return self.updates[n:]

    def amend(self, cid: str, price: float = NAN, size: float = NAN) -> list[OrderUpdate]:
        n = len(self.updates)
        self.venue.amend(AmendOrder(cid, SWAP, self.clock.ts, price, size))
        return self.updates[n:]

    def tick(self, dt: int = 1, symbol: str = SWAP) -> list[OrderUpdate]:
        """The next event, `dt` ns later, that is no print (a quote): due arrivals, cancels, amends."""
        self.clock.ts += dt
        self.clock.seq += 1
        n = len(self.updates)
        self.venue.advance(symbol, self.clock.ts)
        return self.updates[n:]

    def trade(self, price: float, size: float = 1.0, *, dt: int = 1, symbol: str = SWAP,
              side: int = 1) -> list[OrderUpdate]:
        """The next event of the tape, `dt` ns later: a trade; return the updates it caused."""
        self.clock.ts += dt
        self.clock.seq += 1
        self.prices.before[symbol] = (self.prices.last.get(symbol, NAN), self.prices.before.get(symbol, (NAN, 0))[1])
        self.prices.last[symbol] = price
        n = len(self.updates)
        trade = Trade(symbol, self.clock.ts - 5, self.clock.ts, price, size, side, f"t{self.clock.seq}")
        self.venue.on_trade(trade, self.clock.seq)
        self.prices.before[symbol] = (price, side)
        return self.updates[n:]

    def fills(self) -> list[Fill]:
        return [u.fill for u in self.updates if u.fill is not None]


def make_rig(config: SimConfig | None = None, last: float = 2000.0, **swap: object) -> Rig:
    """A venue trading the ETH swap (overridable fields) and ETH spot, last trade at `last`."""
    instruments: dict[str, Instrument] = {SWAP: make_instrument(SWAP, **swap), SPOT: make_instrument(SPOT)}
    clock = SimClock(T0, 0)
    prices = LastPrices()
    prices.last.update({SWAP: last, SPOT: last})
    updates: list[OrderUpdate] = []
    venue = SimVenue(instruments, config or SimConfig(), updates.append, clock, prices, market=prices)
    return Rig(venue, clock, prices, updates)


def only(updates: list[OrderUpdate]) -> OrderUpdate:
    assert len(updates) == 1, updates
    return updates[0]


# -- configuration ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "named"),
    [({"fill_model": "book"}, "fill_model"), ({"latency_ns": -1}, "latency_ns"),
     ({"queue_ahead": -0.5}, "queue_ahead"), ({"queue_ahead": NAN}, "queue_ahead"),
     ({"maker_fee": 0.5}, "maker_fee"), ({"taker_fee": -0.02}, "taker_fee")],
)
def test_sim_config_bad_value_raises_naming_field(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        SimConfig(**kwargs)  # type: ignore[arg-type]


# -- rounding and validation ------------------------------------------------------------------------
def test_submit_swap_size_rounds_down_to_whole_contracts() -> None:
    rig = make_rig(lot_size=1.0)  # one contract of ctVal 0.1 ETH
    rig.submit("a", Side.BUY, 0.379)
    (update,) = rig.trade(2001.0)
    assert update.status is S.FILLED
    assert update.fill is not None and update.fill.size == 0.3  # 3 whole contracts of 0.1
    assert rig.venue.positions[SWAP] == 0.3


def test_submit_spot_size_rounds_down_to_lot_size() -> None:
    rig = make_rig()
    rig.venue.instruments[SPOT] = make_instrument(SPOT, lot_size=0.0001)
    live = only(rig.submit("a", Side.BUY, 1.23456789, 1990.0, symbol=SPOT))  # judged at once: no latency, no book
    assert live.status is S.LIVE and live.size == 1.2345


@pytest.mark.parametrize(("asked", "rounded"), [(1999.74, 1999.5), (1999.76, 2000.0), (1999.5, 1999.5)])
def test_submit_limit_price_rounds_to_nearest_tick(asked: float, rounded: float) -> None:
    rig = make_rig(tick_size=0.5, last=2100.0)
    assert only(rig.submit("a", Side.BUY, 1.0, asked)).price == rounded
    rig.trade(rounded - 0.5)
    assert rig.fills()[0].price == rounded


@pytest.mark.parametrize(
    ("size", "overrides", "minimum"),
    [(0.05, {"lot_size": 1.0}, "0.1 ETH"), (0.45, {"lot_size": 1.0, "min_size": 5.0}, "0.5 ETH"),
     (0.0004, {}, "0.001 ETH")],
)
def test_submit_size_below_one_lot_or_min_size_rejected_naming_size(
    size: float, overrides: dict[str, float], minimum: str
) -> None:
    rig = make_rig(**overrides)
    update = only(rig.submit("a", Side.BUY, size))
    assert update.status is S.REJECTED
    assert f"size {size:g} ETH" in update.reason and minimum in update.reason
    assert rig.trade(1990.0, 10.0) == [] and rig.venue.positions == {}


def test_submit_unknown_symbol_rejected_naming_symbol() -> None:
    rig = make_rig()
    update = only(rig.submit("a", Side.BUY, 1.0, symbol="BTC/USDT"))
    assert update.status is S.REJECTED and "unknown symbol 'BTC/USDT'" in update.reason


@pytest.mark.parametrize("price", [NAN, -5.0, 0.0, math.inf])
def test_submit_limit_bad_price_rejected_naming_price(price: float) -> None:
    rig = make_rig()
    update = only(rig.submit("a", Side.BUY, 1.0, price, kind=OrderType.LIMIT))
    assert update.status is S.REJECTED and f"limit price {price!r}" in update.reason
    assert rig.venue.working.get(SWAP, []) == []


@pytest.mark.parametrize("size", [NAN, -1.0, 0.0])
def test_submit_bad_size_rejected_naming_size(size: float) -> None:
    rig = make_rig()
    update = only(rig.submit("a", Side.BUY, size))
    assert update.status is S.REJECTED and f"size {size!r}" in update.reason


def test_submit_duplicate_client_id_rejected_without_second_order() -> None:
    rig = make_rig()
    rig.submit("a", Side.BUY, 1.0, 1990.0)
    update = only(rig.submit("a", Side.BUY, 2.0))
    assert update.status is S.REJECTED and "duplicate" in update.reason
    assert len(rig.venue.working[SWAP]) == 1
    rig.trade(1980.0, 10.0)
    assert [(f.size, f.price) for f in rig.fills()] == [(1.0, 1990.0)]
    assert rig.venue.positions[SWAP] == 1.0
    assert [c.size for c in rig.venue.received] == [1.0, 2.0]  # both reached the venue


# -- fees -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("symbol", "maker", "rate"),
    [(SPOT, True, 0.0008), (SPOT, False, 0.0010), (SWAP, True, 0.0002), (SWAP, False, 0.0005)],
)
def test_fill_fee_default_by_instrument_type_is_size_price_rate(symbol: str, maker: bool, rate: float) -> None:
    rig = make_rig()
    rig.submit("a", Side.BUY, 2.0, 1990.0 if maker else NAN, symbol=symbol)
    rig.trade(1985.0, 5.0, symbol=symbol)
    (fill,) = rig.fills()
    price = 1990.0 if maker else 1985.0  # a maker fills at its limit, a taker at the trade
    assert fill.price == price
    assert fill.liquidity is (Liquidity.MAKER if maker else Liquidity.TAKER)
    assert fill.fee == pytest.approx(2.0 * price * rate, rel=1e-12)
    assert rig.venue.fees == pytest.approx(fill.fee, rel=1e-12)


def test_fill_fee_config_overrides_instrument_fees() -> None:
    rig = make_rig(SimConfig(maker_fee=-0.0001, taker_fee=0.0007))
    rig.submit("m", Side.SELL, 1.0, 2010.0)
    rig.submit("t", Side.BUY, 3.0)
    rig.trade(2012.0)
    maker, taker = sorted(rig.fills(), key=lambda f: f.client_id)
    assert maker.liquidity is Liquidity.MAKER and maker.fee == pytest.approx(1.0 * 2010.0 * -0.0001)
    assert taker.liquidity is Liquidity.TAKER and taker.fee == pytest.approx(3.0 * 2012.0 * 0.0007)
    assert rig.venue.cash[SWAP] == pytest.approx(2010.0 + 0.201 - 3 * 2012.0 - 3 * 2012.0 * 0.0007)


# -- market orders ----------------------------------------------------------------------------------
def test_market_order_touch_fills_whole_size_at_first_eligible_trade() -> None:
    rig = make_rig()
    assert rig.submit("a", Side.SELL, 3.0) == []  # a market order is not acknowledged before its fill
    update = only(rig.trade(1999.5, 0.2))
    assert update.status is S.FILLED and update.filled_size == 3.0 and update.avg_price == 1999.5
    assert update.fill is not None and update.fill.size == 3.0 and update.fill.side is Side.SELL
    assert update.fill.trade_id == "t1"
    assert rig.trade(1999.0) == []
    assert rig.venue.positions[SWAP] == -3.0


def test_market_orders_walk_share_each_trade_in_arrival_order() -> None:
    rig = make_rig(SimConfig(fill_model="walk"))
    rig.submit("a", Side.BUY, 1.0)
    rig.submit("b", Side.BUY, 0.5)
    first = rig.trade(2001.0, 0.4)
    second = rig.trade(2002.0, 0.8)
    third = rig.trade(2003.0, 0.6)
    seen = [(u.client_id, u.status, u.fill.size if u.fill else 0.0, u.filled_size) for u in first + second + third]
    assert seen == [
        ("a", S.PARTIALLY_FILLED, 0.4, 0.4),
        ("a", S.FILLED, pytest.approx(0.6), 1.0),  # 0.8 - 0.6 = 0.2 left for b
        ("b", S.PARTIALLY_FILLED, pytest.approx(0.2), pytest.approx(0.2)),
        ("b", S.FILLED, pytest.approx(0.3), 0.5),
    ]
    assert second[0].avg_price == pytest.approx((0.4 * 2001 + 0.6 * 2002) / 1.0)
    assert third[0].avg_price == pytest.approx((0.2 * 2002 + 0.3 * 2003) / 0.5)
    assert rig.venue.positions[SWAP] == pytest.approx(1.5)


# -- eligibility: later event, and time + latency ----------------------------------------------------
def test_order_trade_with_decision_seq_never_fills_it() -> None:
    rig = make_rig()
    rig.clock.seq = 7
    rig.submit("a", Side.BUY, 1.0)
    same = Trade(SWAP, T0, T0, 2000.0, 5.0, 1, "same")
    rig.venue.on_trade(same, 7)  # the deciding event itself
    assert rig.updates == []
    (update,) = rig.trade(2000.5, dt=0)  # the next event, at the same time, latency 0
    assert update.status is S.FILLED and update.fill is not None and update.fill.price == 2000.5


@pytest.mark.parametrize("limit", [NAN, 1990.0])
def test_order_with_latency_fills_first_at_decision_time_plus_latency(limit: float) -> None:
    # Decided with the last trade at 2000; by its arrival the market printed 1985, so a buy at 1990
    # is marketable too: both fill as takers on the first print at or after decision + latency.
    latency = 3 * NS_PER_MS
    rig = make_rig(SimConfig(latency_ns=latency))
    decided = rig.clock.ts
    rig.submit("a", Side.BUY, 1.0, limit)
    assert rig.trade(1985.0, dt=latency - 1) == []
    assert rig.trade(1984.0, dt=1)[-1].status is S.FILLED
    (fill,) = rig.fills()
    assert (fill.ts, fill.price, fill.liquidity) == (decided + latency, 1984.0, Liquidity.TAKER)


@pytest.mark.parametrize(("side", "limit", "away", "through"), [(Side.BUY, 1990.0, 1990.01, 1989.0),
                                                               (Side.SELL, 2010.0, 2009.99, 2011.0)])
def test_limit_order_trade_through_price_fills_as_maker_at_limit(
    side: Side, limit: float, away: float, through: float
) -> None:
    rig = make_rig()
    assert only(rig.submit("a", side, 1.0, limit)).status is S.LIVE  # it rests
    assert rig.trade(away, 10.0) == []  # the print misses it
    update = only(rig.trade(through, 0.1))  # through its price: it fills up to the print's size
    assert update.status is S.PARTIALLY_FILLED and update.fill is not None
    assert (update.fill.price, update.fill.size, update.fill.liquidity) == (limit, 0.1, Liquidity.MAKER)


@pytest.mark.parametrize("model", ["touch", "walk"])
@pytest.mark.parametrize(("side", "limit"), [(Side.BUY, 1990.0), (Side.SELL, 2010.0)])
def test_limit_order_trades_at_price_use_queue_then_excess_fills(model: str, side: Side, limit: float) -> None:
    rig = make_rig(SimConfig(fill_model=model, queue_ahead=2.0))
    rig.submit("a", side, 1.0, limit)
    assert rig.trade(limit, 1.5) == []  # 0.5 of the queue ahead is left
    update = only(rig.trade(limit, 1.0))  # 0.5 beyond the queue: only that fills, in both models
    assert update.fill is not None and update.fill.size == 0.5 and update.fill.price == limit
    assert update.filled_size == 0.5


def test_limit_order_walk_at_price_after_queue_fills_up_to_each_trade() -> None:
    rig = make_rig(SimConfig(fill_model="walk", queue_ahead=1.0))
    rig.submit("a", Side.BUY, 1.0, 1990.0)
    rig.trade(1990.0, 1.2)
    rig.trade(1990.0, 0.3)
    rig.trade(1990.0, 0.7)
    assert [f.size for f in rig.fills()] == pytest.approx([0.2, 0.3, 0.5])
    assert rig.updates[-1].status is S.FILLED


@pytest.mark.parametrize(("side", "limit", "worse", "better"), [(Side.BUY, 2005.0, 2006.0, 2003.0),
                                                               (Side.SELL, 1995.0, 1994.0, 1997.0)])
def test_limit_order_marketable_on_arrival_takes_at_the_print_or_rests_after_one_beyond(
    side: Side, limit: float, worse: float, better: float
) -> None:
    # Marketable against the last trade (2000): with no book it takes on the next print within the
    # limit, at the print's price ...
    rig = make_rig(last=2000.0)
    assert only(rig.submit("a", side, 1.0, limit)).status is S.LIVE
    taken = rig.trade(better)
    assert [u.status for u in taken] == [S.FILLED]
    assert taken[-1].fill is not None and (taken[-1].fill.price, taken[-1].fill.liquidity) == (better, Liquidity.TAKER)
    assert taken[-1].fill.fee == pytest.approx(better * 0.0005)
    # ... but after a print beyond its limit the rest rests, as maker, and fills at its limit later
    rig = make_rig(last=2000.0)
    rig.submit("a", side, 1.0, limit)
    assert rig.trade(worse) == []
    made = only(rig.trade(better))
    assert made.fill is not None and (made.fill.price, made.fill.liquidity) == (limit, Liquidity.MAKER)


@pytest.mark.parametrize(("side", "price", "last_side"), [(Side.BUY, 2000.0, 1), (Side.BUY, 2001.0, 0),
                                                         (Side.SELL, 1999.0, 0), (Side.SELL, 2000.0, -1)])
def test_limit_post_only_marketable_rejected_with_reason(side: Side, price: float, last_side: int) -> None:
    # without a book: against the last trade (2000); at its price only when that trade's taker was on our side
    rig = make_rig(last=2000.0)
    rig.prices.before[SWAP] = (2000.0, last_side)
    update = only(rig.submit("a", side, 1.0, price, post_only=True))
    assert update.status is S.REJECTED
    assert "post-only" in update.reason and f"{price:g}" in update.reason and "last trade 2000" in update.reason
    assert rig.venue.working.get(SWAP, []) == []


@pytest.mark.parametrize(("price", "last_side"), [(1999.99, 1), (2000.0, -1)])
def test_limit_post_only_resting_accepted_live(price: float, last_side: int) -> None:
    rig = make_rig(last=2000.0)
    rig.prices.before[SWAP] = (2000.0, last_side)
    assert only(rig.submit("a", Side.BUY, 1.0, price, post_only=True)).status is S.LIVE


def test_limit_order_without_latency_or_book_acknowledged_live_at_submission() -> None:
    rig = make_rig()
    update = only(rig.submit("a", Side.BUY, 1.5, 1990.0))
    assert (update.status, update.ts, update.filled_size) == (S.LIVE, T0, 0.0)
    assert (update.price, update.size) == (1990.0, 1.5) and update.venue_order_id


def test_limit_order_with_latency_acknowledged_once_it_arrives() -> None:
    rig = make_rig(SimConfig(latency_ns=1000))
    assert rig.submit("a", Side.BUY, 1.0, 1990.0) == []
    assert rig.trade(1995.0, dt=999) == []
    update = only(rig.trade(1995.0, dt=1))
    assert (update.status, update.ts) == (S.LIVE, T0 + 1000)
    assert rig.trade(1995.0) == []  # acknowledged once


def test_cancel_without_latency_takes_effect_at_the_next_event() -> None:
    rig = make_rig()
    rig.submit("a", Side.BUY, 1.0, 1990.0)
    assert rig.cancel("a") == []
    assert [(u.status, u.ts) for u in rig.tick()] == [(S.CANCELED, T0)]
    assert rig.venue.working[SWAP] == []
    assert rig.trade(1980.0, 10.0) == []


def test_cancel_with_latency_takes_effect_at_ts_plus_latency_after_earlier_fill() -> None:
    latency = 1000
    rig = make_rig(SimConfig(latency_ns=latency, fill_model="walk"))
    rig.submit("a", Side.BUY, 1.0, 1990.0)
    rig.trade(1995.0, dt=latency)  # arrival: acknowledged
    asked = rig.clock.ts
    assert rig.cancel("a") == []
    partial = only(rig.trade(1985.0, 0.3, dt=latency - 1))  # before the cancel lands: still fills
    assert partial.status is S.PARTIALLY_FILLED
    canceled = only(rig.trade(1985.0, 5.0, dt=1))
    assert (canceled.status, canceled.ts, canceled.filled_size) == (S.CANCELED, asked + latency, 0.3)
    assert canceled.fill is None and rig.venue.positions[SWAP] == 0.3


@pytest.mark.parametrize("client_id", ["nope", "done"])
def test_cancel_unknown_or_finished_order_is_ignored(client_id: str) -> None:
    rig = make_rig()
    rig.submit("done", Side.BUY, 1.0)
    rig.trade(2000.0)
    before = list(rig.updates)
    assert rig.cancel(client_id) == []
    assert rig.trade(1990.0) == [] and rig.updates == before


def test_amend_without_latency_takes_effect_at_the_next_event() -> None:
    rig = make_rig()
    live = only(rig.submit("a", Side.BUY, 1.0, 1990.0))
    assert (live.status, live.price, live.size) == (S.LIVE, 1990.0, 1.0)
    assert rig.amend("a", price=1980.0, size=2.0) == []
    amended = only(rig.tick())
    assert (amended.status, amended.price, amended.size, amended.ts) == (S.LIVE, 1980.0, 2.0, T0)
    assert rig.trade(1985.0) == []
    fill = only(rig.trade(1979.0, 5.0)).fill
    assert fill is not None
    assert (fill.price, fill.size, fill.ts, fill.trade_id) == (1980.0, 2.0, T0 + 3, "t3")


def test_amend_with_latency_takes_effect_at_ts_plus_latency() -> None:
    latency = 1000
    rig = make_rig(SimConfig(latency_ns=latency, fill_model="walk"))
    rig.submit("a", Side.BUY, 1.0, 1990.0)
    rig.trade(1995.0, dt=latency)
    asked = rig.clock.ts
    assert rig.amend("a", price=1980.0) == []
    early = only(rig.trade(1989.0, 0.25, dt=latency - 1))  # the old price still holds
    assert early.fill is not None and early.fill.price == 1990.0
    landed = only(rig.trade(1985.0, 5.0, dt=1))  # no fill at 1985: the new price is 1980
    assert (landed.status, landed.price, landed.ts, landed.fill) == (S.PARTIALLY_FILLED, 1980.0, asked + latency, None)


def test_amend_size_below_filled_refused_and_order_unchanged() -> None:
    rig = make_rig(SimConfig(fill_model="walk"))
    rig.submit("a", Side.BUY, 1.0, 1990.0)
    rig.trade(1985.0, 0.6)
    rig.amend("a", size=0.5)
    update = only(rig.tick())
    assert update.status is S.PARTIALLY_FILLED and update.size == 1.0
    assert "amend rejected" in update.reason and "0.5" in update.reason and "0.6" in update.reason
    rig.trade(1985.0, 5.0)
    assert rig.fills()[-1].size == pytest.approx(0.4) and rig.updates[-1].status is S.FILLED


@pytest.mark.parametrize(
    ("price", "size", "fills_on_next"),
    [(1990.0, 0.5, True),  # a smaller size keeps the place in the queue
     (1990.0, 2.0, False),  # a larger size goes to the back
     (1989.0, NAN, False)],  # a new price goes to the back
)
def test_amend_price_or_larger_size_resets_queue_position(price: float, size: float, fills_on_next: bool) -> None:
    rig = make_rig(SimConfig(queue_ahead=2.0))
    rig.submit("a", Side.BUY, 1.0, 1990.0)
    rig.trade(1990.0, 1.5)  # 0.5 of the queue left
    rig.amend("a", price=price, size=size)
    filled = rig.trade(price, 1.0)  # more than 0.5, less than a fresh queue of 2.0
    assert bool([u for u in filled if u.fill]) is fills_on_next


# -- funding and the account ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("side", "rate", "expected"),
    [(Side.BUY, 0.0001, -2.0 * 2100.0 * 0.0001),  # a long pays when the rate is positive
     (Side.SELL, 0.0001, 2.0 * 2100.0 * 0.0001),
     (Side.BUY, -0.0002, 2.0 * 2100.0 * 0.0002)],
)
def test_apply_funding_pays_minus_position_mark_rate_and_moves_cash(side: Side, rate: float, expected: float) -> None:
    rig = make_rig()
    rig.submit("a", side, 2.0)
    rig.trade(2000.0)
    cash = rig.venue.cash[SWAP]
    payment = rig.venue.apply_funding(SWAP, rate, 2100.0)
    assert payment == pytest.approx(expected, rel=1e-12)
    assert rig.venue.cash[SWAP] == pytest.approx(cash + expected, rel=1e-12)


def test_apply_funding_flat_position_pays_nothing() -> None:
    rig = make_rig()
    assert rig.venue.apply_funding(SWAP, 0.001, 2000.0) == 0.0
    assert rig.venue.cash.get(SWAP, 0.0) == 0.0


def test_account_equals_sum_of_fills() -> None:
    rig = make_rig(SimConfig(fill_model="walk", queue_ahead=0.3))
    rig.submit("m1", Side.BUY, 1.7)
    rig.submit("l1", Side.SELL, 0.9, 2003.0)
    rig.submit("s1", Side.BUY, 0.35, 1998.0, symbol=SPOT)
    for price, size, symbol in [(2001.0, 0.6, SWAP), (2003.0, 0.8, SWAP), (1997.0, 0.2, SPOT),
                                (2004.5, 2.0, SWAP), (1990.0, 1.0, SPOT)]:
        rig.trade(price, size, symbol=symbol)
    rig.submit("m2", Side.SELL, 0.25)
    rig.trade(2002.0, 0.1)
    rig.trade(2001.0, 0.5)
    fills = rig.fills()
    assert len(fills) >= 7
    for symbol in (SWAP, SPOT):
        mine = [f for f in fills if f.symbol == symbol]
        # a spot buy receives its size less the fee, paid in base; its cash pays the size alone
        assert rig.venue.positions[symbol] == pytest.approx(math.fsum(f.side * f.size - f.fee_base for f in mine))
        flows = math.fsum(-f.side * f.size * f.price - (f.fee if not f.fee_base else 0.0) for f in mine)
        assert rig.venue.cash[symbol] == pytest.approx(flows, rel=1e-12)
    assert rig.venue.fees == pytest.approx(math.fsum(f.fee for f in fills), rel=1e-12)
    done = {u.client_id: u.filled_size for u in rig.updates if u.status is S.FILLED}
    assert done == pytest.approx({"m1": 1.7, "l1": 0.9, "s1": 0.35, "m2": 0.25})
