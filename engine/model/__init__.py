"""The vocabulary every room speaks: instruments, sides, symbols, time, events, errors, clocks, the bus.

Names load on first use (`engine.model.exports`): the CLI imports this package on start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model.exports import lazy

if TYPE_CHECKING:
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

_EXPORTS = {
    "EventBus": "engine.model.bus",
    "LiveClock": "engine.model.clock",
    "SimClock": "engine.model.clock",
    "ConfigError": "engine.model.errors",
    "DataError": "engine.model.errors",
    "UserError": "engine.model.errors",
    "AmendOrder": "engine.model.events",
    "Bar": "engine.model.events",
    "CancelOrder": "engine.model.events",
    "Fill": "engine.model.events",
    "Funding": "engine.model.events",
    "OrderStatus": "engine.model.events",
    "OrderType": "engine.model.events",
    "OrderUpdate": "engine.model.events",
    "Quote": "engine.model.events",
    "Signal": "engine.model.events",
    "SubmitOrder": "engine.model.events",
    "Trade": "engine.model.events",
    "NS_PER_DAY": "engine.model.time",
    "NS_PER_MIN": "engine.model.time",
    "NS_PER_MS": "engine.model.time",
    "NS_PER_S": "engine.model.time",
    "interval_ns": "engine.model.time",
    "ns_to_iso": "engine.model.time",
    "to_ns": "engine.model.time",
    "Instrument": "engine.model.types",
    "InstrumentType": "engine.model.types",
    "Liquidity": "engine.model.types",
    "Side": "engine.model.types",
    "make_instrument": "engine.model.types",
    "parse_symbol": "engine.model.types",
}
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
__getattr__ = lazy(__name__, _EXPORTS, globals())
