"""Part files of one lake partition: appended parts, reading every part, compaction.

A partition (`date=YYYY-MM-DD/`) holds the merged file `part-0.parquet` and any number of parts
appended since, `part-<ns>-<pid>.parquet`. Every file appears by rename of a fsynced temporary
file (`.<name>.<pid>.<hex>.tmp`), so a reader never sees half a file and a writer killed mid-write
leaves only a temporary file, which readers ignore and compaction removes. Readers take every part
and de-duplicate with the kind's rules (`rows.merge`), so a row present in two parts is read once.

Compaction merges the parts into a new `part-0.parquet` (temporary file, rename) and only then
unlinks the parts it merged: a reader in between sees the rows twice and de-duplicates them, never
a missing row; a reader whose listed part vanished reads the partition again.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.store import rows
from engine.store.schema import KINDS

PART = "part-0.parquet"  # the merged file
_PART_NAME = re.compile(r"^part-\d+(-\d+)?\.parquet$")
_TEMP_NAME = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{32}\.tmp$")
STALE_TEMP_S = 3600.0  # a temporary file this old is a dead writer's, whatever its pid
_DICTIONARY = ("side", "price", "interval", "action", "channel", "reason", "state")
_DELTA = ("ts_event", "ts_recv", "recv_seq", "seq_id", "prev_seq_id")  # increasing integers
_RETRIES = 5
_clock = threading.Lock()
_last_ns = [0]

T = TypeVar("T")


def part_files(day_dir: Path) -> list[Path]:
    """Every complete part file of a partition: the merged one first, then appends in write order."""
    try:
        names = os.listdir(day_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [day_dir / n for n in sorted(n for n in names if _PART_NAME.match(n))]


def has_parts(day_dir: Path) -> bool:
    """True when the partition holds at least one part file."""
    return (day_dir / PART).is_file() or bool(part_files(day_dir))


def new_part_path(day_dir: Path) -> Path:
    """A fresh `part-<ns>-<pid>.parquet`: names sort in write order within a process."""
    with _clock:
        _last_ns[0] = max(time.time_ns(), _last_ns[0] + 1)
        ns = _last_ns[0]
    return day_dir / f"part-{ns}-{os.getpid()}.parquet"


def read_whole(kind: str, path: Path) -> pa.Table:
    """One part file with every column, in the kind's schema."""
    return pq.ParquetFile(path, memory_map=True).read().cast(KINDS[kind])


def merge_parts(kind: str, tables: list[pa.Table]) -> pa.Table:
    """The de-duplicated, ordered union of a partition's parts (the kind's merge rules)."""
    combined = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    if not combined.num_rows:
        return combined
    merged, _ = rows.merge(kind, combined, 0)
    assert merged is not None  # with no old rows every kept row is new
    return merged.cast(KINDS[kind])


def read_part(
    path: Path, columns: list[str] | None, interval: str | None, start: int | None, end: int | None
) -> pa.Table:
    """One partition, filtered to an interval and a ts_event range (the file is sorted by ts)."""
    wanted = None if columns is None else list(dict.fromkeys([*columns, "ts_event"]))
    if interval is not None and wanted is not None and "interval" not in wanted:
        wanted.append("interval")
    return filter_part(pq.ParquetFile(path, memory_map=True).read(columns=wanted), columns, interval, start, end)


def filter_part(table: pa.Table, columns: list[str] | None, interval: str | None, start: int | None,
                end: int | None) -> pa.Table:
    """Rows of a partition's table of one interval with ts_event in [start, end), the given columns."""
    if interval is not None:
        table = table.filter(pc.equal(table["interval"], interval))
    if start is not None or end is not None:
        ts = table["ts_event"].to_numpy()
        lo = 0 if start is None else int(np.searchsorted(ts, start, side="left"))
        hi = len(ts) if end is None else int(np.searchsorted(ts, end, side="left"))
        table = table.slice(lo, hi - lo)
    return table if columns is None else table.select(columns)


def retry_vanished(read: Callable[[], T]) -> T:
    """Run a read of a partition again when a part it listed was removed by a compaction."""
    for attempt in range(_RETRIES):
        try:
            return read()
        except FileNotFoundError:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def append_part(kind: str, day_dir: Path, table: pa.Table) -> int:
    """Write one flush's rows of one partition as a new part file; returns its row count."""
    merged = merge_parts(kind, [table])
    if merged.num_rows:
        write_atomic(merged, new_part_path(day_dir))
    return merged.num_rows


def compact_partition(kind: str, day_dir: Path) -> bool:
    """Merge a partition's parts into `part-0.parquet` and remove them; False when it had none.

    The caller holds the series lock. The merged file is renamed into place before any part is
    unlinked, so a crash at any step leaves every row readable (perhaps twice, which readers undo).
    """
    remove_stale_temps(day_dir)
    paths = part_files(day_dir)
    appended = [p for p in paths if p.name != PART]
    if not appended:
        return False
    base = day_dir / PART
    tables = [read_whole(kind, p) for p in paths]
    n_old = tables[0].num_rows if paths[0] == base else 0
    merged, _ = rows.merge(kind, pa.concat_tables(tables), n_old)
    if merged is not None:  # None: the merged file holds every appended row already
        write_atomic(merged.cast(KINDS[kind]), base)
    for path in appended:
        path.unlink(missing_ok=True)
    return True


def remove_stale_temps(day_dir: Path) -> int:
    """Remove temporary files of writers that died (pid gone, or older than `STALE_TEMP_S`)."""
    removed = 0
    for name in os.listdir(day_dir):
        match = _TEMP_NAME.match(name)
        path = day_dir / name
        if match and _dead(int(match[1]), path):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _dead(pid: int, path: Path) -> bool:
    try:
        if time.time() - path.stat().st_mtime > STALE_TEMP_S:
            return True
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # no permission to signal it: alive; or the file is gone already
        return False
    return False


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file by temporary file, fsync and rename: readers see all of it or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    names = table.column_names
    try:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            use_dictionary=[c for c in _DICTIONARY if c in names],
            column_encoding={c: "DELTA_BINARY_PACKED" for c in _DELTA if c in names},
            row_group_size=1 << 18,
        )
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
