"""OKX over REST: pure parsers of its public market data and a ccxt client with retries.

Inside this package OKX's own terms are used (`instId` such as `ETH-USDT-SWAP`, sizes in
contracts); everything handed back to the engine is in ccxt symbols and base-currency sizes.
`fake_rest` holds a local fake of the REST endpoints for tests. ccxt is imported only when a
client is built, so importing the parsers stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from engine.errors import UserError
from engine.store.schema import BARS, TRADES
from engine.types import NS_PER_MS, parse_symbol

__all__ = [
    "OKX_BARS",
    "Contract",
    "OkxRest",
    "RetryPolicy",
    "market_type",
    "parse_candles",
    "parse_trades",
]

# OKX's bar names; 6h and longer in their UTC flavour (the plain ones open on Hong Kong time).
OKX_BARS = {
    "1s": "1s",
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1H",
    "2h": "2H",
    "4h": "4H",
    "6h": "6Hutc",
    "12h": "12Hutc",
    "1d": "1Dutc",
}
_SIDES = {"buy": 1, "sell": -1}


@dataclass(frozen=True, slots=True)
class Contract:
    """What turning OKX sizes into base currency needs: size = contracts x `contract_size`,
    divided by the price for inverse contracts; spot sizes are in base already."""

    inst_id: str
    spot: bool
    contract_size: Decimal = Decimal(1)
    inverse: bool = False


def market_type(symbol: str) -> str:
    """ccxt market type of a unified symbol: spot, swap or future (options are not supported)."""
    _, _, settle = parse_symbol(symbol)
    if not settle:
        return "spot"
    dashes = settle.count("-")
    if dashes > 1:
        raise UserError(f"symbol {symbol!r} is an option; only spot, swap and future are supported")
    return "future" if dashes else "swap"


def parse_trades(rows: list[dict[str, str]], contract: Contract) -> pa.Table:
    """OKX public trades (any order) -> a TRADES table with base-currency sizes, ts_recv null."""
    return pa.Table.from_arrays(
        [
            pa.array([int(r["ts"]) * NS_PER_MS for r in rows], pa.int64()),
            pa.nulls(len(rows), pa.int64()),
            pa.array([r["tradeId"] for r in rows], pa.string()),
            pa.array([float(r["px"]) for r in rows], pa.float64()),
            pa.array([_base_size(r["sz"], r["px"], contract) for r in rows], pa.float64()),
            pa.array([_SIDES[r["side"]] for r in rows], pa.int8()),
        ],
        schema=TRADES,
    )


def _base_size(sz: str, px: str, contract: Contract) -> float:
    if contract.spot:
        return float(sz)
    size = Decimal(sz) * contract.contract_size  # exact: 3 x 0.1 is 0.3, not 0.30000000000000004
    return float(size / Decimal(px) if contract.inverse else size)


def parse_candles(rows: list[list[str]], interval: str, spot: bool) -> pa.Table:
    """OKX candles -> a BARS table of the completed ones (confirm = 1). Volume in base currency:
    OKX's `vol` for spot, `volCcy` for derivatives (whose `vol` counts contracts)."""
    done = [r for r in rows if len(r) < 9 or r[8] == "1"]
    vol = 5 if spot else 6
    columns = [pa.array([int(r[0]) * NS_PER_MS for r in done], pa.int64())]
    columns += [pa.array([float(r[i]) for r in done], pa.float64()) for i in (1, 2, 3, 4, vol)]
    columns.append(pa.array([interval] * len(done), pa.string()))
    return pa.Table.from_arrays(columns, schema=BARS)


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
