"""Replay building blocks: tapes in replay order, bars released on time, merged ranks, fill candidates."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest.data import DataSource
from engine.backtest.replay import (
    BarBuilder,
    Bars,
    Tape,
    candidate,
    first_touch,
    merge_ranks,
    minute_marks,
    tape_from_table,
)
from engine.model.clock import SimClock
from engine.model.events import AmendOrder, CancelOrder, OrderType, OrderUpdate, SubmitOrder, Trade
from engine.model.time import NS_PER_DAY, NS_PER_MIN, NS_PER_S, interval_ns
from engine.model.types import Side, make_instrument
from engine.store.bars import bars_from_arrays, bars_from_lake
from engine.store.ingest import ingest_files
from engine.store.lake import Lake
from engine.store.synthetic import SynthConfig, write_synthetic
from engine.venues.matching import DONE, SimOrder
from engine.venues.sim import SimConfig, SimVenue
from tests.engine.store.factories import DAY0, seconds, trades

SYM = "ETH/USDT:USDT"
DAY1 = DAY0 + NS_PER_DAY


def tape_of(ts_event: list[int], price: list[float], size: list[float] | None = None,
            recv: list[int | None] | None = None) -> Tape:
    """A Tape built the way the replay builds it, from a lake trades table; alone in its window, its
    ranks are its indices."""
    tape = tape_from_table(SYM, trades(ts_event, price=price, size=size, recv=recv))
    tape.rank = np.arange(len(tape), dtype=np.int64)
    return tape


def bar_rows(bars: Bars) -> list[tuple[int, float, float, float, float, float]]:
    return [(int(t), float(o), float(h), float(lo), float(c), float(v)) for t, o, h, lo, c, v in
            zip(bars.open_ts, bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True)]


def dict_rows(bars: dict[str, np.ndarray]) -> list[tuple[int, float, float, float, float, float]]:
    keys = ("ts_event", "open", "high", "low", "close", "volume")
    return [(int(r[0]), *(float(x) for x in r[1:])) for r in zip(*(bars[k] for k in keys), strict=True)]


# -- tape_from_table ---------------------------------------------------------------------------------
def test_tape_from_table_orders_by_recv_else_event_ties_stable() -> None:
    t25, t15 = seconds(25, 15)
    table = trades(seconds(10, 20, 30, 40), ids=["a", "b", "c", "d"], price=[1.0, 2.0, 3.0, 4.0],
                   recv=[t25, None, t15, t25])
    tape = tape_from_table(SYM, table)
    # replay times: a 25, b 20 (no recv: its event time), c 15, d 25 (ties with a, after it)
    assert tape.key.tolist() == seconds(15, 20, 25, 25)
    assert tape.ts_event.tolist() == seconds(30, 20, 10, 40)
    assert tape.price.tolist() == [3.0, 2.0, 1.0, 4.0]
    assert [tape.trade_id_at(j) for j in range(len(tape))] == ["c", "b", "a", "d"]


def test_tape_from_table_without_recv_uses_event_time_and_keeps_ties() -> None:
    tape = tape_from_table(SYM, trades(seconds(5, 5, 3, 5), ids=["x", "y", "z", "w"]))
    assert tape.key.tolist() == seconds(3, 5, 5, 5)
    assert [tape.trade_id_at(j) for j in range(4)] == ["z", "x", "y", "w"]


def test_tape_from_table_all_recv_present_sorts_by_recv() -> None:
    tape = tape_from_table(SYM, trades(seconds(1, 2, 3), ids=["p", "q", "r"], recv=seconds(9, 7, 8)))
    assert tape.key.tolist() == seconds(7, 8, 9)
    assert [tape.trade_id_at(j) for j in range(3)] == ["q", "r", "p"]
    assert tape.side.tolist() == [1, 1, 1] and len(tape) == 3


def test_tape_trade_id_missing_or_null_is_empty() -> None:
    no_ids = trades(seconds(1, 2)).drop_columns(["trade_id"])
    assert tape_from_table(SYM, no_ids).trade_id_at(1) == ""
    assert tape_from_table(SYM, trades(seconds(1, 2), ids=["7", None])).trade_id_at(1) == ""


# -- BarBuilder --------------------------------------------------------------------------------------
def minute_tape() -> Tape:
    """Trades of minutes 0, 1 and 3 after DAY0; the last of minute 0 is received after the minute."""
    ts = seconds(1, 20, 40, 59.9, 61, 200)
    recv = [t + 200_000_000 for t in ts]
    recv[3] = seconds(60.5)[0]
    return tape_of(ts, [100.0, 103.0, 99.0, 101.0, 102.0, 98.0], [1.0, 2.0, 0.5, 1.0, 3.0, 1.0], recv)


def test_bar_builder_ohlcv_equals_hand_computation() -> None:
    bars = BarBuilder(SYM, "1m", NS_PER_MIN).feed(minute_tape(), DAY0 + 300 * NS_PER_S)
    assert bar_rows(bars) == [
        # minute 0: open 100 (first), high 103, low 99, close 101 (last), volume 1 + 2 + 0.5 + 1
        (DAY0, 100.0, 103.0, 99.0, 101.0, 4.5),
        (DAY0 + NS_PER_MIN, 102.0, 102.0, 102.0, 102.0, 3.0),
        (DAY0 + 3 * NS_PER_MIN, 98.0, 98.0, 98.0, 98.0, 1.0),  # minute 2 had no trade: no bar
    ]


def test_bar_builder_release_after_bar_trades_before_next_bar_trades() -> None:
    tape = minute_tape()
    bars = BarBuilder(SYM, "1m", NS_PER_MIN).feed(tape, DAY0 + 300 * NS_PER_S)
    # max(open + 1m, last replay time + 1): minute 0's last trade was received at 60.5 s
    assert bars.release.tolist() == [seconds(60.5)[0] + 1, DAY0 + 2 * NS_PER_MIN, DAY0 + 4 * NS_PER_MIN]
    bar_rank, trade_rank = merge_ranks([bars.release, tape.key])  # bars first on equal times
    bucket = tape.ts_event // NS_PER_MIN * NS_PER_MIN
    for k, open_ts in enumerate(bars.open_ts.tolist()):
        assert (trade_rank[bucket == open_ts] < bar_rank[k]).all()
        assert (trade_rank[tape.ts_event >= open_ts + NS_PER_MIN] > bar_rank[k]).all()


def test_bar_builder_release_at_open_fault_releases_at_open() -> None:
    bars = BarBuilder(SYM, "1m", NS_PER_MIN, release_at_open=True).feed(minute_tape(), DAY0 + 300 * NS_PER_S)
    assert bars.release.tolist() == bars.open_ts.tolist() == [DAY0, DAY0 + NS_PER_MIN, DAY0 + 3 * NS_PER_MIN]


def seven_minute_days(day1: list[float]) -> tuple[Tape, Tape, int]:
    """Day 0 trades at 23:50, 23:57, 23:59 and day 1 trades at `day1` seconds after midnight.

    Epoch-aligned 7m bars put 23:56 .. 00:03 in one bar straddling midnight.
    """
    step = interval_ns("7m")
    open_ts = DAY1 // step * step
    assert DAY1 - open_ts == 4 * NS_PER_MIN
    t0 = [DAY1 - s * NS_PER_S for s in (600, 180, 60)]
    day0 = tape_of(t0, [10.0, 12.0, 11.0], [1.0, 2.0, 3.0], [t + 1000 for t in t0])
    t1 = [DAY1 + int(s * NS_PER_S) for s in day1]
    day1_tape = tape_of(t1, [13.0, 9.0, 14.0][: len(t1)], [4.0, 5.0, 6.0][: len(t1)], [t + 1000 for t in t1])
    return day0, day1_tape, open_ts


def test_bar_builder_bar_straddling_batch_end_is_carried_and_merged() -> None:
    day0, day1, open_ts = seven_minute_days([60, 120, 300])  # 00:01, 00:02, 00:05
    step = interval_ns("7m")
    builder = BarBuilder(SYM, "7m", step)
    first = builder.feed(day0, DAY1)
    assert bar_rows(first) == [(open_ts - step, 10.0, 10.0, 10.0, 10.0, 1.0)]  # 23:49 .. 23:56
    second = builder.feed(day1, DAY1 + NS_PER_DAY)
    # 23:56 .. 00:03: 12 (23:57), 11 (23:59), 13 (00:01), 9 (00:02); 00:03 .. 00:10: 14 (00:05)
    assert bar_rows(second) == [(open_ts, 12.0, 13.0, 9.0, 9.0, 2.0 + 3.0 + 4.0 + 5.0),
                                (open_ts + step, 14.0, 14.0, 14.0, 14.0, 6.0)]
    assert second.release.tolist() == [open_ts + step, open_ts + 2 * step]
    both = np.concatenate([day0.ts_event, day1.ts_event])
    expected = bars_from_arrays(both, np.concatenate([day0.price, day1.price]),
                                np.concatenate([day0.size, day1.size]), step)
    assert bar_rows(first) + bar_rows(second) == dict_rows(expected)


def test_bar_builder_carried_bar_without_continuation_is_released_alone() -> None:
    day0, day1, open_ts = seven_minute_days([240])  # 00:04, already the next bar
    step = interval_ns("7m")
    builder = BarBuilder(SYM, "7m", step)
    builder.feed(day0, DAY1)
    second = builder.feed(day1, DAY1 + NS_PER_DAY)
    assert bar_rows(second) == [(open_ts, 12.0, 12.0, 11.0, 11.0, 5.0), (open_ts + step, 13.0, 13.0, 13.0, 13.0, 4.0)]
    assert second.release.tolist() == [open_ts + step, open_ts + 2 * step]


def test_bar_builder_flush_releases_last_bar_only_when_complete() -> None:
    day0, _, open_ts = seven_minute_days([])
    step = interval_ns("7m")
    builder = BarBuilder(SYM, "7m", step)
    builder.feed(day0, DAY1)
    assert len(builder.flush(open_ts + step - 1)) == 0  # the run ends inside the bar
    last = builder.flush(open_ts + step)
    assert bar_rows(last) == [(open_ts, 12.0, 12.0, 11.0, 11.0, 5.0)]
    assert len(builder.flush(DAY1 + NS_PER_DAY)) == 0  # released once


# -- bars agree with the store's -----------------------------------------------------------------------
def test_bar_builder_receive_order_differs_from_exchange_order_bars_equal_store(data_root: Path) -> None:
    # Exchange times 1, 2, 3, 61 s; the first trade's message arrives last (at 5 s), and the
    # minute-1 trade before the minute-0 trade at 3 s.
    ts = seconds(1, 2, 3, 61)
    recv = seconds(5, 2.1, 60.5, 60.2)
    table = trades(ts, ids=["1", "2", "3", "4"], price=[10.0, 11.0, 12.0, 13.0], size=[1.0, 2.0, 3.0, 4.0], recv=recv)
    lake = Lake.at(data_root)
    lake.write("trades", "v", SYM, table)
    tape = tape_from_table(SYM, lake.read("trades", "v", SYM))
    assert tape.price.tolist() == [11.0, 10.0, 13.0, 12.0]  # replay order
    bars = BarBuilder(SYM, "1m", NS_PER_MIN).feed(tape, DAY0 + 10 * NS_PER_MIN)
    # minute 0 by exchange time: 10 (1 s), 11 (2 s), 12 (3 s); minute 1: 13
    assert bar_rows(bars) == [(DAY0, 10.0, 12.0, 10.0, 12.0, 6.0), (DAY0 + NS_PER_MIN, 13.0, 13.0, 13.0, 13.0, 4.0)]
    assert bar_rows(bars) == dict_rows(lake_bars(lake, "v", SYM, "1m"))
    # released after the last message of the bar (60.5 s), however late it came
    assert bars.release.tolist() == [recv[2] + 1, DAY0 + 2 * NS_PER_MIN]


def builder_bars(source: DataSource, interval: str) -> dict[str, np.ndarray]:
    """Bars as the backtest makes them: one BarBuilder fed window by window, then flushed."""
    builder = BarBuilder(source.symbols[0], interval, interval_ns(interval))
    parts = []
    for lo, hi, trading in source.windows(source.start):
        parts.append(builder.feed(source.load(lo, hi, trading, [False]).tapes[0], hi))
    parts.append(builder.flush(source.end))
    names = ("open_ts", "open", "high", "low", "close", "volume")
    cat = {n: np.concatenate([getattr(p, n) for p in parts]) for n in names}
    return {"ts_event": cat.pop("open_ts"), **cat}


def assert_same_bars(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    assert len(ours["ts_event"]) == len(theirs["ts_event"]) > 0
    np.testing.assert_array_equal(ours["ts_event"], theirs["ts_event"])
    for key in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    np.testing.assert_allclose(ours["volume"], theirs["volume"], rtol=1e-12)


def lake_bars(lake: Lake, venue: str, symbol: str, interval: str) -> dict[str, np.ndarray]:
    table = bars_from_lake(lake, venue, symbol, interval)
    return {k: table[k].to_numpy() for k in ("ts_event", "open", "high", "low", "close", "volume")}


def all_trades(lake: Lake, venue: str, symbol: str) -> pa.Table:
    return lake.read("trades", venue, symbol)


@pytest.fixture(scope="module")
def synthetic_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lake, int, int]]:
    """Four synthetic hours across a midnight, with receive times and same-millisecond sweeps."""
    lake = Lake(tmp_path_factory.mktemp("synth") / "lake")
    cfg = SynthConfig(symbol=SYM, start="2024-01-01T22:00Z", hours=4.0, trade_rate=1.0, seed=3)
    write_synthetic(lake, cfg)
    yield lake, cfg.start_ns, cfg.end_ns


@pytest.mark.parametrize("interval", ["1m", "5m", "1h", "7m"])
def test_bar_builder_bars_equal_store_bars_on_synthetic_lake(
    synthetic_lake: tuple[Lake, int, int], interval: str
) -> None:
    lake, start, end = synthetic_lake
    ours = builder_bars(DataSource(lake, "synthetic", [SYM], start, end + interval_ns(interval)), interval)
    assert_same_bars(ours, lake_bars(lake, "synthetic", SYM, interval))
    table = all_trades(lake, "synthetic", SYM)
    arrays = bars_from_arrays(table["ts_event"].to_numpy(), table["price"].to_numpy(), table["size"].to_numpy(),
                              interval_ns(interval))
    assert_same_bars(ours, arrays)


def test_bar_builder_release_orders_synthetic_bars_between_trades(synthetic_lake: tuple[Lake, int, int]) -> None:
    lake, _start, end = synthetic_lake
    tape = tape_from_table(SYM, all_trades(lake, "synthetic", SYM))
    step = interval_ns("1m")
    bars = BarBuilder(SYM, "1m", step).feed(tape, end)
    bar_rank, trade_rank = merge_ranks([bars.release, tape.key])
    bucket = tape.ts_event // step * step
    done = bucket + step <= end  # the bar still open at the end is not released
    last_rank = np.full(len(bars), -1)
    np.maximum.at(last_rank, np.searchsorted(bars.open_ts, bucket[done]), trade_rank[done])
    assert (last_rank < bar_rank).all()  # every trade of a bar comes before its release
    first_after = np.searchsorted(tape.ts_event, bars.open_ts + step, "left")  # lake order is by ts_event
    inside = first_after < len(tape)
    assert (trade_rank[first_after[inside]] > bar_rank[inside]).all()


@pytest.fixture(scope="module")
def xrp_lake(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """freqtrade's recorded XRP/ETH trades (2.5 days, no receive times) ingested into a fresh lake."""
    lake = Lake(tmp_path_factory.mktemp("xrp") / "lake")
    ingest_files(lake, [shared_data / "freqtrade" / "XRP_ETH-trades.json.gz"], venue="binance")
    return lake


