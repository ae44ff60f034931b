"""Ingest files into the lake: detect each file's format, parse it columnar, write its series.

First every file is opened and recognised and the lake is tried for writing, so a typo or a
read-only disk costs nothing (a UserError, nothing written). Then the files are ingested one by
one; a file refused while being read (more than half its rows rejected, a document that cannot
be parsed, ...) is recorded with its one-line reason and the next file goes on.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pyarrow as pa

from engine.model.errors import UserError
from engine.store import formats
from engine.store.formats import Options, Source
from engine.store.lake import VENUE_NAME, Lake, PartlyWritten, WriteReport
from engine.store.screen import judge, screen

PROGRESS_MIN_BYTES = 8 << 20  # smaller inputs finish before a bar is worth drawing
# What a file that cannot be read at all raises inside a format's parser.
_UNREADABLE = (KeyError, IndexError, TypeError, ValueError, msgspec.DecodeError, pa.ArrowException, EOFError)


@dataclass(frozen=True, slots=True)
class FileResult:
    """What ingesting one file did: its series written, and why the rest was refused (if it was)."""

    path: Path
    format: str
    reports: list[WriteReport]
    skipped: dict[str, int] = field(default_factory=dict)  # lines/messages that are not rows
    torn: str | None = None  # the archive ended early or was damaged; the lines before were kept
    refused: str | None = None  # one line: why the file (the rest of it, when `reports`) was not written


def ingest_files(
    lake: Lake,
    paths: Sequence[Path | str],
    venue: str | None = None,
    symbol: str | None = None,
    progress: bool = False,
    options: Options | None = None,
) -> list[WriteReport]:
    """Ingest files; one merged report per (kind, venue, symbol). `venue`/`symbol` override `options`.

    Raises the UserError of the first refused file (the files after it are ingested all the same).
    """
    base = options or Options()
    options = Options(venue or base.venue, symbol or base.symbol, base.interval, base.contract_value)
    results = ingest_paths(lake, paths, options, progress)
    for result in results:
        if result.refused is not None:
            raise UserError(result.refused)
    return merge_reports(r for result in results for r in result.reports)


def ingest_paths(lake: Lake, paths: Sequence[Path | str], options: Options, progress: bool = False) -> list[FileResult]:
    """Check every file and the lake, then ingest the files one by one (see the module docstring).

    A byte progress bar goes to stderr when asked, worthwhile and stderr is a terminal.
    """
    check_options(options)
    files = [Path(p) for p in paths]
    sources = [Source(path) for path in files]
    modules = [formats.detect(source) for source in sources]
    lake.check_writable()
    total = sum(s.size for s in sources)
    bar = _bar(total) if progress and total >= PROGRESS_MIN_BYTES else None
    try:
        results = []
        for source, module in zip(sources, modules, strict=True):
            source.on_bytes = bar.update if bar is not None else None
            results.append(ingest_source(lake, source, module, options))
        return results
    finally:
        if bar is not None:
            bar.close()


def check_options(options: Options) -> None:
    """The flags, checked before any file is read; a UserError naming the flag and its value."""
    from engine.model.time import interval_ns
    from engine.model.types import parse_symbol

    if options.venue is not None and not VENUE_NAME.match(options.venue):
        raise UserError(f"--venue {options.venue!r} must be letters, digits, '_', '.' or '-'")
    try:
        if options.symbol is not None:
            parse_symbol(options.symbol)
        if options.interval is not None:
            interval_ns(options.interval)
    except UserError as exc:  # "symbol 'x' is not ..." -> "--symbol 'x' is not ..."
        raise UserError(f"--{exc}") from None
    value = options.contract_value
    if value is not None and not 0 < value < float("inf"):
        raise UserError(f"--contract-value {value!r} must be a positive number")


def ingest_file(
    lake: Lake, path: Path, options: Options, on_bytes: Callable[[int], object] | None = None
) -> FileResult:
    """Parse one file and write its batches; `on_bytes` hears of every block read from disk."""
    source = Source(path, on_bytes)
    return ingest_source(lake, source, formats.detect(source), options)


def ingest_source(lake: Lake, source: Source, module: ModuleType, options: Options) -> FileResult:
    """Parse, screen and write one recognised file; a refusal is recorded, not raised."""
    try:
        return _ingest(lake, source, module, options)
    except PartlyWritten as exc:  # the disk failed after some of the file's series were written
        return FileResult(source.path, module.NAME, exc.reports, torn=source.torn, refused=str(exc))
    except UserError as exc:
        return FileResult(source.path, module.NAME, [], refused=str(exc))


def _ingest(lake: Lake, source: Source, module: ModuleType, options: Options) -> FileResult:
    try:
        parsed = module.parse(source, options)
    except _UNREADABLE as exc:  # a document that cannot be parsed, a field of the wrong type
        torn = f" ({source.torn})" if source.torn else ""
        raise UserError(f"{source.path}: cannot read it as {module.NAME} data{torn}: {_brief(exc)}") from exc
    screens = [(b, screen(b.kind, b.table, b.unreadable, b.columns)) for b in parsed.batches]
    received = sum(s.received for _, s in screens)
    malformed = parsed.skipped.get("malformed", 0)
    if received == 0:
        skipped = f" (skipped {_counts(parsed.skipped)})" if parsed.skipped else ""
        raise UserError(f"{source.path}: no rows of trades, quotes, bars or funding in it{skipped}")
    rejected: dict[str, int] = {"malformed": malformed} if malformed else {}
    examples = {"malformed": ("line", parsed.malformed)} if malformed else {}
    for _, s in screens:
        for reason, count in s.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + count
        examples = s.examples | examples
    judge(str(source.path), received + malformed, rejected, examples)
    reports: list[WriteReport] = []
    for batch, screened in screens:
        try:
            reports.append(lake.write_screened(batch.venue, batch.symbol, screened))
        except UserError as exc:
            if reports:
                raise PartlyWritten(str(exc), reports) from exc
            raise
    return FileResult(source.path, parsed.format, reports, parsed.skipped, torn=source.torn)


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:160]}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{what} {count:,}" for what, count in sorted(counts.items()))


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
            r.examples | m.examples,
        )
    return list(merged.values())


def _bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, desc="ingest", disable=None
    )
