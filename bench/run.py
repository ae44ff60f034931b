"""`make bench`: every speed figure of the issues, one line each: `bench: NAME VALUE UNIT`.

Tick sets are built from ../shared/data (real Binance trades, tiled) into bench/.cache once and
reused. Machines are noisy: each figure is the best of a few runs, and ratios are taken within
one run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench import backtest_bench, screen_bench, store_bench, study_bench
from bench.tickset import build_tickset
from engine.store.lake import Lake

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / ".cache"


def tickset(n: int) -> Path:
    """A data root holding n tiled trades (built once, then reused)."""
    root = CACHE / f"ticks-{n}"
    done = root / "BUILT"
    if not done.exists():
        build_tickset(Lake.at(root), SHARED_DATA, n, backtest_bench.SYMBOL, backtest_bench.VENUE)
        done.write_text("ok\n")
    return root


def peak_rss(n: int) -> tuple[float, int]:
    """Peak RSS (MB) of a fresh process running the tick backtest over n ticks."""
    out = subprocess.run([sys.executable, "-m", "bench.rss_child", str(tickset(n))], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def cli_help_seconds(repeats: int = 5) -> float:
    """Best wall time of `okxbot --help` as a whole process."""
    exe = Path(sys.executable).with_name("okxbot")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def emit(name: str, value: float, unit: str) -> None:
    digits = 3 if value < 100 else 0
    print(f"bench: {name} {value:.{digits}f} {unit}", flush=True)


def main() -> int:
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        print(f"bench: needs the recorded data at {SHARED_DATA}", file=sys.stderr)
        return 2
    CACHE.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OKXBOT_BENCH", "1")
    for name, value, unit in backtest_bench.run(tickset(1_000_000)):
        emit(name, value, unit)
    for name, value, unit in store_bench.run(CACHE / "store", SHARED_DATA):
        emit(name, value, unit)
    for name, value, unit in screen_bench.run(SHARED_DATA):
        emit(name, value, unit)
    for name, value, unit in study_bench.run(CACHE, SHARED_DATA):
        emit(name, value, unit)
    mb, events = peak_rss(10_000_000)
    emit("peak_rss_10m_ticks", mb, "MB")
    print(f"bench-check: the 10M-tick run replayed {events} events", flush=True)
    emit("cli_help_seconds", cli_help_seconds(), "s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
