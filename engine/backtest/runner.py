"""The event-driven tick backtester: replays the lake through the same engine that trades live.

Data are read one UTC day at a time (up to 31 days on a run over bars alone; warm-up history first,
without trading), merged into replay order (`engine.backtest.replay`), and dispatched to the
strategies; a strategy dispatched alone (one tick stream, or one bar series) runs in a loop of its
own. Orders go through the real
TradingEngine to a SimVenue. Trades on which no strategy listens are not walked in Python: the
venue's matching rule is only called on the trades a vectorised filter (`replay.candidate`) says
could touch a working order.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from engine.backtest.capital import starting_capital
from engine.backtest.config import BacktestConfig
from engine.backtest.data import Batch, DataSource, QuoteArrays, max_key, pull_forward
from engine.backtest.market import LastQuote, ReplayMarket
from engine.backtest.replay import (
    BAR,
    FUNDING,
    QUOTE,
    TRADE,
    Bars,
    Tape,
    merge_ranks,
    minute_marks,
)
from engine.backtest.schedule import INF, VenueSchedule
from engine.backtest.subscriptions import fan_out, subscribe
from engine.model.clock import SimClock
from engine.model.errors import ConfigError
from engine.model.events import Bar, Funding, Quote, Trade
from engine.model.time import interval_ns
from engine.model.types import Instrument, make_instrument
from engine.store.instruments import latest_instrument
from engine.trading.engine import EngineConfig, TradingEngine
from engine.venues.sim import SimVenue

CHUNK = 500_000  # ticks converted to Python objects at a time (bounds memory on big days)
RECV_SKEW = 1_000_000_000  # receive clocks may run this far behind exchange time (ts_recv < ts_event)


class _Prices:
    """PriceSource for the engine and the venue: the last trade at the replay's current event."""

    def __init__(self, bt: Backtest) -> None:
        self.bt = bt

    def last_price(self, symbol: str) -> float:
        return self.bt.last_price(symbol)

    def ask(self, symbol: str) -> float:
        """The ask of the usable book at the current event (NaN without one): a market spot buy
        reserves its cash there."""
        book = self.bt.market.book_at_decision(symbol, self.bt.clock.seq)
        return book.ask if book is not None else math.nan


