"""OKX's public market data over WebSocket, kept alive: `OkxFeed(config, on_event).run()`.

One connection to /public and one to /business (trades-all, candles) carry every subscription,
sent in batches. Each message is read by `PushReader` (a malformed one is counted and logged, never
fatal) and its events handed to `on_event`; a trade whose numeric id is not above the last one of
its symbol is a repeat after a reconnect and is dropped. After `ping_after` seconds of silence the
feed sends `ping`; no answer within `pong_timeout` and the connection is given up. A lost connection
is retried after a random wait in [0, min(cap, base x 2^attempt)] (full jitter), then everything is
subscribed again; OKX's 64008 notice (service upgrade) reconnects at once. A `books` sequence break
or checksum failure resubscribes that book (unsubscribe and subscribe: a fresh snapshot). Every
outage is reported to `on_gap` as a `Gap` per subscription (local receive times).

A connection down longer than `fallback_after` is covered by REST polling (`engine.live.poller`):
trades and quotes arrive as the same events, through the same repeat check, so nothing is doubled
or lost when either path takes over from the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from engine.live.config import ARGS_PER_REQUEST, FeedConfig, Subscription
from engine.model.events import Trade
from engine.venues.okx.formats import Contract, symbol_of
from engine.venues.okx.pushes import Event, Kind
from engine.venues.okx.reader import PushReader, Read

if TYPE_CHECKING:
    from engine.live.poller import RestPoller

log = logging.getLogger("okxbot.live")
TRADE_CHANNELS = frozenset({"trades", "trades-all"})


@dataclass(frozen=True, slots=True)
class Gap:
    """Market data missed: from `ts_event` to `ts_end` (ns), `reason` disconnect, sequence_break,
    polling fallback (local times) or history cap (the times of the trades either side)."""

    symbol: str
    channel: str
    ts_event: int
    ts_end: int
    reason: str


@dataclass(slots=True)
class FeedStats:
    """Counters of a feed's life, for tests and metrics (malformed messages: `OkxFeed.malformed`)."""

    connects: int = 0
    reconnects: int = 0
    messages: int = 0
    acks: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # "code msg" of error events
    pings: int = 0
    pongs: int = 0
    pong_timeouts: int = 0
    notices: int = 0
    book_resubscribes: int = 0
    duplicates: int = 0
    polls: int = 0  # REST requests of the fallback, history pages included
    history_pages: int = 0
    poll_errors: Counter[str] = field(default_factory=Counter)
    delays: deque[float] = field(default_factory=lambda: deque(maxlen=100))  # the last reconnect waits


class OkxFeed:
    """The client; `run()` until `stop()`. `on_gap` receives the outages."""

    def __init__(self, config: FeedConfig, on_event: Callable[[Event], None],
                 on_gap: Callable[[Gap], None] | None = None, contracts: Mapping[str, Contract] | None = None) -> None:
        self.config = config
        self.on_event = on_event
        self.on_gap = on_gap or (lambda _gap: None)
        self.reader = PushReader(contracts, config.verify_checksum)
        self.stats = FeedStats()
        self.rng = random.Random(config.seed)
        self._last_trade: dict[str, tuple[int, int]] = {}  # symbol -> (numeric id, ts_event)
        self._stopped = asyncio.Event()
        self.links: list[_Link] = []
        self.poller: RestPoller | None = None

    @property
    def malformed(self) -> Counter[tuple[str, str]]:
        """Malformed messages by (channel, reason)."""
        return self.reader.stats.malformed

    async def run(self) -> None:
        """Connect, subscribe and deliver until `stop()`."""
        business = tuple(s for s in self.config.subscriptions if s.business)
        public = tuple(s for s in self.config.subscriptions if not s.business)
        from engine.live.poller import RestPoller  # it reads the feed: imported here, not at the top

        self.links = [_Link(self, url, subs) for url, subs in ((self.config.public_url, public),
                                                                 (self.config.business_url, business)) if subs]
        tasks = [asyncio.create_task(link.run()) for link in self.links]
        self.poller = RestPoller(self)
        tasks.append(asyncio.create_task(self.poller.run()))
        try:
            await self._stopped.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for link in self.links:
                link._outage_over()  # an outage still open at stop ends at stop time
                for gap in link.pending.values():  # outages no trade came after to decide: still gaps
                    self.on_gap(gap)
                link.pending.clear()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """End `run()`; its connections are closed."""
        self._stopped.set()

    def last_trade(self, symbol: str) -> tuple[int, int] | None:
        """The numeric id and ts_event of the symbol's last trade handed on, if any."""
        return self._last_trade.get(symbol)

    def deliver(self, event: Event) -> None:
        """Hand an event on, dropping a trade seen before (by its numeric id, per symbol), whichever
        path (WebSocket or REST) brought it."""
        if isinstance(event, Trade) and event.trade_id.isdigit():
            number = int(event.trade_id)
            if number <= self._last_trade.get(event.symbol, (-1, 0))[0]:
                self.stats.duplicates += 1
                return
            self._last_trade[event.symbol] = (number, event.ts_event)
        self.on_event(event)


