"""Column conversions of the formats: times, numbers and sides, read row by row where they must be.

Every `read_*` converts a whole column at C speed when it can. When some values cannot be read,
those rows become null and an `Unreadable` says which rows, why, in which file column and with
which value, so a bad row is counted and skipped while the rest of the file is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.model.errors import UserError
from engine.model.time import NS_PER_MS, NS_PER_S

_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Rows whose value in a file column could not be read: why, where, which, and the first value."""

    reason: str  # e.g. price_unparsable, ts_unparsable, side_invalid
    column: str  # the column's name in the file
    mask: np.ndarray  # bool per row
    value: str  # the first offending value, as in the file


def _plain(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def unreadable(reason: str, column: str, raw: pa.Array, bad: np.ndarray) -> Unreadable | None:
    """An Unreadable for the rows of `bad` (None when there are none), quoting the first raw value."""
    if not bad.any():
        return None
    return Unreadable(reason, column, bad, str(raw[int(np.argmax(bad))].as_py()))


# --- numbers ----------------------------------------------------------------------------------


def read_floats(column: pa.ChunkedArray | pa.Array, name: str, role: str) -> tuple[pa.Array, Unreadable | None]:
    """float64 of a column; values that are not numbers become null and `<role>_unparsable`."""
    array = _plain(column)
    try:
        return pc.cast(array, pa.float64()), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
    distinct = pc.unique(pc.drop_null(text)).to_pylist()
    parsed = pa.array([_float(v) for v in distinct], pa.float64())
    values = pc.take(parsed, pc.index_in(text, value_set=pa.array(distinct, pa.string())))
    bad = _mask(pc.and_(pc.is_valid(text), pc.is_null(values)))
    return values, unreadable(f"{role}_unparsable", name, array, bad)


def _float(text: str) -> float | None:
    if "_" in text:  # Python reads 1_000; a price file does not mean it
        return None
    try:
        return float(text)
    except ValueError:
        return None


def floats_of(values: list[Any], name: str, role: str) -> tuple[np.ndarray, Unreadable | None]:
    """float64 of Python values (JSON rows); what is not a number becomes NaN and `<role>_unparsable`."""
    try:
        return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64), None
    except (TypeError, ValueError):
        pass
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        number = _float(v) if isinstance(v, str) else float(v) if isinstance(v, int | float) else None
        if number is None and v is not None:
            bad[i] = True
        elif number is not None:
            out[i] = number
    return out, unreadable(f"{role}_unparsable", name, pa.array([str(v) for v in values]), bad)


# --- times ------------------------------------------------------------------------------------


def ns_from_number(values: np.ndarray) -> int:
    """Multiplier to ns for epoch numbers, from their magnitude (s, ms, us or ns)."""
    finite = np.abs(values[np.isfinite(values)]) if values.dtype.kind == "f" else np.abs(values)
    top = float(finite.max()) if len(finite) else 0.0
    if top >= 1e17:
        return 1
    if top >= 1e14:
        return 1_000
    return NS_PER_MS if top >= 1e11 else NS_PER_S