@pytest.mark.shared_data
@pytest.mark.parametrize("interval", ["1m", "5m", "1h", "7m"])
def test_bar_builder_bars_equal_store_bars_on_recorded_trades(xrp_lake: Lake, interval: str) -> None:
    table = all_trades(xrp_lake, "binance", "XRP/ETH")
    ts = table["ts_event"].to_numpy()
    start, end = int(ts[0]), int(ts[-1]) + 1
    ours = builder_bars(DataSource(xrp_lake, "binance", ["XRP/ETH"], start, end + interval_ns(interval)), interval)
    assert_same_bars(ours, lake_bars(xrp_lake, "binance", "XRP/ETH", interval))
    arrays = bars_from_arrays(ts, table["price"].to_numpy(), table["size"].to_numpy(), interval_ns(interval))
    assert_same_bars(ours, arrays)


# -- merge_ranks and minute_marks ----------------------------------------------------------------------
def test_merge_ranks_stable_earlier_arrays_first_on_ties() -> None:
    a, b, c = np.array([1, 3, 5]), np.array([1, 2, 5]), np.array([0, 5])
    ranks = merge_ranks([a, b, c])
    # merged: 0(c) 1(a) 1(b) 2(b) 3(a) 5(a) 5(b) 5(c)
    assert [r.tolist() for r in ranks] == [[1, 4, 5], [2, 3, 6], [0, 7]]
    assert merge_ranks([]) == []
    assert merge_ranks([a])[0].tolist() == [0, 1, 2]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, 6), max_size=12).map(sorted), min_size=1, max_size=5))
