"""Ingest files into the lake: detect each file's format, parse it columnar, write its series."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.model.errors import UserError
from engine.store import formats
from engine.store.formats import Options, Source
from engine.store.lake import Lake, WriteReport

PROGRESS_MIN_BYTES = 8 << 20  # smaller inputs finish before a bar is worth drawing


@dataclass(frozen=True, slots=True)
class FileResult:
    """What ingesting one file did."""

    path: Path
    format: str
    reports: list[WriteReport]
    skipped: dict[str, int] = field(default_factory=dict)  # lines/messages that are not rows


def ingest_files(
    lake: Lake,
    paths: Sequence[Path | str],
    venue: str | None = None,
    symbol: str | None = None,
    progress: bool = False,
    options: Options | None = None,
) -> list[WriteReport]:
    """Ingest files; one merged report per (kind, venue, symbol). `venue`/`symbol` override `options`."""
    base = options or Options()
    options = Options(venue or base.venue, symbol or base.symbol, base.interval, base.contract_value)
    results = ingest_paths(lake, paths, options, progress)
    return merge_reports(r for result in results for r in result.reports)


def ingest_paths(lake: Lake, paths: Sequence[Path | str], options: Options, progress: bool = False) -> list[FileResult]:
    """Ingest files one by one, with a byte progress bar on stderr when asked and worthwhile."""
    files = [Path(p) for p in paths]
    for path in files:
        if not path.is_file():
            raise UserError(f"{path}: no such file")
    total = sum(p.stat().st_size for p in files)
    bar = _bar(total) if progress and total >= PROGRESS_MIN_BYTES else None
    try:
        return [ingest_file(lake, path, options, bar.update if bar is not None else None) for path in files]
    finally:
        if bar is not None:
            bar.close()


def ingest_file(
    lake: Lake, path: Path, options: Options, on_bytes: Callable[[int], object] | None = None
) -> FileResult:
    """Parse one file and write its batches; `on_bytes` hears of every block read from disk."""
    source = Source(path, on_bytes)
    module = formats.detect(source)
    try:
        parsed = module.parse(source, options)
    except (KeyError, IndexError, TypeError, ValueError) as exc:  # a field missing or of the wrong type
        raise UserError(f"{path}: malformed {module.NAME} data ({type(exc).__name__}: {exc})") from exc
    reports = [lake.write(b.kind, b.venue, b.symbol, b.table) for b in parsed.batches]
    return FileResult(path, parsed.format, reports, parsed.skipped)


def merge_reports(reports: Iterable[WriteReport]) -> list[WriteReport]:
    """Sum reports of the same (kind, venue, symbol), in first-seen order."""
    merged: dict[tuple[str, str, str], WriteReport] = {}
    for r in reports:
        key = (r.kind, r.venue, r.symbol)
        if key not in merged:
            merged[key] = r
            continue
        m = merged[key]
        rejected = dict(m.rejected)
        for reason, count in r.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + count
        merged[key] = WriteReport(
            m.kind,
            m.venue,
            m.symbol,
            m.received + r.received,
            m.new_rows + r.new_rows,
            m.duplicates + r.duplicates,
            rejected,
        )
    return list(merged.values())


def _bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, desc="ingest")
