"""Tick store benchmarks: CSV ingest throughput and one-minute bars from the lake.

    python -m bench.store_bench        # prints `bench: NAME VALUE UNIT` lines
"""

from __future__ import annotations

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
from engine.store.bars import bars_from_arrays
from engine.store.ingest import ingest_files
from engine.store.lake import Lake
from engine.types import NS_PER_MIN

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
            "ts_event": table["ts_event"], "ts_recv": table["ts_recv"], "trade_id": table["trade_id"],
            "price": price, "size": size, "side": side,
        }
    ).take(pa.array(order))
    pcsv.write_csv(out, path)
    return unique - BAD, DUPLICATES, BAD


def best_of(repeats: int, setup: Callable[[int], object], work: Callable[[object], object]) -> float:
    """Shortest wall time of `work(setup(i))` over repeats (setup untimed)."""
    best = float("inf")
    for i in range(repeats):
        state = setup(i)
        start = time.perf_counter()
        work(state)
        best = min(best, time.perf_counter() - start)
    return best


def bench_ingest(workdir: Path, tickset: Lake) -> float:
    """Trades per second of `ingest_files` of the CSV into a fresh lake."""
    csv = workdir / "ingest.csv"
    expected = write_ingest_csv(tickset, csv)
    lakes = [Lake(workdir / f"ingest-{i}" / "lake") for i in range(3)]
    reports: dict[int, object] = {}

    def work(i: object) -> None:
        reports[int(i)] = ingest_files(lakes[int(i)], [csv], venue=VENUE, symbol=SYMBOL)  # type: ignore[call-overload]

    seconds = best_of(3, lambda i: i, work)
    (first,) = reports[0]  # type: ignore[misc]
    got = (first.new_rows, first.duplicates, sum(first.rejected.values()))
    if got != expected:
        raise RuntimeError(f"ingest counted (new, duplicates, rejected) {got}, expected {expected}")
    (again,) = ingest_files(lakes[0], [csv], venue=VENUE, symbol=SYMBOL)
    if again.new_rows != 0:
        raise RuntimeError(f"a second ingest of the same file added {again.new_rows} rows")
    return N / seconds


def bench_bars(tickset: Lake) -> float:
    """Trades per second of one-minute bars from the tick set's Parquet files (read included)."""

    def work(_: object) -> None:
        table = tickset.read("trades", VENUE, SYMBOL, columns=["ts_event", "price", "size"])
        bars = bars_from_arrays(
            table["ts_event"].to_numpy(), table["price"].to_numpy(), table["size"].to_numpy(), NS_PER_MIN
        )
        if bars["volume"].sum() <= 0:
            raise RuntimeError("no bars")

    return N / best_of(5, lambda i: i, work)


def run(workdir: Path, shared_data: Path) -> list[tuple[str, float, str]]:
    """Build the 1M-trade tick set under `workdir`, then measure ingest and bars."""
    tickset = Lake(Path(workdir) / "tickset" / "lake")
    build_tickset(tickset, Path(shared_data), N, SYMBOL, VENUE)
    return [
        ("ingest", bench_ingest(Path(workdir), tickset), "trades/s"),
        ("bars_1m", bench_bars(tickset), "trades/s"),
    ]


def main() -> int:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED_DATA
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        for name, value, unit in run(Path(tmp), shared):
            print(f"bench: {name} {value:,.0f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
