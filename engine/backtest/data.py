"""Reading a backtest's market data from the lake, one UTC day (window) at a time (up to BAR_DAYS
days on a run over bars alone)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.backtest.bars import bar_tape, lake_bars
from engine.backtest.replay import Bars, Tape, tape_from_table
from engine.model.errors import DataError
from engine.model.time import NS_PER_DAY, interval_ns, ns_to_iso
from engine.store.lake import Lake

BAR_DAYS = 31  # days of bars read and replayed as one window when every symbol is held as bars only
_TRADE_COLUMNS = ["ts_event", "ts_recv", "trade_id", "price", "size", "side"]


@dataclass
class FundingArrays:
    """Funding instants of one symbol with the mark price at each (NaN where the lake has none)."""

    ts: np.ndarray
    rate: np.ndarray
    mark: np.ndarray


@dataclass
class QuoteArrays:
    """Best bid/ask updates of one symbol in replay order."""

    key: np.ndarray
    ts_event: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray
    rank: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # set by the replay


@dataclass
class Batch:
    """All data of one window, per symbol."""

    tapes: list[Tape]
    funding: list[FundingArrays]
    quotes: list[QuoteArrays]
    bars: dict[int, Bars] = field(default_factory=dict)  # lake bars of bar-only symbols, by index


_EMPTY_I = np.empty(0, np.int64)
_EMPTY_F = np.empty(0)


class DataSource:
    """The lake seen by one backtest: symbols of one venue over [start, end)."""

    def __init__(self, lake: Lake, venue: str, symbols: list[str], start: int, end: int,
                 perps: set[str] | None = None) -> None:
        self.lake = lake
        self.venue = venue
        self.symbols = symbols
        self.start = start
        self.end = end
        self.perps = perps or set()
        self.bar_only: dict[str, str] = {}  # symbol -> interval, for symbols the lake has as bars only
        # Inverse contracts (set by the runner): the lake holds their sizes in the coin, the engine
        # counts USD, so trade and quote sizes are read at their prices, bar volumes at the close.
        self.inverse: set[str] = set()

    def check(self, intervals: dict[str, set[str]] | None = None) -> None:
        """Raise a DataError naming the symbol when it has no data in [start, end).

        A symbol without trades is replayed from the lake's bars when they exist in the one
        interval its strategies ask for (`intervals`).
        """
        for symbol in self.symbols:
            if not self.lake.dates("trades", self.venue, symbol, self.start, self.end):
                if self._bars_instead(symbol, (intervals or {}).get(symbol, set())):
                    continue
                days = self.lake.dates("trades", self.venue, symbol)
                held = sorted({s for k, v, s in self.lake.entries() if k == "trades" and v == self.venue})
                if days:
                    have = f"; the lake holds {symbol} trades on {days[0]} .. {days[-1]}"
                elif held:
                    have = f"; venue {self.venue!r} holds trades of: {', '.join(held)}"
                else:
                    have = f"; the lake at {self.lake.root} holds no trades for venue {self.venue!r}"
                raise DataError(
                    f"no trades for {symbol} on venue {self.venue!r} between {ns_to_iso(self.start)} "
                    f"and {ns_to_iso(self.end)}{have}"
                )

    def _bars_instead(self, symbol: str, wanted: set[str]) -> bool:
        if not self.lake.dates("bars", self.venue, symbol, self.start, self.end):
            return False
        held = set(self.lake.read("bars", self.venue, symbol, self.start, self.end, ["interval"])
                   .column("interval").unique().to_pylist())
        if len(wanted) != 1 or not wanted <= held:
            raise DataError(
                f"{symbol} on venue {self.venue!r} has no trades, only bars of {', '.join(sorted(held))}: "
                f"its strategies must all use one of those bar intervals (they ask for "
                f"{', '.join(sorted(wanted)) or 'ticks'})"
            )
        self.bar_only[symbol] = next(iter(wanted))
        return True

    def windows(self, warm_start: int) -> list[tuple[int, int, bool]]:
        """(lo, hi, trading) windows: UTC days holding data, split at the start of trading; on a run
        over bars alone, consecutive days join into windows of up to BAR_DAYS days."""
        days: set[str] = set()
        for symbol in self.symbols:
            kind = "bars" if symbol in self.bar_only else "trades"
            days.update(self.lake.dates(kind, self.venue, symbol, warm_start, self.end))
        out: list[tuple[int, int, bool]] = []
        # Bars are small: a run on bars alone reads up to BAR_DAYS consecutive days as one window.
        merge = BAR_DAYS if len(self.bar_only) == len(self.symbols) else 1
        for day in sorted(days):
            lo = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) * 1_000_000_000
            hi = lo + NS_PER_DAY
            for a, b, trading in ((warm_start, self.start, False), (self.start, self.end, True)):
                lo2, hi2 = max(lo, a), min(hi, b)
                if lo2 >= hi2:
                    continue
                joins = merge > 1 and out and out[-1][1] == lo2 and out[-1][2] == trading
                if joins and hi2 - out[-1][0] <= merge * NS_PER_DAY:
                    out[-1] = (out[-1][0], hi2, trading)
                else:
                    out.append((lo2, hi2, trading))
        return out

    def price_step(self, symbol: str) -> float:
        """The finest price step of the symbol's first day of trades (or bars): a tick to round to."""
        kind = "trades" if self.lake.dates("trades", self.venue, symbol, self.start, self.end) else "bars"
        column = "open" if kind == "bars" else "price"
        table = next(self.lake.iter_days(kind, self.venue, symbol, self.start, self.end, [column]), None)
        return price_step(table.column(column).to_numpy()[:20_000]) if table is not None else math.inf

    def tick_warmup_start(self, symbol: str, n: int) -> int:
        """ts_event of the n-th trade before start (start itself when there is none)."""
        table = self.lake.tail("trades", self.venue, symbol, before=self.start, n=n)
        return int(table.column("ts_event")[0].as_py()) if table.num_rows else self.start

    def load(self, lo: int, hi: int, trading: bool, quotes: list[bool]) -> Batch:
        """Every symbol's trades (and funding, quotes where asked) with ts_event in [lo, hi)."""
        tapes, bars = [], {}
        for k, symbol in enumerate(self.symbols):
            if symbol in self.bar_only:
                interval = self.bar_only[symbol]
                table = self._usd(symbol, self.lake.read("bars", self.venue, symbol, lo, hi, interval=interval),
                                  "volume", "close")
                tapes.append(bar_tape(symbol, table, interval_ns(interval)))
                bars[k] = lake_bars(symbol, interval, table, interval_ns(interval), self.end)
            else:
                table = self.lake.read("trades", self.venue, symbol, lo, hi, _TRADE_COLUMNS)
                tapes.append(tape_from_table(symbol, self._usd(symbol, table, "size", "price")))
        funding = [self._funding(s, lo, hi) if trading and s in self.perps else
                   FundingArrays(_EMPTY_I, _EMPTY_F, _EMPTY_F) for s in self.symbols]
        quote_arrays = [self._quotes(s, lo, hi) if want else QuoteArrays(_EMPTY_I, _EMPTY_I, _EMPTY_F, _EMPTY_F,
                                                                          _EMPTY_F, _EMPTY_F)
                        for s, want in zip(self.symbols, quotes, strict=True)]
        return Batch(tapes, funding, quote_arrays, bars)

    def _usd(self, symbol: str, table: pa.Table, size: str, price: str) -> pa.Table:
        """`table` with its `size` column times its `price` column on an inverse symbol (coin -> USD)."""
        if symbol not in self.inverse:
            return table
        usd = pc.multiply(table.column(size).cast(pa.float64()), table.column(price).cast(pa.float64()))
        return table.set_column(table.column_names.index(size), size, usd)

    def _funding(self, symbol: str, lo: int, hi: int) -> FundingArrays:
        table = self.lake.read("funding", self.venue, symbol, lo, hi)
        ts = table.column("ts_event").to_numpy().astype(np.int64)
        rate = table.column("rate").to_numpy().astype(np.float64)
        return FundingArrays(ts, rate, self._marks_at(symbol, ts))

    def _marks_at(self, symbol: str, ts: np.ndarray) -> np.ndarray:
        """Close of the last mark bar complete at each time (NaN without mark data)."""
        out = np.full(len(ts), np.nan)
        if not len(ts):
            return out
        bars = self.lake.read("mark", self.venue, symbol, int(ts.min()) - NS_PER_DAY, int(ts.max()) + 1)
        if not bars.num_rows:
            return out
        ends = bars.column("ts_event").to_numpy() + np.array(
            [interval_ns(i) for i in bars.column("interval").to_pylist()], dtype=np.int64)
        order = np.argsort(ends, kind="stable")
        ends, close = ends[order], bars.column("close").to_numpy()[order]
        idx = np.searchsorted(ends, ts, "right") - 1
        ok = idx >= 0
        out[ok] = close[idx[ok]]
        return out

    def _quotes(self, symbol: str, lo: int, hi: int) -> QuoteArrays:
        table = self._usd(symbol, self._usd(symbol, self.lake.read("quotes", self.venue, symbol, lo, hi),
                                            "bid_size", "bid"), "ask_size", "ask")
        ts_event = table.column("ts_event").to_numpy().astype(np.int64)
        recv = table.column("ts_recv")
        key = ts_event if recv.null_count == len(recv) else np.where(
            recv.is_null().to_numpy(zero_copy_only=False), ts_event, recv.fill_null(0).to_numpy())
        order = np.argsort(key, kind="stable")
        col = {n: table.column(n).fill_null(np.nan).to_numpy().astype(np.float64)[order]
               for n in ("bid", "ask", "bid_size", "ask_size")}
        return QuoteArrays(key[order].astype(np.int64), ts_event[order], col["bid"], col["ask"],
                           col["bid_size"], col["ask_size"])

    def fingerprint(self, warm_start: int) -> str:
        """sha256 over every partition the run reads."""
        digest = hashlib.sha256()
        for symbol in self.symbols:
            for kind in ("trades", "funding", "mark", "quotes"):
                digest.update(self.lake.fingerprint(kind, self.venue, symbol, warm_start, self.end).encode())
        return digest.hexdigest()


