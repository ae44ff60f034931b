"""`okxbot screen`: bad input is one line naming the flag and the value (exit 2); a run prints the
ranked grid and writes the CSV and the heatmap."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from tests.engine.research.test_screen_engine import SYMBOL, bar_lake  # noqa: F401 (a fixture)

BASE = ["screen", "--strategy", "ema_cross_bars", "--symbol", SYMBOL]


@pytest.mark.parametrize(("extra", "message"), [
    (["--grid", "fast=5:50"], "--grid fast=5:50: expected START:STOP:STEP"),
    (["--grid", "fast=a:b:c"], "--grid fast=a:b:c: expected START:STOP:STEP"),
    (["--grid", "speed=1:9:1"], "--grid speed=1:9:1: strategy 'ema_cross_bars' has no parameter 'speed'"),
    (["--grid", "fast=40:50:5", "--grid", "slow=20:30:10"], "--grid: all 6 grid points were refused"),
    (["--grid", "fast=5:10:5", "--top", "0"], "--top 0 must be at least 1"),
])
def test_screen_bad_input_one_line_exit_2(bar_lake: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                          extra: list[str], message: str) -> None:
    assert main(["--data-root", str(bar_lake), *BASE, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"okxbot: error: {message}") and err.count("\n") == 1 and "Traceback" not in err


def test_screen_strategy_without_vector_form_one_line_exit_2(bar_lake: Path,  # noqa: F811
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data-root", str(bar_lake), "screen", "--strategy", "grid", "--symbol", SYMBOL, "--grid", "levels=2:4:1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("okxbot: error: --strategy grid: has no vectorised form") and err.count("\n") == 1


def test_screen_prints_top_and_writes_table_and_heatmap(bar_lake: Path, tmp_path: Path,  # noqa: F811
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data-root", str(bar_lake), *BASE, "--grid", "fast=5:20:5", "--grid", "slow=10:40:10",
            "--metric", "pnl", "--top", "3", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    # 4 x 4 points; fast < slow for 1 (slow 10) + 3 (slow 20) + 4 + 4 of them
    assert out[0].startswith(f"ema_cross_bars on {SYMBOL}: 900 bars (1m bars of the lake), 12 grid points")
    assert "4 skipped (strategy 'ema_cross_bars': parameter 'fast'" in out[0]
    assert out[1].split()[:3] == ["fast", "slow", "pnl"] and len(out) == 2 + 3 + 2
    stem = "ema_cross_bars_BTC-USDT_USDT"
    assert (tmp_path / f"{stem}.csv").read_text().count("\n") == 13
    assert "<svg" in (tmp_path / f"{stem}.svg").read_text()


def test_screen_help_names_the_grid_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["screen", "--help"])
    text = capsys.readouterr().out
    assert "NAME=START:STOP:STEP" in text and "README \"Screens\"" in text
