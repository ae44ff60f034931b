"""The vocabulary every room speaks: instruments, sides, symbols, time, events, errors, clocks, the bus."""

from engine.model.bus import EventBus
from engine.model.clock import LiveClock, SimClock
from engine.model.errors import ConfigError, DataError, UserError
from engine.model.events import (
    AmendOrder,
    Bar,
    CancelOrder,
    Fill,
    Funding,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Quote,
    Signal,
    SubmitOrder,
    Trade,
)
from engine.model.time import NS_PER_DAY, NS_PER_MIN, NS_PER_MS, NS_PER_S, interval_ns, ns_to_iso, to_ns
from engine.model.types import Instrument, InstrumentType, Liquidity, Side, make_instrument, parse_symbol

__all__ = [
    "NS_PER_DAY",
    "NS_PER_MIN",
    "NS_PER_MS",
    "NS_PER_S",
    "AmendOrder",
    "Bar",
    "CancelOrder",
    "ConfigError",
    "DataError",
    "EventBus",
    "Fill",
    "Funding",
    "Instrument",
    "InstrumentType",
    "Liquidity",
    "LiveClock",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "Quote",
    "Side",
    "Signal",
    "SimClock",
    "SubmitOrder",
    "Trade",
    "UserError",
    "interval_ns",
    "make_instrument",
    "ns_to_iso",
    "parse_symbol",
    "to_ns",
]
