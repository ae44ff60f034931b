"""The Parquet lake: `<root>/<kind>/venue=<v>/symbol=<sym>/date=<YYYY-MM-DD>/part-*.parquet`.

A write merges new rows into the partitions it touches and replaces each `part-0.parquet`
atomically (temporary file, fsync, `os.replace`), so readers never see a half file and a crash
leaves the old one. A recorder appends instead: each flush is a new part file, and readers merge
a partition's parts (`engine.store.parts`); `compact` folds them into `part-0.parquet`. Writers
to one series take a lock file; readers and appenders take none.
Every change to the disk goes through `_locked` and `_write_atomic`; `Lake.check_writable` tries
them on a probe, so a lake that cannot be written is refused before anything is parsed or fetched.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from engine.model.errors import UserError
from engine.model.time import NS_PER_DAY
from engine.model.types import parse_symbol
from engine.store import rows
from engine.store.parts import (
    PART,
    append_part,
    compact_partition,
    filter_part,
    has_parts,
    merge_parts,
    part_files,
    read_part,
    read_whole,
    retry_vanished,
)
from engine.store.parts import write_atomic as _write_atomic  # the tests' seam for a failing disk
from engine.store.schema import KINDS
from engine.store.screen import Example, Screened, screen

VENUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What one write did to one (kind, venue, symbol) series."""

    kind: str
    venue: str
    symbol: str
    received: int
    new_rows: int
    duplicates: int
    rejected: dict[str, int]  # reason -> count
    examples: dict[str, Example] = field(default_factory=dict)  # reason -> (column, first bad value)


class PartlyWritten(UserError):
    """A run of writes stopped by a failure after some of them were written (`reports`)."""

    def __init__(self, message: str, reports: list[WriteReport]) -> None:
        super().__init__(message)
        self.reports = reports


