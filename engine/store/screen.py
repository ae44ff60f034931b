"""Sort a batch's rows into kept and rejected before anything is written, and judge a whole file.

The rule (docs/lake.md, "Duplicates and bad rows"): a bad row is counted by reason and skipped,
the rest kept; a file with more than half its rows rejected is refused whole, naming the file,
the column and a value from the file that was refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from engine.model.errors import UserError
from engine.store import checks, rows

Example = tuple[str, str | None]  # (the file's column, the value as it stood there; None if empty)


@dataclass(frozen=True, slots=True)
class Screened:
    """A batch's rows, conformed to the kind's columns: the kept ones, and what was rejected."""

    kind: str
    kept: pa.Table
    received: int
    rejected: dict[str, int]
    examples: dict[str, Example] = field(default_factory=dict)  # reason -> its first offending value


def screen(
    kind: str,
    table: pa.Table,
    unreadable: Iterable[Any] = (),
    columns: Mapping[str, str] | None = None,
) -> Screened:
    """Conform `table` to `kind` and keep its good rows. `unreadable` (formats' `Unreadable`s)
    marks rows the parser could not read; `columns` names the file's column behind a lake column."""
    data = rows.conform(kind, table)
    bad = np.zeros(data.num_rows, dtype=bool)
    rejected: dict[str, int] = {}
    examples: dict[str, Example] = {}
    for mark in unreadable:
        hit = mark.mask & ~bad
        if hit.any():
            rejected[mark.reason] = rejected.get(mark.reason, 0) + int(hit.sum())
            examples.setdefault(mark.reason, (mark.column, mark.value))
            bad |= hit
    good, found, first = checks.check(kind, data, bad)
    for reason, count in found.items():
        rejected[reason] = rejected.get(reason, 0) + count
        column = checks.column_of(kind, reason)
        value = data[column][first[reason]].as_py() if column in data.column_names else None
        examples.setdefault(reason, ((columns or {}).get(column, column), None if value is None else str(value)))
    kept = data if good.all() else data.filter(pa.array(good))
    return Screened(kind, kept, table.num_rows, rejected, examples)


def describe(rejected: Mapping[str, int], examples: Mapping[str, Example]) -> str:
    """`price_unparsable 1 (column 'price' holds 'abc'), size_nonpositive 2 (...)`, largest first."""
    parts = []
    for reason, count in sorted(rejected.items(), key=lambda item: (-item[1], item[0])):
        example = examples.get(reason)
        parts.append(f"{reason} {count:,}" + (f" ({holds(*example)})" if example else ""))
    return ", ".join(parts)


def holds(column: str, value: str | None) -> str:
    """`column 'price' holds 'abc'` (or `is empty`)."""
    if value is None or value == "":
        return f"column {column!r} is empty"
    return f"column {column!r} holds {value[:60]!r}"


def judge(where: str, received: int, rejected: Mapping[str, int], examples: Mapping[str, Example]) -> None:
    """Refuse a file with more than half its rows rejected: a UserError naming the file, the
    column and an offending value of the most frequent reason."""
    bad = sum(rejected.values())
    if bad * 2 <= received:
        return
    reason = min(rejected, key=lambda r: (-rejected[r], r))
    example = examples.get(reason)
    detail = f": {holds(*example)}" if example else ""
    raise UserError(
        f"{where}: refused, {bad:,} of {received:,} rows rejected, most as {reason}{detail}"
        " (a wrongly mapped column? nothing of the file was written)"
    )
