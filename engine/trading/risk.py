"""Pre-trade risk checks (pure: the engine passes what it knows, the check returns a decision).

Checks run in this order; the first rejection wins, and a limit that leaves part of the order
shrinks it for the checks after it:
  1. kill switch: every new order is rejected;
  2. unknown instrument, and a size that is not a positive finite number;
  3. order rate: at most `max_orders` accepted orders per `rate_window_ns` (by order.ts);
  4. pause-entries, reduce-only, and equity at or below zero (in the order's currency): only what
     closes the position, counting open orders on the order's side, so the position can never flip;
  5. spot sells: no selling below zero holdings (holding minus open sells);
  6. spot buys: size x price (the limit, else the ask, else the last trade) within the currency's cash less the
     reservations of the open buys (README "How money is counted"); `cash_check = False` is a
     deliberate fault for the tests that prove they catch its absence;
  7. max position, 8. max notional, 9. perpetual margin: the position after the order, with the
     open orders on its side all filled, must stay within the limit; orders that reduce the
     position always pass these three (on an inverse contract, sized in USD, the notional is the
     position itself and the margin cap is equity (coin) x leverage x price, README "Inverse perpetuals");
  10. a shrunk size is rounded down to whole lots and rejected if that is no valid order size.

At fill time (`check_fill`) the venue asks again, for each fill, with the fill's price and size:
rules 4 to 9 apply to the position after this fill (the other open orders are checked at their own
fills), and the spot cash is the cash less what the other open buys reserved. The allowed size is
rounded down to whole lots (a fill may be smaller than the minimum order size); the venue fills
that and cancels the order's remainder with the reason.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

import msgspec

from engine.model.errors import ConfigError
from engine.model.events import SubmitOrder
from engine.model.time import NS_PER_S
from engine.model.types import Instrument, Side

# Caps this close to the order size are float noise, not a limit biting.
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Per-symbol limits (sizes in the symbol's size currency, notional in quote) and the order rate."""

    max_position: float = math.inf  # |account position| per symbol
    max_notional: float = math.inf  # |position| * price per symbol (|position| on an inverse symbol)
    max_orders: int = 50  # max new orders per window ...
    rate_window_ns: int = NS_PER_S  # ... of this length
    max_leverage: float | None = None  # perpetuals; None = the instrument's max_leverage

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and not (isinstance(value, int | float) and value > 0):
                raise ConfigError(f"risk limit {f.name}: {value!r} must be a positive number")


class RiskState(msgspec.Struct, frozen=True, gc=False):
    """What the engine knows when an order is about to go out."""

    position: float
    price: float
    equity: float  # the account's, in the currency the symbol is quoted (settled) in
    ts: int
    open_buy: float = 0.0  # working orders' remaining sizes on the symbol
    open_sell: float = 0.0
    cash: float = math.inf  # spot buys: the account's cash in the quote currency ...
    reserved: float = 0.0  # ... and what its open spot buys have reserved of it
    ask: float = math.nan  # the ask in force, where the engine sees the book: a market buy costs that


class RiskDecision(msgspec.Struct, frozen=True, gc=False):
    """Accepted with `size` (possibly shrunk, > 0), or rejected; `reason` says which limit and why."""

    accepted: bool
    size: float
    reason: str = ""


class _Rejected(Exception):
    """Internal: a check rejected the order with this reason."""


Rule = Callable[[SubmitOrder, RiskState, Instrument], float]
Why = Callable[[SubmitOrder, RiskState, Instrument], str]