def price_step(prices: np.ndarray) -> float:
    """The largest power-of-ten step all `prices` are multiples of (down to 1e-10)."""
    p = prices[np.isfinite(prices)]
    for decimals in range(0, 11):
        if np.all(np.abs(np.round(p, decimals) - p) <= 1e-9 * np.maximum(np.abs(p), 1e-12)):
            return float(10.0**-decimals)
    return 1e-10


def pull_forward(batch: Batch, nxt: Batch, before: int) -> None:
    """Move the next window's events received before `before` into `batch` (both in place).

    Windows are UTC days of ts_event, but replay runs in receive order: a trade stamped 23:59:59.999
    and received at 00:00:00.010 belongs after a next-day trade received at 00:00:00.002, and after
    the 00:00 funding. Pulling the next day's early-received events forward keeps one global order.
    """
    for k, (tape, later) in enumerate(zip(batch.tapes, nxt.tapes, strict=True)):
        cut = int(np.searchsorted(later.key, before, "left"))
        if cut and k not in batch.bars and k not in nxt.bars:
            batch.tapes[k] = concat_tapes(tape, later, cut)
            nxt.tapes[k] = slice_tape(later, cut)
    for k, (f, g) in enumerate(zip(batch.funding, nxt.funding, strict=True)):
        cut = int(np.searchsorted(g.ts, before, "left"))
        if cut:
            batch.funding[k] = FundingArrays(*(np.concatenate([a, b[:cut]]) for a, b in zip(
                (f.ts, f.rate, f.mark), (g.ts, g.rate, g.mark), strict=True)))
            nxt.funding[k] = FundingArrays(g.ts[cut:], g.rate[cut:], g.mark[cut:])
    for k, (q, r) in enumerate(zip(batch.quotes, nxt.quotes, strict=True)):
        cut = int(np.searchsorted(r.key, before, "left"))
        if cut:
            fields = ("key", "ts_event", "bid", "ask", "bid_size", "ask_size")
            merged = [np.concatenate([getattr(q, f), getattr(r, f)[:cut]]) for f in fields]
            order = np.argsort(merged[0], kind="stable")
            batch.quotes[k] = QuoteArrays(*(a[order] for a in merged))
            nxt.quotes[k] = QuoteArrays(*(getattr(r, f)[cut:] for f in fields))


