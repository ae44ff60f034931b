"""What the lake holds: rows, time span and gaps of every series (the logic of `okxbot data ls`).

A gap is a stretch without rows longer than a threshold beyond the expected spacing: zero for
trades, quotes and books, the interval for bars and mark bars, the typical spacing for funding;
instruments are fetched now and then and have none. The `gaps` kind holds the stretches a
recorder knows it missed: its series lists every one of them, whatever their length.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc

from engine.model.errors import UserError
from engine.model.time import NS_PER_DAY, NS_PER_MIN, NS_PER_S, interval_ns
from engine.store.lake import Lake

_DURATION = re.compile(r"^(\d+)([smhd])$")
_NEVER = 1 << 62  # a threshold no gap reaches
_UNITS = {"s": NS_PER_S, "m": NS_PER_MIN, "h": 60 * NS_PER_MIN, "d": NS_PER_DAY}


@dataclass(frozen=True, slots=True)
class Gap:
    """No rows from `start` to `end` (ns); `note` says why when a recorder knew it."""

    start: int
    end: int
    note: str = ""  # '<channel> <reason>' of a recorded gap

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """Summary of one series (bars: one per interval)."""

    kind: str
    venue: str
    symbol: str
    interval: str  # '' unless bars or mark
    rows: int
    first: int
    last: int
    gap_count: int
    largest_gaps: tuple[Gap, ...]  # longest first


def parse_duration(text: str) -> int:
    """ns of a duration like '90s', '30m', '1h' or '2d'."""
    match = _DURATION.match(text.strip())
    if not match or int(match[1]) <= 0:
        raise UserError(f"duration {text!r} is not like '90s', '30m', '1h' or '2d'")
    return int(match[1]) * _UNITS[match[2]]


def summarize(lake: Lake, gap_ns: int, kinds: list[str] | None = None, largest: int = 3) -> list[SeriesInfo]:
    """One record per series in the lake (optionally only some kinds), sorted by kind, venue, symbol."""
    found = []
    for kind, venue, symbol in lake.entries():
        if kinds is None or kind in kinds:
            found.extend(_series(lake, kind, venue, symbol, gap_ns, largest))
    return found


def _times(lake: Lake, kind: str, venue: str, symbol: str) -> Iterator[tuple[str, np.ndarray]]:
    """(interval, ts_event) per partition; bars split by interval."""
    columns = ["ts_event", "interval"] if kind in ("bars", "mark") else ["ts_event"]
    for table in lake.iter_days(kind, venue, symbol, columns=columns):
        if len(columns) == 1:
            yield "", table["ts_event"].to_numpy()
            continue
        for interval in sorted(pc.unique(table["interval"]).to_pylist()):
            part = table.filter(pc.equal(table["interval"], interval))
            yield interval, part["ts_event"].to_numpy()


def _series(lake: Lake, kind: str, venue: str, symbol: str, gap_ns: int, largest: int) -> list[SeriesInfo]:
    if kind == "gaps":
        return [_recorded(lake, venue, symbol, largest)]
    if kind == "instruments":
        gap_ns = _NEVER
    chunks: dict[str, list[np.ndarray]] = {}
    for interval, ts in _times(lake, kind, venue, symbol):
        chunks.setdefault(interval, []).append(ts)
    infos = []
    for interval, parts in sorted(chunks.items()):
        expected = interval_ns(interval) if interval else _typical_step(parts) if kind == "funding" else 0
        counter = _GapCounter(gap_ns + expected, expected, largest)
        for ts in parts:
            counter.add(ts)
        infos.append(
            SeriesInfo(
                kind,
                venue,
                symbol,
                interval,
                counter.rows,
                int(parts[0][0]),
                int(parts[-1][-1]),
                counter.count,
                counter.largest(),
            )
        )
    return infos


def _recorded(lake: Lake, venue: str, symbol: str, largest: int) -> SeriesInfo:
    """The recorded gaps of a symbol: all counted, the longest few listed with channel and reason."""
    table = lake.read("gaps", venue, symbol)
    start, end = table["ts_event"].to_numpy(), table["ts_end"].to_numpy()
    notes = pc.binary_join_element_wise(table["channel"], table["reason"], " ").to_pylist()
    longest = np.argsort(-(end - start), kind="stable")[:largest]
    gaps = tuple(Gap(int(start[i]), int(end[i]), notes[i]) for i in longest)
    return SeriesInfo("gaps", venue, symbol, "", table.num_rows, int(start.min()), int(end.max()), table.num_rows, gaps)


def _typical_step(parts: list[np.ndarray]) -> int:
    steps = np.diff(np.concatenate(parts))
    return int(np.median(steps)) if len(steps) else 0


class _GapCounter:
    """Streams sorted timestamps, counting gaps and keeping the largest few."""

    def __init__(self, threshold: int, expected: int, keep: int) -> None:
        self.threshold, self.expected, self.keep = threshold, expected, keep
        self.rows = 0
        self.count = 0
        self._heap: list[tuple[int, int, int]] = []  # (length, start, end), shortest on top
        self._last: int | None = None

    def add(self, ts: np.ndarray) -> None:
        if not len(ts):
            return
        self.rows += len(ts)
        joined = ts if self._last is None else np.concatenate(([self._last], ts))
        steps = np.diff(joined)
        where = np.flatnonzero(steps > self.threshold)
        self.count += len(where)
        for i in where[np.argsort(-steps[where], kind="stable")][: self.keep]:
            start, end = int(joined[i]) + self.expected, int(joined[i + 1])
            item = (end - start, start, end)
            if len(self._heap) < self.keep:
                heapq.heappush(self._heap, item)
            else:
                heapq.heappushpop(self._heap, item)
        self._last = int(ts[-1])

    def largest(self) -> tuple[Gap, ...]:
        """The longest gaps seen, longest first."""
        return tuple(Gap(start, end) for _, start, end in sorted(self._heap, reverse=True))
