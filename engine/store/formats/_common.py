"""What every format module shares: the opened file, parse results and column conversions."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.model.errors import UserError
from engine.model.time import NS_PER_MS
from engine.model.types import parse_symbol

HEAD_BYTES = 1 << 16


@dataclass(frozen=True, slots=True)
class Options:
    """What the user said on the command line; the file's own statements take precedence."""

    venue: str | None = None
    symbol: str | None = None
    interval: str | None = None  # bars whose file does not say it
    contract_value: float | None = None  # base (or USD, inverse) per contract for swap files


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows of one series, in (a subset of) the lake schema of `kind`."""

    kind: str
    venue: str
    symbol: str
    table: pa.Table


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed file: its batches and the lines or messages skipped, counted by what they were."""

    format: str
    batches: list[Batch]
    skipped: dict[str, int] = field(default_factory=dict)


class _Counting(io.RawIOBase):
    """Counts bytes read from the file on disk, to drive a progress bar."""

    def __init__(self, raw: IO[bytes], on_bytes: Callable[[int], object] | None) -> None:
        self._raw = raw
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # zip archives seek to their directory

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if count and self._on_bytes is not None:
            self._on_bytes(count)
        return int(count or 0)

    def close(self) -> None:
        self._raw.close()
        super().close()


class Source:
    """An input file, transparently gunzipped or unzipped (one member), with its first bytes."""

    def __init__(self, path: Path, on_bytes: Callable[[int], object] | None = None) -> None:
        self.path = path
        self.on_bytes = on_bytes
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        self.size = path.stat().st_size
        with path.open("rb") as handle:
            magic = handle.read(4)
        self.compression = "gzip" if magic[:2] == b"\x1f\x8b" else "zip" if magic == b"PK\x03\x04" else ""
        self.name = self._inner_name()
        with self.open(count=False) as stream:
            self.head = stream.read(HEAD_BYTES)

    def _inner_name(self) -> str:
        if self.compression == "gzip":
            return self.path.name.removesuffix(".gz").removesuffix(".gzip")
        if self.compression == "zip":
            return Path(self._member()).name
        return self.path.name

    def _member(self) -> str:
        with zipfile.ZipFile(self.path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/") and not n.startswith("__MACOSX")]
        if len(names) != 1:
            raise UserError(f"{self.path}: a zip file must hold exactly one data file, found {len(names)}")
        return names[0]

    def open(self, count: bool = True) -> IO[bytes]:
        """The decompressed content as a binary stream."""
        raw = io.BufferedReader(_Counting(self.path.open("rb"), self.on_bytes if count else None), 1 << 20)
        if self.compression == "gzip":
            return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
        if self.compression == "zip":
            return zipfile.ZipFile(raw).open(self._member())
        return raw

    def read(self) -> bytes:
        """The whole decompressed content."""
        with self.open() as stream:
            return stream.read()

    def lines(self) -> Iterator[bytes]:
        """Non-blank lines, stripped."""
        with self.open() as stream:
            for line in stream:
                line = line.strip()
                if line:
                    yield line

    def head_text(self) -> str:
        return self.head.decode("utf-8", errors="replace").lstrip("\ufeff")

    def first_line(self) -> str:
        return self.head_text().lstrip().split("\n", 1)[0].strip()


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


# --- column conversions -----------------------------------------------------------------------


def _plain(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def ns_from_number(values: np.ndarray) -> int:
    """Multiplier to ns for epoch numbers, from their magnitude (s, ms, us or ns)."""
    finite = np.abs(values[np.isfinite(values)]) if values.dtype.kind == "f" else np.abs(values)
    top = float(finite.max()) if len(finite) else 0.0
    if top >= 1e17:
        return 1
    if top >= 1e14:
        return 1_000
    return NS_PER_MS if top >= 1e11 else 1_000_000_000


def to_ns(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Epoch ns (int64) of a time column: arrow timestamps and dates, epoch numbers, ISO strings.

    Naive times are UTC; numbers take their unit from their magnitude.
    """
    array = _plain(column)
    kind = array.type
    if pa.types.is_timestamp(kind):
        return pc.cast(pc.cast(array, pa.timestamp("ns", kind.tz)), pa.int64())
    if pa.types.is_date(kind):
        return pc.cast(pc.cast(pc.cast(array, pa.date32()), pa.timestamp("ns")), pa.int64())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _ns_from_text(array)
    if pa.types.is_integer(kind):
        values = pc.cast(array, pa.int64())
        scale = ns_from_number(pc.drop_null(values).to_numpy())
        return values if scale == 1 else pc.multiply_checked(values, scale)
    if pa.types.is_floating(kind):
        return _ns_from_floats(np.asarray(pc.fill_null(array, np.nan).to_numpy(zero_copy_only=False), dtype=float))
    raise UserError(f"a time column of type {kind} is not understood")


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


def _ns_from_text(array: pa.Array) -> pa.Array:
    try:
        numbers = pc.cast(array, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    else:
        return to_ns(numbers)
    for target in (pa.timestamp("ns"), pa.timestamp("ns", "UTC")):
        try:
            return pc.cast(pc.cast(array, target), pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    sample = pc.drop_null(array)[:1].to_pylist()
    raise UserError(f"time values like {sample} are not epoch numbers or ISO 8601 times")


_SIDE_WORDS = {"buy": 1, "b": 1, "bid": 1, "1": 1, "+1": 1, "sell": -1, "s": -1, "ask": -1, "-1": -1}


def to_side(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """+1/-1 (taker side) from words (buy/sell), numbers (1/-1); anything else null."""
    array = _plain(column)
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        values = pc.cast(array, pa.float64())
        return pc.cast(pc.if_else(pc.is_in(values, pa.array([1.0, -1.0])), values, None), pa.int8())
    words = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(array, pa.string())))
    keys = pa.array(list(_SIDE_WORDS))
    index = pc.index_in(words, value_set=keys)
    return pc.take(pa.array(list(_SIDE_WORDS.values()), pa.int8()), index)


def side_from_buyer_maker(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Taker side from a buyer-is-maker flag (bool, 'true'/'false' or 1/0): maker buyer means a sell."""
    array = _plain(column)
    if not pa.types.is_boolean(array.type):
        words = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(array, pa.string())))
        index = pc.index_in(words, value_set=pa.array(["true", "false", "1", "0", "t", "f"]))
        array = pc.take(pa.array([True, False, True, False, True, False]), index)
    return pc.cast(pc.if_else(array, -1, 1), pa.int8())


def table_of(columns: dict[str, Any]) -> pa.Table:
    """A table from column name -> arrow array or python list."""
    return pa.table({name: values for name, values in columns.items()})
