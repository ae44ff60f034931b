"""`okxbot strategies`: every registered strategy with its declared parameters."""

from __future__ import annotations

import pytest

from engine.cli import main
from engine.strategies.catalog import all_strategies


def test_strategies_lists_builtins_and_research_with_params(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["strategies"]) == 0
    out = capsys.readouterr().out
    for name, cls in all_strategies().items():
        if cls.__module__.startswith(("engine.strategies", "okxbot_research_")):
            assert f"{name}: " in out
    assert "sma_trend: " in out  # research/sma_trend.py
    line = next(x for x in out.splitlines() if x.strip().startswith("fast") and "trades" in x)
    assert "int" in line and "default 20" in line and "[2, 10000]" in line
    size = next(x for x in out.splitlines() if x.strip().startswith("size ") and "in size_unit" in x)
    assert "(0, inf]" in size  # size must be > 0: the range says so
    short = next(x for x in out.splitlines() if x.strip().startswith("allow_short"))
    assert "true or false" in short and "inf" not in short


def test_strategies_unknown_name_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["strategies", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown strategy 'nope'" in err[0]
