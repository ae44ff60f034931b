"""Row rules of the lake: conform a table to a kind's schema, dedupe and order rows (checks: `checks`).

Everything here is columnar (pyarrow compute and numpy); nothing loops over rows in Python, so a
million-row write spends its time in C. The rules make a partition's content a function of the
set of rows written, not of the order files were ingested in: duplicates are resolved by a
canonical preference and rows are sorted by a total order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.model.errors import UserError
from engine.model.time import NS_PER_DAY
from engine.store.checks import floats, mask
from engine.store.schema import KINDS

_I64_MAX = np.iinfo(np.int64).max
_ID_PAD = 6  # digits of the position part of a synthetic trade id


def relaxed(schema: pa.Schema) -> pa.Schema:
    """The schema with every field nullable: what a table looks like before validation."""
    return pa.schema([f.with_nullable(True) for f in schema])


def conform(kind: str, table: pa.Table) -> pa.Table:
    """Select and cast the kind's columns; absent nullable columns become nulls."""
    schema = KINDS[kind]
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            arrays.append(_cast(table[field.name], field, kind))
        elif field.nullable:
            arrays.append(pa.nulls(table.num_rows, field.type))
        else:
            raise UserError(f"{kind} data has no {field.name!r} column (columns: {table.column_names})")
    return pa.Table.from_arrays(arrays, schema=relaxed(schema))


def _cast(column: pa.ChunkedArray, field: pa.Field, kind: str) -> pa.ChunkedArray:
    if column.type == field.type:
        return column
    if pa.types.is_timestamp(column.type):  # an instant: its unit must not leak into the int64
        column = pc.cast(column, pa.timestamp("ns", column.type.tz))
    try:
        return pc.cast(column, field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UserError(f"{kind} column {field.name!r} of type {column.type} is not {field.type}: {exc}") from exc


# --- ids, keys and order ----------------------------------------------------------------------


def fill_trade_ids(table: pa.Table) -> pa.Table:
    """Give trades without an id one built from their time, position among same-time rows and content.

    The position keeps same-time trades in file order (string order of the ids) and the content
    keeps two different trades of one millisecond from two files apart; re-reading the same file
    yields the same ids, so it deduplicates.
    """
    ids = table["trade_id"]
    missing = mask(pc.is_null(ids))
    if not missing.any():
        return table
    ts = table["ts_event"].to_numpy()
    order = np.argsort(ts, kind="stable")
    sorted_ts = ts[order]
    starts = np.r_[True, sorted_ts[1:] != sorted_ts[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(ts)), 0))
    position = np.empty(len(ts), dtype=np.int64)
    position[order] = np.arange(len(ts)) - first
    parts = [
        pc.cast(table["ts_event"], pa.string()),
        pc.utf8_lpad(pc.cast(pa.array(position), pa.string()), _ID_PAD, "0"),
        pc.cast(table["price"], pa.string()),
        pc.cast(table["size"], pa.string()),
        pc.cast(table["side"], pa.string()),
    ]
    synthetic = pc.binary_join_element_wise(*parts, ":")
    synthetic = pc.binary_join_element_wise("~", synthetic, "")
    filled = pc.if_else(pa.array(missing), synthetic, ids)
    return table.set_column(table.schema.get_field_index("trade_id"), "trade_id", filled)


