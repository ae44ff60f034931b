"""OKX over REST: a ccxt client for public market data, with retries.

Inside this package OKX's own terms are used (`instId` such as `ETH-USDT-SWAP`, sizes in
contracts); the parsers of what it returns are in `engine.venues.okx.formats`. ccxt is
imported only when a client is built.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.model.errors import UserError
from engine.venues.okx.formats import Contract, market_type

__all__ = ["OkxRest", "RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: network failures and HTTP 5xx get `attempts` tries with doubling waits;
    rate limits (HTTP 429, OKX 50011) get `rate_limit_waits` waits that do not use them up."""

    attempts: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    rate_limit_waits: int = 30

    def delay(self, n: int) -> float:
        """Seconds to wait after the n-th consecutive failure."""
        return float(min(self.backoff_s * 2 ** (n - 1), self.max_backoff_s))


class OkxRest:
    """ccxt's OKX client for one symbol's public market data, with retries. No API key is set,
    so none can leak into a message."""

    def __init__(
        self,
        symbol: str,
        rest_url: str | None = None,
        retry: RetryPolicy | None = None,
        rate_limit_ms: float | None = None,
        timeout_ms: int = 10_000,
    ) -> None:
        import ccxt

        self.symbol, self.retry = symbol, retry or RetryPolicy()
        options: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": timeout_ms,
            # Only the symbol's own instrument type: one instruments request instead of five.
            "options": {"fetchMarkets": {"types": [market_type(symbol)]}},
        }
        if rest_url:
            options["urls"] = {"api": {"rest": rest_url.rstrip("/")}}
        if rate_limit_ms is not None:
            options["rateLimit"] = rate_limit_ms
        self.exchange = ccxt.okx(options)

    def call(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one request; retry network failures with backoff and wait out rate limits."""
        import ccxt

        failures = limited = 0
        while True:
            try:
                return fn()
            except ccxt.BadSymbol as exc:
                raise UserError(f"unknown symbol {self.symbol!r} on okx ({_brief(exc)})") from exc
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
                limited += 1
                if limited > self.retry.rate_limit_waits:
                    raise UserError(
                        f"okx {self.symbol}: {what} still rate-limited after "
                        f"{limited - 1} waits ({_brief(exc)})"
                    ) from exc
                time.sleep(self.retry.delay(limited))
            except ccxt.NetworkError as exc:
                failures += 1
                if failures >= self.retry.attempts:
                    raise UserError(
                        f"okx {self.symbol}: {what} failed after {failures} attempts ({_brief(exc)})"
                    ) from exc
                time.sleep(self.retry.delay(failures))
            except ccxt.BaseError as exc:
                raise UserError(f"okx {self.symbol}: {what} failed ({_brief(exc)})") from exc

    def contract(self) -> Contract:
        """Resolve the symbol through OKX's instruments endpoint."""
        markets = self.call("loading instruments", self.exchange.load_markets)
        market = markets.get(self.symbol)
        if market is None:
            raise UserError(
                f"unknown symbol {self.symbol!r} on okx: no such {market_type(self.symbol)} instrument"
            )
        spot = bool(market["spot"])
        size = Decimal(1) if spot else Decimal(str(market["contractSize"]))
        return Contract(str(market["id"]), spot, size, bool(market.get("inverse")))

    def history_trades(self, params: dict[str, str]) -> list[dict[str, str]]:
        """One page of `GET /api/v5/market/history-trades`, newest first."""
        fn = self.exchange.publicGetMarketHistoryTrades
        return list(self.call("fetching trades", lambda: fn(dict(params)))["data"])

    def history_candles(self, params: dict[str, str]) -> list[list[str]]:
        """One page of `GET /api/v5/market/history-candles`, newest first."""
        fn = self.exchange.publicGetMarketHistoryCandles
        return list(self.call("fetching candles", lambda: fn(dict(params)))["data"])


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"
