"""OKX's v5 WebSocket endpoints and which market-data channels each serves (pure data)."""

from __future__ import annotations

PUBLIC_PATH = "/ws/v5/public"
BUSINESS_PATH = "/ws/v5/business"
PUBLIC_CHANNELS = frozenset({"tickers", "trades", "books", "books5", "bbo-tbt", "funding-rate", "mark-price"})
BUSINESS_CHANNELS = frozenset({"trades-all"})


def serves(path: str, channel: str) -> bool:
    """Whether OKX serves `channel` on `path` (candles and trades-all on business only)."""
    if path == PUBLIC_PATH:
        return channel in PUBLIC_CHANNELS
    if path == BUSINESS_PATH:
        return channel in BUSINESS_CHANNELS or channel.startswith(("candle", "mark-price-candle"))
    return False
