"""run_backtest: the stored config holds the full, typed parameter set each strategy ran with; the
optional `on_window` hook sees the end of each trading window (a day; up to 31 on bars alone) and the
PnL so far."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.time import NS_PER_DAY, NS_PER_MIN, to_ns
from engine.store.lake import Lake
from tests.engine.backtest_factory import SYNTH_DAYS, config, replay_key, shared_lake, spec, trades


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_lake(tmp_path_factory)


def test_run_backtest_records_typed_params_with_defaults(root: Path) -> None:
    # as the command line hands them over: strings, and only the ones given
    cfg = config(StrategySpec("ema_cross_bars", {"fast": "3", "size": "0.1"}, "trend"),
                 StrategySpec("rsi_mr", {}, "meanrev"))
    result = run_backtest(cfg, root)
    trend, meanrev = (s["params"] for s in result.config["strategies"])
    assert trend == {"fast": 3, "slow": 100, "size": 0.1, "size_unit": "fraction", "bar_interval": "1m"}
    assert type(trend["fast"]) is int and type(trend["size"]) is float
    assert meanrev == {"n": 14, "lower": 30.0, "upper": 70.0, "exit": 50.0, "size": 1.0, "allow_short": True,
                       "bar_interval": "1m", "size_unit": "fraction"}


def test_on_window_reports_each_trading_day_with_the_pnl_at_the_last_trade(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    days = shared_lake(tmp_path_factory, SYNTH_DAYS)
    day0 = SYNTH_DAYS.start_ns
    cfg = config(spec("ema_cross_bars"), start=day0 + 12 * 3_600 * 10**9, end=SYNTH_DAYS.end_ns)
    calls: list[tuple[int, float]] = []
    result = run_backtest(cfg, days, lambda end, pnl: calls.append((end, pnl)))
    # the warm-up morning reports nothing; then each trading window: the afternoon, and three whole days
    assert [end for end, _ in calls] == [day0 + k * NS_PER_DAY for k in (1, 2, 3, 4)]
    ledger = result.ledger.to_pandas()
    tape = trades(days)
    keys, ts_event = replay_key(tape), tape.column("ts_event").to_numpy()
    prices = tape.column("price").to_numpy()
    for end, pnl in calls:
        booked = ledger[ledger.ts < end]
        assert booked.kind.eq("fill").any() and booked.qty.sum() != 0
        # the position is marked at the day's last trade: the last received, the last in the lake of those
        seen = np.flatnonzero(ts_event < end)
        last = seen[keys[seen] == keys[seen].max()][-1]
        assert pnl == pytest.approx(booked.cash_flow.sum() + booked.qty.sum() * prices[last], abs=1e-9)
    assert len({pnl for _, pnl in calls}) == 4


def test_an_exception_raised_by_on_window_stops_the_run(tmp_path_factory: pytest.TempPathFactory) -> None:
    calls: list[int] = []

    def stop(end: int, _pnl: float) -> None:
        calls.append(end)
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        run_backtest(config(spec("ema_cross_bars"), start=SYNTH_DAYS.start_ns, end=SYNTH_DAYS.end_ns),
                     shared_lake(tmp_path_factory, SYNTH_DAYS), stop)
    assert calls == [SYNTH_DAYS.start_ns + NS_PER_DAY]


def test_on_window_on_bars_alone_reports_each_window_of_up_to_31_days(tmp_path: Path) -> None:
    day0, days = to_ns("2024-01-01"), 40
    rng = np.random.default_rng(3)
    close = 40_000.0 + np.cumsum(rng.normal(0.0, 15.0, days * 1440))
    Lake.at(tmp_path).write("bars", "testvenue", "BTC/USDT:USDT", pa.table({
        "ts_event": pa.array(day0 + NS_PER_MIN * np.arange(close.size, dtype=np.int64), pa.int64()),
        "open": close, "high": close + 5, "low": close - 5, "close": close, "volume": np.full(close.size, 3.0),
        "interval": ["1m"] * close.size}))
    cfg = BacktestConfig(strategies=(StrategySpec("ema_cross_bars", {"fast": 5, "slow": 30, "size": 0.1,
                                                                      "size_unit": "base"}),),
                         symbols=("BTC/USDT:USDT",), start=day0 + 2 * NS_PER_DAY + 37 * NS_PER_MIN,
                         end=day0 + days * NS_PER_DAY, venue="testvenue")
    ends: list[int] = []
    run_backtest(cfg, tmp_path, lambda end, _pnl: ends.append(end))
    # bars are read 31 days at a time: from 00:37 on day 2 to the midnight 31 days on, then the rest
    assert ends == [day0 + 33 * NS_PER_DAY, day0 + days * NS_PER_DAY]