def test_merge_ranks_equal_sorting_key_array_position(arrays: list[list[int]]) -> None:
    ranks = merge_ranks([np.array(a, dtype=np.int64) for a in arrays])
    tagged = sorted((key, n, i) for n, a in enumerate(arrays) for i, key in enumerate(a))
    expected = {(n, i): r for r, (_, n, i) in enumerate(tagged)}
    assert {(n, i): int(r) for n, rk in enumerate(ranks) for i, r in enumerate(rk)} == expected


def test_minute_marks_last_price_of_each_minute_at_minute_end() -> None:
    ts = seconds(10, 50, 59, 130, 131)
    recv = ts[:2] + seconds(60.1) + ts[3:]  # the third trade arrives in minute 1
    tape = tape_of(ts, [1.0, 2.0, 3.0, 4.0, 5.0], recv=list(recv))
    marks, prices = minute_marks(tape)
    assert marks.tolist() == [DAY0 + NS_PER_MIN, DAY0 + 2 * NS_PER_MIN, DAY0 + 3 * NS_PER_MIN]
    assert prices.tolist() == [2.0, 3.0, 5.0]
    empty = minute_marks(tape_of([], []))
    assert len(empty[0]) == len(empty[1]) == 0


# -- first_touch and candidate --------------------------------------------------------------------------
@pytest.mark.parametrize(("side", "hit_price"), [(Side.BUY, 99.0), (Side.SELL, 101.0)])
def test_first_touch_finds_first_price_at_or_better_than_limit(side: Side, hit_price: float) -> None:
    price = np.full(5000, 100.0)
    price[3000] = price[4000] = hit_price
    assert first_touch(price, 0, hit_price, side, 1e-9, 5000) == 3000
    assert first_touch(price, 3001, hit_price, side, 1e-9, 5000) == 4000
    assert first_touch(price, 0, hit_price, side, 1e-9, 3000) == 3000  # none before stop
    assert first_touch(price, 10, 100.0, side, 1e-9, 5000) == 10  # at the limit counts


