"""The order state machine (pure: applies venue updates to immutable orders).

States: NEW (sent, not acknowledged) -> LIVE | PARTIALLY_FILLED | FILLED | CANCELED | REJECTED;
LIVE -> LIVE (amended) | PARTIALLY_FILLED | FILLED | CANCELED; PARTIALLY_FILLED ->
PARTIALLY_FILLED | FILLED | CANCELED; FILLED, CANCELED and REJECTED are terminal.

Venues resend updates after a reconnect, so some updates are ignored rather than refused:
  - an update carrying a fill already applied (same fill_id, or same (trade_id, size, price)
    when the fill has no id) is a resend: ignored whole, nothing is counted twice;
  - a non-terminal update (without a fill) reporting a lower cumulative filled size than known is
    stale: ignored, also after the order closed (a resent "live" push after the fill);
  - a terminal update restating the order's terminal state without a new fill: ignored.
`filled_size` is the sum of the fills applied, so it always matches what the portfolio booked;
`venue_filled_size` keeps the largest cumulative size the venue reported, and exceeding
`filled_size` means a fill was missed and must be reconciled.
"""

from __future__ import annotations

import math

import msgspec

from engine.model.events import AmendOrder, Fill, OrderStatus, OrderType, OrderUpdate, SubmitOrder
from engine.model.types import Side

NAN = math.nan
_S = OrderStatus
_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.NEW: frozenset({_S.LIVE, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.REJECTED}),
    _S.LIVE: frozenset({_S.LIVE, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED}),
    _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED}),
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.REJECTED: frozenset(),
}


class OrderError(Exception):
    """Base of the order manager's errors."""


class IllegalTransition(OrderError):
    """An update the state machine cannot accept; the message names the order and both states."""


class Overfill(IllegalTransition):
    """A fill or an amend that would make the filled size exceed the order size."""


class DuplicateOrder(OrderError):
    """A second order for one client id."""


class UnknownOrder(OrderError):
    """No order has this client id."""


class AmendError(OrderError):
    """An amend that cannot be applied (closed order, nothing to change, size below filled)."""


class Order(msgspec.Struct, frozen=True, gc=False):
    """An order as the engine knows it. Sizes in base currency; `price` NaN for market orders.

    A msgspec Struct rather than a dataclass: every update replaces the order, and
    msgspec.structs.replace is an order of magnitude cheaper than dataclasses.replace.
    """

    client_id: str
    symbol: str
    side: Side
    size: float
    order_type: OrderType
    price: float
    strategy_id: str
    status: OrderStatus
    ts_created: int
    ts_updated: int
    filled_size: float = 0.0
    avg_price: float = NAN
    fees: float = 0.0
    venue_order_id: str = ""
    reason: str = ""
    venue_filled_size: float = 0.0
    fill_keys: frozenset[str] = frozenset()
    reduce_only: bool = False
    post_only: bool = False

    @property
    def remaining(self) -> float:
        """Size not filled (size - filled_size, never negative)."""
        return max(0.0, self.size - self.filled_size)

    @property
    def is_open(self) -> bool:
        return self.status.is_open


class Applied(msgspec.Struct, frozen=True, gc=False):
    """The outcome of one venue update: the order after it, and the fill to book, if any.

    `fill` is None when the update carried no fill or was ignored (a resend or stale), so booking
    `fill` into the portfolio never counts a resent fill twice.
    """

    order: Order
    fill: Fill | None
    ignored: bool


def fill_key(fill: Fill) -> str:
    """Identity of a fill for de-duplication: its fill_id, else (trade_id, size, price)."""
    return f"id:{fill.fill_id}" if fill.fill_id else f"trade:{fill.trade_id}:{fill.size!r}:{fill.price!r}"


_replace = msgspec.structs.replace


def _tol(size: float) -> float:
    """Float slack when comparing sums of fill sizes with the order size."""
    return 1e-9 * abs(size) + 1e-15


def transition(order: Order, update: OrderUpdate) -> Order:
    """Return `order` after `update`; raise IllegalTransition (or Overfill) if it cannot apply."""
    if update.client_id != order.client_id or update.symbol != order.symbol:
        raise UnknownOrder(
            f"update for order {update.client_id!r} on {update.symbol} applied to order "
            f"{order.client_id!r} on {order.symbol}"
        )
    fill = update.fill
    if fill is not None and fill_key(fill) in order.fill_keys:
        return order  # a resend of an applied fill
    if fill is None and _is_resend(order, update):
        return order
    if update.status not in _NEXT[order.status]:
        raise IllegalTransition(
            f"order {order.client_id}: {order.status.value} -> {update.status.value} is not allowed"
        )
    new = _replace(
        order,
        status=update.status,
        ts_updated=update.ts,
        venue_order_id=update.venue_order_id or order.venue_order_id,
        reason=update.reason or order.reason,
        venue_filled_size=max(order.venue_filled_size, update.filled_size),
    )
    new = _amended(new, update.price, update.size, IllegalTransition)
    return _with_fill(new, fill) if fill is not None else new


def _is_resend(order: Order, update: OrderUpdate) -> bool:
    """A terminal state restated, or a non-terminal update behind the known filled size."""
    if not order.status.is_open and update.status == order.status:
        return True
    known = max(order.filled_size, order.venue_filled_size)
    return update.status.is_open and update.filled_size < known - _tol(order.size)


