"""Round trips: each sub-ledger's flat-to-flat trades, with entry and exit, size, PnL, fees, funding.

Fixed definitions (the README quotes them):

- A sub-ledger is one strategy's ledger rows on one symbol (for the portfolio: the whole
  account's rows on one symbol), sorted by (ts, seq). Rows with the same `ts` are one step: the
  position is read after all of them. Positions within `FLAT_RTOL` of the largest row, or below
  one lot of the symbol (the fee dust of spot buys), are flat.
- A trip opens at the step where the position leaves 0 and closes at the step where it is back
  at 0. A step that flips the sign closes one trip and opens the next; its cash flow, fees and
  funding are split pro rata: the share |position before| / (|position before| + |position
  after|) = |position before| / |step qty| goes to the closing trip, the rest to the new one.
  Steps while flat (funding of nobody, rows netting to nothing) belong to no trip.
- side: the sign of the position (+1 long, -1 short); size: the largest |position| in the trip.
- Entry price: sum over the steps that made |position| larger of (increase * step price) /
  sum of the increases; exit price: the same over the steps that made it smaller. A flip step
  exits the old trip by |position before| and enters the new one by |position after|. The step
  price is the quantity-weighted price of its rows: sum(qty * price) / sum(qty). On an inverse
  contract (sizes in USD, README "Inverse perpetuals") every one of these means is harmonic
  instead: sum(q) / sum(q / price), so that the PnL is side x size x (1/entry - 1/exit).
- pnl: the sum of the trip's cash flows (fills and crosses net of fees, plus funding); fees: its
  fees, cost positive; funding_paid: minus its funding cash flows (cost positive).
- entry_ts: the opening step's time; exit_ts: the closing step's time; duration = exit - entry.
- A trip open at the end is returned with closed = False: its remaining position counts as exited
  at the given mark (its time is the exit time, its price enters the exit price), and the
  position's value at the mark (position x mark, inverse: -position / mark) is added to its pnl.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.model.time import NS_PER_S
from engine.results.ledger import FloatArray, LedgerArrays, flat_tolerance, ledger_arrays

TRADES = pa.schema(
    [
        ("strategy_id", pa.string()),
        ("symbol", pa.string()),
        ("trip", pa.int64()),  # 1, 2, ... per strategy, in order of entry
        ("side", pa.int8()),  # +1 long, -1 short
        ("entry_ts", pa.int64()),
        ("exit_ts", pa.int64()),  # an open trip: the time of the mark it is valued at
        ("entry_price", pa.float64()),
        ("exit_price", pa.float64()),  # an open trip: includes the mark for the position still held
        ("size", pa.float64()),  # largest |position|, base currency (USD on an inverse symbol)
        ("duration_s", pa.float64()),
        ("pnl", pa.float64()),  # the symbol's currency (quote, or the coin if inverse), net of fees and funding
        ("fees", pa.float64()),  # cost positive
        ("funding_paid", pa.float64()),  # cost positive
        ("closed", pa.bool_()),
    ]
)


@dataclass(frozen=True, slots=True)
class Trips:
    """The round trips of one or more sub-ledgers, as parallel arrays."""

    side: np.ndarray
    entry_ts: np.ndarray
    exit_ts: np.ndarray
    entry_price: FloatArray
    exit_price: FloatArray
    size: FloatArray
    pnl: FloatArray
    fees: FloatArray
    funding_paid: FloatArray
    closed: np.ndarray

    @property
    def duration_s(self) -> FloatArray:
        """Exit minus entry time, in seconds."""
        return np.asarray((self.exit_ts - self.entry_ts) / NS_PER_S, dtype=np.float64)

    def where(self, mask: np.ndarray) -> Trips:
        """The trips where `mask` holds."""
        return Trips(*(getattr(self, f.name)[mask] for f in fields(self)))

    def closed_only(self) -> Trips:
        """The closed trips."""
        return self.where(self.closed)


def empty_trips() -> Trips:
    """No trips."""
    ints, floats = np.zeros(0, dtype=np.int64), np.zeros(0)
    return Trips(np.zeros(0, dtype=np.int8), ints, ints, floats, floats, floats, floats, floats, floats,
                 np.zeros(0, dtype=bool))


def concat_trips(parts: Sequence[Trips]) -> Trips:
    """The trips of several sub-ledgers, one after the other."""
    if not parts:
        return empty_trips()
    return Trips(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Trips)))


@dataclass(frozen=True, slots=True)
class _Steps:
    ts: np.ndarray
    qty: FloatArray
    price: FloatArray  # quantity-weighted; NaN where the step's quantity is 0
    cash_flow: FloatArray
    fee: FloatArray
    funding: FloatArray


def _weigh(qty: FloatArray, price: FloatArray, inverse: bool) -> FloatArray:
    """What prices are averaged by: qty x price, or qty / price on an inverse contract (harmonic)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(qty / price if inverse else qty * price)


