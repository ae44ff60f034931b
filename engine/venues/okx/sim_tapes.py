"""Reading what the local OKX simulator serves out of the lake, into `sim_market`'s records.

The simulator takes any `TableSource` (`engine.store.lake.Lake` is one): venues sit beside the
store in the rooms of `engine/`, so they are handed a lake rather than import it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.model.errors import UserError
from engine.venues.okx.formats import default_contract, inst_id
from engine.venues.okx.sim_market import Bars, Instrument, Tape, num

__all__ = ["TableSource", "load_instrument", "load_tape"]

NS_PER_MS = 1_000_000
# Used when the lake has no `instruments` row for a symbol: OKX's usual sizes.
SPOT_DEFAULTS = ("0.01", "0.00000001", "0.00001")  # tick, lot, minimum
DERIVATIVE_DEFAULTS = ("0.1", "0.01", "0.01")


class TableSource(Protocol):
    """Where the simulator reads rows: a lake's `read(kind, venue, symbol)`, sorted by ts_event."""

    def read(self, kind: str, venue: str, symbol: str) -> pa.Table: ...


def load_instrument(source: TableSource, venue: str, symbol: str) -> Instrument:
    """The symbol's last `instruments` row, else OKX's usual sizes and the known ctVal;
    a UserError for a derivative whose ctVal is unknown."""
    inst = inst_id(symbol)
    rows = source.read("instruments", venue, symbol).to_pylist()
    if rows:
        last = rows[-1]
        value = last["contract_value"]
        ct_val = Decimal(num(value)) if value and last["inst_type"] != "SPOT" else None
        sizes = (num(last["tick_size"]), num(last["lot_size"]), num(last["min_size"]))
        return Instrument(symbol, last["inst_id"], *sizes, ct_val, last["inst_id_code"], last["state"] or "live")
    contract = default_contract(inst)
    if contract is None:
        raise UserError(
            f"{symbol}: its contract size is unknown; record its instrument in the lake "
            "(the instruments kind) before simulating it"
        )
    if contract.spot:
        return Instrument(symbol, inst, *SPOT_DEFAULTS)
    return Instrument(symbol, inst, *DERIVATIVE_DEFAULTS, contract.contract_size)


def load_tape(source: TableSource, venue: str, symbol: str) -> Tape:
    """One symbol's trades, last quote, funding, bars and last book from `source`."""
    trades = source.read("trades", venue, symbol)
    ts = trades["ts_event"].to_numpy() // NS_PER_MS
    ids = [t if t is not None else str(i + 1) for i, t in enumerate(trades["trade_id"].to_pylist())]
    funding = source.read("funding", venue, symbol)
    keys, by_position = _keys(ids)
    return Tape(
        ts=ts,
        ids=ids,
        keys=keys,
        price=trades["price"].to_numpy(),
        size=trades["size"].to_numpy(),
        side=trades["side"].to_numpy(),
        quote=_last_quote(source.read("quotes", venue, symbol)),
        funding_ts=funding["ts_event"].to_numpy() // NS_PER_MS,
        funding_rate=funding["rate"].to_numpy(),
        bars=_bars(source.read("bars", venue, symbol)),
        book=_last_book(source.read("books", venue, symbol)),
        mark=_last_mark(source.read("mark", venue, symbol)),
        by_position=by_position,
    )


def _keys(ids: list[str]) -> tuple[np.ndarray, bool]:
    """What history-trades pages by: the ids as integers when they are and ascend (OKX's),
    else the positions (True: a cursor id is then looked up)."""
    if ids and all(i.isdigit() for i in ids):
        keys = np.array([int(i) for i in ids], np.int64)
        if (np.diff(keys) > 0).all():
            return keys, False
    return np.arange(len(ids), dtype=np.int64), bool(ids)


def _last_quote(quotes: pa.Table) -> tuple[float, float, float, float, int] | None:
    if not quotes.num_rows:
        return None
    q = quotes.slice(quotes.num_rows - 1).to_pylist()[0]
    return q["bid"], q["ask"], q["bid_size"] or 0.0, q["ask_size"] or 0.0, q["ts_event"] // NS_PER_MS


def _last_mark(marks: pa.Table) -> tuple[float, int] | None:
    if not marks.num_rows:
        return None
    last = marks.slice(marks.num_rows - 1).to_pylist()[0]
    return last["close"], last["ts_event"] // NS_PER_MS


def _bars(table: pa.Table) -> dict[str, Bars]:
    """Bars by interval; their quote volume is volume x close (the bars kind has none)."""
    found = {}
    for interval in set(table["interval"].to_pylist()):
        rows = table.filter(pc.equal(table["interval"], interval))
        close, volume = rows["close"].to_numpy(), rows["volume"].to_numpy()
        found[interval] = Bars(
            rows["ts_event"].to_numpy() // NS_PER_MS,
            rows["open"].to_numpy(), rows["high"].to_numpy(), rows["low"].to_numpy(), close,
            volume, volume * close,
        )
    return found


def _last_book(table: pa.Table) -> tuple[list[tuple[float, float]], list[tuple[float, float]], int] | None:
    """The book after the last row: its last snapshot with every later update applied."""
    if not table.num_rows:
        return None
    rows = table.sort_by([("ts_recv", "ascending"), ("recv_seq", "ascending")]).to_pylist()
    start = max((i for i, r in enumerate(rows) if r["action"] == "snapshot"), default=None)
    if start is None:
        return None
    first = rows[start]
    while start and (rows[start - 1]["ts_recv"], rows[start - 1]["recv_seq"]) == (first["ts_recv"], first["recv_seq"]):
        start -= 1  # the snapshot's message begins at its first level
    sides: dict[int, dict[float, float]] = {1: {}, -1: {}}
    for r in rows[start:]:
        if r["size"] > 0:
            sides[r["side"]][r["price"]] = r["size"]
        else:
            sides[r["side"]].pop(r["price"], None)
    bids = sorted(sides[1].items(), reverse=True)
    asks = sorted(sides[-1].items())
    return bids, asks, rows[-1]["ts_event"] // NS_PER_MS
