"""The matching rules of the simulated exchange, as pure functions over its working orders.

README "How fills work" states them; `engine.venues.sim.SimVenue` applies them. Sides are +1 (buy)
and -1 (sell); prices of market orders are NaN. Nothing here emits or books anything: each
function returns the quantities to fill, and the venue does the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from engine.model.events import OrderType, SubmitOrder
from engine.model.types import Instrument
from engine.trading.ports import PriceSource

PENDING, TAKING, RESTING, DONE = "pending", "taking", "resting", "done"  # an order's life in the venue


@dataclass(frozen=True, slots=True)
class Book:
    """The best bid and ask in force at an instant (sizes in base currency)."""

    bid: float
    ask: float
    bid_size: float
    ask_size: float


class MarketView(Protocol):
    """What the venue needs to know of the market, from its driver (the replay, or a live feed)."""

    def book(self, symbol: str, at: int, decide_seq: int) -> Book | None:
        """The usable book at time `at` for an order decided on event `decide_seq`, or None."""
        ...

    def last_trade(self, symbol: str, at: int, decide_seq: int) -> tuple[float, int]:
        """(price, taker side) of the last trade at `at` (NaN, 0 before any)."""
        ...

    def earliest(self, symbol: str, decide_seq: int) -> int:
        """The first replay index on which an order decided on `decide_seq` may trade."""
        ...


class LastTradeView:
    """A MarketView without quotes (paper trading on prints alone, unit tests): the last trade price
    the engine knows, and the next event."""

    def __init__(self, prices: PriceSource, gap: Callable[[], int]) -> None:
        self.prices = prices
        self.gap = gap

    def book(self, symbol: str, at: int, decide_seq: int) -> Book | None:
        return None

    def last_trade(self, symbol: str, at: int, decide_seq: int) -> tuple[float, int]:
        return self.prices.last_price(symbol), 0

    def earliest(self, symbol: str, decide_seq: int) -> int:
        return decide_seq + self.gap()


class SimOrder:
    """A working order inside the simulated venue (mutable, venue-private)."""

    __slots__ = (
        "arrival_no", "arrive", "client_id", "decide_seq", "filled", "limit", "min_seq", "nfills",
        "notional", "post_only", "price", "queue_left", "remaining", "side", "size", "state", "symbol",
        "venue_id",
    )

    def __init__(self, client_id: str, symbol: str, side: int, size: float, price: float, limit: bool,
                 post_only: bool, arrive: int, decide_seq: int, min_seq: int) -> None:
        self.client_id = client_id
        self.symbol = symbol
        self.side = side
        self.size = size
        self.remaining = size
        self.price = price
        self.limit = limit
        self.post_only = post_only
        self.state = PENDING
        self.arrive = arrive  # when it reaches the book (decision time + latency; again on a re-priced amend)
        self.arrival_no = 0  # order of arrival among the venue's orders (priority at one price)
        self.decide_seq = decide_seq
        self.min_seq = min_seq  # the first replay index it may trade on (after the deciding aggressor's prints)
        self.queue_left = 0.0
        self.filled = 0.0
        self.notional = 0.0
        self.nfills = 0
        self.venue_id = ""


def marketable(side: int, price: float, book: Book | None, last: float, last_side: int) -> bool:
    """Whether an order at `price` (NaN: a market order) takes liquidity on arrival.

    Against a usable book: a buy at or above the ask, a sell at or below the bid. Without one,
    against the last trade: a buy above it, or at it when that trade was buyer-initiated; sells
    mirror this. With no trade yet, only a market order takes.
    """
    if math.isnan(price):
        return True
    if book is not None:
        return price >= book.ask if side > 0 else price <= book.bid
    if math.isnan(last):
        return False
    through = (price - last) * side
    return through > 0 or (through == 0 and last_side == side)


def beyond(order: SimOrder, price: float, tol: float) -> bool:
    """Whether a print at `price` is worse than the order's limit (a buy's limit below it)."""
    return order.limit and (price - order.price) * order.side > tol


def reaches(order: SimOrder, price: float, tol: float) -> bool:
    """Whether a print at `price` is at or through a resting order's limit."""
    return (order.price - price) * order.side >= -tol


def share_print(resting: list[SimOrder], price: float, size: float, tol: float) -> list[tuple[SimOrder, float]]:
    """How much of each resting order one print of `size` at `price` fills (and the queues it eats).

    The orders it reaches share its size, the best priced (deepest through) first, then in arrival
    order. Through an order's price it fills up to what is left of the print and empties the
    queue ahead there; exactly at it, only the print's excess over the order's queue ahead, less
    what our earlier orders at that price already took from it.
    """
    reached = [o for o in resting if reaches(o, price, tol)]
    reached.sort(key=lambda o: (-(o.price - price) * o.side, o.arrival_no))
    left = size
    taken_at: dict[float, float] = {}
    out = []
    for order in reached:
        if left <= 0:
            break
        if (order.price - price) * order.side > tol:  # through
            qty = min(order.remaining, left)
            order.queue_left = 0.0
        else:
            queue = order.queue_left
            order.queue_left = max(0.0, queue - size)
            excess = max(0.0, size - queue - taken_at.get(order.price, 0.0))
            qty = min(order.remaining, excess, left)
            taken_at[order.price] = taken_at.get(order.price, 0.0) + qty
        if qty > 0:
            left -= qty
            out.append((order, qty))
    return out


def bar_reaches(order: SimOrder, low: float, high: float, tol: float) -> tuple[bool, bool]:
    """(reached, through) of a resting order by a bar's range: through it, or touching it exactly."""
    if order.side > 0:
        return low <= order.price + tol, low < order.price - tol
    return high >= order.price - tol, high > order.price + tol


def share_bar(resting: list[SimOrder], low: float, high: float, volume: float, tol: float
              ) -> list[tuple[SimOrder, float]]:
    """How much of each resting order a bar fills at its limit: a range through the limit fills it,
    one that only touches it fills it when the queue ahead is 0; the bar's volume is shared as a
    print's is (deepest first, then arrival order)."""
    reached = []
    for order in resting:
        hit, through = bar_reaches(order, low, high, tol)
        if through or (hit and order.queue_left <= tol):
            reached.append(order)
    extreme = {1: low, -1: high}
    reached.sort(key=lambda o: (-(o.price - extreme[o.side]) * o.side, o.arrival_no))
    left, out = volume, []
    for order in reached:
        qty = min(order.remaining, left)
        if qty > 0:
            left -= qty
            out.append((order, qty))
    return out


def validate(cmd: SubmitOrder, inst: Instrument | None, last: float) -> tuple[str, float, float]:
    """An order as the venue accepts it: (reason it is refused, or ''; size rounded down to whole
    lots; limit price rounded to the tick, NaN for a market order). `last` is the last trade price,
    which values a market order for the minimum notional."""
    if inst is None:
        return f"unknown symbol {cmd.symbol!r}", 0.0, math.nan
    if not (cmd.size > 0 and math.isfinite(cmd.size)):
        return f"size {cmd.size!r} must be a positive number", 0.0, math.nan
    size = abs(inst.round_size(cmd.size))
    price = math.nan
    if cmd.order_type is OrderType.LIMIT:
        if not (cmd.price > 0 and math.isfinite(cmd.price)):
            return f"limit price {cmd.price!r} must be a positive number", 0.0, math.nan
        price = inst.round_price(cmd.price)
    ref = price if cmd.order_type is OrderType.LIMIT else last
    # The requested size, not the rounded one, so that the reason names what was asked.
    err = inst.size_error(cmd.size, ref if math.isfinite(ref) else 0.0)
    return (err or ""), size, price
