"""The simulated exchange: order rounding, arrival, matching against the tape and the book, fees, funding.

The same SimVenue serves backtests (the replay hands it the events on which something may happen)
and paper trading (a live feed hands it every event). README "How fills work" states its rules;
`engine.venues.matching` holds them as pure functions. In short: an order arrives at its decision
time + latency; if it is marketable then it executes (at the quote when the book is usable, else on
the next trades) and can no longer be cancelled; otherwise it rests and fills, as maker at its own
price, only from volume that trades at or through it after it arrived, beyond the queue ahead.

The venue sees the market through a `MarketView` (the book and the last trade at an instant, and
the first replay index an order may trade on) that its driver implements.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.model.errors import ConfigError
from engine.model.events import (
    AmendOrder,
    CancelOrder,
    Fill,
    OrderStatus,
    OrderType,
    OrderUpdate,
    SubmitOrder,
    Trade,
)
from engine.model.time import NS_PER_S
from engine.model.types import Instrument, Liquidity, Side
from engine.trading.ports import Clock, FillGuard, PriceSource, UpdateSink
from engine.venues.matching import (
    DONE,
    RESTING,
    TAKING,
    LastTradeView,
    MarketView,
    SimOrder,
    beyond,
    marketable,
    share_bar,
    share_print,
    validate,
)

FILL_MODELS = ("touch", "walk")
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Simulated venue settings; fees override the instruments' (OKX base tier) when set."""

    fill_model: str = "touch"
    latency_ns: int = 0
    queue_ahead: float = 0.0
    maker_fee: float | None = None
    taker_fee: float | None = None
    quote_staleness_ns: int = NS_PER_S  # an older quote is no book at all

    def __post_init__(self) -> None:
        if self.fill_model not in FILL_MODELS:
            raise ConfigError(f"fill_model {self.fill_model!r} is not one of {', '.join(FILL_MODELS)}")
        if self.latency_ns < 0:
            raise ConfigError(f"latency_ns {self.latency_ns} must be >= 0")
        if not self.queue_ahead >= 0:
            raise ConfigError(f"queue_ahead {self.queue_ahead} must be >= 0")
        if not self.quote_staleness_ns > 0:
            raise ConfigError(f"quote_staleness_ns {self.quote_staleness_ns} must be > 0")
        for name in ("maker_fee", "taker_fee"):
            fee = getattr(self, name)
            if fee is not None and not -0.01 <= fee <= 0.1:
                raise ConfigError(f"{name} {fee} is outside -0.01..0.1 (a fraction of notional)")


# (due time, order of decision, the order, the command (None: its arrival), the deciding replay index)
Action = tuple[int, int, SimOrder, AmendOrder | CancelOrder | None, int]


def _due(action: Action) -> tuple[int, int]:
    return action[0], action[1]


