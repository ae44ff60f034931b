"""The account's cash and equity per currency (README "How money is counted"), read by the risk check.

Pure bookkeeping over what the engine already holds (the portfolio's account ledgers, the open
orders, the last prices); nothing here runs per tick, only when an order is decided.

- A symbol's currency is its settle currency (the quote currency for spot and linear perpetuals).
- The capital of a currency is the summed capital of the strategies whose symbol is in it.
- Cash of a currency: its capital, plus the cash flows (fills net of fees) of the spot symbols quoted
  in it, plus the PnL (cash flows and the position at the last price) of the perpetuals settled in it.
- An open spot buy reserves its remaining size x its limit price, or for a market order the last
  trade price when it was decided.
- Equity of a currency: its capital plus the PnL of every symbol in it at the last prices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from engine.model.events import SubmitOrder
from engine.model.types import Instrument, Side, parse_symbol
from engine.trading.oms import Order
from engine.trading.portfolio import PortfolioManager
from engine.trading.ports import PriceSource


def symbol_currency(symbol: str, inst: Instrument | None = None) -> str:
    """The currency a symbol's amounts are in: its settle currency (the quote for spot)."""
    if inst is not None:
        return inst.settle
    _base, quote, settle = parse_symbol(symbol)
    return settle or quote


class Money:
    """Capital, cash, reservations and equity of one account, per currency."""

    def __init__(self, instruments: Mapping[str, Instrument], portfolio: PortfolioManager, prices: PriceSource) -> None:
        self.instruments = instruments
        self.portfolio = portfolio
        self.prices = prices
        self.capital: dict[str, float] = {}
        self._reserve_px: dict[str, float] = {}  # market spot buys: the price reserved at decision
        self._in_currency: dict[str, list[str]] = {}  # currency -> its symbols (equity runs per order)

    def currency(self, symbol: str) -> str:
        """The currency of `symbol`'s amounts."""
        return symbol_currency(symbol, self.instruments.get(symbol))

    def add_capital(self, symbol: str, capital: float) -> None:
        """A strategy trading `symbol` brings `capital` in that symbol's currency."""
        cur = self.currency(symbol)
        self.capital[cur] = self.capital.get(cur, 0.0) + capital

    def _symbols(self, currency: str) -> Iterable[tuple[str, Instrument]]:
        return ((s, i) for s, i in self.instruments.items() if i.settle == currency)

    def cash(self, currency: str) -> float:
        """Capital plus spot cash flows plus perpetual PnL, all in `currency`."""
        total = self.capital.get(currency, 0.0)
        for symbol, inst in self._symbols(currency):
            if inst.is_perp:
                price = self.prices.last_price(symbol)
                if math.isfinite(price):
                    total += self.portfolio.account_equity(symbol, price)
            else:
                total += self.portfolio.account_equity(symbol, 0.0)  # cash alone: the holding is not cash
        return total

    def equity(self, currency: str, symbol: str = "", price: float = math.nan) -> float:
        """Capital plus every symbol's PnL at the last prices, in `currency` (`symbol` at `price`
        when given: a fill's check values its own symbol at the fill's price)."""
        total = self.capital.get(currency, 0.0)
        symbols = self._in_currency.get(currency)
        if symbols is None:
            symbols = self._in_currency[currency] = [s for s, _i in self._symbols(currency)]
        for s in symbols:
            px = price if s == symbol else self.prices.last_price(s)
            if math.isfinite(px):
                total += self.portfolio.account_equity(s, px)
        return total

    def spot_buy(self, cmd: SubmitOrder) -> bool:
        """Whether `cmd` buys a spot symbol (and so spends cash)."""
        inst = self.instruments.get(cmd.symbol)
        return cmd.side is Side.BUY and inst is not None and not inst.is_perp

    def reserve(self, client_id: str, price: float) -> None:
        """Remember the price a market spot buy reserved its cash at."""
        self._reserve_px[client_id] = price

    def release(self, client_id: str) -> None:
        """The order is closed: it reserves nothing any more."""
        self._reserve_px.pop(client_id, None)

    def reserved(self, currency: str, open_orders: Iterable[Order]) -> float:
        """Cash reserved by the open spot buys of `currency`: remaining size x limit (or reserved) price."""
        total = 0.0
        for o in open_orders:
            inst = self.instruments.get(o.symbol)
            if o.side is Side.BUY and inst is not None and not inst.is_perp and inst.settle == currency:
                price = o.price if math.isfinite(o.price) else self._reserve_px.get(o.client_id, math.nan)
                if math.isfinite(price):
                    total += o.remaining * price
        return total