def max_key(batch: Batch) -> int:
    """The latest replay time in a batch (-1 when empty)."""
    keys = [int(t.key[-1]) for t in batch.tapes if len(t)]
    keys += [int(f.ts[-1]) for f in batch.funding if len(f.ts)]
    keys += [int(q.key[-1]) for q in batch.quotes if len(q.key)]
    return max(keys, default=-1)


def concat_tapes(tape: Tape, later: Tape, cut: int) -> Tape:
    """`tape` plus the first `cut` rows of `later`, stably sorted into replay order."""
    key = np.concatenate([tape.key, later.key[:cut]])
    order = np.argsort(key, kind="stable")
    ids = None
    if tape.trade_id is not None or later.trade_id is not None:
        ids = pa.concat_arrays([_ids(tape), _ids(later).slice(0, cut)]).take(pa.array(order))
    return Tape(tape.symbol, key[order], np.concatenate([tape.ts_event, later.ts_event[:cut]])[order],
                np.concatenate([tape.price, later.price[:cut]])[order],
                np.concatenate([tape.size, later.size[:cut]])[order],
                np.concatenate([tape.side, later.side[:cut]])[order], ids)


def slice_tape(tape: Tape, cut: int) -> Tape:
    """`tape` without its first `cut` rows."""
    ids = None if tape.trade_id is None else _ids(tape).slice(cut)
    return Tape(tape.symbol, tape.key[cut:], tape.ts_event[cut:], tape.price[cut:], tape.size[cut:],
                tape.side[cut:], ids)