def _mean(weighed: FloatArray, qty: FloatArray, inverse: bool) -> FloatArray:
    """The mean price of `qty` whose `_weigh` is `weighed` (NaN where qty is 0)."""
    top, bottom = (qty, weighed) if inverse else (weighed, qty)
    return np.divide(top, bottom, out=np.full(qty.shape, np.nan), where=qty != 0)


def _steps(rows: LedgerArrays, inverse: bool) -> _Steps:
    """The rows summed per distinct time."""
    starts = np.flatnonzero(np.concatenate(([True], rows.ts[1:] != rows.ts[:-1])))

    def total(values: np.ndarray) -> FloatArray:
        return np.asarray(np.add.reduceat(values, starts), dtype=np.float64)

    qty = total(rows.qty)
    notional = total(np.where(rows.qty != 0, _weigh(rows.qty, rows.price, inverse), 0.0))
    price = _mean(notional, qty, inverse)
    funding = total(np.where(rows.kind == "funding", rows.cash_flow, 0.0))
    return _Steps(rows.ts[starts], qty, price, total(rows.cash_flow), total(rows.fee), funding)


@dataclass(frozen=True, slots=True)
class _Walk:
    """Where each step leaves the position and which trip each part of the step belongs to."""

    after: FloatArray  # position after the step, float residue zeroed
    opens: np.ndarray  # the step opens a trip (leaves 0, or flips)
    ends: np.ndarray  # the step closes a trip (back to 0, or flips)
    active: np.ndarray  # the step touches a trip (not flat before and after)
    now: np.ndarray  # trip holding the position after the step
    old: np.ndarray  # trip holding it before (== now unless the step flips)
    share: FloatArray  # part of the step that belongs to `old`: 1, or |before| / |step| on a flip
    inc: FloatArray  # how much the step enters `now` (|position| made larger)
    dec: FloatArray  # how much the step exits `old` (|position| made smaller)
    n: int  # trips


def _walk(qty: FloatArray, tolerance: float) -> _Walk:
    p1 = np.cumsum(qty)
    p1[np.abs(p1) <= tolerance] = 0.0
    p0 = np.concatenate(([0.0], p1[:-1]))
    s0, s1, a0, a1 = np.sign(p0), np.sign(p1), np.abs(p0), np.abs(p1)
    opens, ends = (s1 != 0) & (s1 != s0), (s0 != 0) & (s1 != s0)
    flips = opens & ends
    now = np.cumsum(opens) - 1
    share = np.ones_like(p1)
    share[flips] = a0[flips] / (a0[flips] + a1[flips])
    return _Walk(
        after=p1, opens=opens, ends=ends, active=(s0 != 0) | (s1 != 0), now=now, old=now - flips, share=share,
        inc=np.where(flips, a1, np.maximum(a1 - a0, 0.0)), dec=np.where(flips, a0, np.maximum(a0 - a1, 0.0)),
        n=int(opens.sum()),
    )


def _per_trip(w: _Walk, owner: np.ndarray, values: FloatArray) -> FloatArray:
    """Sum of `values` over the active steps, by the trip `owner` names."""
    return np.asarray(np.bincount(owner[w.active], values[w.active], minlength=w.n))


def _split(w: _Walk, values: FloatArray) -> FloatArray:
    """Sum of `values` per trip, a flipping step's value shared pro rata between its two trips."""
    flips = w.opens & w.ends
    rest = np.bincount(w.now[flips], (values * (1.0 - w.share))[flips], minlength=w.n)
    return _per_trip(w, w.old, values * w.share) + rest