class LastPrice:
    def __init__(self, price: float) -> None:
        self.price = price

    def last_price(self, symbol: str) -> float:
        return self.price


TICK = 0.5


@dataclass(frozen=True)
class Scenario:
    """A tape, one order decided on one of its trades, and maybe a later cancel or amend."""

    keys: list[int]
    prices: list[float]
    sizes: list[float]
    decide: int
    side: Side
    limit: float | None  # None: a market order
    size: float
    config: SimConfig
    change_at: int | None
    change: str  # "cancel" | "price" | "size"
    new: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    n = draw(st.integers(2, 30))
    gaps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))  # 0: same-time trades
    steps = draw(st.lists(st.integers(-2, 2), min_size=n, max_size=n))  # a random walk in ticks
    decide = draw(st.integers(0, n - 1))
    config = SimConfig(fill_model=draw(st.sampled_from(["touch", "walk"])),
                       latency_ns=draw(st.sampled_from([0, 1, 4])),
                       queue_ahead=draw(st.sampled_from([0.0, 0.7, 2.0])))
    return Scenario(
        keys=(DAY0 + np.cumsum(gaps)).tolist(),
        prices=[100.0 + TICK * k for k in np.cumsum(steps).tolist()],
        sizes=draw(st.lists(st.sampled_from([0.2, 0.5, 1.0, 3.0]), min_size=n, max_size=n)),
        decide=decide,
        side=draw(st.sampled_from([Side.BUY, Side.SELL])),
        limit=draw(st.none() | st.integers(-4, 4).map(lambda k: 100.0 + TICK * k)),
        size=draw(st.sampled_from([0.5, 1.0, 2.5])),
        config=config,
        change_at=draw(st.none() | st.integers(decide, decide + 6)),
        change=draw(st.sampled_from(["cancel", "price", "size"])),
        new=draw(st.integers(-4, 4)),
    )