def _ids(tape: Tape) -> pa.Array:
    if tape.trade_id is None:
        return pa.nulls(len(tape), pa.string())
    return tape.trade_id if tape.trade_id.type == pa.string() else tape.trade_id.cast(pa.string())


def data_span(lake: Lake, venue: str, symbols: list[str]) -> tuple[int, int]:
    """[first, last] of everything the lake holds for the symbols (trades, else bars), as
    (start, end): start is the first ts_event, end one ns past the last trade or the close of the
    last bar. A DataError naming the symbol when it has neither."""
    starts, ends = [], []
    for symbol in symbols:
        kind = "trades" if lake.dates("trades", venue, symbol) else "bars"
        days = lake.dates(kind, venue, symbol)
        if not days:
            raise DataError(f"no trades or bars for {symbol} on venue {venue!r} in the lake at {lake.root}")
        columns = ["ts_event", "interval"] if kind == "bars" else ["ts_event"]
        first = lake.read(kind, venue, symbol, *_day_bounds(days[0]), columns=["ts_event"])
        last = lake.read(kind, venue, symbol, *_day_bounds(days[-1]), columns=columns)
        starts.append(int(first.column("ts_event")[0].as_py()))
        ts = last.column("ts_event").to_numpy()
        if kind == "bars":
            lengths = np.array([interval_ns(i) for i in last.column("interval").to_pylist()], np.int64)
            ends.append(int((ts + lengths).max()))
        else:
            ends.append(int(ts.max()) + 1)
    return min(starts), max(ends)


def _day_bounds(day: str) -> tuple[int, int]:
    lo = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) * 1_000_000_000
    return lo, lo + NS_PER_DAY