def numeric_ids(ids: pa.ChunkedArray) -> np.ndarray | None:
    """Trade ids as int64 when every id is a plain integer (round-trips as text), else None."""
    try:
        numbers = pc.cast(ids, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not pc.all(pc.equal(pc.cast(numbers, pa.string()), ids)).as_py():
        return None
    return np.asarray(numbers.to_numpy(), dtype=np.int64)


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """Equal values get equal int codes (nulls one code of their own)."""
    encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    return np.asarray(encoded.indices.to_numpy(), dtype=np.int64)


def _ints(table: pa.Table, name: str) -> np.ndarray:
    """Int column widened to int64 with nulls sorted last."""
    return np.asarray(pc.fill_null(pc.cast(table[name], pa.int64()), _I64_MAX).to_numpy(), dtype=np.int64)


def _preferfloats(table: pa.Table, name: str) -> np.ndarray:
    values = floats(table, name)
    return np.where(np.isnan(values), np.inf, values)


def _keys(kind: str, table: pa.Table, ids: np.ndarray | None) -> list[np.ndarray]:
    """Arrays whose equality across rows makes them duplicates."""
    if kind == "trades":
        return [ids if ids is not None else _codes(table["trade_id"])]
    if kind == "quotes":
        return [_ints(table, "ts_event"), _ints(table, "ts_recv"), floats(table, "bid"), floats(table, "ask")]
    if kind in ("bars", "mark"):
        return [_codes(table["interval"]), _ints(table, "ts_event")]
    if kind == "books":  # one change per level and message
        return [_ints(table, "ts_recv"), _ints(table, "recv_seq"), _ints(table, "side"), floats(table, "price")]
    if kind == "gaps":
        return [_ints(table, "ts_event"), _ints(table, "ts_end"), _codes(table["channel"]), _codes(table["reason"])]
    return [_ints(table, "ts_event")]


def _preferences(kind: str, table: pa.Table) -> list[np.ndarray]:
    """Among duplicates the row sorting first by these wins: the earliest received trade, the
    fullest bar; the rest of the columns break ties, so the winner never depends on ingest order."""
    if kind == "trades":
        return [
            _ints(table, "ts_recv"),
            _ints(table, "ts_event"),
            floats(table, "price"),
            floats(table, "size"),
            _ints(table, "side"),
        ]
    if kind == "quotes":
        return [_preferfloats(table, "bid_size"), _preferfloats(table, "ask_size")]
    if kind in ("bars", "mark"):
        return [-floats(table, "volume")] + [floats(table, c) for c in ("open", "high", "low", "close")]
    if kind in _RANKED:
        return [_ranks(table, name) for name in _RANKED[kind]]
    return [floats(table, "rate")]


_RANKED = {
    "books": ("size", "n_orders", "ts_event", "seq_id", "prev_seq_id", "checksum", "action"),
    "instruments": ("inst_id", "inst_id_code", "inst_type", "tick_size", "lot_size", "min_size", "contract_value",
                    "state"),
    "gaps": ("ts_event",),  # every column is in the key: duplicates are copies
}


def _ranks(table: pa.Table, name: str) -> np.ndarray:
    """A column's values as their dense rank (nulls last): a preference of any type."""
    ranked = pc.rank(table[name].combine_chunks(), sort_keys="ascending", tiebreaker="dense")
    return np.asarray(ranked.to_numpy(), dtype=np.int64)


def merge(kind: str, table: pa.Table, n_old: int) -> tuple[pa.Table | None, int]:
    """Dedupe and order a partition's existing rows (the first `n_old`) with new ones.

    Returns the partition to write, or None when it would not change, and the new-row count.
    """
    ids = numeric_ids(table["trade_id"]) if kind == "trades" else None
    keep = dedupe(_keys(kind, table, ids), lambda: _preferences(kind, table), n_old)
    if not (keep >= n_old).any():
        return None, 0
    if len(keep) < table.num_rows:
        table = table.take(pa.array(keep))
        ids = ids[keep] if ids is not None else None
    return sort_rows(kind, table, ids), len(keep) - n_old


def dedupe(keys: list[np.ndarray], prefer: Callable[[], list[np.ndarray]], n_old: int) -> np.ndarray:
    """Ascending indices of the rows to keep; rows before `n_old` win ties over later rows."""
    n = len(keys[0])
    order = np.argsort(keys[0], kind="stable") if len(keys) == 1 else np.lexsort(keys[::-1])
    same = _adjacent_equal(keys, order)
    if not same.any():
        return np.arange(n)
    preferences = prefer()
    # Exact copies (the common case: a file ingested twice) need no preference: the stable sort
    # put the earliest row, an existing one if any, first; drop the copies behind it.
    identical = same & _adjacent_equal(preferences, order)
    if identical.any():
        order = order[np.r_[True, ~identical]]
        same = _adjacent_equal(keys, order)
        if not same.any():
            return np.sort(order)
    group = np.cumsum(np.r_[True, ~same]) - 1
    in_dup = np.zeros(group[-1] + 1, dtype=bool)
    in_dup[group[1:][same]] = True
    row_dup = in_dup[group]
    rows, groups = order[row_dup], group[row_dup]
    later = (rows >= n_old).astype(np.int8)
    canonical = np.lexsort([later, *[p[rows] for p in reversed(preferences)], groups])
    rows, groups = rows[canonical], groups[canonical]
    winners = rows[np.r_[True, groups[1:] != groups[:-1]]]
    return np.sort(np.concatenate([order[~row_dup], winners]))


def _adjacent_equal(arrays: list[np.ndarray], order: np.ndarray) -> np.ndarray:
    """For each row of `order` after the first: is it equal to its predecessor in every array?"""
    same = np.ones(max(len(order) - 1, 0), dtype=bool)
    for values in arrays:
        ordered = values[order]
        same &= ordered[1:] == ordered[:-1]
    return same


_SORT: dict[str, list[str]] = {
    "trades": ["ts_event", "trade_id"],
    "quotes": ["ts_event", "ts_recv", "bid", "ask", "bid_size", "ask_size"],
    "bars": ["ts_event", "interval"],
    "mark": ["ts_event", "interval"],
    "funding": ["ts_event"],
    "books": ["ts_event", "ts_recv", "recv_seq", "side", "price"],
    "instruments": ["ts_event"],
    "gaps": ["ts_event", "channel", "ts_end", "reason"],
}


def sort_rows(kind: str, table: pa.Table, ids: np.ndarray | None = None) -> pa.Table:
    """Partition order: ts_event, then trade id in natural order (or the remaining key columns).

    `ids` are the trades' numeric ids when all are integers: then ties sort by number.
    """
    if ids is not None:
        order = np.lexsort([ids, table["ts_event"].to_numpy()])
    else:
        keys = [(name, "ascending", "at_end") for name in _SORT[kind]]
        order = pc.sort_indices(table, sort_keys=keys).to_numpy()
    if len(order) and order[0] == 0 and np.all(order[1:] - order[:-1] == 1):
        return table
    return table.take(pa.array(order))


def receive_order(table: pa.Table) -> pa.Table:
    """Rows in the order they were received, (ts_recv, recv_seq), stably: a replay's order."""
    order = pc.sort_indices(table, sort_keys=[("ts_recv", "ascending"), ("recv_seq", "ascending")])
    return table.take(order)


def day_of(ts_event: np.ndarray) -> np.ndarray:
    """UTC day number (days since 1970-01-01) of ns timestamps."""
    return np.floor_divide(ts_event, NS_PER_DAY)
