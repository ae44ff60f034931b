"""The ports of the trading core: what a venue, a price source and a clock must offer it.

The core owns these protocols; the simulated venue, the exchange adapters and the drivers
(the backtest replay, later the live runner) implement them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from engine.model.events import AmendOrder, CancelOrder, OrderUpdate, SubmitOrder

UpdateSink = Callable[[OrderUpdate], None]

# Asked by a simulated venue before each fill: (client id, symbol, side +1/-1, size, price) ->
# (the size the account's limits still allow, why it is smaller). README "How fills work".
FillGuard = Callable[[str, str, int, float, float], tuple[float, str]]


class Venue(Protocol):
    """Accepts order commands; reports every change of an order as an OrderUpdate to its sink."""

    name: str

    def submit(self, cmd: SubmitOrder) -> None: ...
    def cancel(self, cmd: CancelOrder) -> None: ...
    def amend(self, cmd: AmendOrder) -> None: ...


class PriceSource(Protocol):
    """The last trade price the engine has seen for a symbol (NaN before the first trade)."""

    def last_price(self, symbol: str) -> float: ...


@runtime_checkable
class AskSource(Protocol):
    """A price source that also knows the book: the ask in force now (NaN without a usable one)."""

    def ask(self, symbol: str) -> float: ...


class Clock(Protocol):
    """The driver's time: `ts` of the event being processed (int64 ns UTC) and its index `seq`
    in the replay (-1 where there is none, as live)."""

    @property
    def ts(self) -> int: ...
    @property
    def seq(self) -> int: ...
    def now(self) -> int: ...
