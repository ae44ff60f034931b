"""The live feed's configuration: OKX's URLs, what to subscribe, and every timer."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.model.errors import UserError
from engine.venues.okx.channels import BUSINESS_PATH, PUBLIC_PATH, serves
from engine.venues.okx.formats import inst_id

OKX_PUBLIC_URL = "wss://ws.okx.com:8443/ws/v5/public"
OKX_BUSINESS_URL = "wss://ws.okx.com:8443/ws/v5/business"
OKX_REST_URL = "https://www.okx.com"
REST_URL_ENV = "OKXBOT_OKX_REST_URL"  # the same variable as `okxbot data download` reads (commands.data_download)
# OKX takes at most 64 KB of args per request; 50 args stay far below it.
ARGS_PER_REQUEST = 50


@dataclass(frozen=True, slots=True)
class Subscription:
    """One OKX channel of one symbol (a ccxt symbol; the feed sends its instId)."""

    channel: str
    symbol: str

    @property
    def arg(self) -> dict[str, str]:
        return {"channel": self.channel, "instId": inst_id(self.symbol)}

    @property
    def business(self) -> bool:
        """On OKX's /business endpoint (trades-all, candles) rather than /public."""
        return serves(BUSINESS_PATH, self.channel)


def subscriptions(channels: Iterable[str], symbols: Iterable[str]) -> tuple[Subscription, ...]:
    """Every channel of every symbol; a channel neither endpoint serves is a UserError."""
    symbols = tuple(symbols)
    subs = []
    for channel in channels:
        if not (serves(PUBLIC_PATH, channel) or serves(BUSINESS_PATH, channel)):
            raise UserError(f"channel {channel!r} is not an OKX market-data channel")
        subs += [Subscription(channel, symbol) for symbol in symbols]
    return tuple(subs)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """Where the feed connects and its timers, in seconds (OKX drops a silent connection at 30 s).

    `ping_after`: silence before sending `ping`; `pong_timeout`: wait for an answer before the
    connection counts as dead; reconnects wait a random time in [0, min(`backoff_cap`,
    `backoff_base` x 2^attempt)] (full jitter), `seed` makes it repeatable. Once a connection
    has been down `fallback_after` seconds, `rest_url` is polled every `poll_every` seconds
    (`engine.live.poller`), catching up on missed trades through at most `history_pages` pages of
    OKX's trade history per symbol and poll.
    """

    subscriptions: tuple[Subscription, ...] = ()
    public_url: str = OKX_PUBLIC_URL
    business_url: str = OKX_BUSINESS_URL
    ping_after: float = 20.0
    pong_timeout: float = 5.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    open_timeout: float = 10.0
    seed: int | None = None
    verify_checksum: bool = True
    rest_url: str = OKX_REST_URL
    fallback_after: float = 10.0
    poll_every: float = 2.0
    history_pages: int = 10

    def __post_init__(self) -> None:
        for name in ("public_url", "business_url"):
            if not getattr(self, name).startswith(("ws://", "wss://")):
                raise UserError(f"{name} {getattr(self, name)!r} must start with ws:// or wss://")
        if not 0 < self.ping_after < 30:
            raise UserError(f"ping_after {self.ping_after} s must be above 0 and below OKX's 30 s idle drop")
        if not self.rest_url.startswith(("http://", "https://")):
            raise UserError(f"rest_url {self.rest_url!r} must start with http:// or https://")
        for name in ("pong_timeout", "backoff_base", "backoff_cap", "open_timeout", "fallback_after", "poll_every"):
            if not getattr(self, name) > 0:
                raise UserError(f"{name} must be above 0, not {getattr(self, name)}")
        if self.history_pages < 0:
            raise UserError(f"history_pages must be 0 or more, not {self.history_pages}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **values: Any) -> FeedConfig:
        """A config whose URLs come from `OKXBOT_OKX_WS_URL` (the public one) and
        `OKXBOT_OKX_WS_BUSINESS_URL` when set; a public URL ending in /public gives the business
        URL too; the REST URL from `OKXBOT_OKX_REST_URL`. Keyword values win over all."""
        env = os.environ if env is None else env
        config = cls(**values)
        public = env.get("OKXBOT_OKX_WS_URL")
        if public and "public_url" not in values:
            config = replace(config, public_url=public)
            if public.endswith("/public") and "business_url" not in values:
                config = replace(config, business_url=public.removesuffix("/public") + "/business")
        business = env.get("OKXBOT_OKX_WS_BUSINESS_URL")
        if business and "business_url" not in values:
            config = replace(config, business_url=business)
        rest = env.get(REST_URL_ENV)
        if rest and "rest_url" not in values:
            config = replace(config, rest_url=rest.rstrip("/"))
        return config
