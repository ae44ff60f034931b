"""When the simulated venue gets to act during a replay: on the prints that could touch a working
order (a vectorised filter, `replay.candidate`, in front of the venue's scalar rules) and at its
arrivals, cancels and amends (the first event after their decision received by their time).

`VenueSchedule` is the part of `Backtest` (engine.backtest.runner) that keeps, for every symbol,
the rank of the next such event, and lets the venue act on everything ranked up to a given event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.backtest.replay import OPEN, Tape, candidate
from engine.model.events import Trade

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.backtest.data import DataSource
    from engine.model.clock import SimClock
    from engine.model.types import Instrument
    from engine.trading.engine import TradingEngine
    from engine.venues.sim import SimVenue

INF = 1 << 62


class VenueSchedule:
    """The venue's next candidate per symbol (a print, or an action) and the loop that plays them."""

    symbols: list[str]
    sym_index: dict[str, int]
    instruments: dict[str, Instrument]
    clock: SimClock
    engine: TradingEngine
    venue: SimVenue
    source: DataSource
    tapes: list[Tape | None]
    all_keys: np.ndarray
    last: list[float]
    base: int
    cand: list[int]
    cand_rank: list[int]
    cand_action: list[bool]
    nf: int
    fault_fill: bool
    _busy: int
    _nf_listener: Callable[[], None] | None
    _price_memo: tuple[int, dict[str, float]]

    def last_price(self, symbol: str) -> float:
        """Last trade price of `symbol` at the current replay event (NaN before any trade)."""
        seq = self.clock.seq
        memo = self._price_memo
        if memo[0] == seq and symbol in memo[1]:
            return memo[1][symbol]
        if memo[0] != seq:
            memo = self._price_memo = (seq, {})
        s = self.sym_index[symbol]
        tape = self.tapes[s]
        price = self.last[s]
        if tape is not None and len(tape.key):
            j = int(tape.rank.searchsorted(seq - self.base, "right")) - 1
            if j >= 0:
                price = float(tape.price[j])
        memo[1][symbol] = price
        return price

    def _changed(self, symbol: str) -> None:
        s = self.sym_index[symbol]
        if s != self._busy:  # the symbol being matched is planned again right after, once
            self._recompute(s)

    def _recompute(self, s: int, start: int | None = None) -> None:
        """The symbol's next candidate: the first print the venue could act on, or its next action
        (an arrival, cancel or amend: at the first event after its decision received by its time)."""
        symbol = self.symbols[s]
        orders = self.venue.working.get(symbol)
        tape = self.tapes[s]
        best, action = INF, False
        if orders and tape is not None and len(tape.key):
            if start is None:
                local = self.clock.seq - self.base
                start = int(tape.rank.searchsorted(local, "left" if self.fault_fill else "right"))
            tick = self.instruments[symbol].tick_size
            base = self.base
            j = len(tape.key)
            for order in orders:
                j = min(j, candidate(order, tape, start, tick, order.min_seq - base))
            if j < len(tape.key):
                self.cand[s] = j
                best = base + int(tape.rank[j])
        nxt = self.venue.next_action(symbol)
        if nxt is not None and len(self.all_keys):
            due, decided = nxt
            r = decided - self.base + self.venue.min_gap
            if decided < self.base or r >= len(self.all_keys) or self.all_keys[r] < due:
                r = max(r, int(self.all_keys.searchsorted(due, "left")))
            if r < len(self.all_keys) and self.base + r <= best:
                best, action = self.base + r, True
        self.cand_rank[s], self.cand_action[s] = best, action
        self.nf = min(self.cand_rank)
        if self._nf_listener is not None:
            self._nf_listener()

    def _fill_until(self, rank: int) -> None:
        """Let the venue act on every candidate (print or action) ranked at or before `rank`."""
        while self.nf <= rank:
            r = self.nf
            s = self.cand_rank.index(r)
            tape = self.tapes[s]
            assert tape is not None
            self.clock.seq = r
            self._busy = s
            if self.cand_action[s]:
                self.clock.ts = int(self.all_keys[r - self.base])
                self.venue.advance(self.symbols[s], self.clock.ts)
                nxt = int(tape.rank.searchsorted(r - self.base, "left"))  # a print at r comes after
            else:
                j = nxt = self.cand[s]
                self.clock.ts = int(tape.key[j])
                self._venue_event(tape, j, r)
                nxt = j + 1
            if self.engine.unplanned:
                self.engine.end_event()
            self._busy = -1
            self._recompute(s, start=nxt)

    def _venue_event(self, tape: Tape, j: int, rank: int) -> None:
        """Row j of a venue tape: a print, or a bar's open or range (bar-only symbols)."""
        if tape.bar is None:
            trade = Trade(tape.symbol, int(tape.ts_event[j]), int(tape.key[j]), float(tape.price[j]),
                          float(tape.size[j]), int(tape.side[j]), tape.trade_id_at(j))
            self.venue.on_trade(trade, rank)
        elif tape.bar.phase[j] == OPEN:
            self.venue.on_bar_open(tape.symbol, int(tape.bar.open_ts[j]), float(tape.price[j]), rank)
        else:
            self.venue.on_bar_range(tape.symbol, int(tape.bar.open_ts[j]), float(tape.bar.low[j]),
                                    float(tape.bar.high[j]), float(tape.size[j]), int(tape.key[j]), rank)

