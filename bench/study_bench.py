"""`bar_backtest` and `optuna_trials` (issue 8): the 45,031 one-minute bars of
../shared/data/nautilus/btc-perp-20211231-20220201_1m.csv, written once into a bars-only lake under
bench/.cache, replayed by the event-driven engine with `ema_cross_bars` (results and statistics
included), and a 200-trial study of it with two worker processes on the journal storage.

`bar_backtest` replays the bars as a study's worker does, from a MemoLake that read them from disk
once (engine/store/memo.py); `bar_backtest_from_disk` reads the 33 daily files every run.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyarrow as pa

from bench.backtest_bench import best
from bench.screen_bench import read_bars
from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.time import NS_PER_MIN, ns_to_iso
from engine.research.spec import load_spec
from engine.research.study import optimize
from engine.store.lake import Lake
from engine.store.memo import MemoLake

SYMBOL = "BTC/USDT:USDT"
VENUE = "bench"
PARAMS = {"fast": 20, "slow": 100, "size": 0.1, "size_unit": "base", "bar_interval": "1m"}
TRIALS = 200


def bars_root(cache: Path, shared: Path) -> tuple[Path, int, int, int]:
    """A data root holding the CSV's bars (written once); (root, bars, start, end)."""
    root = cache / "bars-nautilus"
    cols = read_bars(shared)
    start, end, n = int(cols["ts"][0]), int(cols["ts"][-1]) + NS_PER_MIN, len(cols["ts"])
    if not (root / "BUILT").exists():
        table = pa.table({"ts_event": cols["ts"], **{k: cols[k] for k in ("open", "high", "low", "close", "volume")},
                          "interval": ["1m"] * n})
        Lake.at(root).write("bars", VENUE, SYMBOL, table)
        (root / "BUILT").write_text("ok\n")
    return root, n, start, end


def run(cache: Path, shared: Path) -> list[tuple[str, float, str]]:
    root, n, start, end = bars_root(cache, shared)
    cfg = BacktestConfig(strategies=(StrategySpec("ema_cross_bars", PARAMS),), symbols=(SYMBOL,), start=start,
                         end=end, venue=VENUE, warmup=False)
    run_backtest(cfg, root)  # warm: imports, the file cache
    disk, _ = best(3, lambda: run_backtest(cfg, root))
    lake = MemoLake.at(root)  # the bars as a study's worker holds them: read from disk once
    run_backtest(cfg, lake)
    seconds, _ = best(3, lambda: run_backtest(cfg, lake))
    study_root = cache / "study-run"
    shutil.rmtree(study_root, ignore_errors=True)
    study_root.mkdir(parents=True)
    (study_root / "lake").symlink_to((root / "lake").resolve())
    spec_path = study_root / "bench_study.toml"
    spec_path.write_text(
        f'strategy = "ema_cross_bars"\nsymbols = ["{SYMBOL}"]\nvenue = "{VENUE}"\n'
        f'start = "{ns_to_iso(start)}"\nend = "{ns_to_iso(end)}"\nholdout = 0.0\nobjective = "pnl"\n'
        f'min_trips = 1\ntrials = {TRIALS}\nseed = 1\n'
        '[params]\nfast = { low = 5, high = 50 }\nslow = { low = 60, high = 240 }\nsize = 0.1\n'
        'size_unit = "base"\n[backtest]\nwarmup = false\n', encoding="utf-8")
    t0 = time.perf_counter()
    outcome = optimize(load_spec(spec_path), study_root, jobs=2)
    t_study = time.perf_counter() - t0
    if outcome.ran != TRIALS:
        raise SystemExit(f"bench: the study ran {outcome.ran} trials, not {TRIALS}")
    return [("bar_backtest", n / seconds, "bars/s"), ("bar_backtest_from_disk", n / disk, "bars/s"),
            ("optuna_trials", TRIALS / t_study, "trials/s")]