def order_state(order: SimOrder) -> tuple[object, ...]:
    """Everything a print may change."""
    return order.state, order.remaining, order.price, order.size, order.queue_left


def change_order(venue: SimVenue, order: SimOrder, s: Scenario, ts: int) -> None:
    """A strategy's cancel or amend decided at replay time `ts`."""
    if s.change == "cancel":
        venue.cancel(CancelOrder(order.client_id, SYM, ts))
    elif s.change == "price" and order.limit:
        venue.amend(AmendOrder(order.client_id, SYM, ts, price=100.0 + TICK * s.new))
    else:
        venue.amend(AmendOrder(order.client_id, SYM, ts, size=1.0 + 0.5 * abs(s.new)))


def start_order(s: Scenario, tape: Tape, updates: list[OrderUpdate]) -> tuple[SimVenue, SimOrder]:
    """A venue at the deciding trade (one tape: replay index = tape index) holding the order."""
    clock = SimClock(int(tape.key[s.decide]), s.decide)
    venue = SimVenue({SYM: make_instrument(SYM, tick_size=TICK)}, s.config, updates.append, clock,
                     LastPrice(float(tape.price[s.decide])))
    kind = OrderType.MARKET if s.limit is None else OrderType.LIMIT
    venue.submit(SubmitOrder("o", SYM, s.side, s.size, kind, clock.ts, math.nan if s.limit is None else s.limit))
    (order,) = venue.working[SYM]
    if s.change_at == s.decide:
        change_order(venue, order, s, clock.ts)
    return venue, order


