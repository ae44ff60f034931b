"""The synthetic market's model: regimes, event times, the price path, trades, quotes, funding, marks.

Pure numpy, drawn chunk by chunk from a generator the caller seeds; see the package docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.model.time import NS_PER_MIN, NS_PER_MS, NS_PER_S
from engine.model.types import make_instrument
from engine.store.schema import BARS, FUNDING, QUOTES, TRADES
from engine.store.synthetic.config import SynthConfig

# Where a regime goes when it ends (rows: from, columns: to): shocks can hit a calm market, but
# turbulence mostly decays through the normal regime.
_TRANSITIONS = np.array([[0.0, 0.85, 0.15], [0.6, 0.0, 0.4], [0.25, 0.75, 0.0]])
_SWEEP_PROB = 0.3  # share of taker orders that take more than one price level
_SWEEP_MORE = 0.4  # chance that a sweeping order takes yet another level
_LEVELS_PER_ORDER = 1.0 + _SWEEP_PROB / (1.0 - _SWEEP_MORE)
_SIDE_NOISE = 0.6  # how loosely the taker side follows the price move (0: always agrees)
_ACTIVITY_PEAK_HOUR = 14.0  # UTC hour of the daily activity peak (Europe and the US both open)
_TRADE_NOTIONAL = 150.0  # median trade, quote currency
_QUOTE_NOTIONAL = 15_000.0  # median top-of-book size in the normal regime
_FUNDING_NS = 8 * 3600 * NS_PER_S
_FUNDING_PERSIST = 0.7
_MAX_EVENTS_PER_CHUNK = 1_000_000
_ID_DIGITS = 12
_SECONDS_PER_YEAR = 365.0 * 86_400.0


@dataclass(frozen=True, slots=True)
class SynthData:
    """Synthetic tables with the lake's schemas (funding and mark are empty for spot symbols)."""

    trades: pa.Table
    quotes: pa.Table
    funding: pa.Table
    mark: pa.Table

    def by_kind(self) -> dict[str, pa.Table]:
        """The tables keyed by lake kind."""
        return {"trades": self.trades, "quotes": self.quotes, "funding": self.funding, "mark": self.mark}


@dataclass(frozen=True, slots=True)
class Model:
    """The config turned into the arrays and constants the generator works with."""

    cfg: SynthConfig
    tick: float
    lot: float  # base currency
    perp: bool
    vol: np.ndarray  # per regime, per square-root second
    activity: np.ndarray  # per regime
    spread: np.ndarray  # mean spread in ticks, per regime
    event_rate: float  # events per second at activity 1, before the daily cycle
    chunk_minutes: int

    @classmethod
    def of(cls, cfg: SynthConfig) -> Model:
        # The lake counts sizes in base currency, inverse contracts too: their trades are whole base lots
        # of the linear contract (an inverse one's lot is USD).
        inst = make_instrument(cfg.symbol, inverse=False)
        reg = cfg.regimes
        values, vectors = np.linalg.eig(_TRANSITIONS.T)
        visits = np.abs(np.real(vectors[:, np.argmin(np.abs(values - 1.0))]))
        share = visits * np.asarray(reg.minutes) / float(visits @ np.asarray(reg.minutes))  # time in each
        activity = np.asarray(reg.activity, dtype=np.float64)
        # Scale so that the long-run mean of trades per second is cfg.trade_rate.
        event_rate = cfg.trade_rate * cfg.quotes_per_trade / float(share @ activity)
        per_minute = 60.0 * event_rate * activity.max()
        minutes = 1440  # a day, halved until a chunk holds at most about a million events
        while minutes > 1 and minutes * per_minute > _MAX_EVENTS_PER_CHUNK:
            minutes //= 2
        vol = np.asarray(reg.vol) / math.sqrt(_SECONDS_PER_YEAR)
        return cls(cfg, inst.tick_size, inst.lot_size * inst.contract_value, inst.is_perp, vol,
                   activity, np.asarray(reg.spread_ticks), event_rate, minutes)


@dataclass(frozen=True, slots=True)
class Carry:
    """What one chunk hands to the next so that the series is continuous."""

    log_price: float
    regime: int
    regime_left_s: float  # time left in the current regime at the chunk's start
    tail_s: float  # time since the last event at the chunk's start
    bid: int  # standing quote, in ticks
    ask: int
    funding: float
    mark_close: float
    recv_trades: int
    recv_quotes: int
    next_trade: int

    @classmethod
    def initial(cls, m: Model) -> Carry:
        mid = round(m.cfg.start_price / m.tick)
        price = m.cfg.start_price
        return cls(math.log(price), 1, 0.0, 0.0, mid - 1, mid + 1, m.cfg.funding_mean, price, 0, 0, 1)