class SimVenue:
    """A simulated exchange account trading the instruments it is given."""

    name = "sim"

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        config: SimConfig,
        sink: UpdateSink,
        clock: Clock,
        prices: PriceSource,
        on_change: Callable[[str], None] | None = None,
        market: MarketView | None = None,
    ) -> None:
        self.instruments = dict(instruments)
        self.config = config
        self.sink = sink
        self.clock = clock
        self.prices = prices
        self.on_change = on_change or (lambda _symbol: None)
        # An order may trade on events at least this many replay steps after its decision. Only
        # the lookahead tests set 0, to prove they catch a fill on the deciding event.
        self.min_gap = 1
        # A deliberately broken rule for the tests that must catch it: resting orders fill whole on any
        # print that reaches them, whatever its size and the queue ahead.
        self.full_fill_on_touch = False
        # Asked before each fill how much of it the account's limits allow at its price (the engine's
        # `check_fill`); None: every fill passes (the venue's own tests).
        self.guard: FillGuard | None = None
        self.market: MarketView = market or LastTradeView(prices, lambda: self.min_gap)
        self.working: dict[str, list[SimOrder]] = {}
        self.actions: dict[str, list[Action]] = {}
        self.received: list[SubmitOrder] = []  # every order command that reached the venue
        self.positions: dict[str, float] = {}
        self.cash: dict[str, float] = {}  # per symbol, in its currency, net of fees and funding
        self.fees = 0.0
        self._seen: set[str] = set()
        self._walk = config.fill_model == "walk"
        self._counter = 0  # orders commands and arrivals are numbered in the order they happen

    # -- commands -----------------------------------------------------------------------
    def submit(self, cmd: SubmitOrder) -> None:
        """Accept an order (it arrives at cmd.ts + latency), or reject it with the reason."""
        self.received.append(cmd)
        inst = self.instruments.get(cmd.symbol)
        if cmd.client_id in self._seen:
            self._emit(cmd.client_id, cmd.symbol, OrderStatus.REJECTED, reason="duplicate client order id")
            return
        self._seen.add(cmd.client_id)
        reason, size, price = validate(cmd, inst, self.prices.last_price(cmd.symbol))
        if reason:
            self._emit(cmd.client_id, cmd.symbol, OrderStatus.REJECTED, reason=reason)
            return
        seq = self.clock.seq
        order = SimOrder(cmd.client_id, cmd.symbol, int(cmd.side), size, price, cmd.order_type is OrderType.LIMIT,
                         cmd.post_only, cmd.ts + self.config.latency_ns, seq,
                         self.market.earliest(cmd.symbol, seq))
        order.venue_id = f"sim{len(self._seen)}"
        self.working.setdefault(cmd.symbol, []).append(order)
        if self.config.latency_ns == 0 and self.market.book(cmd.symbol, order.arrive, seq) is None:
            # Zero latency and no book: it sees at its arrival exactly what it sees now, and nothing
            # fills at its arrival, so it is judged at once (it takes on the next prints, or rests).
            self._arrive(order, order.arrive, seq)
            self.on_change(cmd.symbol)
        else:
            self._schedule(order, order.arrive, None)

    def cancel(self, cmd: CancelOrder) -> None:
        """Cancel at cmd.ts + latency; unknown or finished orders are ignored."""
        self._command(cmd)

    def amend(self, cmd: AmendOrder) -> None:
        """Change price and/or size at cmd.ts + latency (a new price is a new arrival)."""
        self._command(cmd)

    def apply_funding(self, symbol: str, rate: float, mark: float) -> float:
        """Pay or receive funding on the account position; return the payment (negative = paid)."""
        unit = 1.0 / mark if self.instruments[symbol].inverse else mark  # one unit's worth (inverse: USD in the coin)
        payment = -self.positions.get(symbol, 0.0) * unit * rate
        self.cash[symbol] = self.cash.get(symbol, 0.0) + payment
        return payment

    # -- time -------------------------------------------------------------------------------
    def next_action(self, symbol: str) -> tuple[int, int] | None:
        """(due time, deciding replay index) of the symbol's next arrival, cancel or amend."""
        queue = self.actions.get(symbol)
        if not queue:
            return None
        due, _n, _order, _cmd, decided = queue[0] if len(queue) == 1 else min(queue, key=_due)
        return due, decided

    def advance(self, symbol: str, now: int) -> None:
        """Carry out the symbol's arrivals, cancels and amends due at or before `now`, in order."""
        queue = self.actions.get(symbol)
        if not queue:
            return
        while queue:
            action = queue[0] if len(queue) == 1 else min(queue, key=_due)
            if action[0] > now:
                break
            queue.remove(action)
            due, _n, order, cmd, decided = action
            if cmd is None:
                self._arrive(order, due, order.decide_seq)
            elif isinstance(cmd, CancelOrder):
                self._apply_cancel(order, due)
            else:
                self._apply_amend(order, cmd, due, decided)
        self.on_change(symbol)

    def flush(self, now: int) -> None:
        """End of the data: carry out the cancels due by `now` (those sent in on_stop). An order still
        on its way never arrives: no event comes after it to arrive at."""
        for queue in self.actions.values():
            for action in sorted(a for a in queue if isinstance(a[3], CancelOrder) and a[0] <= now):
                queue.remove(action)
                self._apply_cancel(action[2], action[0])

    # -- market events ----------------------------------------------------------------------
    def on_trade(self, trade: Trade, seq: int) -> None:
        """A print of the tape: takers fill at its price, resting orders share its size."""
        symbol = trade.symbol
        self.advance(symbol, trade.ts_recv)
        orders = self.working.get(symbol)
        if not orders:
            return
        tol = self.instruments[symbol].tick_size * 1e-6
        recv = trade.ts_recv
        taking, resting = [], []
        for o in orders:
            if seq >= o.min_seq and recv >= o.arrive:
                if o.state == TAKING:
                    taking.append(o)
                elif o.state == RESTING:
                    resting.append(o)
        avail = trade.size
        for order in taking:
            if order.remaining <= 0 or order.state != TAKING:  # a callback may have ended it
                continue
            if beyond(order, trade.price, tol):  # its limit is passed: the rest rests, as maker
                self._rest(order)
                continue
            qty = min(order.remaining, avail) if self._walk else order.remaining
            if qty > 0:
                avail -= qty
                self._fill(order, qty, trade.price, Liquidity.TAKER, trade.trade_id, trade.ts_recv)
        if not resting:
            return
        resting = [o for o in resting if o.state == RESTING and o.remaining > 0]  # still, after the takers
        shares = share_print(resting, trade.price, trade.size, tol) if not self.full_fill_on_touch else \
            [(o, o.remaining) for o in resting if (o.price - trade.price) * o.side >= -tol]
        for order, qty in shares:
            if order.state == RESTING and order.remaining > 0:  # a callback may have cancelled it
                self._fill(order, min(qty, order.remaining), order.price, Liquidity.MAKER, trade.trade_id,
                           trade.ts_recv)

    def on_bar_open(self, symbol: str, open_ts: int, price: float, seq: int) -> None:
        """A bar's open (bar-only symbols): marketable orders that arrived by then fill there, whole."""
        self.advance(symbol, open_ts)
        tol = self.instruments[symbol].tick_size * 1e-6
        for order in list(self.working.get(symbol, ())):
            if order.state != TAKING or seq < order.min_seq or open_ts < order.arrive:
                continue
            if beyond(order, price, tol):
                self._rest(order)
            else:
                self._fill(order, order.remaining, price, Liquidity.TAKER, "", open_ts)

    def on_bar_range(self, symbol: str, open_ts: int, low: float, high: float, volume: float, ts: int,
                     seq: int) -> None:
        """A bar's range, known at its close (bar-only symbols): orders resting since its open fill
        at their limit when the range passes them, sharing the bar's volume."""
        self.advance(symbol, ts)
        tol = self.instruments[symbol].tick_size * 1e-6
        resting = [o for o in self.working.get(symbol, ())
                   if o.state == RESTING and o.arrive <= open_ts and seq >= o.min_seq and o.remaining > 0]
        for order, qty in share_bar(resting, low, high, max(volume, 0.0), tol):
            if order.state == RESTING and order.remaining > 0:
                self._fill(order, min(qty, order.remaining), order.price, Liquidity.MAKER, "", ts)

    # -- arrival ------------------------------------------------------------------------------
    def _arrive(self, order: SimOrder, at: int, decided: int, first: bool = True) -> None:
        """The order reaches the book (again, after a re-pricing amend when not `first`): it takes
        (at the quote, or on the next trades) or rests."""
        self._counter += 1
        order.arrival_no = self._counter
        symbol = order.symbol
        book = self.market.book(symbol, at, decided)
        last, last_side = self.market.last_trade(symbol, at, decided)
        if not marketable(order.side, order.price, book, last, last_side):
            order.state = RESTING
            order.queue_left = self.config.queue_ahead
            if first:
                self._ack(order, at)
            return
        if order.post_only:
            if book is not None:
                where = f"the ask {book.ask:g}" if order.side > 0 else f"the bid {book.bid:g}"
            else:
                where = f"the last trade {last:g}"
            self._finish(order)
            self._emit(order.client_id, symbol, OrderStatus.REJECTED, order, ts=at,
                       reason=f"post-only {Side(order.side).name.lower()} at {order.price:g} would take "
                              f"liquidity ({where})")
            return
        order.state = TAKING
        if order.limit and first:
            self._ack(order, at)
        if book is not None:
            quote, quoted = (book.ask, book.ask_size) if order.side > 0 else (book.bid, book.bid_size)
            qty = min(order.remaining, quoted) if self._walk else order.remaining
            if qty > 0:
                self._fill(order, qty, quote, Liquidity.TAKER, "", at)

    def _rest(self, order: SimOrder) -> None:
        """A marketable limit's remainder after a print beyond its limit: it rests, behind the queue."""
        order.state = RESTING
        order.queue_left = self.config.queue_ahead

    # -- cancels and amends -----------------------------------------------------------------
    def _command(self, cmd: AmendOrder | CancelOrder) -> None:
        order = self._find(cmd.client_id, cmd.symbol)
        if order is None:
            return
        self._schedule(order, cmd.ts + self.config.latency_ns, cmd)

    def _apply_cancel(self, order: SimOrder, at: int) -> None:
        if order.state == DONE:
            return
        if order.state == TAKING:  # executing since its arrival: too late
            status = OrderStatus.PARTIALLY_FILLED if order.filled > 0 else OrderStatus.LIVE
            self._emit(order.client_id, order.symbol, status, order, ts=at,
                       reason="cancel refused: the order was marketable on arrival and is executing")
            return
        self._finish(order)
        self._emit(order.client_id, order.symbol, OrderStatus.CANCELED, order, ts=at)

    def _apply_amend(self, order: SimOrder, cmd: AmendOrder, at: int, decided: int) -> None:
        if order.state == DONE:
            return
        inst = self.instruments[order.symbol]
        status = OrderStatus.PARTIALLY_FILLED if order.filled > 0 else OrderStatus.LIVE
        new_size = order.size if math.isnan(cmd.size) else abs(inst.round_size(cmd.size))
        new_price = order.price if math.isnan(cmd.price) else inst.round_price(cmd.price)
        refused = ""
        if not order.limit or order.state == TAKING:
            refused = "the order is executing"
        elif new_size <= order.filled + _EPS or new_size <= 0:
            refused = f"size {new_size:g} is not above the filled {order.filled:g}"
        elif not new_price > 0:
            refused = f"price {new_price:g} is not positive"
        elif new_price != order.price and order.post_only:
            book = self.market.book(order.symbol, at, decided)
            last, side = self.market.last_trade(order.symbol, at, decided)
            if marketable(order.side, new_price, book, last, side):
                refused = f"post-only at {new_price:g} would take liquidity"
        if refused:
            self._emit(order.client_id, order.symbol, status, order, ts=at, reason=f"amend rejected: {refused}")
            return
        repriced = new_price != order.price
        if repriced or new_size > order.size:
            order.queue_left = self.config.queue_ahead  # the back of the queue
        order.size, order.price = new_size, new_price
        order.remaining = new_size - order.filled
        self._emit(order.client_id, order.symbol, status, order, ts=at)
        if repriced:  # a new arrival: judged again against the book
            order.arrive = at
            self._arrive(order, at, decided, first=False)

    # -- fills --------------------------------------------------------------------------------
    def _fill(self, order: SimOrder, qty: float, price: float, liq: Liquidity, trade_id: str, ts: int) -> None:
        if self.guard is not None:
            allowed, why = self.guard(order.client_id, order.symbol, order.side, qty, price)
            if allowed < qty * (1 - 1e-9):  # cut: fill what the limits allow, cancel the rest
                if allowed > 0:
                    self._book_fill(order, allowed, price, liq, trade_id, ts)
                if order.state != DONE:
                    self._finish(order)
                    self._emit(order.client_id, order.symbol, OrderStatus.CANCELED, order, ts=ts,
                               reason=f"cut at fill: {why}; the remainder is cancelled")
                return
        self._book_fill(order, qty, price, liq, trade_id, ts)

    def _book_fill(self, order: SimOrder, qty: float, price: float, liq: Liquidity, trade_id: str,
                   ts: int) -> None:
        inst = self.instruments[order.symbol]
        rate = self._fee_rate(inst, liq)
        fee = inst.notional(qty, price) * rate
        # A spot buy pays its fee in the base currency it receives (as OKX does); the rest in quote.
        fee_base = qty * rate if order.side > 0 and not inst.is_perp else 0.0
        order.remaining = 0.0 if order.remaining - qty <= order.size * 1e-12 else order.remaining - qty
        order.filled += qty
        order.notional += qty * price
        order.nfills += 1
        sym = order.symbol
        received = order.side * qty - fee_base  # one number, as the engine books it: both sums stay equal
        self.positions[sym] = self.positions.get(sym, 0.0) + received
        paid = fee if fee_base == 0.0 else 0.0  # in quote (settle) currency
        self.cash[sym] = self.cash.get(sym, 0.0) - inst.value(order.side * qty, price) - paid
        self.fees += fee
        fill = Fill(order.client_id, sym, Side(order.side), price, qty, fee, liq, ts, trade_id,
                    f"{order.client_id}-{order.nfills}", fee_base)
        done = order.remaining == 0.0
        if done:
            self._finish(order)
        self._emit(order.client_id, sym, OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED, order,
                   fill=fill, ts=ts)

    def _fee_rate(self, inst: Instrument, liq: Liquidity) -> float:
        if liq is Liquidity.MAKER:
            return inst.maker_fee if self.config.maker_fee is None else self.config.maker_fee
        return inst.taker_fee if self.config.taker_fee is None else self.config.taker_fee

    # -- helpers --------------------------------------------------------------------------
    def _schedule(self, order: SimOrder, due: int, cmd: AmendOrder | CancelOrder | None) -> None:
        self._counter += 1
        self.actions.setdefault(order.symbol, []).append((due, self._counter, order, cmd, self.clock.seq))
        self.on_change(order.symbol)

    def _finish(self, order: SimOrder) -> None:
        """The order leaves the book (filled, cancelled, rejected): no action of it is carried out."""
        order.state = DONE
        orders = self.working.get(order.symbol, [])
        if order in orders:
            orders.remove(order)
        queue = self.actions.get(order.symbol)
        if queue:
            queue[:] = [a for a in queue if a[2] is not order]

    def _find(self, client_id: str, symbol: str) -> SimOrder | None:
        for order in self.working.get(symbol, ()):
            if order.client_id == client_id:
                return order
        return None

    def _ack(self, order: SimOrder, at: int) -> None:
        self._emit(order.client_id, order.symbol, OrderStatus.LIVE, order, ts=at)

    def _emit(
        self, client_id: str, symbol: str, status: OrderStatus, order: SimOrder | None = None,
        *, fill: Fill | None = None, ts: int | None = None, reason: str = "",
    ) -> None:
        if order is None:
            update = OrderUpdate(client_id, symbol, status, self.clock.ts if ts is None else ts, reason=reason)
        else:
            avg = order.notional / order.filled if order.filled else math.nan
            update = OrderUpdate(
                client_id, symbol, status, self.clock.ts if ts is None else ts, order.filled, avg,
                order.venue_id, reason, fill, order.price, order.size,
            )
        self.sink(update)
