"""The REST fallback against the OKX simulator: its WebSocket side refusing reconnects for a while,
its REST side (over the same lake) polled by ccxt, over loopback; timers a tenth of real or less."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import ccxt.async_support  # noqa: F401  # loaded before the feeds start: the poller's import is then instant

from engine.live.config import Subscription
from engine.live.feed import Gap, OkxFeed
from engine.live.tape import tape_from_lake
from engine.model.events import Quote, Trade
from engine.venues.okx.sim_rest import SimRest
from engine.venues.okx.sim_ws import OkxWsSim, SimConfig
from tests.engine.live_factory import feed_config, run, trade_lake, until

BTC = "BTC/USDT"
SUBS = (Subscription("trades-all", BTC), Subscription("tickers", BTC))
N = 1000  # ids 1000..1999: the newest 500 and five history pages reach back to the first 30
FAST = {"fallback_after": 0.1, "poll_every": 0.05}


class Sink:
    def __init__(self) -> None:
        self.trades: list[Trade] = []
        self.quotes: list[Quote] = []
        self.gaps: list[Gap] = []

    def event(self, event: object) -> None:
        if isinstance(event, Trade):
            self.trades.append(event)
        elif isinstance(event, Quote):
            self.quotes.append(event)


def _outage(tmp_path: Path, sink: Sink, refuse: float, **settings: float) -> OkxFeed:
    """Trades over the socket, then every connection cut and refused for `refuse` seconds."""
    lake = trade_lake(tmp_path, BTC, n=N)
    rest = SimRest(lake, [BTC])

    async def body() -> OkxFeed:
        async with OkxWsSim(SimConfig(speed=4), tape_from_lake(lake, [BTC])) as sim:
            config = feed_config(sim, SUBS, **FAST, **settings)
            feed = OkxFeed(replace(config, rest_url=rest.url), sink.event, sink.gaps.append)
            task = asyncio.create_task(feed.run())
            await until(lambda: len(sink.trades) >= 30, what="30 trades over the socket")
            sim.refuse_connections(refuse)
            sim.drop_all()
            await until(lambda: feed.stats.polls > 0, what="the first poll")
            await until(lambda: feed.stats.reconnects == 2, timeout=5.0, what="both sockets back")
            await until(lambda: sink.trades[-1].trade_id == "1999", what="the newest trade")
            await asyncio.sleep(FAST["poll_every"])  # a poll under way when the sockets came back ends
            polls = feed.stats.polls
            await asyncio.sleep(4 * FAST["poll_every"])
            assert feed.stats.polls == polls, "polling goes on with the socket back"
            assert sim.refused > 0
            feed.stop()
            await task
            return feed

    with rest:
        return run(body(), timeout=15.0)


def _lake_ids() -> list[str]:
    return [str(1000 + i) for i in range(N)]


def test_poller_covers_outage_every_trade_once(tmp_path: Path) -> None:
    sink = Sink()
    feed = _outage(tmp_path, sink, refuse=2.0)
    assert [t.trade_id for t in sink.trades] == _lake_ids()
    assert feed.stats.history_pages == 5 and feed.stats.duplicates > 0 and not feed.stats.poll_errors
    polled = next(t for t in sink.trades if t.trade_id == "1999")
    assert (polled.price, polled.size, polled.side) == (100.0 + 0.5 * 999, 0.25 + 0.01 * (999 % 7), 1)
    assert sink.quotes and sink.quotes[0].symbol == BTC  # the ticker, polled
    # Trades: polled up to the last poll, and the socket's replay overlaps them, so no gap.
    # Quotes: only sampled while polling, so the outage is a gap.
    (gap,) = sink.gaps
    assert (gap.channel, gap.reason) == ("tickers", "polling fallback") and gap.ts_event < gap.ts_end


def test_poller_history_cap_marks_unseen_trades(tmp_path: Path) -> None:
    sink = Sink()
    _outage(tmp_path, sink, refuse=1.5, history_pages=2)
    ids = [int(t.trade_id) for t in sink.trades]
    assert ids == sorted(set(ids)) and ids[-1] == 1999
    seen_before = [i for i in ids if i < 1300]
    assert ids == seen_before + list(range(1300, 2000))  # 500 newest and two pages of 100
    (gap,) = [g for g in sink.gaps if g.reason == "history cap"]
    before = next(t for t in sink.trades if int(t.trade_id) == seen_before[-1])
    after = next(t for t in sink.trades if t.trade_id == "1300")
    assert (gap.symbol, gap.channel, gap.ts_event, gap.ts_end) == (BTC, "trades-all", before.ts_event,
                                                                   after.ts_event)


def _short_outage(tmp_path: Path, sink: Sink, **settings: float) -> OkxFeed:
    """A live sim (a reconnect hears only new trades), cut and refused briefly: no polling."""
    lake = trade_lake(tmp_path, BTC, n=N)
    rest = SimRest(lake, [BTC])

    async def body() -> OkxFeed:
        async with OkxWsSim(SimConfig(speed=4, live=True), tape_from_lake(lake, [BTC])) as sim:
            config = feed_config(sim, SUBS[:1], fallback_after=10.0, **settings)
            feed = OkxFeed(replace(config, rest_url=rest.url), sink.event, sink.gaps.append)
            task = asyncio.create_task(feed.run())
            await until(lambda: len(sink.trades) >= 30, what="30 trades over the socket")
            sim.refuse_connections(0.3)
            sim.drop_all()
            await until(lambda: feed.stats.reconnects == 1, timeout=5.0, what="the socket back")
            await until(lambda: sink.trades[-1].trade_id == "1999", what="the last trade")
            feed.stop()
            await task
            return feed

    with rest:
        return run(body(), timeout=15.0)


def test_reconnect_backfills_from_history_every_trade_once(tmp_path: Path) -> None:
    sink = Sink()
    feed = _short_outage(tmp_path, sink)
    ids = [int(t.trade_id) for t in sink.trades]  # from the first trade after subscribing
    assert ids == list(range(ids[0], 2000))
    assert feed.stats.history_pages >= 1 and sink.gaps == [] and feed.stats.polls == feed.stats.history_pages


def test_reconnect_backfill_history_cap_is_a_gap(tmp_path: Path) -> None:
    sink = Sink()
    feed = _short_outage(tmp_path, sink, history_pages=1)
    ids = [int(t.trade_id) for t in sink.trades]
    assert ids == sorted(set(ids)) and feed.stats.history_pages == 1
    (gap,) = sink.gaps
    hole = [i for i in range(ids[0], 2000) if i not in set(ids)]
    assert gap.reason == "history cap" and hole and hole == list(range(hole[0], hole[-1] + 1))
    before, after = (next(t for t in sink.trades if int(t.trade_id) == i) for i in (hole[0] - 1, hole[-1] + 1))
    assert (gap.ts_event, gap.ts_end) == (before.ts_event, after.ts_event)


def test_outage_without_trade_after_is_still_a_gap_at_stop() -> None:
    sink = Sink()

    async def body() -> None:
        async with OkxWsSim() as sim:  # no tape: the trades channel stays quiet
            feed = OkxFeed(feed_config(sim, SUBS[:1]), sink.event, sink.gaps.append)
            task = asyncio.create_task(feed.run())
            await until(lambda: feed.stats.acks == 1, what="the ack")
            sim.drop_all()
            await until(lambda: feed.stats.acks == 2, what="the ack after reconnecting")
            assert sink.gaps == []  # undecided until a trade comes
            feed.stop()
            await task

    run(body())
    (gap,) = sink.gaps
    assert (gap.symbol, gap.channel, gap.reason) == (BTC, "trades-all", "disconnect")


def test_rest_refusing_counts_poll_errors_and_polling_goes_on(tmp_path: Path) -> None:
    sink = Sink()
    eth = "ETH/USDT"
    rest = SimRest(trade_lake(tmp_path / "eth", eth, n=5), [eth])  # knows no BTC-USDT: OKX's 51001

    async def body() -> OkxFeed:
        async with OkxWsSim(SimConfig(speed=4), tape_from_lake(trade_lake(tmp_path, BTC, n=N), [BTC])) as sim:
            config = feed_config(sim, SUBS[:1], **FAST)
            feed = OkxFeed(replace(config, rest_url=rest.url), sink.event, sink.gaps.append)
            task = asyncio.create_task(feed.run())
            await until(lambda: len(sink.trades) >= 30, what="30 trades over the socket")
            sim.refuse_connections(0.5)
            sim.drop_all()
            await until(lambda: sum(feed.stats.poll_errors.values()) >= 2, what="two failed polls")
            await until(lambda: feed.stats.reconnects == 1, timeout=5.0, what="the socket back")
            await until(lambda: len(sink.trades) == N, what="every trade, replayed")
            feed.stop()
            await task
            return feed

    with rest:
        feed = run(body(), timeout=15.0)
    assert set(feed.stats.poll_errors) <= {"BadSymbol", "ExchangeError", "BadRequest"}
    assert [t.trade_id for t in sink.trades] == _lake_ids() and sink.gaps == []
