"""`Recorder` fed by `OkxFeed` from the OKX simulator over loopback, and on its own."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import pytest

from engine.live.config import Subscription
from engine.live.feed import Gap, OkxFeed
from engine.live.recorder import Recorder, okx_channels
from engine.model.errors import UserError
from engine.model.events import Bar, Funding, MarkPrice, Quote, Trade
from engine.store.lake import Lake
from engine.venues.okx.sim_ws import OkxWsSim, SimConfig
from tests.engine.live_factory import feed_config, run, tape, trade_lake, until

BTC = "BTC/USDT"
TRADES_ALL = (Subscription("trades-all", BTC),)


def _source(tmp_path: Path, n: int = 200) -> list[tuple[object, ...]]:
    rows = trade_lake(tmp_path / "again", n=n).read("trades", "okx", BTC).to_pylist()
    return [(r["ts_event"], r["trade_id"], r["price"], r["size"], r["side"]) for r in rows]


def _recorded(lake: Lake, symbol: str = BTC) -> tuple[list[tuple[object, ...]], list[int]]:
    rows = lake.read("trades", "okx", symbol).to_pylist()
    return [(r["ts_event"], r["trade_id"], r["price"], r["size"], r["side"]) for r in rows], \
        [r["ts_recv"] for r in rows]


async def _record(sim: OkxWsSim, recorder: Recorder, until_trades: int, drop_after: int = 0) -> OkxFeed:
    feed = OkxFeed(feed_config(sim, TRADES_ALL), recorder.on_event, recorder.on_gap)
    feed_task = asyncio.create_task(feed.run())
    flusher = asyncio.create_task(recorder.run())
    if drop_after:
        await until(lambda: feed.stats.connects == 1 and recorder.totals["trades"] + recorder.pending >= drop_after,
                    what=f"{drop_after} trades")
        sim.drop_all()
    await until(lambda: recorder.totals["trades"] >= until_trades, what=f"{until_trades} trades recorded")
    feed.stop()
    await feed_task
    flusher.cancel()
    await asyncio.gather(flusher, return_exceptions=True)
    return feed


def test_recorder_trades_equal_source_rows(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "rec")
    recorder = Recorder(lake, flush_every=0.05)

    async def body() -> None:
        async with OkxWsSim(SimConfig(speed=4), tape(tmp_path / "src")) as sim:  # 1 s of trades in 0.25 s
            await _record(sim, recorder, 200)

    run(body())
    trades, recv = _recorded(lake)
    assert trades == _source(tmp_path)
    assert recv == sorted(recv) and all(isinstance(ts, int) for ts in recv)
    assert len(lake.files("trades", "okx", BTC)) >= 2  # several flushes, one part each
    assert lake.read("gaps", "okx", BTC).num_rows == 0


def test_recorder_drop_no_trade_lost_or_doubled_and_no_gap_when_the_socket_repeats(tmp_path: Path) -> None:
    """The simulator replays a subscription from its first trade: after the reconnect the socket
    repeats what was seen, so nothing was missed (no gap) and the repeats are dropped."""
    lake = Lake.at(tmp_path / "rec")
    recorder = Recorder(lake, flush_every=0.05)

    async def body() -> OkxFeed:
        async with OkxWsSim(SimConfig(speed=4), tape(tmp_path / "src")) as sim:
            return await _record(sim, recorder, 200, drop_after=30)

    feed = run(body())
    assert feed.stats.reconnects == 1 and feed.stats.duplicates >= 30
    assert _recorded(lake)[0] == _source(tmp_path)
    assert lake.read("gaps", "okx", BTC).num_rows == 0


def test_recorder_outage_open_at_stop_closed_at_stop_time(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "rec")
    recorder = Recorder(lake, flush_every=0.05)

    async def body() -> tuple[int, int]:
        sim = OkxWsSim(SimConfig(speed=4), tape(tmp_path / "src"))
        await sim.start()
        feed = OkxFeed(feed_config(sim, TRADES_ALL), recorder.on_event, recorder.on_gap)
        tasks = [asyncio.create_task(feed.run()), asyncio.create_task(recorder.run())]
        await until(lambda: recorder.totals["trades"] + recorder.pending >= 10, what="10 trades")
        await sim.stop()  # gone for good: every reconnect is refused
        await until(lambda: len(feed.stats.delays) >= 2, what="2 refused reconnects")
        before = time.time_ns()
        feed.stop()
        await tasks[0]
        after = time.time_ns()
        tasks[1].cancel()
        await asyncio.gather(tasks[1], return_exceptions=True)
        return before, after

    before, after = run(body())
    (gap,) = lake.read("gaps", "okx", BTC).to_pylist()
    assert (gap["channel"], gap["reason"]) == ("trades-all", "disconnect")
    assert gap["ts_event"] < before <= gap["ts_end"] <= after


def test_recorder_ts_recv_forced_non_decreasing(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    recorder = Recorder(lake)
    for i, recv in enumerate((50, 40, 60, 55)):  # the clock stepped back twice
        recorder.on_event(Trade(BTC, 10 + i, recv, 100.0, 1.0, 1, str(i + 1)))
    recorder.on_event(Quote(BTC, 20, 30, 99.0, 101.0, 2.0, math.nan))
    assert recorder.flush().written == {"trades": 4, "quotes": 1}
    assert lake.read("trades", "okx", BTC)["ts_recv"].to_pylist() == [50, 50, 60, 60]
    assert lake.read("quotes", "okx", BTC).to_pylist() == [
        {"ts_event": 20, "ts_recv": 60, "bid": 99.0, "ask": 101.0, "bid_size": 2.0, "ask_size": None}]


def test_recorder_kinds_rows_and_flush_counts(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    recorder = Recorder(lake)
    swap = "BTC/USDT:USDT"
    recorder.on_event(Bar(swap, "1m", 60_000_000_000, 1.0, 3.0, 0.5, 2.0, 7.0))
    recorder.on_event(Funding(swap, 28_800_000_000_000, 0.0001))
    recorder.on_event(MarkPrice(swap, 5, 6, 100.5))
    recorder.on_gap(Gap(swap, "books", 7, 9, "sequence_break"))
    flush = recorder.flush()
    assert flush.written == {"bars": 1, "funding": 1, "gaps": 1} and flush.rejected == 0
    assert recorder.skipped == {"mark": 1} and recorder.pending == 0
    assert lake.read("bars", "okx", swap).to_pylist()[0]["close"] == 2.0
    assert lake.read("funding", "okx", swap)["rate"].to_pylist() == [0.0001]
    assert lake.read("gaps", "okx", swap).to_pylist() == [
        {"ts_event": 7, "ts_end": 9, "channel": "books", "reason": "sequence_break"}]
    assert recorder.flush().rows == 0 and len(lake.files("bars", "okx", swap)) == 1  # nothing left: no part


def test_recorder_max_rows_flushes_early(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    recorder = Recorder(lake, max_rows=3)
    for i in range(7):
        recorder.on_event(Trade(BTC, 10 + i, 10 + i, 100.0, 1.0, 1, str(i + 1)))
    assert recorder.pending == 1 and recorder.totals["trades"] == 6
    assert len(lake.files("trades", "okx", BTC)) == 2


def test_okx_channels_maps_names_unknown_one_line() -> None:
    assert okx_channels(["trades", "books", "bbo", "funding", "trades"]) == ("trades-all", "books", "bbo-tbt",
                                                                          "funding-rate")
    assert okx_channels(["candles", "mark", "tickers"]) == ("candle1m", "mark-price", "tickers")
    with pytest.raises(UserError, match="unknown channel 'depth'; choose from trades, bbo"):
        okx_channels(["trades", "depth"])
    with pytest.raises(UserError, match="above 0"):
        Recorder(Lake.at(Path("unused")), flush_every=0)
