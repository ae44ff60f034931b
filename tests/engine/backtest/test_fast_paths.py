"""The replay's fast paths give the very run the general loop gives.

A strategy dispatched alone (ticks, or one bar series) runs in a loop of its own, and a run on
bars alone reads up to `BAR_DAYS` days as one window. Each is compared with the general loop over
day windows on the same data: the same orders, fills, equity and statistics, to the last bit.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from engine.backtest import data as backtest_data
from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.data import DataSource
from engine.backtest.run import run_backtest
from engine.backtest.runner import Backtest
from engine.model.time import NS_PER_DAY, NS_PER_MIN
from engine.results.build import BacktestResult
from engine.store.lake import Lake
from engine.store.synthetic import SynthConfig, write_synthetic

SYMBOL = "BTC/USDT:USDT"
DAY0 = 1_704_067_200 * 1_000_000_000  # 2024-01-01T00:00Z
DAYS = 40


def _random_walk_bars(days: int, seed: int = 5) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = days * 1440
    close = 40_000.0 + np.cumsum(rng.normal(0.0, 15.0, n))
    opens = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0.0, 5.0, n))
    return pa.table({
        "ts_event": pa.array(DAY0 + NS_PER_MIN * np.arange(n, dtype=np.int64), pa.int64()),
        "open": opens, "high": np.maximum(opens, close) + spread, "low": np.minimum(opens, close) - spread,
        "close": close, "volume": np.full(n, 3.0), "interval": ["1m"] * n,
    })


@pytest.fixture(scope="module")
def bar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bars40")
    Lake.at(root).write("bars", "testvenue", SYMBOL, _random_walk_bars(DAYS))
    return root


def _bar_config() -> BacktestConfig:
    # trading starts mid-day on day 3; the warm-up before it is replayed without trading
    return BacktestConfig(strategies=(StrategySpec("ema_cross_bars", {"fast": 5, "slow": 30, "size": 0.1,
                                                                      "size_unit": "base"}),),
                          symbols=(SYMBOL,), start=DAY0 + 2 * NS_PER_DAY + 37 * NS_PER_MIN,
                          end=DAY0 + DAYS * NS_PER_DAY, venue="testvenue")


def _assert_same_run(a: BacktestResult, b: BacktestResult) -> None:
    assert a.orders.num_rows > 50  # the comparison means something: the strategy traded
    for name in ("orders", "fills", "ledger", "equity", "stats", "trades"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.schema == y.schema and x.num_rows == y.num_rows, name
        for column in x.column_names:
            u, v = x.column(column), y.column(column)
            if pa.types.is_floating(u.type):  # exactly equal, NaN where NaN (a market order's price)
                assert np.array_equal(u.to_numpy(), v.to_numpy(), equal_nan=True), (name, column)
            else:
                assert u.to_pylist() == v.to_pylist(), (name, column)


def test_bar_windows_span_up_to_bar_days_and_split_at_the_start(bar_root: Path) -> None:
    cfg = _bar_config()
    source = DataSource(Lake.at(bar_root), cfg.venue, [SYMBOL], cfg.start, cfg.end, {SYMBOL})
    source.check({SYMBOL: {"1m"}})
    windows = source.windows(DAY0)
    assert windows[0] == (DAY0, cfg.start, False)  # the warm-up, up to the start of trading
    trading = windows[1:]
    assert trading[0][0] == cfg.start and trading[-1][1] == cfg.end
    assert all(t for _lo, _hi, t in trading)
    assert all(hi - lo <= backtest_data.BAR_DAYS * NS_PER_DAY for lo, hi, _t in windows)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))  # no gap, no overlap
    assert len(trading) == 2  # 37.97 days of trading in windows of at most 31 days


def test_bar_fast_path_and_multi_day_windows_equal_the_general_loop_by_day(
    bar_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = run_backtest(_bar_config(), bar_root)
    monkeypatch.setattr(Backtest, "dense", False)
    monkeypatch.setattr(backtest_data, "BAR_DAYS", 1)
    slow = run_backtest(_bar_config(), bar_root)
    _assert_same_run(fast, slow)


def test_tick_fast_path_equals_the_general_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synth = SynthConfig(symbol=SYMBOL, start="2024-01-01T22:00Z", hours=4.0, trade_rate=2.0, seed=11)
    write_synthetic(Lake.at(tmp_path), synth)
    cfg = BacktestConfig(strategies=(StrategySpec("ema_cross", {"fast": 20, "slow": 100, "size": 0.1,
                                                                "size_unit": "base"}),),
                         symbols=(SYMBOL,), start=synth.start_ns, end=synth.end_ns, venue="synthetic")
    fast = run_backtest(cfg, tmp_path)
    monkeypatch.setattr(Backtest, "dense", False)
    slow = run_backtest(cfg, tmp_path)
    _assert_same_run(fast, slow)


def test_trade_windows_stay_one_utc_day_each(tmp_path: Path) -> None:
    """Only a run on bars alone joins days: trades are read one UTC day at a time."""
    synth = SynthConfig(symbol=SYMBOL, start="2024-01-01T23:00Z", hours=3.0, trade_rate=1.0, seed=2)
    write_synthetic(Lake.at(tmp_path), synth)
    source = DataSource(Lake.at(tmp_path), "synthetic", [SYMBOL], synth.start_ns, synth.end_ns, {SYMBOL})
    source.check()
    midnight = DAY0 + NS_PER_DAY
    assert source.windows(synth.start_ns) == [(synth.start_ns, midnight, True), (midnight, synth.end_ns, True)]
