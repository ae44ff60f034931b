"""A lake that keeps what it reads in memory: a study's worker process replays the same data for
every trial, and reads each partition from disk once (README "Studies")."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine.store.lake import Lake
from engine.store.parts import filter_part


class MemoLake(Lake):
    """A read-only view of the lake under `root` whose partitions, once read, stay in memory whole
    (every column, every interval); each read filters them as `Lake` filters the files. Writes are
    refused: the cache would go stale."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._parts: dict[Path, pa.Table] = {}
        self._merged: dict[tuple[Path, ...], pa.Table] = {}
        self._dates: dict[tuple[str, str, str, int | None, int | None], list[str]] = {}
        self._entries: list[tuple[str, str, str]] | None = None

    @classmethod
    def at(cls, data_root: Path | str) -> MemoLake:
        return cls(Path(data_root) / "lake")

    @property
    def partitions_read(self) -> int:
        """How many partitions were read from disk (a partition of appended parts counts once)."""
        return len(self._parts) + len(self._merged)

    def dates(self, kind: str, venue: str, symbol: str, start: int | None = None, end: int | None = None) -> list[str]:
        key = (kind, venue, symbol, start, end)
        if key not in self._dates:
            self._dates[key] = super().dates(kind, venue, symbol, start, end)
        return list(self._dates[key])

    def entries(self) -> list[tuple[str, str, str]]:
        if self._entries is None:
            self._entries = super().entries()
        return list(self._entries)

    def write(self, kind: str, venue: str, symbol: str, table: pa.Table) -> object:  # type: ignore[override]
        raise RuntimeError("a MemoLake is read-only: write through engine.store.lake.Lake")

    def append(self, kind: str, venue: str, symbol: str, table: pa.Table) -> object:  # type: ignore[override]
        raise RuntimeError("a MemoLake is read-only: append through engine.store.lake.Lake")

    def compact(self, kind: str, venue: str, symbol: str) -> int:
        raise RuntimeError("a MemoLake is read-only: compact through engine.store.lake.Lake")

    def _read_part(self, path: Path, columns: list[str] | None, interval: str | None, start: int | None,
                   end: int | None) -> pa.Table:
        whole = self._parts.get(path)
        if whole is None:
            whole = self._parts[path] = pq.ParquetFile(path, memory_map=False).read()
        return filter_part(whole, columns, interval, start, end)

    def _read_parts(self, kind: str, paths: list[Path]) -> pa.Table:
        key = tuple(paths)
        if key not in self._merged:
            self._merged[key] = super()._read_parts(kind, paths)
        return self._merged[key]
