"""Immutable events: market data, signals, order commands, order updates and fills.

Records are frozen msgspec Structs: cheap to build on the hot path, hashable, and encodable to
JSON or msgpack for the recorder and the Redis transport. Commands are imperative
(`SubmitOrder`), facts past tense (`OrderUpdate`, `Fill`). Times are int64 ns UTC.
"""

from __future__ import annotations

import re
from enum import StrEnum

import msgspec

from engine.model.types import Liquidity, Side

NAN = float("nan")


class Trade(msgspec.Struct, frozen=True, gc=False):
    """One trade on the tape; `side` +1 when the buyer was the taker, -1 when the seller was."""

    symbol: str
    ts_event: int
    ts_recv: int
    price: float
    size: float
    side: int
    trade_id: str = ""


class Quote(msgspec.Struct, frozen=True, gc=False):
    """Best bid and ask."""

    symbol: str
    ts_event: int
    ts_recv: int
    bid: float
    ask: float
    bid_size: float = NAN
    ask_size: float = NAN


class Bar(msgspec.Struct, frozen=True, gc=False):
    """OHLCV bar; `ts_event` is its open time, it is complete at open + interval."""

    symbol: str
    interval: str
    ts_event: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Funding(msgspec.Struct, frozen=True, gc=False):
    """A funding payment instant of a perpetual: longs pay `rate` x notional when positive."""

    symbol: str
    ts_event: int
    rate: float
    mark: float = NAN


class MarkPrice(msgspec.Struct, frozen=True, gc=False):
    """The venue's mark price of a derivative (what margin and liquidation are computed on)."""

    symbol: str
    ts_event: int
    ts_recv: int
    price: float


MarketEvent = Trade | Quote | Bar | Funding | MarkPrice


class Signal(msgspec.Struct, frozen=True, gc=False):
    """A strategy's target position (base currency, signed) on one symbol."""

    strategy_id: str
    symbol: str
    target: float
    ts: int


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    NEW = "new"  # sent, not yet acknowledged by the venue
    LIVE = "live"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.LIVE, OrderStatus.PARTIALLY_FILLED)


class SubmitOrder(msgspec.Struct, frozen=True, gc=False):
    """Command: place an order. `strategy_id` is empty for a netted portfolio order."""

    client_id: str
    symbol: str
    side: Side
    size: float
    order_type: OrderType
    ts: int
    price: float = NAN
    strategy_id: str = ""
    post_only: bool = False
    reduce_only: bool = False


class CancelOrder(msgspec.Struct, frozen=True, gc=False):
    """Command: cancel an open order."""

    client_id: str
    symbol: str
    ts: int


class AmendOrder(msgspec.Struct, frozen=True, gc=False):
    """Command: change an open order's price and/or total size (NaN keeps the old value)."""

    client_id: str
    symbol: str
    ts: int
    price: float = NAN
    size: float = NAN


OrderCommand = SubmitOrder | CancelOrder | AmendOrder


class Fill(msgspec.Struct, frozen=True, gc=False):
    """A (partial) execution. `fee` is the cost in quote currency (negative for a rebate).

    A spot buy pays its fee in the currency it receives, as OKX charges it: `fee_base` is that
    amount of base currency (the account receives size - fee_base), and `fee` its value at the
    fill's price (fee_base x price). Everything else pays in quote (settle) currency, fee_base 0.
    """

    client_id: str
    symbol: str
    side: Side
    price: float
    size: float
    fee: float
    liquidity: Liquidity
    ts: int
    trade_id: str = ""
    fill_id: str = ""
    fee_base: float = 0.0


class OrderUpdate(msgspec.Struct, frozen=True, gc=False):
    """Fact: the venue's view of an order changed. `fill` is set when it changed by a fill."""

    client_id: str
    symbol: str
    status: OrderStatus
    ts: int
    filled_size: float = 0.0
    avg_price: float = NAN
    venue_order_id: str = ""
    reason: str = ""
    fill: Fill | None = None
    price: float = NAN
    size: float = NAN


_CLIENT_ID_PREFIX = re.compile(r"^[A-Za-z0-9]{1,16}$")


class ClientIdFactory:
    """Deterministic client order ids: `<prefix><counter>`, at most 32 alphanumerics (OKX clOrdId).

    The prefix names the session (derived from the run's configuration, or persisted by the live
    runner); the counter continues from `start` after a restart, so a retry never reuses an id of
    a different order and the same order always keeps its id.
    """

    def __init__(self, prefix: str, start: int = 0) -> None:
        if not _CLIENT_ID_PREFIX.match(prefix):
            raise ValueError(f"client id prefix {prefix!r} must be 1-16 letters or digits")
        self.prefix = prefix
        self.counter = start

    def next(self) -> str:
        """Return the next id."""
        self.counter += 1
        return f"{self.prefix}{self.counter}"
