"""OKX's L2 order book, pure: a snapshot, then updates chained by seqId/prevSeqId, and OKX's checksum.

`books` sends a snapshot (`prevSeqId` -1) and then updates whose `prevSeqId` is the previous
message's `seqId`; a level of size "0" is deleted. OKX sends an update with `seqId == prevSeqId`
about every 60 s when nothing changed, and after maintenance `seqId` may be smaller than
`prevSeqId`: both chain as usual. Any other `prevSeqId` is a break: the book is stale until the
next snapshot (resubscribe). `books5` and `bbo-tbt` are whole snapshots every push.

Checksum: CRC32 of `bid1px:bid1sz:ask1px:ask1sz:bid2px:...` over the best 25 levels of each side,
interleaved best first, a side's missing levels skipped, the prices and sizes as OKX wrote them,
read as a signed 32-bit integer. OKX sends 0 since June 2026; only a non-zero one is verified.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from engine.model.events import NAN, Quote
from engine.venues.okx.formats import Contract, base_size

CHECKSUM_DEPTH = 25

# A price level as OKX sent it: (price, size) text, kept as text because the checksum hashes it.
Level = tuple[str, str]


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """One book push's data item. `prev_seq_id` is None for channels without a chain (books5, bbo-tbt)."""

    inst_id: str
    snapshot: bool
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts_event: int
    seq_id: int | None = None
    prev_seq_id: int | None = None
    checksum: int = 0


def checksum(bids: Sequence[Level], asks: Sequence[Level]) -> int:
    """OKX's book checksum of levels given best first (see the module's docstring)."""
    parts: list[str] = []
    for i in range(CHECKSUM_DEPTH):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class L2Book:
    """One instrument's book in OKX's units (contracts for derivatives), built from BookUpdates."""

    def __init__(self, inst_id: str, verify_checksum: bool = True) -> None:
        self.inst_id = inst_id
        self.verify_checksum = verify_checksum
        self.bids: dict[float, Level] = {}
        self.asks: dict[float, Level] = {}
        self.seq_id: int | None = None
        self.ts_event = 0
        self.stale = True  # until a snapshot arrives

    def apply(self, update: BookUpdate) -> str:
        """Apply an update; return "" when the book is good, else why it is stale (resubscribe)."""
        if update.snapshot:
            self.bids.clear()
            self.asks.clear()
        elif self.stale:
            return "update without a snapshot"
        elif update.prev_seq_id != self.seq_id:
            self.stale = True
            return f"sequence break: prevSeqId {update.prev_seq_id} after seqId {self.seq_id}"
        _merge(self.bids, update.bids)
        _merge(self.asks, update.asks)
        self.seq_id = update.seq_id
        self.ts_event = update.ts_event
        self.stale = False
        if self.verify_checksum and update.checksum and self.checksum() != update.checksum:
            self.stale = True
            return f"checksum mismatch: {self.checksum()} computed, {update.checksum} sent"
        return ""

    def levels(self) -> tuple[list[Level], list[Level]]:
        """(bids best first, asks best first)."""
        bids = [self.bids[p] for p in sorted(self.bids, reverse=True)]
        asks = [self.asks[p] for p in sorted(self.asks)]
        return bids, asks

    def checksum(self) -> int:
        """OKX's checksum of the book as it stands."""
        bids = [self.bids[p] for p in sorted(self.bids, reverse=True)[:CHECKSUM_DEPTH]]
        asks = [self.asks[p] for p in sorted(self.asks)[:CHECKSUM_DEPTH]]
        return checksum(bids, asks)

    def quote(self, symbol: str, ts_recv: int, contract: Contract) -> Quote:
        """Best bid and ask, sizes in base currency; an empty side is NaN."""
        bid = self.bids[max(self.bids)] if self.bids else None
        ask = self.asks[min(self.asks)] if self.asks else None
        return best_quote(symbol, (self.ts_event, ts_recv), bid, ask, contract)


def best_quote(symbol: str, times: tuple[int, int], bid: Level | None, ask: Level | None,
               contract: Contract) -> Quote:
    """A Quote of the best levels (OKX units in, base currency out); a missing side is NaN."""
    bid_px, bid_sz = _side(bid, contract)
    ask_px, ask_sz = _side(ask, contract)
    return Quote(symbol, times[0], times[1], bid_px, ask_px, bid_sz, ask_sz)


def _side(level: Level | None, contract: Contract) -> tuple[float, float]:
    if level is None:
        return NAN, NAN
    return float(level[0]), base_size(level[1], level[0], contract)


def _merge(side: dict[float, Level], levels: Sequence[Level]) -> None:
    for px, sz in levels:
        if float(sz) == 0:
            side.pop(float(px), None)
        else:
            side[float(px)] = (px, sz)
