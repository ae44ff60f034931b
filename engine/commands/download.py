"""Download OKX history (public trades, candles) into the lake, resumably.

Trades come from `GET /api/v5/market/history-trades`, walked from the end of the range back to
its start: the first page by timestamp (type=2), every later page by trade id (type=1, `after` =
the oldest id seen). Paging by id matters because a page boundary can fall inside one
millisecond; a time cursor would drop or repeat the trades that share it. Candles come from
`GET /api/v5/market/history-candles`, walked back by open time.

Progress lives in `<data_root>/downloads/okx/<kind>/<symbol>[_<interval>].json`: the spans
known to be complete and, for trades, the id to continue below at a span's lower edge. Pages
are buffered and written to the lake every `flush_pages` pages (and at the end, on errors and on
Ctrl-C); progress is saved only after the lake holds them. A run killed at any point (SIGKILL
included) and started again fetches only what is missing; pages fetched but not yet written are
fetched again, which is harmless because lake writes are idempotent.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from engine.model.errors import UserError
from engine.model.time import NS_PER_MS, NS_PER_S, interval_ns
from engine.store.lake import Lake, symbol_to_path
from engine.store.schema import BARS, TRADES
from engine.venues.okx.formats import OKX_BARS, Contract, market_type, parse_candles, parse_trades
from engine.venues.okx.rest import OkxRest, RetryPolicy

__all__ = [
    "DownloadConfig",
    "DownloadReport",
    "DownloadRequest",
    "DownloadStopped",
    "download",
    "missing_spans",
    "state_path",
]

VENUE = "okx"
KINDS = ("trades", "bars")
PAGE_LIMIT = 100
# The history endpoint may lag the tape by a few seconds: never mark the last minute complete.
TRADES_SETTLE_NS = 60 * NS_PER_S

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    """What to download: `kind` 'trades' or 'bars' of `symbol` with ts_event in [start, end) ns."""

    symbol: str
    start: int
    end: int
    kind: str = "trades"
    interval: str = "1m"
    refetch: bool = False  # forget recorded progress inside the range and fetch it again

    def __post_init__(self) -> None:
        market_type(self.symbol)
        if self.kind not in KINDS:
            raise UserError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.start >= self.end:
            raise UserError(f"start {self.start} is not before end {self.end}")
        if self.kind == "bars" and self.interval not in OKX_BARS:
            interval_ns(self.interval)  # names a malformed interval precisely
            raise UserError(f"interval {self.interval!r} is not offered by OKX ({', '.join(OKX_BARS)})")


@dataclass(frozen=True, slots=True)
class DownloadConfig:
    """Where and how to fetch: REST base URL (None for www.okx.com), retries, batching, progress."""

    rest_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limit_ms: float | None = None  # spacing between requests; None keeps ccxt's for OKX
    timeout_ms: int = 10_000
    flush_pages: int = 20  # pages buffered per lake write (a day partition is rewritten per write)
    progress: bool = True

    def __post_init__(self) -> None:
        if self.flush_pages < 1:
            raise UserError(f"flush_pages {self.flush_pages} must be at least 1")


@dataclass(frozen=True, slots=True)
class DownloadReport:
    """Outcome of one run; `start` / `end` is the range after clipping to settled history."""

    kind: str
    symbol: str
    start: int
    end: int
    pages: int
    received: int
    new_rows: int
    duplicates: int
    rejected: int
    complete_from: int | None = None  # [complete_from, end) is in the lake, when a stopped run kept some


class DownloadStopped(UserError):
    """The retries gave up after some pages were written; `report` says what was kept."""

    def __init__(self, message: str, report: DownloadReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True, slots=True)
class _Page:
    table: pa.Table  # rows inside the span being walked
    low: int  # everything in [low, span end) is fetched once this page is written
    cursor: str | None  # trade id the next page starts below
    last: bool


# -- spans and progress ---------------------------------------------------------------------------
def missing_spans(start: int, end: int, covered: list[Span]) -> list[Span]:
    """The parts of [start, end) outside the sorted, disjoint `covered` spans, ascending."""
    gaps, at = [], start
    for lo, hi in covered:
        if hi <= at or lo >= end:
            continue
        if lo > at:
            gaps.append((at, lo))
        at = max(at, hi)
    if at < end:
        gaps.append((at, end))
    return gaps


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for lo, hi in sorted(s for s in spans if s[0] < s[1]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def settled_end(request: DownloadRequest, now_ns: int) -> int:
    """End of the range clipped to history that can no longer change."""
    if request.kind == "bars":
        step = interval_ns(request.interval)
        return min(request.end, now_ns // step * step)
    return min(request.end, now_ns - TRADES_SETTLE_NS)


def state_path(data_root: Path, request: DownloadRequest) -> Path:
    """Where the progress of downloads like `request` is recorded."""
    name = symbol_to_path(request.symbol) + (f"_{request.interval}" if request.kind == "bars" else "")
    return Path(data_root) / "downloads" / VENUE / request.kind / f"{name}.json"


class _Progress:
    """Complete spans plus, for trades, the id to continue below at a span's lower edge."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            state = json.loads(path.read_text()) if path.exists() else {}
            self.covered = [(int(a), int(b)) for a, b in state.get("covered", [])]
            self.cursors = {int(k): str(v) for k, v in state.get("cursors", {}).items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise UserError(
                f"download progress file {path} is damaged ({exc}); delete it to start over"
            ) from None

    def forget(self, start: int, end: int) -> None:
        keep = [g for lo, hi in self.covered for g in ((lo, min(hi, start)), (max(lo, end), hi))]
        self.covered = _merge(keep)
        self.cursors = {k: v for k, v in self.cursors.items() if not start <= k <= end}

    def advance(self, span_end: int, page: _Page) -> None:
        self.covered = _merge([*self.covered, (page.low, span_end)])
        starts = {lo for lo, _ in self.covered}
        self.cursors = {k: v for k, v in self.cursors.items() if k in starts and k != page.low}
        if not page.last and page.cursor is not None:
            self.cursors[page.low] = page.cursor

    def save(self) -> None:
        state = {"covered": self.covered, "cursors": {str(k): v for k, v in self.cursors.items()}}
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)  # atomic: a kill leaves the old state or the new one