class Lake:
    """The tick store on disk; see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def at(cls, data_root: Path | str) -> Lake:
        """The lake under a data root (`<data_root>/lake`)."""
        return cls(Path(data_root) / "lake")

    # --- paths ----------------------------------------------------------------------------------

    def series_dir(self, kind: str, venue: str, symbol: str) -> Path:
        """Directory of one series; validates kind, venue and symbol."""
        if kind not in KINDS:
            raise UserError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if not VENUE_NAME.match(venue):
            raise UserError(f"venue {venue!r} must be letters, digits, '_', '.' or '-'")
        return self.root / kind / f"venue={venue}" / f"symbol={symbol_to_path(symbol)}"

    def dates(self, kind: str, venue: str, symbol: str, start: int | None = None, end: int | None = None) -> list[str]:
        """Dates (YYYY-MM-DD) of the partitions that may hold rows with ts_event in [start, end)."""
        directory = self.series_dir(kind, venue, symbol)
        if not directory.is_dir():
            return []
        first = _day_name(start) if start is not None else ""
        last = _day_name(end - 1) if end is not None else "9999-99-99"
        names = (p.name[5:] for p in directory.iterdir() if p.name.startswith("date="))
        return sorted(d for d in names if first <= d <= last and has_parts(directory / f"date={d}"))

    def files(self, kind: str, venue: str, symbol: str, start: int | None = None, end: int | None = None) -> list[Path]:
        """Part files in date order of the partitions that may hold rows with ts_event in [start, end)."""
        directory = self.series_dir(kind, venue, symbol)
        return [p for d in self.dates(kind, venue, symbol, start, end) for p in part_files(directory / f"date={d}")]

    # --- writing --------------------------------------------------------------------------------

    def write(self, kind: str, venue: str, symbol: str, table: pa.Table) -> WriteReport:
        """Validate, dedupe and merge rows into their date partitions."""
        self.series_dir(kind, venue, symbol)  # names a bad kind, venue or symbol before any work
        return self.write_screened(venue, symbol, screen(kind, table))

    def write_screened(self, venue: str, symbol: str, screened: Screened) -> WriteReport:
        """Dedupe and merge rows already screened (`engine.store.screen`) into their partitions.

        A failure of the disk is a UserError naming the partition; the partitions written before
        it stay (each is replaced atomically), the one being written keeps its old content.
        """
        kind = screened.kind
        directory = self.series_dir(kind, venue, symbol)
        data = screened.kept
        if kind == "trades" and data.num_rows:
            data = rows.fill_trade_ids(data)
        new_rows = 0
        if data.num_rows:
            try:
                with _locked(directory):
                    new_rows = self._merge_days(kind, directory, data)
            except OSError as exc:
                raise UserError(f"cannot write to the lake: {_os_error(exc, directory)}") from exc
        duplicates = screened.kept.num_rows - new_rows
        return WriteReport(
            kind, venue, symbol, screened.received, new_rows, duplicates, screened.rejected, screened.examples
        )

    def append(self, kind: str, venue: str, symbol: str, table: pa.Table) -> WriteReport:
        """Validate rows and write each partition's share as a new part file, reading nothing.

        The recorder's flush: no lock, no merge with what is stored (readers de-duplicate across
        parts), so `new_rows` counts the batch's distinct rows. A crash leaves whole parts only.
        """
        directory = self.series_dir(kind, venue, symbol)
        screened = screen(kind, table)
        data = screened.kept
        if kind == "trades" and data.num_rows:
            data = rows.fill_trade_ids(data)
        written = 0
        try:
            for day, part in _split_days(data) if data.num_rows else ():
                written += append_part(kind, directory / f"date={day}", part)
        except OSError as exc:
            raise UserError(f"cannot write to the lake: {_os_error(exc, directory)}") from exc
        return WriteReport(kind, venue, symbol, screened.received, written, data.num_rows - written,
                           screened.rejected, screened.examples)

    def compact(self, kind: str, venue: str, symbol: str) -> int:
        """Merge every partition's appended parts into its `part-0.parquet`; returns how many
        partitions changed. Also removes temporary files left by writers that died."""
        directory = self.series_dir(kind, venue, symbol)
        if not directory.is_dir():
            return 0
        with _locked(directory):
            return sum(compact_partition(kind, day) for day in _subdirs(directory, "date="))

    def check_writable(self) -> None:
        """Refuse, with a UserError naming the folder, a lake that cannot be written: a data root
        that is a file or whose parent folder is missing, a read-only disk, no permission.

        Creates the data root and the lake folder when the data root's parent exists, then takes
        the lake's lock and writes and removes a probe with the same functions every write uses.
        """
        data_root = self.root.parent
        refuse_files(data_root)
        if not data_root.exists() and not data_root.parent.is_dir():
            raise UserError(
                f"data root {data_root} does not exist, and neither does its parent {data_root.parent}: "
                "create it first, or check --data-root"
            )
        probe = self.root / ".write-probe.parquet"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with _locked(self.root):
                _write_atomic(pa.table({"probe": pa.array([], pa.int8())}), probe)
            probe.unlink()
        except OSError as exc:
            raise UserError(f"cannot write to the lake at {self.root}: {exc.strerror or exc}") from exc

    def _merge_days(self, kind: str, directory: Path, data: pa.Table) -> int:
        parts = list(_split_days(data))
        if len(parts) == 1:
            return _merge_partition(kind, directory / f"date={parts[0][0]}", parts[0][1])
        workers = min(len(parts), os.cpu_count() or 1, 4)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            counts = pool.map(lambda p: _merge_partition(kind, directory / f"date={p[0]}", p[1]), parts)
            return sum(counts)

    # --- reading --------------------------------------------------------------------------------

    def read(
        self,
        kind: str,
        venue: str,
        symbol: str,
        start: int | None = None,
        end: int | None = None,
        columns: list[str] | None = None,
        interval: str | None = None,
    ) -> pa.Table:
        """Rows with ts_event in [start, end), sorted; an empty table of the schema if none."""
        tables = list(self.iter_days(kind, venue, symbol, start, end, columns, interval))
        if not tables:
            return _empty(kind, columns)
        return tables[0] if len(tables) == 1 else pa.concat_tables(tables)

    def iter_days(
        self,
        kind: str,
        venue: str,
        symbol: str,
        start: int | None = None,
        end: int | None = None,
        columns: list[str] | None = None,
        interval: str | None = None,
    ) -> Iterator[pa.Table]:
        """One non-empty table per date partition, in time order."""
        _check_columns(kind, columns, interval)
        directory = self.series_dir(kind, venue, symbol)
        for day in self.dates(kind, venue, symbol, start, end):
            table = self._read_day(kind, directory / f"date={day}", columns, interval, start, end)
            if table.num_rows:
                yield table

    def tail(self, kind: str, venue: str, symbol: str, before: int, n: int, interval: str | None = None) -> pa.Table:
        """The last `n` rows with ts_event < before, ascending."""
        _check_columns(kind, None, interval)
        found: list[pa.Table] = []
        count = 0
        directory = self.series_dir(kind, venue, symbol)
        for day in reversed(self.dates(kind, venue, symbol, None, before)):
            if count >= n:
                break
            table = self._read_day(kind, directory / f"date={day}", None, interval, None, before)
            found.append(table)
            count += table.num_rows
        if not found:
            return _empty(kind, None)
        table = pa.concat_tables(found[::-1])
        return table.slice(max(table.num_rows - n, 0))

    def _read_day(self, kind: str, day_dir: Path, columns: list[str] | None, interval: str | None,
                  start: int | None, end: int | None) -> pa.Table:
        """One partition: its single file read directly, or its parts merged and de-duplicated."""

        def read() -> pa.Table:
            paths = part_files(day_dir)
            if len(paths) == 1:
                return self._read_part(paths[0], columns, interval, start, end)
            if not paths:
                return _empty(kind, columns)
            return filter_part(self._read_parts(kind, paths), columns, interval, start, end)

        return retry_vanished(read)

    def _read_part(self, path: Path, columns: list[str] | None, interval: str | None, start: int | None,
                   end: int | None) -> pa.Table:
        return read_part(path, columns, interval, start, end)

    def _read_parts(self, kind: str, paths: list[Path]) -> pa.Table:
        return merge_parts(kind, [read_whole(kind, p) for p in paths])

    # --- listing --------------------------------------------------------------------------------

    def entries(self) -> list[tuple[str, str, str]]:
        """(kind, venue, symbol) of every series holding at least one partition."""
        found = []
        for kind in KINDS:
            for venue_dir in _subdirs(self.root / kind, "venue="):
                for symbol_dir in _subdirs(venue_dir, "symbol="):
                    if any(has_parts(d) for d in _subdirs(symbol_dir, "date=")):
                        found.append((kind, venue_dir.name[6:], path_to_symbol(symbol_dir.name[7:])))
        return sorted(found)

    def venues(self, kind: str, symbol: str) -> list[str]:
        """Venues that hold `kind` data of `symbol`."""
        return sorted({v for k, v, s in self.entries() if k == kind and s == symbol})

    def fingerprint(self, kind: str, venue: str, symbol: str, start: int | None = None, end: int | None = None) -> str:
        """sha256 over the dates and bytes of the partitions in range (whole partitions); the names
        of appended parts count too, so a compaction changes it although the rows stay the same."""
        digest = hashlib.sha256(f"{kind}/{venue}/{symbol}\n".encode())
        directory = self.series_dir(kind, venue, symbol)
        for day in self.dates(kind, venue, symbol, start, end):
            digest.update(f"{day}\n".encode())
            for path in part_files(directory / f"date={day}"):
                if path.name != PART:
                    digest.update(f"{path.name}\n".encode())
                with path.open("rb") as handle:
                    for block in iter(lambda h=handle: h.read(1 << 20), b""):  # type: ignore[misc]
                        digest.update(block)
        return digest.hexdigest()


# --- helpers ----------------------------------------------------------------------------------


def refuse_files(data_root: Path) -> None:
    """A UserError when the data root, or the lake folder in it, is a file."""
    for folder in (data_root, data_root / "lake"):
        if folder.exists() and not folder.is_dir():
            where = "" if folder == data_root else f": its {folder.name} folder"
            raise UserError(f"data root {data_root}{where} is a file, not a folder")


def _os_error(exc: OSError, where: Path) -> str:
    """`<path>: <what the OS said>` in one line."""
    return f"{exc.filename or where}: {exc.strerror or exc}"


def _day_name(ts: int) -> str:
    return str(np.datetime64(int(ts) // NS_PER_DAY, "D"))


def _subdirs(directory: Path, prefix: str) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.startswith(prefix) and p.is_dir())


def _check_columns(kind: str, columns: list[str] | None, interval: str | None = None) -> None:
    if kind not in KINDS:
        raise UserError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if interval is not None and "interval" not in KINDS[kind].names:
        raise UserError(f"interval {interval!r} given for {kind}, which has no intervals")
    unknown = [c for c in columns or [] if c not in KINDS[kind].names]
    if unknown:
        raise UserError(f"column {unknown[0]!r} is not in {kind} (columns: {', '.join(KINDS[kind].names)})")


def _empty(kind: str, columns: list[str] | None) -> pa.Table:
    _check_columns(kind, columns)
    table = KINDS[kind].empty_table()
    return table.select(columns) if columns is not None else table


def _split_days(table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """(date, rows) per UTC date of ts_event."""
    days = rows.day_of(table["ts_event"].to_numpy())
    if days.min() == days.max():
        yield str(np.datetime64(int(days[0]), "D")), table
        return
    if (days[1:] < days[:-1]).any():
        order = np.argsort(days, kind="stable")
        days = days[order]
        table = table.take(pa.array(order))
    bounds = [0, *(np.flatnonzero(days[1:] != days[:-1]) + 1).tolist(), len(days)]
    for lo, hi in itertools.pairwise(bounds):
        yield str(np.datetime64(int(days[lo]), "D")), table.slice(lo, hi - lo)


def _merge_partition(kind: str, day_dir: Path, part: pa.Table) -> int:
    """Merge rows into one partition file; returns how many were new. Untouched if nothing changes.

    A partition with appended parts is compacted first, so the count compares with every part."""
    path = day_dir / PART
    if part_files(day_dir) not in ([], [path]):
        compact_partition(kind, day_dir)
    old = pq.read_table(path).cast(part.schema) if path.is_file() else None
    combined = pa.concat_tables([old, part]) if old is not None else part
    n_old = old.num_rows if old is not None else 0
    merged, new_rows = rows.merge(kind, combined, n_old)
    if merged is None:
        return 0
    result = merged.cast(KINDS[kind])
    _write_atomic(result, path)
    return new_rows


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on a series so two writers cannot lose each other's rows."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def symbol_to_path(symbol: str) -> str:
    """Lake directory form of a ccxt symbol: `/` becomes `-`, `:` becomes `.`."""
    parse_symbol(symbol)
    return symbol.replace("/", "-").replace(":", ".")


def path_to_symbol(part: str) -> str:
    """Inverse of `symbol_to_path`."""
    main, dot, settle = part.partition(".")
    symbol = main.replace("-", "/", 1) + (":" + settle if dot else "")
    parse_symbol(symbol)
    return symbol