def replay_effects(s: Scenario, tape: Tape, venue: SimVenue, order: SimOrder) -> list[int]:
    """Walk the tape as the replay does: the venue's due actions (arrival, cancel, amend) before each
    print; check the candidate filter before every print the venue acts on."""
    effects = []
    for j in range(s.decide + 1, len(tape)):
        if order.state == DONE:
            break
        venue.clock.ts, venue.clock.seq = int(tape.key[j]), j
        venue.advance(SYM, int(tape.key[j]))
        cand = candidate(order, tape, j, TICK, order.min_seq)
        before = order_state(order)
        venue.on_trade(Trade(SYM, int(tape.ts_event[j]), int(tape.key[j]), float(tape.price[j]),
                             float(tape.size[j]), 1, str(j)), j)
        if order_state(order) != before:
            assert j >= cand, f"the venue acted on trade {j}, the candidate filter skipped to {cand}"
            effects.append(j)
        if s.change_at == j and order.state != DONE:
            change_order(venue, order, s, venue.clock.ts)
    return effects


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_candidate_never_skips_a_trade_the_venue_acts_on(s: Scenario) -> None:
    tape = tape_of(s.keys, s.prices, s.sizes, recv=list(s.keys))
    updates: list[OrderUpdate] = []
    venue, order = start_order(s, tape, updates)
    effects = replay_effects(s, tape, venue, order)
    if s.limit is None and s.change_at is None:
        # a market order (no book here) fills on the first trade after its decision received at or
        # after its arrival (time + latency), whatever its price
        eligible = [j for j in range(s.decide + 1, len(tape))
                    if tape.key[j] >= tape.key[s.decide] + s.config.latency_ns]
        assert effects[:1] == eligible[:1]


def test_candidate_limit_order_skips_trades_away_from_its_price() -> None:
    tape = tape_of(seconds(1, 2, 3, 4, 5), [100.0, 99.5, 99.5, 99.0, 98.5])
    updates: list[OrderUpdate] = []
    s = Scenario(tape.key.tolist(), tape.price.tolist(), [1.0] * 5, 0, Side.BUY, 99.0, 1.0, SimConfig(), None,
                 "cancel", 0)
    _venue, order = start_order(s, tape, updates)  # no latency, no book: it rests at once (below 100)
    assert candidate(order, tape, 1, TICK, order.min_seq) == 3  # the first trade at or below 99
    assert candidate(order, tape, 4, TICK, order.min_seq) == 4
