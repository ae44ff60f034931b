"""A seeded synthetic market: trades, quotes, funding and mark bars that look real to a strategy.

The efficient log price is a continuous-time random walk whose volatility follows a Markov-switching
regime (calm, normal, turbulent; minutes to hours each) plus Poisson jumps. Market events arrive as a
Poisson process whose intensity follows the regime and a daily activity cycle; every event refreshes
the quote and some are taker orders that print at the standing quote, several levels at one
timestamp when they sweep the book. Everything is drawn from numpy generators seeded by
(seed, chunk index), in time chunks whose length depends only on the event rate: memory stays
bounded, and a longer run starts with exactly the data of a shorter one (same seed, start, rates).
The data is fake and says so: venue `synthetic`, trade ids `syn<seed>-<12-digit n>`, table metadata
`okxbot.source = synthetic`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.model.time import NS_PER_MIN
from engine.store.synthetic.config import REGIME_NAMES, RegimeParams, SynthConfig
from engine.store.synthetic.model import Carry, Model, SynthData, draw_chunk

if TYPE_CHECKING:
    from engine.store.lake import Lake, WriteReport

__all__ = ["REGIME_NAMES", "VENUE", "RegimeParams", "SynthConfig", "SynthData", "generate", "iter_chunks",
           "write_synthetic"]

VENUE = "synthetic"


def generate(cfg: SynthConfig) -> SynthData:
    """Generate the whole data set in memory (`iter_chunks` keeps memory bounded)."""
    parts = [p.by_kind() for p in iter_chunks(cfg)]
    return SynthData(**{kind: pa.concat_tables([p[kind] for p in parts]) for kind in parts[0]})


def iter_chunks(cfg: SynthConfig) -> Iterator[SynthData]:
    """Yield the data set in consecutive time chunks of at most about a million events."""
    model = Model.of(cfg)
    chunk_ns = model.chunk_minutes * NS_PER_MIN
    start, end = cfg.start_ns, cfg.end_ns
    carry = Carry.initial(model)
    for k in range(-(-(end - start) // chunk_ns)):
        lo = start + k * chunk_ns
        # The last chunk is drawn whole and cut, so a longer run begins with this run's data.
        data, carry = draw_chunk(model, np.random.default_rng([cfg.seed, k]), lo, lo + chunk_ns, carry)
        yield data if lo + chunk_ns <= end else _cut(data, end)


def write_synthetic(lake: Lake, cfg: SynthConfig) -> list[WriteReport]:
    """Write the data set into `lake` under venue `synthetic`; one summed report per kind.

    A write that fails after others were written raises `PartlyWritten` with what was written;
    running again completes the data set, as the same config gives the same rows.
    """
    from engine.model.errors import UserError
    from engine.store.lake import PartlyWritten

    totals: dict[str, WriteReport] = {}
    try:
        for part in iter_chunks(cfg):
            for kind, table in part.by_kind().items():
                if table.num_rows == 0 and kind in totals:
                    continue
                report = lake.write(kind, VENUE, cfg.symbol, table)
                totals[kind] = _add_reports(totals[kind], report) if kind in totals else report
    except UserError as exc:
        if any(r.new_rows or r.duplicates for r in totals.values()):
            raise PartlyWritten(str(exc), list(totals.values())) from exc
        raise
    return list(totals.values())


def _add_reports(a: WriteReport, b: WriteReport) -> WriteReport:
    rejected = dict(a.rejected)
    for reason, count in b.rejected.items():
        rejected[reason] = rejected.get(reason, 0) + count
    return replace(a, received=a.received + b.received, new_rows=a.new_rows + b.new_rows,
                   duplicates=a.duplicates + b.duplicates, rejected=rejected)


def _cut(data: SynthData, end_ns: int) -> SynthData:
    tables = data.by_kind()
    return SynthData(**{k: t.filter(pc.less(t["ts_event"], end_ns)) for k, t in tables.items()})