@contextlib.contextmanager
def _exclusive(path: Path, what: str) -> Iterator[None]:
    """Hold a lock file next to the state file; the OS drops it when the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another download of {what} is running") from None
        yield


# -- paging ----------------------------------------------------------------------------------
def _ceil_ms(ns: int) -> int:
    return -(-ns // NS_PER_MS)


def _in_span(table: pa.Table, span: Span) -> pa.Table:
    ts = table["ts_event"]
    return table.filter(pc.and_(pc.greater_equal(ts, span[0]), pc.less(ts, span[1])))


def _trade_pages(rest: OkxRest, contract: Contract, span: Span, cursor: str | None) -> Iterator[_Page]:
    """Walk trades from the span's end down to its start, 100 per page, by trade id."""
    params = {
        "instId": contract.inst_id,
        "limit": str(PAGE_LIMIT),
        "type": "2",
        "after": str(_ceil_ms(span[1])),
    }
    if cursor is not None:
        params |= {"type": "1", "after": cursor}
    while True:
        rows = rest.history_trades(params)
        if not rows:
            yield _Page(TRADES.empty_table(), span[0], None, True)
            return
        oldest = min(rows, key=lambda r: int(r["tradeId"]))  # OKX sends newest first; not relied on
        if params["type"] == "1" and int(oldest["tradeId"]) >= int(params["after"]):
            raise UserError(f"okx {rest.symbol}: trade pages stopped going back at id {params['after']}")
        oldest_ns = int(oldest["ts"]) * NS_PER_MS
        last = oldest_ns < span[0]
        # Trades sharing the oldest millisecond may continue on the next page.
        low = span[0] if last else max(span[0], oldest_ns + NS_PER_MS)
        yield _Page(_in_span(parse_trades(rows, contract), span), low, oldest["tradeId"], last)
        if last:
            return
        params |= {"type": "1", "after": oldest["tradeId"]}


def _bar_pages(rest: OkxRest, contract: Contract, span: Span, interval: str) -> Iterator[_Page]:
    """Walk candles from the span's end down to its start, 100 per page, by open time."""
    after = _ceil_ms(span[1])
    while True:
        rows = rest.history_candles(
            {
                "instId": contract.inst_id,
                "bar": OKX_BARS[interval],
                "after": str(after),
                "limit": str(PAGE_LIMIT),
            }
        )
        if not rows:
            yield _Page(BARS.empty_table(), span[0], None, True)
            return
        oldest_ms = min(int(r[0]) for r in rows)
        if oldest_ms >= after:
            raise UserError(f"okx {rest.symbol}: candle pages stopped going back at {after}")
        last = oldest_ms * NS_PER_MS < span[0]
        low = span[0] if last else oldest_ms * NS_PER_MS
        yield _Page(_in_span(parse_candles(rows, interval, contract.spot), span), low, None, last)
        if last:
            return
        after = oldest_ms


