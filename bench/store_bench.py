"""Tick store benchmarks: CSV ingest throughput and one-minute bars from the lake.

python -m bench.store_bench        # prints `bench: NAME VALUE UNIT` lines
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from bench.tickset import build_tickset
from engine.model.time import NS_PER_MIN
from engine.store.bars import bars_from_arrays
from engine.store.ingest import ingest_files
from engine.store.lake import Lake, WriteReport

N = 1_000_000
DUPLICATES = 10_000  # 1 %
BAD = 1_000  # 0.1 %
VENUE, SYMBOL = "bench", "BTC/USDT:USDT"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_ingest_csv(tickset: Lake, path: Path, seed: int = 7) -> tuple[int, int, int]:
    """A CSV of N trades from the tick set: N - 1% - 0.1% unique good rows, 0.1% bad rows and 1%
    repeats of good rows next to their originals. Returns (new, duplicates, rejected) to expect."""
    unique = N - DUPLICATES
    table = tickset.read("trades", VENUE, SYMBOL).slice(0, unique)
    rng = np.random.default_rng(seed)
    bad = rng.choice(unique, BAD, replace=False)
    price = table["price"].to_numpy().copy()
    size = table["size"].to_numpy().copy()
    price[bad[: BAD // 2]] *= -1  # negative price
    size[bad[BAD // 2 :]] = 0.0  # zero size
    good = np.setdiff1d(np.arange(unique), bad)
    repeats = rng.choice(good, DUPLICATES, replace=False)
    order = np.sort(np.concatenate([np.arange(unique), repeats]), kind="stable")
    side = pc.if_else(pc.equal(table["side"], 1), "buy", "sell")
    out = pa.table(
        {
            "ts_event": table["ts_event"],
            "ts_recv": table["ts_recv"],
            "trade_id": table["trade_id"],
            "price": price,
            "size": size,
            "side": side,
        }
    ).take(pa.array(order))
    pcsv.write_csv(out, path)
    return unique - BAD, DUPLICATES, BAD


def timed(work: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bench_ingest(workdir: Path, tickset: Lake, repeats: int = 3) -> float:
    """Trades per second of `ingest_files` of the CSV into a fresh lake (best of `repeats`)."""
    csv = workdir / "ingest.csv"
    expected = write_ingest_csv(tickset, csv)
    best = float("inf")
    for i in range(repeats):
        lake = Lake(workdir / f"ingest-{i}" / "lake")
        reports: list[WriteReport] = []

        def work(lake: Lake = lake, out: list[WriteReport] = reports) -> None:
            out.extend(ingest_files(lake, [csv], VENUE, SYMBOL))

        best = min(best, timed(work))
        (report,) = reports
        got = (report.new_rows, report.duplicates, sum(report.rejected.values()))
        if got != expected:
            raise RuntimeError(f"ingest counted (new, duplicates, rejected) {got}, expected {expected}")
    (again,) = ingest_files(lake, [csv], VENUE, SYMBOL)
    if again.new_rows != 0:
        raise RuntimeError(f"a second ingest of the same file added {again.new_rows} rows")
    return N / best


def one_minute_bars(tickset: Lake) -> int:
    """Read the tick set's trades from Parquet and make one-minute bars; returns the bar count."""
    table = tickset.read("trades", VENUE, SYMBOL, columns=["ts_event", "price", "size"])
    ts, price, size = (table[c].to_numpy() for c in ("ts_event", "price", "size"))
    return len(bars_from_arrays(ts, price, size, NS_PER_MIN)["ts_event"])


def bench_bars(tickset: Lake, repeats: int = 5) -> float:
    """Trades per second of one-minute bars from the tick set's Parquet files (read included)."""
    return N / min(timed(lambda: one_minute_bars(tickset)) for _ in range(repeats))


def run(workdir: Path, shared_data: Path) -> list[tuple[str, float, str]]:
    """Build the 1M-trade tick set in a fresh folder under `workdir`, then measure ingest and bars."""
    workdir = Path(workdir) / "store_bench"
    shutil.rmtree(workdir, ignore_errors=True)  # every ingest must start from an empty lake
    workdir.mkdir(parents=True)
    try:
        tickset = Lake(workdir / "tickset" / "lake")
        build_tickset(tickset, Path(shared_data), N, SYMBOL, VENUE)
        return [
            ("ingest", bench_ingest(workdir, tickset), "trades/s"),
            ("bars_1m", bench_bars(tickset), "trades/s"),
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED_DATA
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        for name, value, unit in run(Path(tmp), shared):
            print(f"bench: {name} {value:,.0f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