def _with_fill(order: Order, fill: Fill) -> Order:
    if fill.symbol != order.symbol or fill.side != order.side:
        raise IllegalTransition(
            f"order {order.client_id} ({order.symbol} {order.side.name}): "
            f"fill is {fill.symbol} {fill.side.name}"
        )
    if not (fill.size > 0 and math.isfinite(fill.price) and fill.price > 0):
        raise IllegalTransition(f"order {order.client_id}: fill size {fill.size!r} price {fill.price!r}")
    filled = order.filled_size + fill.size
    if filled > order.size + _tol(order.size):
        raise Overfill(
            f"order {order.client_id}: fill of {fill.size:g} brings filled size to {filled:g}, "
            f"above the order size {order.size:g}"
        )
    prior = order.avg_price * order.filled_size if order.filled_size > 0 else 0.0
    return _replace(
        order,
        filled_size=filled,
        avg_price=(prior + fill.price * fill.size) / filled,
        fees=order.fees + fill.fee,
        fill_keys=order.fill_keys | {fill_key(fill)},
    )


def _amended(order: Order, price: float, size: float, error: type[OrderError]) -> Order:
    """Apply a new price and/or size (NaN keeps the old one); a size below filled is an error."""
    if math.isfinite(size) and size != order.size:
        if size <= 0 or size < order.filled_size - _tol(size):
            cls = Overfill if error is IllegalTransition else error
            raise cls(
                f"order {order.client_id}: new size {size:g} is below the filled size "
                f"{order.filled_size:g} (or not positive)"
            )
        order = _replace(order, size=size)
    if math.isfinite(price) and price != order.price:
        if price <= 0:
            raise error(f"order {order.client_id}: new price {price!r} is not positive")
        order = _replace(order, price=price)
    return order


class OrderManager:
    """All orders of a session by client id; applies commands and venue updates."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._open: dict[str, None] = {}  # ids of open orders, in submission order

    def submit(self, cmd: SubmitOrder) -> Order:
        """Record a new order (status NEW); DuplicateOrder if its client id was ever used."""
        if cmd.client_id in self._orders:
            raise DuplicateOrder(f"client id {cmd.client_id!r} is already used by an order")
        if not (math.isfinite(cmd.size) and cmd.size > 0):
            raise ValueError(f"order {cmd.client_id}: size {cmd.size!r} must be a positive number")
        if cmd.order_type is OrderType.LIMIT and not (math.isfinite(cmd.price) and cmd.price > 0):
            raise ValueError(f"limit order {cmd.client_id}: price {cmd.price!r} must be a positive number")
        order = Order(
            client_id=cmd.client_id,
            symbol=cmd.symbol,
            side=cmd.side,
            size=cmd.size,
            order_type=cmd.order_type,
            price=cmd.price,
            strategy_id=cmd.strategy_id,
            status=OrderStatus.NEW,
            ts_created=cmd.ts,
            ts_updated=cmd.ts,
            reduce_only=cmd.reduce_only,
            post_only=cmd.post_only,
        )
        return self._store(order)

    def apply(self, update: OrderUpdate) -> Order:
        """Validate and apply a venue update; return the order after it."""
        return self.apply_update(update).order

    def apply_update(self, update: OrderUpdate) -> Applied:
        """Like `apply`, and say whether the update was ignored and which fill is new."""
        old = self.get(update.client_id)
        new = transition(old, update)
        if new is old:
            return Applied(old, None, ignored=True)
        return Applied(self._store(new), update.fill, ignored=False)

    def amend(self, cmd: AmendOrder) -> Order:
        """Record the intent to change price and/or size; the venue's update confirms or restores."""
        order = self.get(cmd.client_id)
        if not order.is_open:
            raise AmendError(
                f"order {order.client_id} is {order.status.value}: only open orders can be amended"
            )
        if not (math.isfinite(cmd.price) or math.isfinite(cmd.size)):
            raise AmendError(f"amend of order {order.client_id} changes neither price nor size")
        amended = _amended(order, cmd.price, cmd.size, AmendError)
        return self._store(_replace(amended, ts_updated=cmd.ts))

    def get(self, client_id: str) -> Order:
        """The order with this client id; UnknownOrder if none."""
        try:
            return self._orders[client_id]
        except KeyError:
            raise UnknownOrder(f"no order with client id {client_id!r}") from None

    def open_orders(self, symbol: str | None = None, strategy_id: str | None = None) -> list[Order]:
        """Open orders (NEW, LIVE, PARTIALLY_FILLED), optionally of one symbol and/or strategy."""
        out = [self._orders[cid] for cid in self._open]
        if symbol is not None:
            out = [o for o in out if o.symbol == symbol]
        if strategy_id is not None:
            out = [o for o in out if o.strategy_id == strategy_id]
        return out

    def orders(self) -> list[Order]:
        """All orders, in submission order."""
        return list(self._orders.values())

    def _store(self, order: Order) -> Order:
        self._orders[order.client_id] = order
        if order.is_open:
            self._open[order.client_id] = None
        else:
            self._open.pop(order.client_id, None)
        return order
