"""Live market data: OKX's WebSocket feed (`feed`), its configuration, and the simulator's tape from the lake."""

from engine.live.config import FeedConfig, Subscription, subscriptions
from engine.live.feed import FeedStats, Gap, OkxFeed

__all__ = ["FeedConfig", "FeedStats", "Gap", "OkxFeed", "Subscription", "subscriptions"]
