"""FeedConfig: URLs from the environment, timers checked, subscriptions routed to their endpoint."""

from __future__ import annotations

import pytest

from engine.live.config import OKX_BUSINESS_URL, FeedConfig, Subscription, subscriptions
from engine.model.errors import UserError


def test_from_env_public_url_gives_business_url() -> None:
    config = FeedConfig.from_env({"OKXBOT_OKX_WS_URL": "ws://127.0.0.1:9/ws/v5/public"})
    assert config.public_url == "ws://127.0.0.1:9/ws/v5/public"
    assert config.business_url == "ws://127.0.0.1:9/ws/v5/business"


def test_from_env_business_url_and_keywords_win() -> None:
    env = {"OKXBOT_OKX_WS_URL": "ws://a/ws/v5/public", "OKXBOT_OKX_WS_BUSINESS_URL": "ws://b/biz"}
    assert FeedConfig.from_env(env).business_url == "ws://b/biz"
    assert FeedConfig.from_env(env, public_url="ws://c/public").public_url == "ws://c/public"
    assert FeedConfig.from_env({}).business_url == OKX_BUSINESS_URL


@pytest.mark.parametrize("timers", [{"ping_after": 30.0}, {"ping_after": 0.0}, {"pong_timeout": 0.0},
                                    {"backoff_cap": -1.0}])
def test_timers_out_of_range_refused(timers: dict[str, float]) -> None:
    name = next(iter(timers))
    with pytest.raises(UserError, match=name):
        FeedConfig(**timers)  # type: ignore[arg-type]


def test_subscriptions_routed_and_unknown_channel_refused() -> None:
    subs = subscriptions(["trades-all", "tickers", "candle1m"], ["BTC/USDT", "ETH/USDT:USDT"])
    assert [s.business for s in subs] == [True, True, False, False, True, True]
    assert subs[3].arg == {"channel": "tickers", "instId": "ETH-USDT-SWAP"}
    with pytest.raises(UserError, match="'trade'"):
        subscriptions(["trade"], ["BTC/USDT"])
    assert Subscription("books", "BTC/USDT").business is False


def test_url_not_websocket_refused() -> None:
    with pytest.raises(UserError, match=r"public_url 'http:.* must start with ws://"):
        FeedConfig.from_env({"OKXBOT_OKX_WS_URL": "http://127.0.0.1:9/ws/v5/public"})


def test_from_env_rest_url_shared_with_data_download() -> None:
    assert FeedConfig.from_env({"OKXBOT_OKX_REST_URL": "http://127.0.0.1:9/"}).rest_url == "http://127.0.0.1:9"
    assert FeedConfig.from_env({}).rest_url == "https://www.okx.com"
    with pytest.raises(UserError, match=r"rest_url 'ws://x' must start with http:// or https://"):
        FeedConfig(rest_url="ws://x")


@pytest.mark.parametrize("fallback", [{"fallback_after": 0.0}, {"poll_every": -1.0}, {"history_pages": -1}])
def test_fallback_timers_out_of_range_refused(fallback: dict[str, float]) -> None:
    name = next(iter(fallback))
    with pytest.raises(UserError, match=f"^{name} must be"):
        FeedConfig(**fallback)  # type: ignore[arg-type]