class _Link:
    """One endpoint's connection, reconnected for as long as the feed runs."""

    def __init__(self, feed: OkxFeed, url: str, subs: Sequence[Subscription]) -> None:
        self.feed = feed
        self.url = url
        self.subs = subs
        self.request_id = 0
        self.ever_connected = False
        self.down_since: int | None = None
        self.polled_at: int | None = None  # the last REST poll of this outage (local ns)
        self.pending: dict[str, Gap] = {}  # symbol -> its trades' outage, until a backfill covers it
        self.broken: dict[str, int] = {}  # instId of a stale book -> when it broke

    async def run(self) -> None:
        config, stats = self.feed.config, self.feed.stats
        attempt = 0
        while not self.feed.stopped:
            early = False
            try:
                async with connect(self.url, open_timeout=config.open_timeout, ping_interval=None,
                                   close_timeout=config.pong_timeout, max_size=None) as ws:
                    stats.connects += 1
                    stats.reconnects += self.ever_connected
                    self.ever_connected = True
                    attempt = 0
                    await self._send(ws, "subscribe", [s.arg for s in self.subs])
                    self._outage_over()
                    early = await self._pump(ws)
            except (OSError, TimeoutError, WebSocketException) as exc:
                log.info("okx feed: %s: %s", self.url, exc or type(exc).__name__)
            if self.down_since is None and self.ever_connected:  # no gap before the first connection
                self.down_since = time.time_ns()
            delay = 0.0 if early else self.feed.rng.uniform(0, min(config.backoff_cap,
                                                                    config.backoff_base * 2 ** attempt))
            attempt += not early
            stats.delays.append(delay)
            log.info("okx feed: %s: reconnecting in %.2f s", self.url, delay)
            await asyncio.sleep(delay)

    def _outage_over(self) -> None:
        if self.down_since is None:
            return
        now = time.time_ns()
        for sub in self.subs:
            if sub.channel in TRADE_CHANNELS:  # the first trade pushed decides: backfilled, or a gap
                earlier = self.pending.get(sub.symbol)  # an outage before with no trade since
                start = earlier.ts_event if earlier else self.polled_at or self.down_since
                self.pending[sub.symbol] = Gap(sub.symbol, sub.channel, start, now,
                                               "disconnect" if self.polled_at is None else "polling fallback")
            elif self.polled_at is None:
                self.feed.on_gap(Gap(sub.symbol, sub.channel, self.down_since, now, "disconnect"))
            else:  # polling caught trades up to its last poll; other channels it only sampled
                start = self.polled_at if sub.channel in TRADE_CHANNELS else self.down_since
                self.feed.on_gap(Gap(sub.symbol, sub.channel, start, now, "polling fallback"))
        self.down_since = self.polled_at = None
        self.broken.clear()

    async def _send(self, ws: ClientConnection, op: str, args: list[dict[str, str]]) -> None:
        for start in range(0, len(args), ARGS_PER_REQUEST):
            self.request_id += 1
            await ws.send(json.dumps({"id": str(self.request_id), "op": op,
                                      "args": args[start:start + ARGS_PER_REQUEST]}))

    async def _pump(self, ws: ClientConnection) -> bool:
        """Read until the connection fails (False) or OKX announces an upgrade (True)."""
        config, stats = self.feed.config, self.feed.stats
        while True:
            message = await _recv(ws, config.ping_after)
            if message is None:
                stats.pings += 1
                await ws.send("ping")
                message = await _recv(ws, config.pong_timeout)
                if message is None:
                    stats.pong_timeouts += 1
                    log.warning("okx feed: %s: no pong within %.2f s; reconnecting", self.url, config.pong_timeout)
                    return False
            if await self._handle(ws, message):
                return True

    async def _handle(self, ws: ClientConnection, message: str | bytes) -> bool:
        """Read one message; True when it is the 64008 notice."""
        stats, now = self.feed.stats, time.time_ns()
        stats.messages += 1
        read = self.feed.reader.read(message, now)
        kind = read.push.kind
        if kind is Kind.PONG:
            stats.pongs += 1
        elif kind is Kind.ACK:
            stats.acks += 1
        elif kind is Kind.ERROR:
            stats.errors[read.push.reason] += 1
        elif kind is Kind.EVENT and _is_upgrade_notice(message):
            stats.notices += 1
            log.warning("okx feed: %s: service upgrade notice (64008); reconnecting now", self.url)
            return True
        for event in read.events:
            if isinstance(event, Trade) and event.symbol in self.pending:
                await self._backfill(event, self.pending.pop(event.symbol))
            self.feed.deliver(event)
        self._book_snapshots(read, now)
        if read.resubscribe:
            await self._resubscribe(ws, read.resubscribe, now)
        return False

    async def _backfill(self, first: Trade, outage: Gap) -> None:
        """Fetch what the outage hid before `first` is handed on; the outage is a gap if that fails."""
        poller = self.feed.poller
        sub = Subscription(outage.channel, outage.symbol)
        if poller is None or not await poller.backfill(sub, first):
            self.feed.on_gap(outage)

    def _book_snapshots(self, read: Read, now: int) -> None:
        for update in read.push.books:
            if read.push.channel == "books" and update.snapshot and update.inst_id in self.broken:
                since = self.broken.pop(update.inst_id)
                self.feed.on_gap(Gap(symbol_of(update.inst_id), "books", since, now, "sequence_break"))

    async def _resubscribe(self, ws: ClientConnection, books: Sequence[tuple[str, str]], now: int) -> None:
        args = [{"channel": channel, "instId": inst} for channel, inst in books]
        for _, inst in books:
            self.broken.setdefault(inst, now)
        self.feed.stats.book_resubscribes += len(args)
        await self._send(ws, "unsubscribe", args)
        await self._send(ws, "subscribe", args)


async def _recv(ws: ClientConnection, seconds: float) -> str | bytes | None:
    """The next message, or None after `seconds` of silence. `asyncio.timeout`, not `wait_for`:
    Python 3.11's `wait_for` can swallow a cancellation that races the message, and `stop()` with it."""
    try:
        async with asyncio.timeout(seconds):
            return await ws.recv()
    except TimeoutError:
        return None


def _is_upgrade_notice(message: str | bytes) -> bool:
    with contextlib.suppress(ValueError):
        decoded: Any = json.loads(message)
        return isinstance(decoded, dict) and decoded.get("event") == "notice" and decoded.get("code") == "64008"
    return False
