"""What every format module shares: the opened file, parse results and column conversions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from engine.model.errors import UserError
from engine.model.types import parse_symbol
from engine.store.formats._source import HEAD_BYTES, Source
from engine.store.formats._values import (
    Unreadable,
    floats_of,
    ms_of,
    ns_from_number,
    read_buyer_maker,
    read_floats,
    read_ns,
    read_side,
    side_from_buyer_maker,
    to_ns,
    to_side,
)

__all__ = [
    "HEAD_BYTES",
    "Batch",
    "Options",
    "Parsed",
    "Source",
    "Unreadable",
    "floats_of",
    "marks",
    "ms_of",
    "ns_from_number",
    "read_buyer_maker",
    "read_floats",
    "read_ns",
    "read_side",
    "resolve",
    "row_skipper",
    "side_from_buyer_maker",
    "table_of",
    "to_ns",
    "to_side",
]


@dataclass(frozen=True, slots=True)
class Options:
    """What the user said on the command line; the file's own statements take precedence."""

    venue: str | None = None
    symbol: str | None = None
    interval: str | None = None  # bars whose file does not say it
    contract_value: float | None = None  # base (or USD, inverse) per contract for swap files


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows of one series, in (a subset of) the lake schema of `kind`.

    `unreadable` marks rows whose value the parser could not read (null in `table`); `columns`
    names the file's column behind a lake column where the names differ, for messages.
    """

    kind: str
    venue: str
    symbol: str
    table: pa.Table
    unreadable: tuple[Unreadable, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed file: its batches and the lines or messages skipped, counted by what they were."""

    format: str
    batches: list[Batch]
    skipped: dict[str, int] = field(default_factory=dict)
    malformed: str | None = None  # the first malformed line or message, and what was wrong with it


def marks(*found: Unreadable | None) -> tuple[Unreadable, ...]:
    """The Unreadables that were found."""
    return tuple(u for u in found if u is not None)


def resolve(source: Source, options: Options, venue: str | None, symbol: str | None) -> tuple[str, str]:
    """Venue and symbol: the file's own, else the options'; a UserError when neither says them."""
    venue = _pick(source, "venue", venue, options.venue)
    symbol = _pick(source, "symbol", symbol, options.symbol)
    if venue is None or symbol is None:
        missing = " and ".join(f"--{n}" for n, v in (("venue", venue), ("symbol", symbol)) if v is None)
        raise UserError(f"{source.path}: the file does not say its {missing.replace('--', '')}; pass {missing}")
    parse_symbol(symbol)
    return venue, symbol


def _pick(source: Source, what: str, from_file: str | None, from_user: str | None) -> str | None:
    if from_file is not None and from_user is not None and from_file != from_user:
        raise UserError(f"{source.path}: the file says {what} {from_file!r} but --{what} is {from_user!r}")
    return from_file if from_file is not None else from_user


def row_skipper(malformed: list[str]) -> Callable[[Any], str]:
    """An `invalid_row_handler` for pyarrow's CSV reader: note a row with the wrong number of fields
    in `malformed` and skip it (it counts as a malformed line)."""

    def skip(row: Any) -> str:
        fields = f"{row.actual_columns} fields, not {row.expected_columns}"
        malformed.append(f"line {row.number}: {row.text[:60]!r} has {fields}")
        return "skip"

    return skip


def table_of(columns: dict[str, Any]) -> pa.Table:
    """A table from column name -> arrow array or python list."""
    return pa.table({name: values for name, values in columns.items()})