@dataclass(frozen=True, slots=True)
class _Grid:
    """One-second buckets of a chunk with their regime and activity, and the regime switches."""

    edges: np.ndarray  # seconds from the chunk's start, len n + 1
    regime: np.ndarray  # per bucket
    season: np.ndarray  # daily activity multiplier per bucket
    switch_s: np.ndarray  # when each regime segment starts
    states: np.ndarray  # its regime


@dataclass(frozen=True, slots=True)
class _Path:
    """Per event: time, efficient log price, its diffusive standard deviation and the quote."""

    t: np.ndarray
    log_price: np.ndarray
    sd: np.ndarray
    regime: np.ndarray
    bid: np.ndarray  # ticks
    ask: np.ndarray


def draw_chunk(m: Model, rng: np.random.Generator, lo_ns: int, hi_ns: int, carry: Carry) -> tuple[
        SynthData, Carry]:
    length_s = (hi_ns - lo_ns) / NS_PER_S
    grid, regime_left = _grid(m, rng, lo_ns, length_s, carry)
    path, end_log = _path(m, rng, grid, carry)
    ts = lo_ns + np.floor(path.t * 1000.0).astype(np.int64) * NS_PER_MS
    trades, next_trade, recv_trades = _trades(m, rng, path, ts, carry)
    quotes, recv_quotes = _quotes(m, rng, path, ts, carry.recv_quotes)
    funding, rate = _funding(m, rng, grid, lo_ns, hi_ns, carry.funding)
    mark, close = _mark(m, path, lo_ns, length_s, carry.mark_close)
    if not m.perp:
        funding, mark = FUNDING.empty_table(), BARS.empty_table()
    seen = path.t.size > 0
    new = Carry(
        end_log, int(grid.states[-1]), regime_left,
        length_s - float(path.t[-1]) if seen else carry.tail_s + length_s,
        int(path.bid[-1]) if seen else carry.bid, int(path.ask[-1]) if seen else carry.ask,
        rate, close, recv_trades, recv_quotes, next_trade,
    )
    meta = {b"okxbot.source": b"synthetic", b"okxbot.seed": str(m.cfg.seed).encode()}
    tables = [t.replace_schema_metadata(meta) for t in (trades, quotes, funding, mark)]
    return SynthData(*tables), new


