"""Which OKX endpoint serves which channel."""

from __future__ import annotations

from engine.venues.okx.channels import BUSINESS_PATH, PUBLIC_PATH, serves


def test_serves_candles_and_trades_all_on_business_only() -> None:
    assert serves(BUSINESS_PATH, "candle1m") and serves(BUSINESS_PATH, "trades-all")
    assert not serves(PUBLIC_PATH, "candle1m") and not serves(PUBLIC_PATH, "trades-all")
    assert serves(PUBLIC_PATH, "books") and not serves(BUSINESS_PATH, "books")
