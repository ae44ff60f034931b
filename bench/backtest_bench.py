"""Backtest speed: the EMA cross through the full engine against the same logic as a bare loop.

Figures (all on the tick set of bench/tickset.py: real Binance BTCUSDT trades tiled to N trades,
treated as the BTC-USDT perpetual swap):
- backtest_tick_strategy: ticks/s of `ema_cross` in on_tick through the whole engine's replay
  (strategy, portfolio, risk, OMS, simulated venue, records; the lake read and the results
  apart), as `--strategy ema_cross` loads it: touch fills, zero latency, taker fee 0.05%.
- tick_backtest_end_to_end: the same run as `run_backtest` does it, lake read, results and
  statistics included; tick_end_to_end_vs_replay is its ratio to backtest_tick_strategy (what a
  study on ticks keeps of the replay's speed).
- python_loop_ceiling: the same strategy and fill rule (the next tick's price) as a bare loop
  over the prices; tick_strategy_vs_loop is the ratio of the two in the same run.
- backtest_bar_strategy: ticks/s with a strategy in on_bar only (ema_cross_bars on 1m bars)
  while the ticks still drive the fills.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.data import DataSource
from engine.backtest.run import run_backtest
from engine.backtest.runner import Backtest
from engine.store.lake import Lake
from engine.trading.risk import RiskLimits
from engine.venues.sim import SimConfig

SYMBOL = "BTC/USDT:USDT"
VENUE = "bench"
TAKER_FEE = 0.0005
# The bare loop knows no risk limits: give the engine limits that never bind, so both trade alike.
NO_LIMITS = RiskLimits(max_orders=10**12)
CAPITAL = 1e12


def span(lake: Lake) -> tuple[int, int]:
    """First trade time and one past the last of the tick set."""
    ts = lake.read("trades", VENUE, SYMBOL, columns=["ts_event"]).column("ts_event")
    return int(ts[0].as_py()), int(ts[-1].as_py()) + 1


def config(lake: Lake, name: str, params: dict[str, Any]) -> BacktestConfig:
    """The benchmark's backtest: one strategy, no warm-up, touch fills, zero latency."""
    start, end = span(lake)
    return BacktestConfig(
        strategies=(StrategySpec(name, params),), symbols=(SYMBOL,), start=start, end=end, capital=CAPITAL,
        venue=VENUE, sim=SimConfig("touch", 0, taker_fee=TAKER_FEE), limits=NO_LIMITS, warmup=False,
    )