def _grid(m: Model, rng: np.random.Generator, lo_ns: int, length_s: float, carry: Carry) -> tuple[
        _Grid, float]:
    """Regime switches in the chunk (a short loop: a few per hour) on a one-second grid."""
    times, states = [0.0], [carry.regime]
    t, state = carry.regime_left_s, carry.regime
    while t < length_s:
        if t > 0.0:
            state = int(rng.choice(3, p=_TRANSITIONS[state]))
            times.append(t)
            states.append(state)
        t += rng.exponential(m.cfg.regimes.minutes[state] * 60.0)
    n = max(1, math.ceil(length_s))
    edges = np.minimum(np.arange(n + 1, dtype=np.float64), length_s)
    regime = np.asarray(states)[np.searchsorted(times, edges[:-1], side="right") - 1]
    hour = ((lo_ns // NS_PER_S) % 86_400 + edges[:-1]) / 3600.0
    season = 1.0 + m.cfg.seasonality * np.cos(2 * np.pi * (hour - _ACTIVITY_PEAK_HOUR) / 24.0)
    return _Grid(edges, regime, season, np.asarray(times), np.asarray(states)), t - length_s


def _event_times(m: Model, rng: np.random.Generator, grid: _Grid) -> np.ndarray:
    """Arrival times of a Poisson process with the grid's intensity, by inverting its compensator."""
    intensity = m.event_rate * m.activity[grid.regime] * grid.season
    compensator = np.concatenate([[0.0], np.cumsum(intensity * np.diff(grid.edges))])
    total = compensator[-1]
    draws = [rng.exponential(size=int(total + 6 * math.sqrt(total) + 16)).cumsum()]
    while draws[-1][-1] < total:  # rarely needed: the first draw covers six standard deviations
        draws.append(draws[-1][-1] + rng.exponential(size=int(math.sqrt(total) + 16)).cumsum())
    arrivals = np.concatenate(draws)
    return np.interp(arrivals[arrivals < total], compensator, grid.edges)


def _jumps(m: Model, rng: np.random.Generator, grid: _Grid, t: np.ndarray) -> tuple[np.ndarray, float]:
    """Jump in log price at each event, and the sum of jumps after the chunk's last event."""
    rate = m.cfg.regimes.jumps_per_hour * m.activity[grid.regime] / 3600.0
    counts = rng.poisson(rate * np.diff(grid.edges))
    sizes = rng.laplace(0.0, m.cfg.regimes.jump_size, int(counts.sum()))
    hit = np.flatnonzero(counts)
    per_bucket = np.bincount(np.repeat(np.arange(hit.size), counts[hit]), sizes, minlength=hit.size)
    at = np.searchsorted(t, grid.edges[hit])  # the first event at or after the jump's second
    inside = at < t.size
    return np.bincount(at[inside], per_bucket[inside], minlength=t.size), float(per_bucket[~inside].sum())


def _path(m: Model, rng: np.random.Generator, grid: _Grid, carry: Carry) -> tuple[_Path, float]:
    t = _event_times(m, rng, grid)
    bucket = np.minimum(t.astype(np.int64), grid.regime.size - 1)
    regime = grid.regime[bucket]
    # Volatility follows activity through the day as well as the regime.
    sd = m.vol[regime] * np.sqrt(grid.season[bucket] * np.diff(t, prepend=-carry.tail_s))
    jump, late_jumps = _jumps(m, rng, grid, t)
    log_price = carry.log_price + np.cumsum(sd * rng.standard_normal(t.size) + jump)
    spread = 1 + rng.poisson(m.spread[regime] - 1.0)
    bid = np.maximum(np.floor(np.exp(log_price) / m.tick - spread / 2 + 0.5).astype(np.int64), 1)
    end_log = float(log_price[-1]) if t.size else carry.log_price
    return _Path(t, log_price, sd, regime, bid, bid + spread), end_log + late_jumps


def _trades(m: Model, rng: np.random.Generator, path: _Path, ts: np.ndarray, carry: Carry) -> tuple[
        pa.Table, int, int]:
    """Taker orders among the events; each prints at the standing quote, sweeping up or down."""
    order = np.flatnonzero(rng.random(path.t.size) < 1.0 / (m.cfg.quotes_per_trade * _LEVELS_PER_ORDER))
    # The taker side agrees with the price move since the previous order, so flow and returns correlate.
    move = np.diff(path.log_price[order], prepend=carry.log_price)
    sd = np.sqrt(np.diff(np.cumsum(path.sd**2)[order], prepend=0.0))
    side = np.where(move + _SIDE_NOISE * sd * rng.standard_normal(order.size) >= 0, 1, -1)
    sweeps = rng.random(order.size) < _SWEEP_PROB
    levels = 1 + np.where(sweeps, rng.geometric(1.0 - _SWEEP_MORE, order.size), 0)
    parent = np.repeat(order, levels)
    depth = np.arange(parent.size) - np.repeat(np.cumsum(levels) - levels, levels)
    taker = np.repeat(side, levels)
    before = parent - 1  # the quote standing when the order arrived
    prev_bid = np.where(before >= 0, path.bid[before], carry.bid)
    prev_ask = np.where(before >= 0, path.ask[before], carry.ask)
    ticks = np.maximum(np.where(taker > 0, prev_ask + depth, prev_bid - depth), 1)
    price = np.round(ticks * m.tick, _decimals(m.tick))
    size = _lots(m, rng, price, _TRADE_NOTIONAL)
    recv = np.repeat(_recv(m, rng, ts[order], carry.recv_trades), levels)  # a sweep is one message
    first = carry.next_trade
    numbers = pa.array(np.arange(first, first + parent.size)).cast(pa.string())
    # Zero-padded so that the lake's string order of ids (within one ms) is the order of the sweep.
    ids = pc.binary_join_element_wise(f"syn{m.cfg.seed}-", pc.utf8_lpad(numbers, _ID_DIGITS, "0"), "")
    columns = [pa.array(ts[parent]), pa.array(recv), ids, pa.array(price), pa.array(size),
               pa.array(taker.astype(np.int8))]
    last_recv = int(recv[-1]) if recv.size else carry.recv_trades
    return pa.Table.from_arrays(columns, schema=TRADES), first + parent.size, last_recv


def _quotes(m: Model, rng: np.random.Generator, path: _Path, ts: np.ndarray, last_recv: int) -> tuple[
        pa.Table, int]:
    bid = np.round(path.bid * m.tick, _decimals(m.tick))
    ask = np.round(path.ask * m.tick, _decimals(m.tick))
    depth = _QUOTE_NOTIONAL / m.activity[path.regime]  # thinner books when the market is busy
    bid_size = _lots(m, rng, bid, depth)
    ask_size = _lots(m, rng, ask, depth)
    recv = _recv(m, rng, ts, last_recv)
    columns = [ts, recv, bid, ask, bid_size, ask_size]
    table = pa.Table.from_arrays([pa.array(c) for c in columns], schema=QUOTES)
    return table, int(recv[-1]) if recv.size else last_recv


def _lots(m: Model, rng: np.random.Generator, price: np.ndarray, median: float | np.ndarray) -> np.ndarray:
    """Heavy-tailed sizes in base currency: a log-normal mixture with a Pareto tail, on the lot."""
    kind = rng.random(price.size)
    big = kind > 0.9
    scale = np.exp(np.where(big, 3.5, 0.0) + np.where(big, 1.1, 1.3) * rng.standard_normal(price.size))
    whale = kind > 0.995
    scale[whale] = 40.0 * (1.0 + rng.pareto(1.5, int(whale.sum())))
    lots = np.maximum(np.rint(median * scale / price / m.lot), 1.0)
    return np.round(lots * m.lot, _decimals(m.lot))


def _decimals(step: float) -> int:
    return min(12, max(0, -math.floor(math.log10(step)) + 2))


def _recv(m: Model, rng: np.random.Generator, ts_event: np.ndarray, last: int) -> np.ndarray:
    """Receive times a few ms after the event, strictly increasing (one socket delivers in order)."""
    median = max(m.cfg.latency_ms, 1e-3) * NS_PER_MS
    latency = (median * rng.lognormal(0.0, 0.5, ts_event.size)).astype(np.int64)
    step = np.arange(ts_event.size + 1, dtype=np.int64)
    return (np.maximum.accumulate(np.concatenate([[last], ts_event + latency]) - step) + step)[1:]


def _funding(m: Model, rng: np.random.Generator, grid: _Grid, lo_ns: int, hi_ns: int, rate: float) -> tuple[
        pa.Table, float]:
    """Rates at 00:00, 08:00 and 16:00 UTC: mean-reverting, noisier when the market is turbulent."""
    stamps = np.arange(-(-lo_ns // _FUNDING_NS) * _FUNDING_NS, hi_ns, _FUNDING_NS, dtype=np.int64)
    at = (stamps - lo_ns) / NS_PER_S
    regime = grid.states[np.searchsorted(grid.switch_s, at, side="right") - 1]
    shocks = m.cfg.funding_noise * m.vol[regime] / m.vol[1] * rng.standard_normal(stamps.size)
    mean = m.cfg.funding_mean
    rates = []
    for shock in shocks:  # at most three per day
        rate = mean + _FUNDING_PERSIST * (rate - mean) + float(shock)
        rates.append(rate)
    clipped = np.round(np.clip(np.asarray(rates, dtype=np.float64), -0.0075, 0.0075), 8)
    return pa.Table.from_arrays([pa.array(stamps), pa.array(clipped)], schema=FUNDING), rate


def _mark(m: Model, path: _Path, lo_ns: int, length_s: float, last_close: float) -> tuple[pa.Table, float]:
    """One-minute bars of the efficient price; a minute without events repeats the last close."""
    n = max(1, math.ceil(length_s / 60.0))
    price = np.exp(path.log_price)
    minute = (path.t // 60.0).astype(np.int64)
    bars = np.full((4, n), np.nan)
    if price.size:
        starts = np.flatnonzero(np.diff(minute, prepend=-1))
        ends = np.append(starts[1:], price.size) - 1
        bars[:, minute[starts]] = [price[starts], np.maximum.reduceat(price, starts),
                                   np.minimum.reduceat(price, starts), price[ends]]
    filled = np.maximum.accumulate(np.where(np.isnan(bars[3]), -1, np.arange(n)))
    carried = np.where(filled >= 0, bars[3][np.maximum(filled, 0)], last_close)
    bars = np.where(np.isnan(bars), carried, bars)
    bars = np.round(np.rint(bars / m.tick) * m.tick, _decimals(m.tick))
    ts = lo_ns + np.arange(n, dtype=np.int64) * NS_PER_MIN
    columns = [ts, *bars, np.zeros(n), np.full(n, "1m")]
    table = pa.Table.from_arrays([pa.array(c) for c in columns], schema=BARS)
    return table, float(bars[3][-1])
