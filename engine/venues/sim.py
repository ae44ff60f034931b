"""The simulated exchange: order rounding, matching against the trade tape, fees, funding.

The same SimVenue serves backtests (the replay hands it the trades on which an order may fill)
and paper trading (the live feed hands it every trade). Matching is one scalar rule, `on_trade`:

- An order decided at event i at time t is eligible from the first trade j > i whose time is at
  least t + latency (time = ts_recv, which the replay fills with ts_event where it is missing).
- Market orders (fill model `touch`, the default) fill in full at the first eligible trade's
  price; with `walk` each eligible trade fills up to its own size, shared by the orders in
  arrival order.
- Resting limit orders fill at their price, as maker, when a trade goes through the price; trades
  exactly at the price first use up `queue_ahead` (base currency) and only the excess fills.
  A limit order marketable when decided (a buy at or above the last trade) is a taker: it fills
  at the trade's price on the first eligible trade at or better than its limit; post-only such
  orders are rejected.
- Cancels and amends take effect at their own time + latency.
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
from engine.model.types import Instrument, Liquidity, Side
from engine.trading.ports import Clock, PriceSource, UpdateSink

FILL_MODELS = ("touch", "walk")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Simulated venue settings; fees override the instruments' (OKX base tier) when set."""

    fill_model: str = "touch"
    latency_ns: int = 0
    queue_ahead: float = 0.0
    maker_fee: float | None = None
    taker_fee: float | None = None

    def __post_init__(self) -> None:
        if self.fill_model not in FILL_MODELS:
            raise ConfigError(f"fill_model {self.fill_model!r} is not one of {', '.join(FILL_MODELS)}")
        if self.latency_ns < 0:
            raise ConfigError(f"latency_ns {self.latency_ns} must be >= 0")
        if not self.queue_ahead >= 0:
            raise ConfigError(f"queue_ahead {self.queue_ahead} must be >= 0")
        for name in ("maker_fee", "taker_fee"):
            fee = getattr(self, name)
            if fee is not None and not -0.01 <= fee <= 0.1:
                raise ConfigError(f"{name} {fee} is outside -0.01..0.1 (a fraction of notional)")


