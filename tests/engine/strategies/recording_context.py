"""A small, real Context for strategy tests: records targets and orders, delivers order updates.

The engine's own Context arrives later; this one implements the same protocol with plain lists
and dicts. Orders stay open until the test fills them (`fill`) or the strategy cancels them
(a cancel is confirmed at once with a CANCELED update, as a venue would).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from engine.model.events import NAN, Bar, ClientIdFactory, Fill, OrderStatus, OrderUpdate, Trade
from engine.model.time import NS_PER_MIN, NS_PER_S
from engine.model.types import Liquidity, Side
from engine.trading.strategy import Strategy


@dataclass(frozen=True, slots=True)
class Placed:
    """A limit order the strategy submitted."""

    client_id: str
    symbol: str
    side: Side
    size: float
    price: float
    post_only: bool


class RecordingContext:
    """The Context protocol over in-memory records; `start(strategy)` calls its on_start."""

    def __init__(self, symbol: str = "BTC/USDT", trading: bool = True, capital: float = 10_000.0) -> None:
        self.strategy_id = "test"
        self.symbol = symbol
        self.trading = trading
        self.capital = capital
        self.inverse = False  # the primary symbol is an inverse contract (sized in USD)
        self.clock = 0
        self.last = math.nan  # the last trade price (or bar close) delivered
        self.targets: list[tuple[int, str, float]] = []  # (time, symbol, target)
        self.placed: dict[str, Placed] = {}
        self.open: dict[str, float] = {}  # client id -> filled size so far
        self.cancels: list[str] = []
        self.amends: list[tuple[str, float, float]] = []
        self.logs: list[str] = []
        self.fills: list[Fill] = []
        # Answers the "venue" gives inside submit_limit, before it returns, one per submit:
        # REJECTED or FILLED (the whole order, at its price); None or nothing left: it rests.
        self.instant: deque[OrderStatus | None] = deque()
        self._ids = ClientIdFactory("t")
        self._strategy: Strategy | None = None

    # -- the protocol ----------------------------------------------------------------------
    def now(self) -> int:
        return self.clock

    def position(self, symbol: str | None = None) -> float:
        want = symbol or self.symbol
        return sum(f.side.sign * f.size for f in self.fills if f.symbol == want)

    def last_price(self, symbol: str | None = None) -> float:
        return self.last

    def equity(self) -> float:
        return self.capital + sum(f.side.sign * f.size * (self.last - f.price) - f.fee for f in self.fills)

    def set_target(self, target: float, symbol: str | None = None) -> None:
        self.targets.append((self.clock, symbol or self.symbol, target))

    def submit_limit(
        self, side: Side, size: float, price: float, symbol: str | None = None,
        post_only: bool = False,
    ) -> str:
        cid = self._ids.next()
        self.placed[cid] = Placed(cid, symbol or self.symbol, side, size, price, post_only)
        self.open[cid] = 0.0
        answer = self.instant.popleft() if self.instant else None
        if answer is OrderStatus.FILLED:
            self.fill(cid)
        elif answer is OrderStatus.REJECTED:
            del self.open[cid]
            self.deliver(OrderUpdate(cid, symbol or self.symbol, OrderStatus.REJECTED, self.clock, reason="test"))
        return cid

    def cancel(self, client_id: str) -> None:
        self.cancels.append(client_id)
        if client_id in self.open:
            filled = self.open.pop(client_id)
            self.deliver(OrderUpdate(client_id, self.placed[client_id].symbol, OrderStatus.CANCELED,
                                      self.clock, filled_size=filled))

    def amend(self, client_id: str, price: float = NAN, size: float = NAN) -> None:
        self.amends.append((client_id, price, size))

    def open_orders(self, symbol: str | None = None) -> list[str]:
        return [c for c in self.open if symbol is None or self.placed[c].symbol == symbol]

    def log(self, message: str) -> None:
        self.logs.append(message)

    # -- driving a strategy ----------------------------------------------------------------
    def start(self, strategy: Strategy) -> Strategy:
        """Attach `strategy` and call its on_start."""
        self._strategy = strategy
        strategy.on_start(self)
        return strategy

    def trades(self, prices: list[float]) -> None:
        """Deliver one trade per price, one second apart."""
        assert self._strategy is not None
        for p in prices:
            self.clock += NS_PER_S
            self.last = p
            self._strategy.on_tick(Trade(self.symbol, self.clock, self.clock, p, 1.0, 1))

    def bars(self, closes: list[float], interval: str = "1m") -> None:
        """Deliver one 1-minute bar per close (open = previous close)."""
        assert self._strategy is not None
        prev = closes[0] if closes else 0.0
        for c in closes:
            opened = self.clock
            self.clock += NS_PER_MIN
            bar = Bar(self.symbol, interval, opened, prev, max(prev, c), min(prev, c), c, 1.0)
            self.last = c
            self._strategy.on_bar(bar)
            prev = c

    def fill(self, client_id: str, size: float | None = None) -> None:
        """Fill `size` (default: the rest) of an open order at its limit price and tell the strategy."""
        order = self.placed[client_id]
        filled = self.open[client_id]
        qty = order.size - filled if size is None else size
        assert 0 < qty <= order.size - filled + 1e-12, f"cannot fill {qty} of {client_id}"
        filled += qty
        done = math.isclose(filled, order.size, rel_tol=1e-12)
        fill = Fill(client_id, order.symbol, order.side, order.price, qty, 0.0, Liquidity.MAKER,
                    self.clock, fill_id=f"f{len(self.fills) + 1}")
        self.fills.append(fill)
        if done:
            del self.open[client_id]
        else:
            self.open[client_id] = filled
        status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        self.deliver(OrderUpdate(client_id, order.symbol, status, self.clock, filled_size=filled,
                                  avg_price=order.price, fill=fill, price=order.price, size=order.size))

    def stop(self) -> None:
        """Call the strategy's on_stop."""
        assert self._strategy is not None
        self._strategy.on_stop()

    def deliver(self, update: OrderUpdate) -> None:
        """Hand an order update to the strategy, as the engine would."""
        if self._strategy is not None:
            self._strategy.on_order_update(update)
