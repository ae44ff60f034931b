"""Row checks of the lake: which rows of a batch are acceptable, and why the others are not.

Each kind has a list of (reason, bad-row mask) checks, run columnar; a row is rejected for its
first failing reason (docs/lake.md, "Duplicates and bad rows").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.model.errors import UserError
from engine.model.time import interval_ns
from engine.store.schema import BOOK_ACTIONS, GAP_REASONS, KINDS


def floats(table: pa.Table, name: str) -> np.ndarray:
    """Float column as numpy with nulls as NaN."""
    column = table[name]
    if column.null_count:
        column = pc.fill_null(column, np.nan)
    return np.asarray(column.to_numpy(), dtype=np.float64)


def mask(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Boolean arrow values as a numpy mask."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def nulls(table: pa.Table, name: str) -> np.ndarray:
    column = table[name]
    if not column.null_count:
        return np.zeros(table.num_rows, dtype=bool)
    return mask(pc.is_null(column))


def _number_checks(table: pa.Table, name: str, positive: bool) -> list[tuple[str, np.ndarray]]:
    """(reason, bad mask) for NaN/missing, infinite and nonpositive (or negative) values."""
    values = floats(table, name)
    with np.errstate(invalid="ignore"):
        sign_bad = values <= 0 if positive else values < 0
    return [
        (f"{name}_nan", np.isnan(values)),
        (f"{name}_nonfinite", np.isinf(values)),
        (f"{name}_nonpositive" if positive else f"{name}_negative", sign_bad),
    ]


def _trade_checks(table: pa.Table) -> list[tuple[str, np.ndarray]]:
    side = pc.fill_null(table["side"], 0).to_numpy()  # int8 without nulls converts zero-copy
    return [
        *_number_checks(table, "price", positive=True),
        *_number_checks(table, "size", positive=True),
        ("side_invalid", (side != 1) & (side != -1)),
    ]


def _quote_checks(table: pa.Table) -> list[tuple[str, np.ndarray]]:
    checks = [*_number_checks(table, "bid", positive=True), *_number_checks(table, "ask", positive=True)]
    with np.errstate(invalid="ignore"):
        checks.append(("bid_above_ask", floats(table, "bid") > floats(table, "ask")))
    for name in ("bid_size", "ask_size"):
        values = floats(table, name)
        given = ~nulls(table, name)
        with np.errstate(invalid="ignore"):
            checks.append((f"{name}_invalid", given & ~(values >= 0)))
    return checks


def _bar_checks(table: pa.Table) -> list[tuple[str, np.ndarray]]:
    checks: list[tuple[str, np.ndarray]] = []
    for name in ("open", "high", "low", "close"):
        checks.extend(_number_checks(table, name, positive=True))
    high, low = floats(table, "high"), floats(table, "low")
    body_high = np.fmax(floats(table, "open"), floats(table, "close"))
    body_low = np.fmin(floats(table, "open"), floats(table, "close"))
    checks.append(("ohlc_inconsistent", (high < body_high) | (low > body_low) | (high < low)))
    volume = floats(table, "volume")
    checks.append(("volume_nan", ~np.isfinite(volume)))
    with np.errstate(invalid="ignore"):
        checks.append(("volume_negative", volume < 0))
    checks.append(("interval_invalid", _bad_intervals(table["interval"])))
    return checks


def _bad_intervals(column: pa.ChunkedArray) -> np.ndarray:
    bad = mask(pc.is_null(column))
    for value in pc.unique(column).to_pylist():
        if value is None:
            continue
        try:
            interval_ns(value)
        except UserError:
            bad |= mask(pc.equal(column, value))
    return bad


def _funding_checks(table: pa.Table) -> list[tuple[str, np.ndarray]]:
    return [("rate_nan", ~np.isfinite(floats(table, "rate")))]


def _missing(table: pa.Table, *names: str) -> list[tuple[str, np.ndarray]]:
    return [(f"{name}_missing", nulls(table, name)) for name in names]


def _not_in(table: pa.Table, name: str, allowed: tuple[str, ...]) -> tuple[str, np.ndarray]:
    """(`<name>_invalid`, rows whose value is missing or not one of `allowed`)."""
    ok = pc.fill_null(pc.is_in(table[name], value_set=pa.array(allowed)), False)
    return f"{name}_invalid", ~mask(ok)


def _book_checks(table: pa.Table) -> list[tuple[str, np.ndarray]]:
    side = pc.fill_null(table["side"], 0).to_numpy()
    return [
        *_missing(table, "ts_recv", "recv_seq"),
        _not_in(table, "action", BOOK_ACTIONS),
        ("side_invalid", (side != 1) & (side != -1)),
        *_number_checks(table, "price", positive=True),
        *_number_checks(table, "size", positive=False),
    ]


def _instrument_checks(table: pa.Table) -> list[tuple[str, np.ndarray]]:
    checks = _missing(table, "inst_id")
    for name in ("tick_size", "lot_size", "min_size"):
        checks.extend(_number_checks(table, name, positive=True))
    value = floats(table, "contract_value")
    with np.errstate(invalid="ignore"):
        checks.append(("contract_value_invalid", ~nulls(table, "contract_value") & ~(value > 0) | np.isinf(value)))
    return checks


def _gap_checks(table: pa.Table) -> list[tuple[str, np.ndarray]]:
    end = pc.fill_null(table["ts_end"], np.iinfo(np.int64).min).to_numpy()
    return [
        *_missing(table, "ts_end", "channel"),
        ("ts_end_before_start", end < pc.fill_null(table["ts_event"], 0).to_numpy()),
        _not_in(table, "reason", GAP_REASONS),
    ]


_CHECKS: dict[str, Callable[[pa.Table], list[tuple[str, np.ndarray]]]] = {
    "trades": _trade_checks,
    "quotes": _quote_checks,
    "bars": _bar_checks,
    "mark": _bar_checks,
    "funding": _funding_checks,
    "books": _book_checks,
    "instruments": _instrument_checks,
    "gaps": _gap_checks,
}


def validate(kind: str, table: pa.Table) -> tuple[np.ndarray, dict[str, int]]:
    """Mask of acceptable rows and rejected counts by reason (each row counted once, first reason)."""
    good, rejected, _ = check(kind, table)
    return good, rejected


def check(
    kind: str, table: pa.Table, bad: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, int], dict[str, int]]:
    """Mask of acceptable rows, rejected counts by reason (each row counted once, first reason) and
    the first rejected row of each reason. Rows of `bad` are rejected already and not counted."""
    good = ~nulls(table, "ts_event") if bad is None else ~nulls(table, "ts_event") & ~bad
    rejected: dict[str, int] = {}
    first: dict[str, int] = {}
    missing = ~good if bad is None else ~good & ~bad
    if missing.any():
        rejected["ts_missing"], first["ts_missing"] = int(missing.sum()), int(np.argmax(missing))
    for reason, wrong in _CHECKS[kind](table):
        hit = good & wrong
        count = int(hit.sum())
        if count:
            rejected[reason], first[reason] = count, int(np.argmax(hit))
            good &= ~hit
    return good, rejected, first


_REASON_COLUMNS = {"ts_missing": "ts_event", "bid_above_ask": "bid", "ohlc_inconsistent": "high",
                   "ts_end_before_start": "ts_end"}


def column_of(kind: str, reason: str) -> str:
    """The lake column a rejection reason is about (`price_nan` -> price)."""
    if reason in _REASON_COLUMNS:
        return _REASON_COLUMNS[reason]
    names = [n for n in KINDS[kind].names if reason.startswith(n + "_")]
    return max(names, key=len) if names else reason.rsplit("_", 1)[0]
