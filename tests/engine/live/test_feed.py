"""`OkxFeed` against the OKX simulator over real loopback sockets, timers at a tenth of OKX's or less."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

from engine.live.config import Subscription
from engine.live.feed import Gap, OkxFeed
from engine.live.tape import tape_from_lake
from engine.model.events import Quote, Trade
from engine.venues.okx.channels import BUSINESS_PATH, PUBLIC_PATH
from engine.venues.okx.pushes import Event
from engine.venues.okx.sim_ws import OkxWsSim, SimConfig, Tape
from tests.engine.live_factory import feed_config, run, tape, trade_lake, until

BTC = "BTC/USDT"
TRADES_ALL = (Subscription("trades-all", BTC),)


class Sink:
    """What a feed handed on."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.gaps: list[Gap] = []

    @property
    def trades(self) -> list[Trade]:
        return [e for e in self.events if isinstance(e, Trade)]

    @property
    def quotes(self) -> list[Quote]:
        return [e for e in self.events if isinstance(e, Quote)]


def _feed(sim: OkxWsSim, subs: tuple[Subscription, ...], sink: Sink, **timers: float) -> OkxFeed:
    return OkxFeed(feed_config(sim, subs, **timers), sink.events.append, sink.gaps.append)


def _lake_trades(tmp_path: Path, symbol: str = BTC) -> list[tuple[object, ...]]:
    rows = trade_lake(tmp_path / "again", symbol).read("trades", "okx", symbol).to_pylist()
    return [(r["ts_event"], r["trade_id"], r["price"], r["size"], r["side"]) for r in rows]


def _seen(trades: list[Trade]) -> list[tuple[object, ...]]:
    return [(t.ts_event, t.trade_id, t.price, t.size, t.side) for t in trades]


def test_feed_trades_equal_lake_rows(tmp_path: Path) -> None:
    sink = Sink()

    async def body() -> OkxFeed:
        async with OkxWsSim(SimConfig(speed=0), tape(tmp_path)) as sim:
            feed = _feed(sim, TRADES_ALL, sink)
            task = asyncio.create_task(feed.run())
            await until(lambda: len(sink.trades) == 200, what="200 trades")
            feed.stop()
            await task
            return feed

    feed = run(body())
    assert _seen(sink.trades) == _lake_trades(tmp_path)
    assert {t.symbol for t in sink.trades} == {BTC}
    assert feed.stats.acks == 1 and feed.stats.connects == 1 and sink.gaps == []


def test_feed_several_symbols_one_connection(tmp_path: Path) -> None:
    sink = Sink()
    eth = "ETH/USDT:USDT"
    both = tape_from_lake(trade_lake(tmp_path / "eth", eth, n=20), [eth])
    btc = tape(tmp_path, n=20)
    subs = (Subscription("trades-all", BTC), Subscription("trades-all", eth), Subscription("tickers", BTC))

    async def body() -> tuple[OkxFeed, OkxWsSim]:
        async with OkxWsSim(SimConfig(speed=0), Tape({**btc.trades, **both.trades})) as sim:
            feed = _feed(sim, subs, sink)
            task = asyncio.create_task(feed.run())
            await until(lambda: len(sink.trades) == 40, what="40 trades")
            feed.stop()
            await task
            return feed, sim

    feed, sim = run(body())
    assert {t.symbol for t in sink.trades} == {BTC, eth}
    assert feed.stats.connects == 2 and feed.stats.acks == 3  # one /business, one /public
    business = [json.loads(t) for t in sim.received if "trades-all" in t]
    assert len(business) == 1 and len(business[0]["args"]) == 2


def test_feed_swap_sizes_back_in_base_currency(tmp_path: Path) -> None:
    sink = Sink()
    swap = "BTC/USDT:USDT"

    async def body() -> None:
        async with OkxWsSim(SimConfig(speed=0), tape(tmp_path, swap)) as sim:
            feed = _feed(sim, (Subscription("trades-all", swap),), sink)
            task = asyncio.create_task(feed.run())
            await until(lambda: len(sink.trades) == 200, what="200 trades")
            feed.stop()
            await task

    run(body())
    assert _seen(sink.trades) == _lake_trades(tmp_path, swap)


def test_feed_unknown_instrument_error_counted_others_acked(tmp_path: Path) -> None:
    sink = Sink()
    subs = (Subscription("tickers", BTC), Subscription("tickers", "DOGE/USDT:USDT"))

    async def body() -> OkxFeed:
        async with OkxWsSim() as sim:
            feed = _feed(sim, subs, sink)
            task = asyncio.create_task(feed.run())
            await until(lambda: feed.stats.acks == 1 and sum(feed.stats.errors.values()) == 1, what="ack, error")
            feed.stop()
            await task
            return feed

    feed = run(body())
    (reason,) = feed.stats.errors
    assert reason.startswith("60018 Wrong URL or channel:tickers,instId:DOGE-USDT-SWAP")


