"""Market data into the lake while the feed runs: `Recorder(lake)` takes the feed's `on_event` and
`on_gap` and appends a new part file per (kind, symbol) every `flush_every` seconds (`Lake.append`).

Rows wait in columnar lists, at most `max_rows` of them (more flushes at once), so memory stays
bounded. `ts_recv` is forced non-decreasing across everything recorded: a clock stepping back
never reorders what was received. A recorder killed between flushes loses only the rows since
the last one; every part written before is whole (`Lake.append` writes atomically).

Recorded: trades (with trade_id), quotes (tickers, bbo-tbt, books5, books: the best levels),
bars (confirmed candles), funding, gaps. Mark prices are counted, not stored (the lake keeps mark
prices as bars only), and book levels wait for the feed to hand its book updates on.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from engine.live.feed import Gap
from engine.model.errors import UserError
from engine.model.events import Bar, Funding, MarkPrice, Quote, Trade
from engine.store.lake import Lake
from engine.store.schema import KINDS
from engine.venues.okx.pushes import Event

# `okxbot record --channels` names -> OKX channels.
CHANNELS = {
    "trades": "trades-all",
    "bbo": "bbo-tbt",
    "books": "books",
    "funding": "funding-rate",
    "tickers": "tickers",
    "candles": "candle1m",
    "mark": "mark-price",
}
DEFAULT_MAX_ROWS = 500_000


def okx_channels(names: Iterable[str]) -> tuple[str, ...]:
    """OKX's channel of each `--channels` name, in order, once each; a UserError names an unknown one."""
    channels: list[str] = []
    for name in names:
        name = name.strip()
        if name not in CHANNELS:
            raise UserError(f"unknown channel {name!r}; choose from {', '.join(CHANNELS)}")
        if CHANNELS[name] not in channels:
            channels.append(CHANNELS[name])
    if not channels:
        raise UserError("no channel to record; choose from " + ", ".join(CHANNELS))
    return tuple(channels)


@dataclass(frozen=True, slots=True)
class Flush:
    """What one flush wrote: new rows by kind (gaps included) and rows the lake refused."""

    written: dict[str, int] = field(default_factory=dict)
    rejected: int = 0

    @property
    def rows(self) -> int:
        return sum(self.written.values())


class Recorder:
    """Buffers the feed's events and gaps and appends them to `lake` on `flush()`."""

    def __init__(self, lake: Lake, venue: str = "okx", flush_every: float = 2.0,
                 max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if not flush_every > 0 or not max_rows > 0:
            raise UserError(f"flush_every and max_rows must be above 0, not {flush_every} and {max_rows}")
        self.lake = lake
        self.venue = venue
        self.flush_every = flush_every
        self.max_rows = max_rows
        self.totals: Counter[str] = Counter()  # rows written by kind since the start
        self.skipped: Counter[str] = Counter()  # events not stored, by type
        self._buffers: dict[tuple[str, str], dict[str, list[Any]]] = {}
        self._pending = 0
        self._last_recv = 0

    @property
    def pending(self) -> int:
        """Rows waiting for the next flush."""
        return self._pending

    def recv_time(self, ts_recv: int) -> int:
        """`ts_recv`, or the last one recorded when the clock stepped back."""
        self._last_recv = max(self._last_recv, ts_recv)
        return self._last_recv

    def on_event(self, event: Event) -> None:
        """Buffer one event of the feed."""
        if isinstance(event, Trade):
            self._add("trades", event.symbol, ts_event=event.ts_event, ts_recv=self.recv_time(event.ts_recv),
                      trade_id=event.trade_id, price=event.price, size=event.size, side=event.side)
        elif isinstance(event, Quote):
            self._add("quotes", event.symbol, ts_event=event.ts_event, ts_recv=self.recv_time(event.ts_recv),
                      bid=event.bid, ask=event.ask, bid_size=_size(event.bid_size), ask_size=_size(event.ask_size))
        elif isinstance(event, Bar):
            self._add("bars", event.symbol, ts_event=event.ts_event, open=event.open, high=event.high,
                      low=event.low, close=event.close, volume=event.volume, interval=event.interval)
        elif isinstance(event, Funding):
            self._add("funding", event.symbol, ts_event=event.ts_event, rate=event.rate)
        elif isinstance(event, MarkPrice):
            self.skipped["mark"] += 1

    def on_gap(self, gap: Gap) -> None:
        """Buffer one outage of the feed."""
        self._add("gaps", gap.symbol, ts_event=gap.ts_event, ts_end=gap.ts_end, channel=gap.channel,
                  reason=gap.reason)

    def _add(self, kind: str, symbol: str, **row: Any) -> None:
        columns = self._buffers.get((kind, symbol))
        if columns is None:
            columns = self._buffers[kind, symbol] = {name: [] for name in KINDS[kind].names}
        for name, values in columns.items():
            values.append(row[name])
        self._pending += 1
        if self._pending >= self.max_rows:
            self.flush()

    def flush(self) -> Flush:
        """Append every buffered row, one part file per (kind, symbol, day); the buffers start empty.

        A disk failure is a UserError; the rows of that batch are lost, those written before stay."""
        buffers, self._buffers, self._pending = self._buffers, {}, 0
        written: Counter[str] = Counter()
        rejected = 0
        for (kind, symbol), columns in sorted(buffers.items()):
            table = pa.table(columns, schema=KINDS[kind])
            report = self.lake.append(kind, self.venue, symbol, table)
            written[kind] += report.new_rows
            rejected += sum(report.rejected.values())
        self.totals.update(written)
        return Flush(dict(written), rejected)

    async def run(self, on_flush: Callable[[Flush], None] | None = None) -> None:
        """Flush every `flush_every` seconds until cancelled; then flush what is left (on_flush each time)."""
        report = on_flush or (lambda _flush: None)
        try:
            while True:
                await asyncio.sleep(self.flush_every)
                report(self.flush())
        finally:
            report(self.flush())


def _size(value: float) -> float | None:
    """An unknown size (NaN in a Quote) is null in the lake."""
    return None if math.isnan(value) else value