class RiskEngine:
    """Applies `RiskLimits` to new orders; holds the pause and kill switches and the rate window."""

    def __init__(self, limits: RiskLimits, instruments: Mapping[str, Instrument]) -> None:
        self.limits = limits
        self.instruments = dict(instruments)
        self.paused = False
        self.killed = False
        self.cash_check = True
        self._accepted: deque[int] = deque()  # ts of accepted orders inside the rate window
        self._rules: tuple[tuple[Rule, Why], ...] = (
            (self._reduce_cap, self._reduce_why),
            (self._spot_cap, self._spot_why),
            (self._cash_cap, self._cash_why),
            (self._position_cap, self._position_why),
            (self._notional_cap, self._notional_why),
            (self._margin_cap, self._margin_why),
        )

    def pause(self, on: bool = True) -> None:
        """Pause new entries: only orders that reduce |position| pass."""
        self.paused = on

    def kill(self, on: bool = True) -> None:
        """Kill switch: reject every new order."""
        self.killed = on

    def check(self, order: SubmitOrder, state: RiskState) -> RiskDecision:
        """Accept, shrink or reject `order` given `state`; an accepted order counts toward the rate."""
        try:
            size, notes = self._apply(order, state)
        except _Rejected as exc:
            return RiskDecision(False, 0.0, str(exc))
        self._accepted.append(order.ts)
        return RiskDecision(True, size, "; ".join(notes))

    def check_fill(self, order: SubmitOrder, state: RiskState) -> RiskDecision:
        """The size of a fill (`order.size` at `order.price`) that the limits still allow at fill time.

        `state` holds the position before the fill, no open orders on either side, and for a spot
        buy the cash less what the other open buys reserved. Accepted with the whole size, or with
        a smaller whole number of lots and the reason; rejected (size 0) with the reason.
        """
        inst = self.instruments.get(order.symbol)
        if inst is None:
            return RiskDecision(True, order.size)
        size, notes = order.size, []
        for rule, explain in self._rules:
            cap = rule(order, state, inst)
            if cap < size - _EPS:
                why = explain(order, state, inst)
                size = abs(inst.round_size(cap)) if cap > _EPS else 0.0
                notes.append(f"{why}: fill of {order.size:g} {inst.base} at {order.price:g} cut to {size:g}")
                if size <= 0:
                    return RiskDecision(False, 0.0, "; ".join(notes))
                order = msgspec.structs.replace(order, size=size)
        return RiskDecision(True, size, "; ".join(notes) if notes else "")

    def _apply(self, order: SubmitOrder, state: RiskState) -> tuple[float, list[str]]:
        if self.killed:
            raise _Rejected(f"kill switch is on: order {order.client_id} rejected")
        inst = self.instruments.get(order.symbol)
        if inst is None:
            raise _Rejected(f"no instrument for symbol {order.symbol!r}")
        if not (math.isfinite(order.size) and order.size > 0):
            raise _Rejected(f"order size {order.size!r} must be a positive number")
        self._check_rate(order.ts)
        size, notes, asked = order.size, [], order
        for rule, explain in self._rules:
            cap = rule(order, state, inst)
            if cap < size - _EPS:
                why = explain(order, state, inst)
                if cap <= _EPS:
                    raise _Rejected(f"{why}: order of {size:g} {inst.size_currency} rejected")
                notes.append(f"{why}: order shrunk from {size:g} to {cap:g} {inst.size_currency}")
                size = cap
                order = msgspec.structs.replace(order, size=size)  # the next rules see what is left
        if size < asked.size:
            try:
                size = _valid_size(inst, size, asked, state)
            except _Rejected as exc:  # say which limit shrunk it, and by how much
                raise _Rejected("; ".join([*notes, str(exc)])) from None
        return size, notes

    def _check_rate(self, ts: int) -> None:
        window = self.limits.rate_window_ns
        while self._accepted and self._accepted[0] <= ts - window:
            self._accepted.popleft()
        if len(self._accepted) >= self.limits.max_orders:
            raise _Rejected(
                f"order rate: {len(self._accepted)} orders accepted in the last {window / NS_PER_S:g} s, "
                f"max_orders is {self.limits.max_orders}"
            )

    # Each cap returns the largest size its rule allows (inf when it does not apply); the reason
    # text is only built when the cap bites (formatting it for every order cost more than the check).
    def _reduce_cap(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> float:
        if not (self.paused or order.reduce_only or state.equity <= 0):
            return math.inf
        d, pos, open_same = _side(order, state)
        return max(0.0, -d * pos - open_same)

    def _reduce_why(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> str:
        _, pos, open_same = _side(order, state)
        mode = ("paused (reduce only)" if self.paused else "reduce-only order" if order.reduce_only else
                f"equity {state.equity:g} {inst.settle} at or below zero (reduce only)")
        closable = self._reduce_cap(order, state, inst)
        return (f"{mode}: position {pos:g} {inst.size_currency} with open {order.side.name.lower()}s "
                f"{open_same:g} leaves {closable:g} to close")

    def _spot_cap(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> float:
        if inst.is_perp or order.side is Side.BUY:
            return math.inf
        return max(0.0, state.position - state.open_sell)

    def _spot_why(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> str:
        cap = self._spot_cap(order, state, inst)
        return (f"spot holdings: {state.position:g} {inst.base} held, open sells {state.open_sell:g}, "
                f"{cap:g} left to sell")

    def _cash_cap(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> float:
        if inst.is_perp or order.side is Side.SELL or not self.cash_check:
            return math.inf
        return max(0.0, state.cash - state.reserved) / buy_price(order, state)

    def _cash_why(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> str:
        price = buy_price(order, state)
        return (f"spot cash: {state.cash - state.reserved:,.2f} {inst.quote} free ({state.cash:,.2f} cash less "
                f"{state.reserved:,.2f} reserved by open buys), the order costs {order.size * price:,.2f} "
                f"{inst.quote} at {price:g}")

    def _position_cap(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> float:
        limit = self.limits.max_position
        return math.inf if math.isinf(limit) else _exposure_cap(order, state, limit)

    def _position_why(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> str:
        return f"max_position {self.limits.max_position:g} {inst.size_currency}: " + _state_text(order, state)

    def _notional_cap(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> float:
        limit = self.limits.max_notional
        if math.isinf(limit):
            return math.inf
        return _exposure_cap(order, state, limit if inst.inverse else limit / _price(state, "max_notional"))

    def _notional_why(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> str:
        return (f"max_notional {self.limits.max_notional:g} {inst.quote} at price {state.price:g}: "
                + _state_text(order, state))

    def _margin_cap(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> float:
        if not inst.is_perp:
            return math.inf
        return _exposure_cap(order, state, self._margin_room(inst, state.equity, _price(state, "margin")))

    def _margin_room(self, inst: Instrument, equity: float, price: float) -> float:
        """The largest |position| the margin allows: |size| x price / leverage (linear), |size| /
        (price x leverage) of the coin (inverse), within the equity."""
        room = max(0.0, equity) * (self.limits.max_leverage or inst.max_leverage)
        return room * price if inst.inverse else room / price

    def fill_fits(self, inst: Instrument, side: int, size: float, price: float, position: float, equity: float,
                  reduce_only: bool) -> bool:
        """A quick yes at fill time: a perpetual's fill that no rule can cut (no pause, not reduce-only,
        equity above zero, no position or notional limit, within the margin). False: ask `check_fill`."""
        lim = self.limits
        if (not inst.is_perp or self.paused or reduce_only or equity <= 0 or lim.max_position != math.inf
                or lim.max_notional != math.inf):
            return False
        return size <= self._margin_room(inst, equity, price) - side * position

    def _margin_why(self, order: SubmitOrder, state: RiskState, inst: Instrument) -> str:
        lev = self.limits.max_leverage or inst.max_leverage
        return (f"margin: equity {state.equity:g} {inst.settle} at leverage {lev:g} and price {state.price:g}: "
                + _state_text(order, state))


def _side(order: SubmitOrder, state: RiskState) -> tuple[int, float, float]:
    """Order direction, position, and the open orders' remaining size on the order's side."""
    d = 1 if order.side is Side.BUY else -1
    return d, state.position, state.open_buy if d > 0 else state.open_sell


def _exposure_cap(order: SubmitOrder, state: RiskState, max_abs: float) -> float:
    """Largest size keeping the position on the order's side, open orders filled, within max_abs."""
    d, pos, open_same = _side(order, state)
    return max(0.0, max_abs - d * pos - open_same)


def _state_text(order: SubmitOrder, state: RiskState) -> str:
    _, pos, open_same = _side(order, state)
    return f"position {pos:g}, open {order.side.name.lower()}s {open_same:g}"


def _price(state: RiskState, check: str, order: SubmitOrder | None = None) -> float:
    """The price a check values the order at: its limit when it has one (`order` given), else the last trade."""
    if order is not None and math.isfinite(order.price) and order.price > 0:
        return order.price
    if not (math.isfinite(state.price) and state.price > 0):
        raise _Rejected(f"{check} check needs a price, got {state.price!r}")
    return state.price


def buy_price(order: SubmitOrder, state: RiskState) -> float:
    """What a spot buy reserves per unit: its limit, else the ask in force, else the last trade."""
    if math.isfinite(order.price) and order.price > 0:
        return order.price
    if math.isfinite(state.ask) and state.ask > 0:
        return state.ask
    return _price(state, "spot cash")


def _valid_size(inst: Instrument, size: float, order: SubmitOrder, state: RiskState) -> float:
    """Round a shrunk size down to whole lots; reject it if that is no valid order size."""
    rounded = abs(inst.round_size(size))
    price = order.price if math.isfinite(order.price) else state.price
    if rounded <= 0:
        error: str | None = f"it rounds to zero lots of {inst.lot_size * inst.contract_value:g} {inst.size_currency}"
    else:
        error = inst.size_error(rounded, price) if math.isfinite(price) else None
    if error:
        raise _Rejected(f"shrunk size {size:g} {inst.size_currency} is no valid order: {error}")
    return rounded