def test_feed_pings_when_quiet_and_sim_keeps_it(tmp_path: Path) -> None:
    async def body() -> tuple[OkxFeed, OkxWsSim]:
        async with OkxWsSim(SimConfig(idle_timeout=0.3)) as sim:
            feed = _feed(sim, (Subscription("funding-rate", "BTC/USDT:USDT"),), Sink(), ping_after=0.1)
            task = asyncio.create_task(feed.run())
            await until(lambda: feed.stats.pongs >= 5, what="5 pongs")  # 0.5 s: past the sim's idle drop
            feed.stop()
            await task
            return feed, sim

    feed, sim = run(body())
    assert sim.received.count("ping") >= 5 and feed.stats.pings >= 5
    assert sim.idle_drops == 0 and feed.stats.connects == 1 and feed.stats.pong_timeouts == 0


def test_feed_no_pong_reconnects() -> None:
    async def body() -> OkxFeed:
        async with OkxWsSim(SimConfig(answer_pings=False)) as sim:
            feed = _feed(sim, (Subscription("tickers", BTC),), Sink(), ping_after=0.05, pong_timeout=0.05)
            task = asyncio.create_task(feed.run())
            await until(lambda: feed.stats.connects >= 2, what="a reconnect")
            feed.stop()
            await task
            return feed

    feed = run(body())
    assert feed.stats.pong_timeouts >= 1 and feed.stats.reconnects >= 1


def test_feed_drop_reconnects_resubscribes_no_trade_lost_or_doubled(tmp_path: Path) -> None:
    sink = Sink()

    async def body() -> tuple[OkxFeed, int]:
        async with OkxWsSim(SimConfig(speed=4), tape(tmp_path)) as sim:  # 1 s of trades in 0.25 s
            feed = _feed(sim, TRADES_ALL, sink)
            task = asyncio.create_task(feed.run())
            await until(lambda: len(sink.trades) >= 30, what="30 trades")
            dropped = sim.drop_all()
            await until(lambda: len(sink.trades) == 200, what="every trade")
            feed.stop()
            await task
            return feed, dropped

    feed, dropped = run(body())
    assert dropped == 1
    assert _seen(sink.trades) == _lake_trades(tmp_path)  # the replay restarts: repeats dropped by id
    assert feed.stats.reconnects == 1 and feed.stats.acks == 2 and feed.stats.duplicates >= 30
    assert sink.gaps == []  # the first trade after the reconnect was seen before: nothing was missed


def test_feed_backoff_full_jitter_seeded_and_capped() -> None:
    async def body() -> list[float]:
        async with OkxWsSim() as sim:
            config = feed_config(sim, (Subscription("tickers", BTC),), backoff_base=0.002, backoff_cap=0.01)
        gaps: list[Gap] = []
        feed = OkxFeed(config, lambda _e: None, gaps.append)  # the sim has stopped: every connect is refused
        task = asyncio.create_task(feed.run())
        await until(lambda: len(feed.stats.delays) >= 6, what="6 failed connects")
        feed.stop()
        await task
        assert feed.stats.connects == 0
        assert gaps == []  # never connected: nothing was missed
        return list(feed.stats.delays)[:6]

    delays = run(body())
    rng = random.Random(7)
    assert delays == [rng.uniform(0, min(0.01, 0.002 * 2**i)) for i in range(6)]
    assert max(delays) <= 0.01


def test_feed_64008_reconnects_at_once() -> None:
    async def body() -> OkxFeed:
        async with OkxWsSim() as sim:
            feed = _feed(sim, (Subscription("tickers", BTC),), Sink(), backoff_base=5.0, backoff_cap=5.0)
            task = asyncio.create_task(feed.run())
            await until(lambda: feed.stats.acks == 1, what="the ack")
            await sim.notice_64008()
            await until(lambda: feed.stats.acks == 2, timeout=1.0, what="the ack after reconnecting")
            feed.stop()
            await task
            return feed

    feed = run(body())
    assert feed.stats.notices == 1 and feed.stats.reconnects == 1 and list(feed.stats.delays) == [0.0]


