"""The Context a strategy trades through; one per strategy, backed by the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model.events import NAN
from engine.model.types import Side

if TYPE_CHECKING:
    from engine.trading.engine import TradingEngine


class StrategyContext:
    """Implements engine.trading.strategy.Context for one strategy on its primary symbol."""

    __slots__ = ("_engine", "_inverse", "strategy_id", "symbol")

    def __init__(self, engine: TradingEngine, strategy_id: str, symbol: str) -> None:
        self._engine = engine
        self.strategy_id = strategy_id
        self.symbol = symbol
        inst = engine.instruments.get(symbol)
        self._inverse = inst is not None and inst.inverse

    @property
    def trading(self) -> bool:
        """False during warm-up: targets are remembered, orders are not sent."""
        return self._engine.trading

    @property
    def capital(self) -> float:
        """The strategy's capital (the account's times its weight), in its symbol's currency (the quote,
        the coin for an inverse contract)."""
        return self._engine.capitals[self.strategy_id]

    @property
    def inverse(self) -> bool:
        """Whether the primary symbol is an inverse contract: sized in USD, its capital in the coin."""
        return self._inverse

    def now(self) -> int:
        return self._engine.clock.ts

    def position(self, symbol: str | None = None) -> float:
        return self._engine.portfolio.strategy_position(self.strategy_id, symbol or self.symbol)

    def last_price(self, symbol: str | None = None) -> float:
        return self._engine.prices.last_price(symbol or self.symbol)

    def equity(self) -> float:
        """Capital plus the strategy's PnL on every symbol it traded, at the last prices."""
        return self._engine.strategy_equity(self.strategy_id)

    def set_target(self, target: float, symbol: str | None = None) -> None:
        self._engine.signal(self.strategy_id, symbol or self.symbol, target)

    def submit_limit(
        self, side: Side, size: float, price: float, symbol: str | None = None, post_only: bool = False
    ) -> str:
        return self._engine.submit_own(self.strategy_id, symbol or self.symbol, side, size, price, post_only)

    def cancel(self, client_id: str) -> None:
        self._engine.cancel_own(self.strategy_id, client_id)

    def amend(self, client_id: str, price: float = NAN, size: float = NAN) -> None:
        self._engine.amend_own(self.strategy_id, client_id, price, size)

    def open_orders(self, symbol: str | None = None) -> list[str]:
        orders = self._engine.oms.open_orders(symbol=symbol, strategy_id=self.strategy_id)
        return [o.client_id for o in orders]

    def log(self, message: str) -> None:
        self._engine.log(self.strategy_id, message)
