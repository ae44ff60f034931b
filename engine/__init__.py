"""OKXBot Plus engine: one package for research, backtest, paper and live trading.

A strategy author imports what they need from here:
`from engine import Strategy, Param, Warmup, Context, Bar, Trade`. Those names load on first
use (PEP 562), because the CLI imports this module on start-up and must stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model.exports import lazy

__version__ = "0.1.0"

_PUBLIC = {
    "Strategy": "engine.trading.strategy",
    "Param": "engine.trading.strategy",
    "Warmup": "engine.trading.strategy",
    "Context": "engine.trading.strategy",
    "Bar": "engine.model.events",
    "Trade": "engine.model.events",
    "Quote": "engine.model.events",
    "Funding": "engine.model.events",
    "OrderUpdate": "engine.model.events",
    "OrderStatus": "engine.model.events",
    "Side": "engine.model.types",
    "UserError": "engine.model.errors",
}

__all__ = [
    "Bar",
    "Context",
    "Funding",
    "OrderStatus",
    "OrderUpdate",
    "Param",
    "Quote",
    "Side",
    "Strategy",
    "Trade",
    "UserError",
    "Warmup",
    "__version__",
]

if TYPE_CHECKING:
    from engine.model.errors import UserError
    from engine.model.events import Bar, Funding, OrderStatus, OrderUpdate, Quote, Trade
    from engine.model.types import Side
    from engine.trading.strategy import Context, Param, Strategy, Warmup


__getattr__ = lazy(__name__, _PUBLIC, globals())