def test_feed_malformed_counted_stream_goes_on(tmp_path: Path) -> None:
    sink = Sink()
    bad_trade = {"arg": {"channel": "trades-all", "instId": "BTC-USDT"}, "data": [{"instId": "BTC-USDT", "px": "1"}]}

    async def body() -> OkxFeed:
        async with OkxWsSim(SimConfig(speed=4), tape(tmp_path)) as sim:
            feed = _feed(sim, TRADES_ALL, sink)
            task = asyncio.create_task(feed.run())
            await until(lambda: len(sink.trades) >= 10, what="10 trades")
            await sim.send_raw("{torn")
            await sim.send_raw(json.dumps(bad_trade))
            await until(lambda: len(sink.trades) == 200, what="every trade")
            feed.stop()
            await task
            return feed

    feed = run(body())
    assert feed.malformed == {("?", "invalid json"): 1, ("trades-all", "missing field sz"): 1}
    assert feed.stats.connects == 1 and _seen(sink.trades) == _lake_trades(tmp_path)


def test_feed_books_break_resubscribes_and_applies_new_snapshot() -> None:
    sink = Sink()

    async def body() -> tuple[OkxFeed, OkxWsSim]:
        async with OkxWsSim() as sim:
            await sim.book_update("BTC-USDT", bids=[("100", "1")], asks=[("101", "2")])
            feed = _feed(sim, (Subscription("books", BTC),), sink)
            task = asyncio.create_task(feed.run())
            await until(lambda: len(sink.quotes) == 1, what="the snapshot's quote")
            await sim.break_books_seq("BTC-USDT")
            await until(lambda: sim.snapshots_sent == 2 and len(sink.quotes) == 2, what="a new snapshot")
            await sim.book_update("BTC-USDT", bids=[("100.5", "3")])
            await until(lambda: len(sink.quotes) == 3, what="the update after it")
            feed.stop()
            await task
            return feed, sim

    feed, sim = run(body())
    assert [(q.bid, q.ask, q.bid_size) for q in sink.quotes] == [(100, 101, 1), (100, 101, 1), (100.5, 101, 3)]
    assert feed.stats.book_resubscribes == 1 and feed.stats.reconnects == 0
    assert sum(feed.reader.stats.book_breaks.values()) == 1
    (gap,) = sink.gaps
    assert (gap.symbol, gap.channel, gap.reason) == (BTC, "books", "sequence_break")
    assert any('"op": "unsubscribe"' in text for text in sim.received)


def test_feed_other_channels_become_events() -> None:
    sink = Sink()
    swap, inst = "BTC/USDT:USDT", "BTC-USDT-SWAP"
    subs = (Subscription("candle1m", swap), Subscription("funding-rate", swap), Subscription("mark-price", swap),
            Subscription("bbo-tbt", swap))
    level = [["100", "2", "0", "1"]]
    pushes = [
        {"arg": {"channel": "candle1m", "instId": inst}, "data": [["1767225600000", "1", "3", "0.5", "2", "7", "0.07",
                                                                    "14", "1"]]},
        {"arg": {"channel": "funding-rate", "instId": inst}, "data": [{"instId": inst, "fundingRate": "0.0001",
                                                                       "fundingTime": "1767225600000",
                                                                       "ts": "1767225500000"}]},
        {"arg": {"channel": "mark-price", "instId": inst}, "data": [{"instId": inst, "markPx": "100.5",
                                                                     "ts": "1767225500000"}]},
        {"arg": {"channel": "bbo-tbt", "instId": inst}, "data": [{"bids": level, "asks": [["101", "3", "0", "1"]],
                                                                  "ts": "1767225500000"}]},
    ]

    async def body() -> None:
        async with OkxWsSim() as sim:
            feed = _feed(sim, subs, sink)
            task = asyncio.create_task(feed.run())
            await until(lambda: feed.stats.acks == 4, what="4 acks")
            for push in pushes:
                path = BUSINESS_PATH if push["arg"]["channel"] == "candle1m" else PUBLIC_PATH  # type: ignore[index]
                await sim.send_raw(json.dumps(push), path)
            await until(lambda: len(sink.events) == 4, what="the events")
            feed.stop()
            await task

    run(body())
    assert sorted(type(e).__name__ for e in sink.events) == ["Bar", "Funding", "MarkPrice", "Quote"]
    bar = next(e for e in sink.events if type(e).__name__ == "Bar")
    quote = sink.quotes[0]
    assert (bar.symbol, bar.close, bar.volume) == (swap, 2.0, 0.07)  # type: ignore[union-attr]
    assert (quote.bid, quote.bid_size, quote.ask_size) == (100.0, 0.02, 0.03)  # contracts x 0.01 BTC
