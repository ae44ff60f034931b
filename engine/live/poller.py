"""The feed's REST fallback: while a connection has been down `fallback_after` seconds, poll OKX.

Every `poll_every` seconds, for each subscription of a connection down that long: `trades` and
`trades-all` ask `/market/trades` for the newest 500 trades; when that page does not reach back to
the last trade the feed handed on, `/market/history-trades` is paged by trade id (`type=1`,
`after` the oldest id so far) until it does, at most `history_pages` pages. What is still unseen
is a `Gap` with reason `history cap`, from the last trade's time to the oldest recovered one's.
`tickers` asks `/market/ticker`. OKX's rows are read as the WebSocket pushes they resemble, so the
events are the same (base units, ccxt symbols, ts_event from OKX, ts_recv local), and every trade
goes through `OkxFeed.deliver`, whose per-symbol last id both paths share. Other channels are not
polled; the feed marks their outage `polling fallback`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from engine.live.config import Subscription
from engine.live.feed import TRADE_CHANNELS, Gap
from engine.model.events import Trade
from engine.venues.okx.formats import inst_id

if TYPE_CHECKING:
    from engine.live.feed import OkxFeed, _Link

log = logging.getLogger("okxbot.live")
NEWEST_TRADES = 500  # OKX's most for /market/trades
HISTORY_PAGE = 100  # and for /market/history-trades
Row = dict[str, Any]


class RestPoller:
    """Polls OKX's REST API for the subscriptions of a feed's connections that stay down."""

    def __init__(self, feed: OkxFeed) -> None:
        self.feed = feed
        self.config = feed.config
        self._quote_ts: dict[str, str] = {}  # instId -> ts of the last polled ticker
        self.client: Any = None  # ccxt's async okx, once built

    async def run(self) -> None:
        """Poll until cancelled. ccxt is imported and its client built in a thread, at once: the
        import takes about a second, which would stall the sockets were it done on the loop."""
        client = self.client = await asyncio.to_thread(_client, self.config.rest_url)
        try:
            while True:
                await asyncio.sleep(self.config.poll_every)
                now = time.time_ns()
                for link in self.feed.links:
                    if _down_for(link, now) >= self.config.fallback_after:
                        await self._poll(client, link)
        finally:
            self.client = None
            await client.close()

    async def _poll(self, client: Any, link: _Link) -> None:
        import ccxt.async_support as ccxt  # imported by now

        log.debug("okx feed: %s down; polling %s", link.url, self.config.rest_url)
        ok = True
        for sub in link.subs:
            try:
                if sub.channel in TRADE_CHANNELS:
                    await self._trades(client, sub)
                elif sub.channel == "tickers":
                    await self._ticker(client, sub)
            except (ccxt.BaseError, ValueError, KeyError) as exc:  # a failing or odd answer: poll again later
                ok = False
                self.feed.stats.poll_errors[type(exc).__name__] += 1
                log.warning("okx feed: REST poll of %s %s failed: %s", sub.channel, sub.symbol, exc)
        if ok and link.down_since is not None:  # still down: the outage's trades are caught up to now
            link.polled_at = time.time_ns()
        log.debug("okx feed: polled %s: %s", link.url, "caught up" if ok else "failed")

    async def _trades(self, client: Any, sub: Subscription) -> None:
        inst = inst_id(sub.symbol)
        rows = await self._get(client.publicGetMarketTrades, {"instId": inst, "limit": str(NEWEST_TRADES)})
        await self._catch_up(client, sub, rows, None)

    async def backfill(self, sub: Subscription, first: Trade) -> bool:
        """Hand on the trades between the symbol's last one and `first`, the first pushed after a
        reconnect; False when that could not be tried (the outage then stays a gap)."""
        last = self.feed.last_trade(sub.symbol)
        if last is None or not first.trade_id.isdigit():
            return False
        if int(first.trade_id) <= last[0]:
            return True  # the socket repeats what was seen: nothing missed (whether or not REST is ready)
        if self.client is None:
            return False
        import ccxt.async_support as ccxt

        try:
            await self._catch_up(self.client, sub, [], first)
        except (ccxt.BaseError, ValueError, KeyError) as exc:
            self.feed.stats.poll_errors[type(exc).__name__] += 1
            log.warning("okx feed: backfill of %s failed: %s", sub.symbol, exc)
            return False
        return True

    async def _catch_up(self, client: Any, sub: Subscription, rows: list[Row], first: Trade | None) -> None:
        """Hand on `rows` (the newest trades, newest first) and, paging OKX's history back from the
        oldest of them (or from `first`), every trade after the last one seen, oldest first."""
        inst, last = inst_id(sub.symbol), self.feed.last_trade(sub.symbol)
        fresh = _after(rows, last)
        reached = last is None or (first is None and len(fresh) < len(rows)) or (first is None and not rows)
        cursor = fresh[-1]["tradeId"] if fresh else first.trade_id if first is not None else None
        pages = 0
        while not reached and cursor is not None and pages < self.config.history_pages:
            params = {"instId": inst, "type": "1", "after": cursor, "limit": str(HISTORY_PAGE)}
            older = await self._get(client.publicGetMarketHistoryTrades, params)
            pages += 1
            self.feed.stats.history_pages += 1
            newer_than_last = _after(older, last)
            fresh += newer_than_last
            reached = not older or len(newer_than_last) < len(older)
            cursor = older[-1]["tradeId"] if older else cursor
        if not reached and last is not None:
            end = int(fresh[-1]["ts"]) * 1_000_000 if fresh else first.ts_event if first is not None else last[1]
            self.feed.on_gap(Gap(sub.symbol, sub.channel, last[1], end, "history cap"))
        self._read(sub.channel, inst, fresh[::-1])

    async def _ticker(self, client: Any, sub: Subscription) -> None:
        inst = inst_id(sub.symbol)
        rows = await self._get(client.publicGetMarketTicker, {"instId": inst})
        if rows and str(rows[0].get("ts")) != self._quote_ts.get(inst):
            self._quote_ts[inst] = str(rows[0].get("ts"))
            self._read("tickers", inst, rows[:1])

    async def _get(self, endpoint: Any, params: dict[str, str]) -> list[Row]:
        self.feed.stats.polls += 1
        answer = await endpoint(params)
        data = answer.get("data") if isinstance(answer, dict) else None
        return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []

    def _read(self, channel: str, inst: str, rows: list[Row]) -> None:
        """Hand `rows` on as the push of `channel` they would have been (oldest first)."""
        if not rows:
            return
        read = self.feed.reader.read({"arg": {"channel": channel, "instId": inst}, "data": rows}, time.time_ns())
        for event in read.events:
            self.feed.deliver(event)


def _after(rows: list[Row], last: tuple[int, int] | None) -> list[Row]:
    """The rows (newest first) whose numeric trade id is above `last`'s; all of them without one."""
    if last is None:
        return list(rows)
    return [r for r in rows if str(r.get("tradeId", "")).isdigit() and int(r["tradeId"]) > last[0]]


def _down_for(link: _Link, now: int) -> float:
    return -1.0 if link.down_since is None else (now - link.down_since) / 1e9


def _client(rest_url: str) -> Any:
    import ccxt.async_support as ccxt

    return ccxt.okx({"enableRateLimit": True, "urls": {"api": {"rest": rest_url.rstrip("/")}}})