# -- writing ---------------------------------------------------------------------------------
class _Writer:
    """Buffers the pages of one span, writes them to the lake, then records the progress."""

    def __init__(
        self, lake: Lake, request: DownloadRequest, config: DownloadConfig, progress: _Progress
    ) -> None:
        self.lake, self.request, self.config, self.progress = lake, request, config, progress
        self.tables: list[pa.Table] = []
        self.pending: tuple[int, _Page] | None = None
        self.totals = [0, 0, 0, 0, 0]  # pages, received, new rows, duplicates, rejected

    def add(self, span_end: int, page: _Page) -> None:
        self.totals[0] += 1
        if page.table.num_rows:
            self.tables.append(page.table)
        self.pending = (span_end, page)
        if page.last or len(self.tables) >= self.config.flush_pages:
            self.flush()

    def flush(self) -> None:
        if self.tables:
            written = self.lake.write(
                self.request.kind, VENUE, self.request.symbol, pa.concat_tables(self.tables)
            )
            self.totals[1] += written.received
            self.totals[2] += written.new_rows
            self.totals[3] += written.duplicates
            self.totals[4] += sum(written.rejected.values())
        if self.pending is not None:
            self.progress.advance(*self.pending)
            self.progress.save()  # only now that the lake holds the pages
        self.tables, self.pending = [], None


# -- the command's engine ------------------------------------------------------------------------
def download(
    data_root: Path, request: DownloadRequest, config: DownloadConfig | None = None, now_ns: int | None = None
) -> DownloadReport:
    """Fetch what the lake lacks of `request` from OKX; see the module docstring."""
    config = config or DownloadConfig()
    end = settled_end(request, time.time_ns() if now_ns is None else now_ns)
    if end <= request.start:
        raise UserError(
            f"nothing to download yet: start {_iso(request.start)} is not before "
            f"{_iso(end)}, the end of settled history"
        )
    lake = Lake.at(data_root)
    lake.check_writable()  # before any request: a read-only disk is refused at once
    path = state_path(data_root, request)
    with _exclusive(path, f"okx {request.symbol} {request.kind}"):
        progress = _Progress(path)
        if request.refetch:
            progress.forget(request.start, end)
        gaps = missing_spans(request.start, end, progress.covered)
        writer = _Writer(lake, request, config, progress)
        if gaps:
            try:
                _fill(request, config, gaps, writer)
            except UserError as exc:
                writer.flush()  # keep what was fetched when a retry gives up
                _stopped(request, end, writer, gaps, exc)
            finally:
                writer.flush()  # and on Ctrl-C
    return DownloadReport(request.kind, request.symbol, request.start, end, *writer.totals)


def _stopped(request: DownloadRequest, end: int, writer: _Writer, gaps: list[Span], exc: UserError) -> None:
    """Raise `exc` as is when nothing was written, else a DownloadStopped saying what was kept."""
    if writer.totals[0] == 0:
        raise exc
    newest = gaps[-1]  # walked first, from its end down
    lows = [lo for lo, hi in writer.progress.covered if lo <= newest[1] <= hi]
    pages, received, new_rows, duplicates, rejected = writer.totals
    report = DownloadReport(
        request.kind, request.symbol, request.start, end, pages, received, new_rows, duplicates, rejected,
        complete_from=min(lows, default=None),
    )
    raise DownloadStopped(str(exc), report) from exc


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / NS_PER_S, UTC).isoformat(timespec="seconds")


def _fill(request: DownloadRequest, config: DownloadConfig, gaps: list[Span], writer: _Writer) -> None:
    from tqdm import tqdm

    rest = OkxRest(request.symbol, config.rest_url, config.retry, config.rate_limit_ms, config.timeout_ms)
    contract = rest.contract()
    seconds = sum(hi - lo for lo, hi in gaps) // NS_PER_S
    with tqdm(
        total=seconds,
        unit="s",
        desc=f"okx {request.symbol} {request.kind}",
        file=sys.stderr,
        leave=False,
        disable=None if config.progress else True,
    ) as bar:
        for span in reversed(gaps):  # newest first, as OKX pages
            if request.kind == "trades":
                pages = _trade_pages(rest, contract, span, writer.progress.cursors.get(span[1]))
            else:
                pages = _bar_pages(rest, contract, span, request.interval)
            done = 0
            for page in pages:
                writer.add(span[1], page)
                bar.update((span[1] - page.low) // NS_PER_S - done)
                done = (span[1] - page.low) // NS_PER_S
                bar.set_postfix(pages=writer.totals[0], refresh=False)
