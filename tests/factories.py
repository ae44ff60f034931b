"""Shared builders of events for tests: real objects with defaults for the fields a test ignores."""

from __future__ import annotations

import math

from engine.model.events import Fill, OrderStatus, OrderType, OrderUpdate, SubmitOrder
from engine.model.types import Liquidity, Side


def make_fill(
    size: float,
    price: float,
    *,
    side: Side = Side.BUY,
    fee: float = 0.0,
    symbol: str = "ETH/USDT:USDT",
    client_id: str = "o1",
    ts: int = 0,
    fill_id: str = "",
    trade_id: str = "",
    liquidity: Liquidity = Liquidity.TAKER,
) -> Fill:
    """A fill; `size` positive, the side given separately."""
    return Fill(client_id, symbol, side, price, size, fee, liquidity, ts, trade_id, fill_id)


def make_submit(
    client_id: str = "o1",
    *,
    side: Side = Side.BUY,
    size: float = 1.0,
    price: float = math.nan,
    symbol: str = "ETH/USDT:USDT",
    ts: int = 0,
    strategy_id: str = "",
    reduce_only: bool = False,
) -> SubmitOrder:
    """A SubmitOrder: a limit order when `price` is given, else a market order."""
    kind = OrderType.MARKET if math.isnan(price) else OrderType.LIMIT
    return SubmitOrder(
        client_id, symbol, side, size, kind, ts, price, strategy_id=strategy_id, reduce_only=reduce_only
    )


def make_update(
    status: OrderStatus,
    *,
    client_id: str = "o1",
    symbol: str = "ETH/USDT:USDT",
    ts: int = 0,
    filled_size: float = 0.0,
    fill: Fill | None = None,
    price: float = math.nan,
    size: float = math.nan,
    reason: str = "",
) -> OrderUpdate:
    """An OrderUpdate of one order."""
    return OrderUpdate(
        client_id, symbol, status, ts, filled_size, math.nan, "", reason, fill, price, size
    )