class SimOrder:
    """A working order inside the simulated venue (mutable, venue-private)."""

    __slots__ = (
        "acked", "arrive", "client_id", "decide_seq", "filled", "limit", "nfills", "notional",
        "pending", "post_only", "price", "queue_left", "remaining", "side", "size", "symbol",
        "taker", "venue_id",
    )

    def __init__(self, cmd: SubmitOrder, size: float, price: float, arrive: int, seq: int) -> None:
        self.client_id = cmd.client_id
        self.symbol = cmd.symbol
        self.side = int(cmd.side)
        self.size = size
        self.remaining = size
        self.price = price
        self.limit = cmd.order_type is OrderType.LIMIT
        self.post_only = cmd.post_only
        self.taker = not self.limit
        self.arrive = arrive
        self.decide_seq = seq
        self.queue_left = 0.0
        self.acked = False
        self.filled = 0.0
        self.notional = 0.0
        self.nfills = 0
        self.pending: list[tuple[int, AmendOrder | CancelOrder]] = []
        self.venue_id = ""


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
    ) -> None:
        self.instruments = dict(instruments)
        self.config = config
        self.sink = sink
        self.clock = clock
        self.prices = prices
        self.on_change = on_change or (lambda _symbol: None)
        self.working: dict[str, list[SimOrder]] = {}
        self.received: list[SubmitOrder] = []  # every order command that reached the venue
        self.positions: dict[str, float] = {}
        self.cash: dict[str, float] = {}  # per symbol, quote currency, net of fees and funding
        self.fees = 0.0
        self._seen: set[str] = set()
        self._walk = config.fill_model == "walk"
        # An order may fill on events at least this many replay steps after its decision. Only
        # the lookahead tests set 0, to prove they catch a fill on the deciding event.
        self.min_gap = 1

    # -- commands -----------------------------------------------------------------------
    def submit(self, cmd: SubmitOrder) -> None:
        """Accept an order, or reject it with the reason (rounding, minimum size, duplicate id)."""
        self.received.append(cmd)
        inst = self.instruments.get(cmd.symbol)
        if cmd.client_id in self._seen:
            self._emit(cmd.client_id, cmd.symbol, OrderStatus.REJECTED, reason="duplicate client order id")
            return
        self._seen.add(cmd.client_id)
        reason, size, price = self._validate(cmd, inst)
        if reason:
            self._emit(cmd.client_id, cmd.symbol, OrderStatus.REJECTED, reason=reason)
            return
        order = SimOrder(cmd, size, price, cmd.ts + self.config.latency_ns, self.clock.seq)
        order.venue_id = f"sim{len(self._seen)}"
        if order.limit:
            last = self.prices.last_price(cmd.symbol)
            order.taker = not math.isnan(last) and (price - last) * order.side >= 0
            if order.taker and cmd.post_only:
                self._emit(cmd.client_id, cmd.symbol, OrderStatus.REJECTED,
                           reason=f"post-only {cmd.side.name.lower()} at {price:g} would take liquidity "
                                  f"(last trade {last:g})")
                return
            order.queue_left = 0.0 if order.taker else self.config.queue_ahead
        self.working.setdefault(cmd.symbol, []).append(order)
        if order.limit and self.config.latency_ns == 0:
            self._ack(order)
        self.on_change(cmd.symbol)

    def cancel(self, cmd: CancelOrder) -> None:
        """Cancel at cmd.ts + latency (at once without latency); unknown or done orders are ignored."""
        self._queue(cmd)

    def amend(self, cmd: AmendOrder) -> None:
        """Change price and/or size at cmd.ts + latency; the order loses its queue place."""
        self._queue(cmd)

    def apply_funding(self, symbol: str, rate: float, mark: float) -> float:
        """Pay or receive funding on the account position; return the payment (negative = paid)."""
        payment = -self.positions.get(symbol, 0.0) * mark * rate
        self.cash[symbol] = self.cash.get(symbol, 0.0) + payment
        return payment

    # -- matching -----------------------------------------------------------------------
    def on_trade(self, trade: Trade, seq: int) -> None:
        """Match the working orders of trade.symbol against one trade of the tape."""
        orders = self.working.get(trade.symbol)
        if not orders:
            return
        key = trade.ts_recv
        avail = trade.size
        for order in list(orders):
            if seq - order.decide_seq < self.min_gap or key < order.arrive:
                continue
            if order.pending and not self._apply_pending(order, key):
                continue
            if not order.acked and order.limit:
                self._ack(order)
            qty, liquidity = self._match(order, trade.price, avail)
            if qty > 0:
                if self._walk:
                    avail -= qty
                price = trade.price if liquidity is Liquidity.TAKER else order.price
                self._fill(order, qty, price, liquidity, trade.trade_id, key)

    def _match(self, order: SimOrder, price: float, avail: float) -> tuple[float, Liquidity]:
        """How much of `order` a trade at `price` with `avail` size left fills, and as what."""
        through = (order.price - price) * order.side  # > 0: the trade is better than the limit
        if order.taker:
            if order.limit and through < 0:
                return 0.0, Liquidity.TAKER
            return (min(order.remaining, avail) if self._walk else order.remaining), Liquidity.TAKER
        tick = self.instruments[order.symbol].tick_size
        if through > tick * 1e-6:
            return (min(order.remaining, avail) if self._walk else order.remaining), Liquidity.MAKER
        if through < -tick * 1e-6:
            return 0.0, Liquidity.MAKER
        if order.queue_left >= avail:
            order.queue_left -= avail
            return 0.0, Liquidity.MAKER
        excess = avail - order.queue_left
        order.queue_left = 0.0
        return (min(order.remaining, excess) if self._walk else order.remaining), Liquidity.MAKER

    def _fill(self, order: SimOrder, qty: float, price: float, liq: Liquidity, trade_id: str, ts: int) -> None:
        inst = self.instruments[order.symbol]
        rate = self._fee_rate(inst, liq)
        fee = qty * price * rate
        order.remaining = 0.0 if order.remaining - qty <= order.size * 1e-12 else order.remaining - qty
        order.filled += qty
        order.notional += qty * price
        order.nfills += 1
        sym = order.symbol
        self.positions[sym] = self.positions.get(sym, 0.0) + order.side * qty
        self.cash[sym] = self.cash.get(sym, 0.0) - order.side * qty * price - fee
        self.fees += fee
        fill = Fill(order.client_id, sym, Side(order.side), price, qty, fee, liq, ts, trade_id,
                    f"{order.client_id}-{order.nfills}")
        done = order.remaining == 0.0
        if done:
            self.working[sym].remove(order)
        status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        self._emit(order.client_id, sym, status, order, fill=fill, ts=ts)

    def _fee_rate(self, inst: Instrument, liq: Liquidity) -> float:
        if liq is Liquidity.MAKER:
            return inst.maker_fee if self.config.maker_fee is None else self.config.maker_fee
        return inst.taker_fee if self.config.taker_fee is None else self.config.taker_fee

    # -- helpers --------------------------------------------------------------------------
    def _validate(self, cmd: SubmitOrder, inst: Instrument | None) -> tuple[str, float, float]:
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
        ref = price if cmd.order_type is OrderType.LIMIT else self.prices.last_price(cmd.symbol)
        # The requested size, not the rounded one, so that the reason names what was asked.
        err = inst.size_error(cmd.size, ref if math.isfinite(ref) else 0.0)
        return (err or ""), size, price

    def _queue(self, cmd: AmendOrder | CancelOrder) -> None:
        order = self._find(cmd.client_id, cmd.symbol)
        if order is None:
            return
        at = cmd.ts + self.config.latency_ns
        if at <= self.clock.ts:
            order.pending.append((at, cmd))
            self._apply_pending(order, at)
        else:
            order.pending.append((at, cmd))
        self.on_change(cmd.symbol)

    def _apply_pending(self, order: SimOrder, key: int) -> bool:
        """Apply due cancels/amends; return whether the order is still working."""
        due = [p for p in order.pending if p[0] <= key]
        order.pending = [p for p in order.pending if p[0] > key]
        for at, cmd in due:
            if isinstance(cmd, CancelOrder):
                self.working[order.symbol].remove(order)
                self._emit(order.client_id, order.symbol, OrderStatus.CANCELED, order, ts=at)
                return False
            self._apply_amend(order, cmd, at)
        return True

    def _apply_amend(self, order: SimOrder, cmd: AmendOrder, at: int) -> None:
        inst = self.instruments[order.symbol]
        new_size = order.size if math.isnan(cmd.size) else abs(inst.round_size(cmd.size))
        new_price = order.price if math.isnan(cmd.price) else inst.round_price(cmd.price)
        status = OrderStatus.PARTIALLY_FILLED if order.filled > 0 else OrderStatus.LIVE
        if new_size < order.filled or new_size <= 0 or (order.limit and not new_price > 0):
            self._emit(order.client_id, order.symbol, status, order, ts=at,
                       reason=f"amend rejected: size {new_size:g} below filled {order.filled:g}")
            return
        if new_price != order.price or new_size > order.size:
            order.queue_left = 0.0 if order.taker else self.config.queue_ahead
        order.size, order.price = new_size, new_price
        order.remaining = new_size - order.filled
        if order.remaining <= order.size * 1e-12:
            self.working[order.symbol].remove(order)
            status = OrderStatus.FILLED
        self._emit(order.client_id, order.symbol, status, order, ts=at)

    def _find(self, client_id: str, symbol: str) -> SimOrder | None:
        for order in self.working.get(symbol, ()):
            if order.client_id == client_id:
                return order
        return None

    def _ack(self, order: SimOrder) -> None:
        order.acked = True
        self._emit(order.client_id, order.symbol, OrderStatus.LIVE, order, ts=max(order.arrive, self.clock.ts))

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
