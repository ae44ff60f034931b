"""Replay building blocks: a batch of market data in replay order, bars released on time.

Pure numpy over arrays read from the lake. The replay order is the receive time (`ts_recv`,
filled with `ts_event` where the source has none), ties kept in the lake's order; several
symbols and kinds are merged by a stable sort, with bar releases before trades at the same
instant. Every event of a batch gets a rank: its position in that merged order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from engine.venues.matching import RESTING, TAKING, SimOrder

BAR, FUNDING, TRADE, QUOTE = 0, 1, 2, 3  # stream priority at equal times
OPEN, RANGE = 1, 2  # the rows of a bar-only symbol's venue tape: a bar's open, its range at its close


@dataclass
class BarRows:
    """What the venue tape of a bar-only symbol adds to a tape: each row is a bar's open (price =
    open) or its range, known at its close (price = close)."""

    phase: np.ndarray  # OPEN or RANGE
    open_ts: np.ndarray  # the bar's open time
    low: np.ndarray
    high: np.ndarray


@dataclass
class Tape:
    """One symbol's trades in one batch, in replay order."""

    symbol: str
    key: np.ndarray  # int64 replay time: ts_recv, or ts_event where missing
    ts_event: np.ndarray
    price: np.ndarray
    size: np.ndarray
    side: np.ndarray
    trade_id: pa.Array | None
    rank: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    bar: BarRows | None = None  # set for the venue tape of a bar-only symbol
    _groups: np.ndarray | None = None

    def group_end(self, j: int) -> int:
        """The last row of the aggressor group of row j (prints with one ts_event and one taker side,
        consecutive in receive order; side 0 never groups)."""
        if self._groups is None:
            self._groups = group_ends(self.ts_event, self.side)
        return int(self._groups[j])

    def __len__(self) -> int:
        return len(self.key)

    def trade_id_at(self, j: int) -> str:
        """The trade id of row j ('' when the source had none)."""
        if self.trade_id is None:
            return ""
        value = self.trade_id[j].as_py()
        return "" if value is None else str(value)


def tape_from_table(symbol: str, table: pa.Table) -> Tape:
    """Build a Tape from a lake trades table, sorted stably into replay order."""
    ts_event = table.column("ts_event").to_numpy().astype(np.int64, copy=False)
    recv = table.column("ts_recv")
    if recv.null_count == len(recv):
        key = ts_event
    elif recv.null_count:
        key = np.where(recv.is_null().to_numpy(zero_copy_only=False), ts_event,
                       recv.fill_null(0).to_numpy()).astype(np.int64)
    else:
        key = recv.to_numpy().astype(np.int64, copy=False)
    price = table.column("price").to_numpy()
    size = table.column("size").to_numpy()
    side = table.column("side").to_numpy()
    trade_id = table.column("trade_id").combine_chunks() if "trade_id" in table.column_names else None
    if len(key) > 1 and np.any(key[1:] < key[:-1]):
        order = np.argsort(key, kind="stable")
        key, ts_event, price, size, side = key[order], ts_event[order], price[order], size[order], side[order]
        trade_id = trade_id.take(pa.array(order)) if trade_id is not None else None
    return Tape(symbol, key, ts_event, price, size, side, trade_id)


@dataclass
class Bars:
    """Completed bars of one (symbol, interval), with the replay time each is released at."""

    symbol: str
    interval: str
    open_ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    release: np.ndarray  # replay time of release: open + interval, after the bar's last trade

    def __len__(self) -> int:
        return len(self.open_ts)


class BarBuilder:
    """Builds one (symbol, interval) bar series from successive tapes, carrying the open bar over."""

    def __init__(self, symbol: str, interval: str, interval_ns: int, release_at_open: bool = False) -> None:
        self.symbol = symbol
        self.interval = interval
        self.ns = interval_ns
        # A deliberately broken replay (bar released at its open) for the lookahead tests.
        self.release_at_open = release_at_open
        self.carry: tuple[int, float, float, float, float, float, int] | None = None

    def feed(self, tape: Tape, batch_end: int) -> Bars:
        """Add a tape's trades; return the bars complete by `batch_end` (exclusive upper time)."""
        rows = _group(tape, self.ns)
        if self.carry is not None:
            rows = _merge_carry(self.carry, rows)
            self.carry = None
        open_ts, o, h, lo, c, v, last_key = rows
        done = open_ts + self.ns <= batch_end
        if len(open_ts) and not done[-1]:
            self.carry = (int(open_ts[-1]), float(o[-1]), float(h[-1]), float(lo[-1]), float(c[-1]),
                          float(v[-1]), int(last_key[-1]))
        open_ts, o, h, lo, c, v, last_key = (a[done] for a in rows)
        due = open_ts if self.release_at_open else np.maximum(open_ts + self.ns, last_key + 1)
        return Bars(self.symbol, self.interval, open_ts, o, h, lo, c, v, due)

    def flush(self, end: int) -> Bars:
        """At the end of the data: release the open bar if it is complete by `end`."""
        empty = np.empty(0, np.int64)
        tape = Tape(self.symbol, empty, empty, np.empty(0), np.empty(0), np.empty(0, np.int8), None)
        return self.feed(tape, end)


_Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _group(tape: Tape, ns: int) -> _Rows:
    """OHLCV per bucket of ts_event // ns, plus the last replay time.

    Open and close are the first and last trade by exchange time (ties in replay order), as in
    the store's bars (engine/store/bars.py): receive times out of exchange order must not change them.
    """
    order = np.argsort(tape.ts_event, kind="stable")
    b = tape.ts_event[order] // ns
    if len(b) == 0:
        e = np.empty(0)
        return np.empty(0, np.int64), e, e, e, e, e, np.empty(0, np.int64)
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    ends = np.r_[starts[1:], len(b)] - 1
    price = tape.price[order]
    return (
        b[starts] * ns,
        price[starts],
        np.maximum.reduceat(price, starts),
        np.minimum.reduceat(price, starts),
        price[ends],
        np.add.reduceat(tape.size[order], starts),
        np.maximum.reduceat(tape.key[order], starts),
    )


def _merge_carry(carry: tuple[int, float, float, float, float, float, int], rows: _Rows) -> _Rows:
    open_ts, o, h, lo, c, v, last = rows
    t0, o0, h0, l0, c0, v0, k0 = carry
    if len(open_ts) and open_ts[0] == t0:
        o, h, lo, v, last = o.copy(), h.copy(), lo.copy(), v.copy(), last.copy()
        o[0], h[0], lo[0], v[0], last[0] = o0, max(h0, h[0]), min(l0, lo[0]), v0 + v[0], max(k0, last[0])
        return open_ts, o, h, lo, c, v, last
    head = (np.array([t0]), np.array([o0]), np.array([h0]), np.array([l0]), np.array([c0]),
            np.array([v0]), np.array([k0]))
    return tuple(np.concatenate([x, y]) for x, y in zip(head, rows, strict=True))  # type: ignore[return-value]


def merge_ranks(keys: list[np.ndarray]) -> list[np.ndarray]:
    """Rank of every element of each sorted key array in their stable merged order."""
    if not keys:
        return []
    lengths = [len(k) for k in keys]
    allk = np.concatenate(keys) if len(keys) > 1 else keys[0]
    if len(keys) == 1:
        return [np.arange(lengths[0], dtype=np.int64)]
    order = np.argsort(allk, kind="stable")
    rank = np.empty(len(allk), np.int64)
    rank[order] = np.arange(len(allk), dtype=np.int64)
    return np.split(rank, np.cumsum(lengths)[:-1])


def minute_marks(tape: Tape) -> tuple[np.ndarray, np.ndarray]:
    """Last trade price of each minute (by replay time) and the minute's end time."""
    if len(tape) == 0:
        return np.empty(0, np.int64), np.empty(0)
    minute = tape.key // 60_000_000_000
    last = np.flatnonzero(np.r_[minute[1:] != minute[:-1], True])
    return (minute[last] + 1) * 60_000_000_000, tape.price[last]


def first_touch(price: np.ndarray, start: int, limit: float, side: int, tol: float, stop: int) -> int:
    """First index in [start, stop) whose price is at or better than `limit` for `side`, else stop.

    Searches in growing chunks so that a touch near `start` costs little and a far one O(n).
    """
    j, step = start, 64
    while j < stop:
        seg = price[j : min(j + step, stop)]
        hits = np.flatnonzero(seg <= limit + tol) if side > 0 else np.flatnonzero(seg >= limit - tol)
        if hits.size:
            return j + int(hits[0])
        j += step
        step = min(step * 4, 1 << 20)
    return stop


def group_ends(ts_event: np.ndarray, side: np.ndarray) -> np.ndarray:
    """For each row, the index of the last row of its aggressor group."""
    n = len(ts_event)
    if n == 0:
        return np.empty(0, np.int64)
    same = np.r_[(ts_event[1:] == ts_event[:-1]) & (side[1:] == side[:-1]) & (side[1:] != 0), False]
    # a group ends where the next row does not continue it
    ends = np.flatnonzero(~same)
    return ends[np.searchsorted(ends, np.arange(n), "left")]


def candidate(order: SimOrder, tape: Tape, start: int, tick: float, min_rank: int) -> int:
    """The first tape index at which the venue's rules could act on `order` (len if none).

    A conservative filter in front of SimVenue.on_trade (and the bar calls): every row it skips
    provably leaves the order untouched — before the order arrived, before the first replay index it
    may trade on (`min_rank`, local), or a print that cannot reach a resting order's limit. Arrivals,
    cancels and amends are scheduled apart, by the venue's next action.
    """
    n = len(tape.key)
    if order.state not in (TAKING, RESTING) or start >= n:
        return n
    j0 = start
    if tape.key[j0] < order.arrive:
        j0 = int(tape.key.searchsorted(order.arrive, "left"))
    if j0 < n and tape.rank[j0] < min_rank:
        j0 = int(tape.rank.searchsorted(min_rank, "left"))
    if j0 >= n:
        return n
    tol = tick * 1e-6
    if tape.bar is None:
        if order.state == TAKING:
            return j0  # every print fills it or passes its limit
        return first_touch(tape.price, j0, order.price, order.side, tol, n)
    bar = tape.bar
    j, step = j0, 8  # in growing chunks: the next bar's open is usually a row or two away
    while j < n:
        k = min(j + step, n)
        if order.state == TAKING:
            hits = np.flatnonzero(bar.phase[j:k] == OPEN)
        else:
            reach = bar.low[j:k] <= order.price + tol if order.side > 0 else bar.high[j:k] >= order.price - tol
            hits = np.flatnonzero((bar.phase[j:k] == RANGE) & (bar.open_ts[j:k] >= order.arrive) & reach)
        if hits.size:
            return j + int(hits[0])
        j, step = k, min(step * 8, 1 << 20)
    return n
