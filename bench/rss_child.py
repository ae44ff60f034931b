"""Run the tick backtest over a tick set in a fresh process and print its peak RSS (MB)."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from bench.backtest_bench import EMA_CROSS, config
from engine.backtest.run import run_backtest
from engine.store.lake import Lake


def main() -> int:
    data_root = Path(sys.argv[1])
    result = run_backtest(config(Lake.at(data_root), "ema_cross", EMA_CROSS), data_root)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"{peak_mb:.1f} {result.config['events']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
