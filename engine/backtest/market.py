"""What the simulated venue sees of the market during a replay (its `MarketView`).

The book at an order's arrival is the last quote received at or before it (at zero latency: the
last quote ranked at or before the deciding event); it is unusable when crossed, older than the
staleness, or when a trade printed after it, by then, outside it. The last trade is found the
same way. An order may trade only after the aggressor group of the print that decided it.
All of it is read from the replay's current arrays (and what the last window left).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.venues.matching import Book

if TYPE_CHECKING:
    from engine.backtest.runner import Backtest


@dataclass
class LastQuote:
    """A symbol's last quote of an earlier window (its rank there is before every rank of this one)."""

    key: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float


class ReplayMarket:
    """The book, the last trade and the first tradable index, from the replay's arrays."""

    def __init__(self, bt: Backtest) -> None:
        self.bt = bt
        self.zero_latency = bt.cfg.sim.latency_ns == 0
        self.staleness = bt.cfg.sim.quote_staleness_ns

    def book(self, symbol: str, at: int, decided: int) -> Book | None:
        """The usable book at an order's arrival `at` (README "How fills work")."""
        return self._book(symbol, at, decided, self.zero_latency)

    def book_at_decision(self, symbol: str, decided: int) -> Book | None:
        """The usable book when the event `decided` is dispatched: what a strategy has seen by then."""
        return self._book(symbol, self.bt.clock.ts, decided, True)

    def _book(self, symbol: str, at: int, decided: int, by_rank: bool) -> Book | None:
        bt = self.bt
        s = bt.sym_index[symbol]
        if symbol in bt.source.bar_only:
            return None
        q = bt.quotes[s] if bt.quotes else None
        limit = decided - bt.base if by_rank else 1 << 62  # the last local rank it may see
        i = -1
        if q is not None and len(q.key):
            # at zero latency the rank limit alone decides (everything ranked before has key <= at)
            i = int(q.rank.searchsorted(limit, "right")) - 1 if by_rank else \
                int(q.key.searchsorted(at, "right")) - 1
        if i >= 0:
            assert q is not None
            key, rank = int(q.key[i]), int(q.rank[i])
            bid, ask, bs, asz = float(q.bid[i]), float(q.ask[i]), float(q.bid_size[i]), float(q.ask_size[i])
        elif bt.last_quote[s] is not None:
            lq = bt.last_quote[s]
            assert lq is not None
            key, rank, bid, ask, bs, asz = lq.key, -1, lq.bid, lq.ask, lq.bid_size, lq.ask_size
        else:
            return None
        if not (bid < ask) or at - key > self.staleness or not (math.isfinite(bid) and math.isfinite(ask)):
            return None
        tape = bt.tapes[s]
        if tape is not None and len(tape):
            lo = int(tape.rank.searchsorted(rank, "right"))
            hi = int(tape.rank.searchsorted(limit, "right")) if by_rank else \
                int(tape.key.searchsorted(at, "right"))
            if hi > lo:
                seen = tape.price[lo:hi]
                if bool((seen < bid).any() or (seen > ask).any()):
                    return None  # a print outside it: the book has moved
        return Book(bid, ask, bs, asz)

    def last_trade(self, symbol: str, at: int, decided: int) -> tuple[float, int]:
        bt = self.bt
        s = bt.sym_index[symbol]
        tape = bt.tapes[s]
        if tape is not None and len(tape):
            if self.zero_latency:  # the rank limit alone: everything ranked before has key <= at
                j = int(tape.rank.searchsorted(decided - bt.base, "right")) - 1
            else:
                j = int(tape.key.searchsorted(at, "right")) - 1
            if j >= 0:
                return float(tape.price[j]), int(tape.side[j])
        return bt.last[s], bt.last_side[s]

    def earliest(self, symbol: str, decided: int) -> int:
        """After the deciding event, and after the rest of its aggressor group when it was a print
        of this symbol."""
        bt = self.bt
        gap = bt.venue.min_gap
        tape = bt.tapes[bt.sym_index[symbol]]
        if gap == 0 or tape is None or not len(tape) or tape.bar is not None:
            return decided + gap
        local = decided - bt.base
        j = int(tape.rank.searchsorted(local, "left"))
        if j < len(tape) and int(tape.rank[j]) == local:
            return bt.base + int(tape.rank[tape.group_end(j)]) + 1
        return decided + gap