class Backtest(VenueSchedule):
    """One backtest run; `run()` returns the raw records, `engine.backtest.run` wraps it."""

    # One stream dispatched alone (a tick or a bar strategy by itself) takes a loop of its own;
    # the tests turn this off to check that the general loop gives the very same run.
    dense = True

    def __init__(self, cfg: BacktestConfig, source: DataSource) -> None:
        self.cfg = cfg
        self.source = source
        self.symbols = list(cfg.symbols)
        self.sym_index = {s: i for i, s in enumerate(self.symbols)}
        self.instruments = dict(cfg.instruments or {s: self._default_instrument(s) for s in self.symbols})
        fees = {k: v for k, v in (("maker_fee", cfg.sim.maker_fee), ("taker_fee", cfg.sim.taker_fee)) if v is not None}
        if fees:  # the engine sizes spot buys by the fee the venue will charge
            self.instruments = {s: replace(i, **fees) for s, i in self.instruments.items()}  # type: ignore[arg-type]
        if "inverse_as_linear" in cfg.faults:  # the deliberate fault: value inverse contracts as linear
            self.instruments = {s: replace(i, inverse=False) for s, i in self.instruments.items()}
        missing = [s for s in self.symbols if s not in self.instruments]
        if missing:
            raise ConfigError(f"no instrument for symbol {missing[0]!r}")
        source.inverse = {s for s, i in self.instruments.items() if i.inverse}
        self.clock = SimClock()
        prices = _Prices(self)
        self.engine = TradingEngine(
            EngineConfig(client_prefix="bt" + cfg.digest(), limits=cfg.limits, capital=cfg.capital,
                         warn_leverage=cfg.warn_leverage),
            self.instruments, self.clock, prices,
        )
        self.market = ReplayMarket(self)
        self.venue = SimVenue(self.instruments, cfg.sim, self.engine.bus.publish, self.clock, prices,
                              on_change=self._changed, market=self.market)
        self.fault_fill = "fill_on_decision" in cfg.faults
        if self.fault_fill:
            self.venue.min_gap = 0
        self.engine.risk.cash_check = "no_cash_check" not in cfg.faults
        self.venue.full_fill_on_touch = "full_fill_on_touch" in cfg.faults
        self.engine.attach(self.venue)
        self.capital = starting_capital(cfg, source.lake, self.instruments)
        self.strategies, self.subs, self.builders = subscribe(cfg, self.engine, self.symbols, self.capital.capitals)
        self._check_data()
        n = len(self.symbols)
        self.tapes: list[Tape | None] = [None] * n
        self.quotes: list[QuoteArrays] = []
        self.all_keys = np.empty(0, np.int64)  # the replay time of each event of the window, by rank
        self.last = [math.nan] * n
        self.last_side = [0] * n
        self.last_quote: list[LastQuote | None] = [None] * n
        self.base = 0
        self.cand = [-1] * n
        self.cand_rank = [INF] * n
        self.cand_action = [False] * n  # the symbol's next candidate is a venue action, not a print
        self._busy = -1  # the symbol whose candidate the venue is acting on
        self.nf = INF
        self._nf_listener: Callable[[], None] | None = None
        self.events = 0
        self.marks: list[tuple[np.ndarray, str, np.ndarray]] = []
        self.elapsed = 0.0  # seconds in run(), of which load_seconds reading the lake
        self.load_seconds = 0.0
        self.windows_start = cfg.start
        self._price_memo: tuple[int, dict[str, float]] = (-2, {})

    # -- set-up ---------------------------------------------------------------------------
    def _default_instrument(self, symbol: str) -> Instrument:
        """The venue's metadata as last fetched at or before the start when the lake holds it, else
        OKX-like defaults; a tick no coarser than the prices in the data (XRP/ETH trades at 1e-8)."""
        linear = {"inverse": False} if "inverse_as_linear" in self.cfg.faults else {}
        inst = make_instrument(symbol, self.cfg.venue, **linear)
        got = latest_instrument(self.source.lake, self.source.venue, symbol, self.source.start)
        if got is not None:
            inst = replace(inst, tick_size=got.tick_size, lot_size=got.lot_size, min_size=got.min_size,
                           contract_value=got.contract_value or inst.contract_value)
        step = self.source.price_step(symbol)
        return replace(inst, tick_size=step) if step < inst.tick_size else inst

    def _check_data(self) -> None:
        """Data exist for every symbol; symbols held only as bars serve bar strategies only."""
        wanted: dict[str, set[str]] = {}
        for s, interval in self.subs.bar_keys:
            wanted.setdefault(self.symbols[s], set()).add(interval)
        self.source.check(wanted)
        for s, symbol in enumerate(self.symbols):
            if symbol in self.source.bar_only and (self.subs.ticks[s] or self.subs.quotes[s]):
                raise ConfigError(f"{symbol} has only bars in the lake: its strategies cannot use on_tick/on_quote")

    # -- the run ------------------------------------------------------------------------------
    def run(self, on_window: Callable[[int], None] | None = None) -> None:
        """Replay warm-up and trading windows, then stop the strategies; `on_window(end)` is called
        after each trading window (an exception it raises stops the run)."""
        t0 = time.perf_counter()
        self.windows_start = self._warmup_start()
        windows = self.source.windows(self.windows_start)
        self.engine.trading = False
        self.engine.start()
        bar = _progress(len(windows)) if self.cfg.progress and len(windows) > 1 else None
        for lo, hi, trading, batch in self._batches(windows):
            if trading and not self.engine.trading:
                # Targets set in warm-up are acted on at the start, not at the last warm-up event.
                self.clock.ts = max(self.clock.ts, self.cfg.start)
                self.engine.begin_trading()
            self._window(lo, hi, trading, batch)
            if trading and on_window is not None:
                on_window(hi)
            if bar is not None:
                bar.set_postfix_str(f"{self.events:,} events", refresh=False)
                bar.update(1)
        if bar is not None:
            bar.close()
        if not self.engine.trading:
            self.engine.begin_trading()
        self._dispatch_bars([b.flush(self.cfg.end) for b in self.builders])  # bar-only series: never fed
        self.engine.stop()
        self.engine.end_event()
        self._fill_until(INF - 1)
        self.venue.flush(self.clock.ts)  # cancels sent in on_stop take effect; no data is left to trade on
        self.elapsed = time.perf_counter() - t0

    def _warmup_start(self) -> int:
        start = self.cfg.start
        if not self.cfg.warmup:
            return start
        for sid, strat in self.strategies.items():
            need = strat.warmup()
            symbol = self.engine.contexts[sid].symbol
            if need.ticks:
                start = min(start, self.source.tick_warmup_start(symbol, need.ticks))
            if need.bars and strat.bar_interval:
                ns = interval_ns(strat.bar_interval)
                start = min(start, (self.cfg.start // ns) * ns - need.bars * ns)
        return start

    def _batches(self, windows: list[tuple[int, int, bool]]) -> Iterator[tuple[int, int, bool, Batch]]:
        """Each window's data, with the next window's events received before this one's end pulled in."""
        quotes = [True] * len(self.symbols)  # the venue reads the book whether or not a strategy listens
        pending: Batch | None = None
        for k, (lo, hi, trading) in enumerate(windows):
            t0 = time.perf_counter()
            batch = pending if pending is not None else self.source.load(lo, hi, trading, quotes)
            pending = None
            if k + 1 < len(windows):
                late = max_key(batch)
                nlo, nhi, ntrading = windows[k + 1]
                if late >= nlo - RECV_SKEW:
                    pending = self.source.load(nlo, nhi, ntrading, quotes)
                    pull_forward(batch, pending, late)
            self.load_seconds += time.perf_counter() - t0
            yield lo, hi, trading, batch

    def _window(self, lo: int, hi: int, trading: bool, batch: Batch) -> None:
        self.tapes = list(batch.tapes)
        self.quotes = list(batch.quotes)
        bars = [batch.bars[s] if s in batch.bars else b.feed(batch.tapes[s], hi)
                for b, (s, _iv) in zip(self.builders, self.subs.bar_keys, strict=True)]
        # Equal receive times: by kind, then symbol (by name, not by the order of --symbol), then lake order.
        by_name = sorted(range(len(self.symbols)), key=lambda i: self.symbols[i])
        bar_order = sorted(range(len(bars)), key=lambda k: (self.symbols[self.subs.bar_keys[k][0]],
                                                            self.subs.bar_keys[k][1]))
        streams: list[tuple[int, int, np.ndarray]] = [(BAR, k, bars[k].release) for k in bar_order]
        streams += [(FUNDING, s, batch.funding[s].ts) for s in by_name]
        streams += [(TRADE, s, batch.tapes[s].key) for s in by_name]
        streams += [(QUOTE, s, batch.quotes[s].key) for s in by_name]
        ranks = merge_ranks([k for _, _, k in streams])
        self.all_keys = np.empty(sum(len(k) for _, _, k in streams), np.int64)
        for (kind, s, k), r in zip(streams, ranks, strict=True):
            self.all_keys[r] = k
            if kind == TRADE:
                batch.tapes[s].rank = r
            elif kind == QUOTE:
                batch.quotes[s].rank = r
        for s in range(len(self.symbols)):
            self._recompute(s, start=0)
        wanted = [self._dispatched(kind, s) and len(k) > 0 for kind, s, k in streams]
        if self.dense and sum(wanted) == 1 and streams[wanted.index(True)][0] == TRADE:
            self._dense(streams[wanted.index(True)][1])
        elif self.dense and sum(wanted) == 1 and streams[wanted.index(True)][0] == BAR:
            w = wanted.index(True)
            self._bars_dense(bars[streams[w][1]], ranks[w], streams[w][1])
        elif any(wanted):
            self._general(streams, ranks, wanted, bars, batch)
        self._fill_until(self.base + sum(len(k) for _, _, k in streams) - 1)
        if trading:
            for tape in batch.tapes:
                ts, price = minute_marks(tape)
                self.marks.append((ts, tape.symbol, price))
        for s, tape in enumerate(batch.tapes):
            if len(tape):
                self.last[s], self.last_side[s] = float(tape.price[-1]), int(tape.side[-1])
        for s, q in enumerate(batch.quotes):
            if len(q.key):
                self.last_quote[s] = LastQuote(int(q.key[-1]), float(q.bid[-1]), float(q.ask[-1]),
                                               float(q.bid_size[-1]), float(q.ask_size[-1]))
        # The window is over: an order decided after it (a final bar, a cancel in on_stop) must not
        # be matched against its trades, which are all in the past.
        self.tapes = [None] * len(self.symbols)
        self.quotes = []
        self.all_keys = np.empty(0, np.int64)
        size = sum(len(k) for _, _, k in streams)
        self.base += size
        self.events += size

    def _dispatched(self, kind: int, s: int) -> bool:
        if kind == TRADE:
            return bool(self.subs.ticks[s])
        if kind == QUOTE:
            return bool(self.subs.quotes[s])
        return True

    def _dense(self, s: int) -> None:
        """The hot path: every trade of one symbol goes to its tick strategies, nothing else."""
        tape = self.tapes[s]
        assert tape is not None
        cbs = self.subs.ticks[s]
        for a in range(0, len(tape), CHUNK):
            b = min(a + CHUNK, len(tape))
            cols = (tape.key[a:b].tolist(), tape.ts_event[a:b].tolist(), tape.price[a:b].tolist(),
                    tape.size[a:b].tolist(), tape.side[a:b].tolist())
            # The column lists are young GC-tracked containers of millions of items: every
            # young-generation collection would walk them. Freezing moves them out of its way.
            gc.freeze()
            try:
                ranks = tape.rank[a:b]
                if int(ranks[-1]) - int(ranks[0]) == b - a - 1:  # nothing else in between: a range
                    seqs: Sequence[int] = range(self.base + int(ranks[0]), self.base + int(ranks[-1]) + 1)
                else:  # quotes the venue reads are ranked in between
                    seqs = (ranks + self.base).tolist()
                self._dense_loop(tape.symbol, seqs, cols, fan_out(cbs))
            finally:
                gc.unfreeze()

    def _dense_loop(self, sym: str, seqs: Sequence[int], cols: tuple[list[Any], ...],
                    cb: Callable[[Trade], None]) -> None:
        # Written for CPython speed: locals only. `nf` (the rank of the next trade a working
        # order could fill on) is a local kept current by the candidate hook through a closure.
        nf = self.nf

        def moved() -> None:
            nonlocal nf
            nf = self.nf

        self._nf_listener = moved
        clock, make, fill_until = self.clock, Trade, self._fill_until
        unplanned, end_event = self.engine.unplanned, self.engine.end_event
        for i, k, te, p, q, sd in zip(seqs, *cols, strict=True):
            if i >= nf:
                fill_until(i)
            clock.ts = k
            clock.seq = i
            cb(make(sym, te, k, p, q, sd))
            if unplanned:
                end_event()
        self._nf_listener = None

    def _bars_dense(self, bars: Bars, ranks: np.ndarray, series: int) -> None:
        """The hot path of a bar strategy alone: one bar series to its strategies, nothing else
        dispatched (the venue still acts on its candidates in between)."""
        seqs = (ranks + self.base).tolist()
        cols = (bars.release.tolist(), bars.open_ts.tolist(), bars.open.tolist(), bars.high.tolist(),
                bars.low.tolist(), bars.close.tolist(), bars.volume.tolist())
        nf = self.nf

        def moved() -> None:
            nonlocal nf
            nf = self.nf

        self._nf_listener = moved
        sym, iv, make, clock, fill_until = bars.symbol, bars.interval, Bar, self.clock, self._fill_until
        cb = fan_out(self.subs.bars[series])
        unplanned, end_event = self.engine.unplanned, self.engine.end_event
        for i, k, t, o, h, lo, c, v in zip(seqs, *cols, strict=True):
            if i >= nf:
                fill_until(i)
            clock.ts = k
            clock.seq = i
            cb(make(sym, iv, t, o, h, lo, c, v))
            if unplanned:
                end_event()
        self._nf_listener = None

    def _general(self, streams: list[tuple[int, int, np.ndarray]], ranks: list[np.ndarray],
                 wanted: list[bool], bars: list[Bars], batch: Any) -> None:
        """Every stream some strategy listens to, merged in replay order."""
        parts = [(np.full(len(k), n, np.int32), np.arange(len(k)), r, k)
                 for n, ((_kind, _s, k), r, w) in enumerate(zip(streams, ranks, wanted, strict=True)) if w]
        stream = np.concatenate([p[0] for p in parts])
        rows = np.concatenate([p[1] for p in parts])
        rank = np.concatenate([p[2] for p in parts])
        keys = np.concatenate([p[3] for p in parts])
        order = np.argsort(rank, kind="stable")
        clock = self.clock
        for n, row, r, k in zip(stream[order].tolist(), rows[order].tolist(),
                                (rank[order] + self.base).tolist(), keys[order].tolist(), strict=True):
            if r >= self.nf:
                self._fill_until(r)
            clock.ts = k
            clock.seq = r
            kind, s, _ = streams[n]
            if kind == TRADE:
                tape = batch.tapes[s]
                t = Trade(tape.symbol, int(tape.ts_event[row]), k, float(tape.price[row]),
                          float(tape.size[row]), int(tape.side[row]))
                for cb in self.subs.ticks[s]:
                    cb(t)
            elif kind == BAR:
                self._bar(bars[s], row, s)
            elif kind == FUNDING:
                self._funding(batch.funding[s], row, s)
            else:
                q = batch.quotes[s]
                quote = Quote(self.symbols[s], int(q.ts_event[row]), k, float(q.bid[row]), float(q.ask[row]),
                              float(q.bid_size[row]), float(q.ask_size[row]))
                for qcb in self.subs.quotes[s]:
                    qcb(quote)
            if self.engine.unplanned:
                self.engine.end_event()

    def _bar(self, bars: Bars, row: int, series: int) -> None:
        bar = Bar(bars.symbol, bars.interval, int(bars.open_ts[row]), float(bars.open[row]),
                  float(bars.high[row]), float(bars.low[row]), float(bars.close[row]), float(bars.volume[row]))
        for cb in self.subs.bars[series]:
            cb(bar)

    def _funding(self, funding: Any, row: int, s: int) -> None:
        symbol = self.symbols[s]
        mark = float(funding.mark[row])
        if not math.isfinite(mark):
            mark = self.last_price(symbol)
        rate = float(funding.rate[row])
        if math.isfinite(mark) and self.engine.trading:
            self.engine.funding(symbol, rate, mark)
        event = Funding(symbol, int(funding.ts[row]), rate, mark)
        for cb in self.subs.funding[s]:
            cb(event)

    def _dispatch_bars(self, final: list[Bars]) -> None:
        """Release the last bars (complete by the end of the run) after all data."""
        pending = sorted((int(b.release[r]), k, r) for k, b in enumerate(final) for r in range(len(b)))
        for release, k, r in pending:
            self.base += 1
            self.clock.ts, self.clock.seq = release, self.base
            self._bar(final[k], r, k)
            self.engine.end_event()


def _progress(total: int) -> Any:
    """A progress bar over the replay's days on stderr (only on a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="day", desc="backtest", file=sys.stderr, disable=None, leave=False)

