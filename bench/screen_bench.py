"""Screen speed: an EMA-cross grid over real one-minute bars, through the screen's kernels and
through vectorbt's `Portfolio.from_signals`.

Figures (the 45,031 one-minute bars of ../shared/data/nautilus/btc-perp-20211231-20220201_1m.csv,
read directly; a grid of 10 fast x 10 slow EMA periods, all valid; size 1 in base units, taker
fee 0.05%; numba compilation excluded by a first run on a slice):
- screen_sweep: bar x grid-point cells per second of `screen_frame` on a fresh frame (the EMAs,
  the directions and the trading kernel).
- vectorbt_sweep: the same cells per second of `from_signals` on the screen's signals (the signals
  given, so vectorbt's time is its portfolio simulation alone).
- screen_vs_vectorbt: their ratio, within one run. The bench fails if the two PnLs differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.backtest_bench import best
from engine.research.screen import ScreenConfig, ScreenResult, screen_frame
from engine.trading.frame import BarFrame

CSV = Path("nautilus") / "btc-perp-20211231-20220201_1m.csv"
GRID = {"fast": list(range(5, 55, 5)), "slow": list(range(60, 260, 20))}
FEE = 0.0005
SIZE = {"size": 1.0, "size_unit": "base"}


def read_bars(shared: Path) -> dict[str, np.ndarray]:
    """The CSV's columns as arrays (ts in ns)."""
    df = pd.read_csv(shared / CSV)
    ts = ((pd.to_datetime(df["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "ns")).to_numpy()
    return {"ts": ts, **{k: df[k].to_numpy(np.float64) for k in ("open", "high", "low", "close", "volume")}}


def frame_of(cols: dict[str, np.ndarray], n: int | None = None) -> BarFrame:
    return BarFrame.of(*(cols[k][:n] for k in ("ts", "open", "high", "low", "close", "volume")))


def vectorbt_signals(result: ScreenResult) -> dict[str, pd.DataFrame]:
    """Entries and exits of every grid point, on the bar after each change of direction."""
    cols = {}
    for _, row in result.table.iterrows():
        strat = result.strategy({"fast": int(row["fast"]), "slow": int(row["slow"])})
        cols[(int(row["fast"]), int(row["slow"]))] = strat.vector_positions(result.frame)
    d = pd.DataFrame(cols)
    new = d.shift(1, fill_value=0.0)
    changed = new != d.shift(2, fill_value=0.0)
    return {"entries": changed & (new == 1.0), "short_entries": changed & (new == -1.0)}


def run_vectorbt(frame: BarFrame, signals: dict[str, pd.DataFrame]) -> Any:
    import vectorbt as vbt

    index = signals["entries"].index
    return vbt.Portfolio.from_signals(
        pd.Series(frame.close[: len(index)]), **signals, price=pd.Series(frame.open[: len(index)]), size=1.0,
        size_type="amount", fees=FEE, init_cash=1e9, upon_opposite_entry="reverse", freq="1min",
    )


def run(shared: Path) -> list[tuple[str, float, str]]:
    """The screen and vectorbt over the same grid; raises if their PnLs differ."""
    cols = read_bars(shared)
    cfg = ScreenConfig("ema_cross_bars", "BTC/USDT:USDT", GRID, SIZE, taker_fee=FEE, capital=1e9)
    small = screen_frame(cfg, frame_of(cols, 2000))  # compiles the kernels
    run_vectorbt(small.frame, vectorbt_signals(small))
    seconds, result = best(5, lambda: screen_frame(cfg, frame_of(cols)))
    cells = len(result.frame) * len(result.table)
    signals = vectorbt_signals(result)
    vbt_seconds, pf = best(3, lambda: run_vectorbt(result.frame, signals))
    theirs = pf.total_profit()
    ours = result.table.set_index(["fast", "slow"])["pnl"]
    for key, pnl in ours.items():
        if abs(pnl - theirs[key]) > 1e-6 * max(1.0, abs(pnl)):
            raise AssertionError(f"grid point {key}: screen pnl {pnl} differs from vectorbt's {theirs[key]}")
    print(f"bench-check: {len(result.table)} grid points x {len(result.frame)} bars; screen and vectorbt agree "
          f"on every pnl (best {ours.max():.2f})", flush=True)
    return [("screen_sweep", cells / seconds, "cells/s"), ("vectorbt_sweep", cells / vbt_seconds, "cells/s"),
            ("screen_vs_vectorbt", vbt_seconds / seconds, "x")]