def round_trips(rows: LedgerArrays, mark_ts: int = 0, mark_price: float = float("nan"),
                inverse: bool = False, lot: float = 0.0) -> Trips:
    """The round trips of one sub-ledger (rows of one symbol, sorted), the open one valued at the mark;
    `inverse`: the symbol is an inverse contract (harmonic mean prices, valued at -position / mark);
    a position below one `lot` is flat."""
    if rows.ts.size == 0:
        return empty_trips()
    s = _steps(rows, inverse)
    w = _walk(s.qty, flat_tolerance(rows.qty, lot))
    exit_qty = _per_trip(w, w.old, w.dec)
    exit_notional = _per_trip(w, w.old, np.where(w.dec > 0, _weigh(w.dec, s.price, inverse), 0.0))
    entry_qty = _per_trip(w, w.now, w.inc)
    entry_notional = _per_trip(w, w.now, np.where(w.inc > 0, _weigh(w.inc, s.price, inverse), 0.0))
    size = np.zeros(w.n)
    held = w.after != 0
    np.maximum.at(size, w.now[held], np.abs(w.after[held]))
    n_closed = int(w.ends.sum())
    exit_ts = np.full(w.n, mark_ts, dtype=np.int64)
    exit_ts[:n_closed] = s.ts[w.ends]
    pnl = _split(w, s.cash_flow)
    if w.n > n_closed:  # the last trip is still open: value what is left at the mark
        left = w.after[-1]
        exit_qty[-1] += abs(left)
        exit_notional[-1] += abs(left) / mark_price if inverse else abs(left) * mark_price
        pnl[-1] += -left / mark_price if inverse else left * mark_price
    return Trips(
        side=np.sign(w.after[w.opens]).astype(np.int8),
        entry_ts=s.ts[w.opens],
        exit_ts=exit_ts,
        entry_price=_mean(entry_notional, entry_qty, inverse),
        exit_price=_mean(exit_notional, exit_qty, inverse),
        size=size,
        pnl=pnl,
        fees=_split(w, s.fee),
        funding_paid=0.0 - _split(w, s.funding),  # 0.0 - x: no negative zero for no funding
        closed=np.arange(w.n) < n_closed,
    )


def symbol_trips(rows: LedgerArrays, last_marks: Mapping[str, tuple[int, float]],
                 inverse: Collection[str] = (), lots: Mapping[str, float] | None = None) -> dict[str, Trips]:
    """Round trips of `rows` per symbol (sorted by name); open trips valued at `last_marks`; the
    `inverse` symbols are inverse contracts; `lots` gives each symbol's lot, below which a position
    is flat."""
    out = {}
    for sym in sorted(set(rows.symbol.tolist())):
        mark_ts, mark_price = last_marks.get(sym, (0, float("nan")))
        out[sym] = round_trips(rows.where(rows.symbol == sym), mark_ts, mark_price, sym in inverse,
                               (lots or {}).get(sym, 0.0))
    return out


def last_marks(marks: pa.Table) -> dict[str, tuple[int, float]]:
    """(time, price) of each symbol's last mark."""
    out: dict[str, tuple[int, float]] = {}
    if marks.num_rows == 0:
        return out
    ts = np.asarray(marks.column("ts").to_numpy(), dtype=np.int64)
    price = np.asarray(marks.column("price").to_numpy(), dtype=np.float64)
    codes = pc.dictionary_encode(marks.column("symbol")).combine_chunks()
    index = np.asarray(codes.indices.to_numpy(zero_copy_only=False))
    for k, sym in enumerate(codes.dictionary.to_pylist()):
        rows = np.flatnonzero(index == k)
        latest = rows[ts[rows] == ts[rows].max()][-1]  # the last of the rows at its latest time
        out[sym] = (int(ts[latest]), float(price[latest]))
    return out


def trades_table(ledger: pa.Table, marks: pa.Table, strategy_ids: Sequence[str],
                 inverse: Collection[str] = (), lots: Mapping[str, float] | None = None) -> pa.Table:
    """TRADES rows: every strategy's round trips (in `strategy_ids` order), each in order of entry."""
    rows = ledger_arrays(ledger)
    marked = last_marks(marks)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in TRADES.names}
    for sid in strategy_ids:
        per_symbol = symbol_trips(rows.where(rows.strategy_id == sid), marked, inverse, lots)
        trips = concat_trips(list(per_symbol.values()))
        symbols = np.concatenate([np.full(t.side.size, sym, dtype=object) for sym, t in per_symbol.items()]
                                 + [np.zeros(0, dtype=object)])
        order = np.lexsort((symbols.astype(str), trips.entry_ts))
        trips, symbols = trips.where(order), symbols[order]
        columns["strategy_id"].append(np.full(trips.side.size, sid, dtype=object))
        columns["symbol"].append(symbols)
        columns["trip"].append(np.arange(1, trips.side.size + 1, dtype=np.int64))
        columns["duration_s"].append(trips.duration_s)
        for f in fields(Trips):
            columns[f.name].append(getattr(trips, f.name))
    arrays = [pa.array(np.concatenate(columns[f.name]) if columns[f.name] else [], f.type) for f in TRADES]
    return pa.Table.from_arrays(arrays, schema=TRADES)