def to_ns(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Epoch ns (int64) of a time column, all of whose values must be times (see `read_ns`)."""
    values, bad = read_ns(column, "time")
    if bad is not None:
        raise UserError(f"time values like {[bad.value]} are not epoch numbers or ISO 8601 times")
    return values


def read_ns(column: pa.ChunkedArray | pa.Array, name: str) -> tuple[pa.Array, Unreadable | None]:
    """Epoch ns (int64) of a time column: arrow timestamps and dates, epoch numbers, ISO strings.

    Naive times are UTC; numbers take their unit from their magnitude. Text that is neither an
    integer nor an ISO 8601 time becomes null and `ts_unparsable`.
    """
    array = _plain(column)
    kind = array.type
    if pa.types.is_timestamp(kind):
        return pc.cast(pc.cast(array, pa.timestamp("ns", kind.tz)), pa.int64()), None
    if pa.types.is_date(kind):
        return pc.cast(pc.cast(pc.cast(array, pa.date32()), pa.timestamp("ns")), pa.int64()), None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _ns_from_text(pc.cast(array, pa.string()), name)
    if pa.types.is_integer(kind):
        values = pc.cast(array, pa.int64())
        scale = ns_from_number(pc.drop_null(values).to_numpy())
        return (values if scale == 1 else pc.multiply_checked(values, scale)), None
    if pa.types.is_floating(kind):
        floats = np.asarray(pc.fill_null(array, np.nan).to_numpy(zero_copy_only=False), dtype=float)
        return _ns_from_floats(floats), None
    raise UserError(f"column {name!r}: a time column of type {kind} is not understood")


def _ns_from_floats(values: np.ndarray) -> pa.Array:
    # A float epoch holds about 16 digits: whole and fractional parts are scaled apart and the
    # fraction rounded to the microsecond, so 1700000000.25 s is exactly ...250000000 ns.
    scale = ns_from_number(values)
    missing = ~np.isfinite(values)
    values = np.where(missing, 0.0, values)
    whole = np.floor(values)
    fraction = (values - whole) * scale
    fraction = np.round(fraction / 1000) * 1000 if scale >= 1000 else np.round(fraction)
    ns = whole.astype(np.int64) * scale + fraction.astype(np.int64)
    return pa.array(ns, pa.int64(), mask=missing)


def _ns_from_text(array: pa.Array, name: str) -> tuple[pa.Array, Unreadable | None]:
    whole = _cast_times(array)
    if whole is not None:
        return whole, None
    # Some values are not times: read the integers as epochs and the rest one distinct value at a
    # time (slow, but only for files that have bad times).
    integer = _mask(pc.match_substring_regex(array, _INTEGER.pattern))
    numbers = pc.cast(pc.if_else(pa.array(integer), pc.utf8_trim_whitespace(array), None), pa.int64())
    epochs, _ = read_ns(numbers, name)
    others = pc.if_else(pa.array(integer), None, array)
    distinct = pc.unique(pc.drop_null(others))
    parsed = pa.array([_iso_ns(v) for v in distinct.to_pylist()], pa.int64())
    isos = pc.take(parsed, pc.index_in(others, value_set=distinct))
    values = pc.coalesce(epochs, isos)
    bad = _mask(pc.and_(pc.is_valid(array), pc.is_null(values)))
    return values, unreadable("ts_unparsable", name, array, bad)


def _cast_times(array: pa.Array) -> pa.Array | None:
    """The whole column as epochs or as ISO times, or None when some value is neither."""
    try:
        numbers = pc.cast(array, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    else:
        return read_ns(numbers, "")[0]
    for target in (pa.timestamp("ns"), pa.timestamp("ns", "UTC")):
        try:
            return pc.cast(pc.cast(array, target), pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def _iso_ns(text: str) -> int | None:
    cast = _cast_times(pa.array([text], pa.string()))
    if cast is not None:
        return int(cast[0].as_py())
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1_000


def ms_of(values: list[Any], name: str) -> tuple[pa.Array, Unreadable | None]:
    """ns of epoch-millisecond Python values (JSON rows); others become null and `ts_unparsable`."""
    try:
        return pa.array(np.asarray(values, dtype=np.int64) * NS_PER_MS), None
    except (TypeError, ValueError, OverflowError):
        pass
    out: list[int | None] = []
    for v in values:
        ok = (isinstance(v, int | float) and not isinstance(v, bool)) or (isinstance(v, str) and _INTEGER.match(v))
        out.append(int(v) * NS_PER_MS if ok else None)
    ns = pa.array(out, pa.int64())
    given = np.array([v is not None for v in values], dtype=bool)
    bad = np.asarray(pc.is_null(ns).to_numpy(zero_copy_only=False), dtype=bool) & given
    return ns, unreadable("ts_unparsable", name, pa.array([str(v) for v in values]), bad)


# --- sides ------------------------------------------------------------------------------------

_SIDE_WORDS = {"buy": 1, "b": 1, "bid": 1, "1": 1, "+1": 1, "sell": -1, "s": -1, "ask": -1, "-1": -1}


def to_side(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """+1/-1 (taker side) from words (buy/sell), numbers (1/-1); anything else null."""
    return read_side(column, "side")[0]


def read_side(column: pa.ChunkedArray | pa.Array, name: str) -> tuple[pa.Array, Unreadable | None]:
    """+1/-1 (taker side) from words or numbers; a value that is neither is `side_invalid`."""
    array = _plain(column)
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        values = pc.cast(array, pa.float64())
        side = pc.cast(pc.if_else(pc.is_in(values, pa.array([1.0, -1.0])), values, None), pa.int8())
    else:
        words = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(array, pa.string())))
        index = pc.index_in(words, value_set=pa.array(list(_SIDE_WORDS)))
        side = pc.take(pa.array(list(_SIDE_WORDS.values()), pa.int8()), index)
    bad = _mask(pc.and_(pc.is_valid(array), pc.is_null(side)))
    return side, unreadable("side_invalid", name, array, bad)


def side_from_buyer_maker(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Taker side from a buyer-is-maker flag (bool, 'true'/'false' or 1/0): maker buyer means a sell."""
    return read_buyer_maker(column, "buyer_maker")[0]


def read_buyer_maker(column: pa.ChunkedArray | pa.Array, name: str) -> tuple[pa.Array, Unreadable | None]:
    """Taker side from a buyer-is-maker flag; a value that is not a flag is `side_invalid`."""
    array = _plain(column)
    flags = array
    if not pa.types.is_boolean(array.type):
        words = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(array, pa.string())))
        index = pc.index_in(words, value_set=pa.array(["true", "false", "1", "0", "t", "f"]))
        flags = pc.take(pa.array([True, False, True, False, True, False]), index)
    side = pc.cast(pc.if_else(flags, -1, 1), pa.int8())
    bad = _mask(pc.and_(pc.is_valid(array), pc.is_null(side)))
    return side, unreadable("side_invalid", name, array, bad)
