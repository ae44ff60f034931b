"""The Venue protocol: what the engine needs from an exchange, simulated or real."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from engine.events import AmendOrder, CancelOrder, OrderUpdate, SubmitOrder

UpdateSink = Callable[[OrderUpdate], None]


class Venue(Protocol):
    """Accepts order commands; reports every change of an order as an OrderUpdate to its sink."""

    name: str

    def submit(self, cmd: SubmitOrder) -> None: ...
    def cancel(self, cmd: CancelOrder) -> None: ...
    def amend(self, cmd: AmendOrder) -> None: ...


class PriceSource(Protocol):
    """The last trade price the engine has seen for a symbol (NaN before the first trade)."""

    def last_price(self, symbol: str) -> float: ...
