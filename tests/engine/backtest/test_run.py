"""run_backtest: the stored config holds the full, typed parameter set each strategy ran with."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.backtest.config import StrategySpec
from engine.backtest.run import run_backtest
from tests.engine.backtest_factory import config, shared_lake


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