def best(repeats: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """Shortest wall time of `repeats` runs, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = work()
        times.append(time.perf_counter() - t0)
    return min(times), out


def engine_run(data_root: Path, name: str, params: dict[str, Any], repeats: int = 3) -> tuple[float, Any]:
    """Best wall time of a full run_backtest (lake read, replay, results and statistics) and its result."""
    cfg = config(Lake.at(data_root), name, params)
    run_backtest(cfg, data_root)  # warm: imports, numba caches, file cache
    return best(repeats, lambda: run_backtest(cfg, data_root))


def replay_seconds(data_root: Path, name: str, params: dict[str, Any], repeats: int = 3) -> float:
    """Best time of the replay alone: the engine's event loop (strategy, portfolio, risk, OMS,
    simulated venue, records), without reading the lake and without the results."""
    cfg = config(Lake.at(data_root), name, params)
    times = []
    for _ in range(repeats):
        bt = Backtest(cfg, DataSource(Lake.at(data_root), cfg.venue, list(cfg.symbols), cfg.start, cfg.end,
                                      {s for s in cfg.symbols if ":" in s}))
        bt.run()
        times.append(bt.elapsed - bt.load_seconds)
    return min(times)


def bare_loop(ticks: Iterable[tuple[int, float, int]], fast: int = 20, slow: int = 100,
              size: float = 1.0) -> tuple[int, float]:
    """The EMA cross and its fills as a plain loop over (ts_event, price, taker side): (orders, PnL).

    The fill rules of README "How fills work" for market orders on a tape without quotes: an
    order decided on a print fills whole at the next print that does not continue the deciding
    print's aggressor group (same ts_event and side, side != 0), at that print's price, paying the
    taker fee. While an order is on its way a new target sends nothing (the venue refuses to cancel
    it); once it fills, whatever is left of the gap is ordered on that print.
    """
    fa, sa = 2.0 / (fast + 1), 2.0 / (slow + 1)
    f = s = p = 0.0
    seen, pos, target, pending, cash, fees, orders = 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0
    group: tuple[int, int] | None = None  # the aggressor group the pending order may not fill in
    for t, p, sd in ticks:
        if group is not None and not (sd and (t, sd) == group):
            group = None
        if pending and group is None:
            cash -= pending * p
            fees += abs(pending) * p * TAKER_FEE
            pos += pending
            pending = 0.0
            if target != pos:  # the target moved while the order was on its way
                pending = target - pos
                orders += 1
                group = (t, sd)
        seen += 1
        if seen == 1:
            f = s = p
        else:
            f += fa * (p - f)
            s += sa * (p - s)
        if seen < slow:
            continue
        want = size if f > s else -size if f < s else target
        if want != target:
            target = want
            if not pending:
                pending = want - pos
                orders += 1
                group = (t, sd)
    return orders, cash + pos * p - fees


def _prices_only(prices: Iterable[float], fast: int = 20, slow: int = 100, size: float = 1.0) -> tuple[int, float]:
    """For scale only (python_loop_prices_only): the same EMA cross over a bare list of prices, each
    order filled at the next price, with no aggressor groups."""
    fa, sa = 2.0 / (fast + 1), 2.0 / (slow + 1)
    f = s = p = 0.0
    pos, target, pending, cash, orders = 0.0, 0.0, 0.0, 0.0, 0
    for seen, p in enumerate(prices, start=1):
        if pending:
            cash -= pending * p + abs(pending) * p * TAKER_FEE
            pos += pending
            pending = 0.0
        if seen == 1:
            f = s = p
        else:
            f += fa * (p - f)
            s += sa * (p - s)
        if seen >= slow:
            want = size if f > s else -size if f < s else target
            if want != target:
                pending, target = want - pos, want
                orders += 1
    return orders, cash + pos * p


TICK_COLUMNS = ["ts_event", "ts_recv", "price", "size", "side"]
# The bare loop trades one BTC per signal: the engine must size in base units to match it.
EMA_CROSS = {"fast": 20, "slow": 100, "size": 1.0, "size_unit": "base"}


def loop_run(data_root: Path, repeats: int = 3) -> tuple[float, tuple[int, float]]:
    """Best wall time of the bare loop, including turning the lake's columns into lists.

    The engine pays for reading the lake; the ceiling only for the numpy -> list conversion of
    the columns it walks (what any Python loop over the ticks must do first).
    """
    table = Lake.at(data_root).read("trades", VENUE, SYMBOL, columns=TICK_COLUMNS)
    arrays = [table.column(c).to_numpy() for c in TICK_COLUMNS]
    return best(repeats, lambda: bare_loop(map(itemgetter(0, 2, 4), zip(*(a.tolist() for a in arrays), strict=True))))


def run(data_root: Path) -> list[tuple[str, float, str]]:
    """Measure the three backtest figures on the tick set under `data_root`; check engine == loop."""
    n = Lake.at(data_root).read("trades", VENUE, SYMBOL, columns=["ts_event"]).num_rows
    t_end_to_end, result = engine_run(data_root, "ema_cross", EMA_CROSS)
    t_engine = replay_seconds(data_root, "ema_cross", EMA_CROSS)
    t_loop, (loop_orders, loop_pnl) = loop_run(data_root)
    orders = result.orders.num_rows
    pnl = float(result.stats.filter(result.stats.column("series").to_numpy(zero_copy_only=False) == "portfolio")
                .column("pnl")[0].as_py())
    print(f"bench-check: engine orders {orders} pnl {pnl:.6f} | bare loop orders {loop_orders} pnl {loop_pnl:.6f}")
    if orders != loop_orders or not math.isclose(pnl, loop_pnl, rel_tol=1e-9, abs_tol=1e-6):
        raise SystemExit("bench: the engine and the bare loop disagree (orders or PnL): the figures are void")
    prices = Lake.at(data_root).read("trades", VENUE, SYMBOL, columns=["price"]).column("price").to_numpy()
    t_prices, _ = best(3, lambda: _prices_only(prices.tolist()))
    t_bar, _ = engine_run(data_root, "ema_cross_bars", {**EMA_CROSS, "bar_interval": "1m"})
    return [
        ("backtest_tick_strategy", n / t_engine, "ticks/s"),
        ("tick_backtest_end_to_end", n / t_end_to_end, "ticks/s"),
        ("tick_end_to_end_vs_replay", t_engine / t_end_to_end, "ratio"),
        ("python_loop_ceiling", n / t_loop, "ticks/s"),
        ("tick_strategy_vs_loop", t_loop / t_engine, "ratio"),
        ("python_loop_prices_only", n / t_prices, "ticks/s"),
        ("backtest_bar_strategy", n / t_bar, "ticks/s"),
    ]
