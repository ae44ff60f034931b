"""engine.research.screen: the convention by hand, the grid (skips, memoised windows), the ranking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.model.errors import UserError
from engine.model.time import NS_PER_MIN
from engine.research.screen import ScreenConfig, point_orders, screen_frame
from engine.research.screen_grid import parse_grid
from engine.research.screen_plot import write_heatmap
from engine.strategies.catalog import strategy_class
from engine.trading.frame import BarFrame, FloatArray
from engine.trading.strategy import Param, Strategy

OPENS = [100.0, 101.0, 103.0, 102.0, 105.0]
CLOSES = [100.5, 102.0, 102.5, 104.0, 106.0]


class Fixed(Strategy):
    """Holds 0, +1, +1, `late`, `late` after bars 0..4 (a hand-made vectorised form)."""

    name = "test_screen_fixed"
    late = Param(-1.0, low=-1.0, high=1.0)
    bar_interval = "1m"

    def vector_positions(self, frame: BarFrame) -> FloatArray:
        return np.array([0.0, 1.0, 1.0, self.late, self.late])


FIXED = f"{__name__}:Fixed"


def hand_frame() -> BarFrame:
    ts = np.arange(5, dtype=np.int64) * NS_PER_MIN
    return BarFrame.of(ts, OPENS, np.maximum(OPENS, CLOSES), np.minimum(OPENS, CLOSES), CLOSES, np.ones(5))


def walk_frame(n: int = 3000, seed: int = 3) -> BarFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 + np.cumsum(rng.normal(0.0, 0.3, n))
    opens = np.r_[close[0], close[:-1]] + rng.normal(0.0, 0.05, n)
    ts = np.arange(n, dtype=np.int64) * NS_PER_MIN
    return BarFrame.of(ts, opens, np.maximum(opens, close) + 0.1, np.minimum(opens, close) - 0.1, close, np.ones(n))


def test_convention_by_hand_decide_at_close_fill_at_next_open() -> None:
    cfg = ScreenConfig(FIXED, "X/USDT", {"late": [-1.0]}, {"size": 2.0, "size_unit": "base"}, taker_fee=0.001,
                       capital=1000.0)
    result = screen_frame(cfg, hand_frame())
    # long 2 decided at bar 1's close, bought at bar 2's open 103 (fee 0.206); short 2 decided at bar 3's
    # close: sell 4 at bar 4's open 105 (fee 0.42). Cash -206.206 + 419.58 = 213.374, less 2 x 106 at the end
    orders = result.orders()
    assert orders[["bar", "qty", "price"]].to_numpy().tolist() == [[2, 2.0, 103.0], [4, -4.0, 105.0]]
    assert orders["fee"].to_numpy() == pytest.approx([0.206, 0.42])
    row = result.table.iloc[0]
    assert (row["pnl"], row["fees"], row["orders"]) == (pytest.approx(1.374), pytest.approx(0.626), 2)
    # equity at the closes: 1000, 1000, 998.794, 1001.794, 1001.374: the drawdown is at bar 2
    assert row["max_dd_pct"] == pytest.approx(100 * (1 - 998.794 / 1000))
    assert row["exposure_pct"] == pytest.approx(60.0)


def test_flat_then_fraction_sized_at_the_deciding_close() -> None:
    cfg = ScreenConfig(FIXED, "X/USDT", {"late": [0.0]}, {"size": 0.5}, taker_fee=0.0, capital=1000.0)
    orders = screen_frame(cfg, hand_frame()).orders()
    # half of 1000 at bar 1's close 102 = 4.90196... units, bought at 103; flat again at bar 4's open
    qty = 500.0 / 102.0
    assert orders["qty"].to_numpy() == pytest.approx([qty, -qty])
    assert orders["price"].tolist() == [103.0, 105.0]


def test_grid_skips_points_validate_refuses_and_computes_each_window_once() -> None:
    grid = parse_grid(["fast=5:50:5", "slow=20:60:20"], strategy_class("ema_cross_bars"))
    frame = walk_frame()
    result = screen_frame(ScreenConfig("ema_cross_bars", "X/USDT", grid), frame)
    # 10 x 3 points; fast < slow holds for 3 (slow 20) + 7 (slow 40) + 10 (slow 60)
    assert (len(result.table), result.skipped) == (20, 10)
    assert "'fast'" in result.skip_reason and "'slow'" in result.skip_reason
    # windows 5, 10, .., 50 and 60: 11 EMAs for 20 points
    assert sorted(k[1] for k in frame.computed) == [*range(5, 55, 5), 60]


def test_table_ranked_by_metric_and_each_row_is_its_point_alone() -> None:
    grid = {"fast": [4, 8, 16], "slow": [30, 60]}
    frame = walk_frame()
    result = screen_frame(ScreenConfig("ema_cross_bars", "X/USDT", grid, metric="pnl"), frame)
    pnl = result.table["pnl"].to_numpy()
    assert (np.diff(pnl) <= 0).all() and pnl[0] > pnl[-1]
    for _, row in result.table.iterrows():
        strat = strategy_class("ema_cross_bars")(fast=int(row["fast"]), slow=int(row["slow"]))
        orders = point_orders(frame, strat, result.config)
        assert len(orders) == row["orders"] and orders[:, 3].sum() == pytest.approx(row["fees"])


def test_max_dd_ranks_lowest_first() -> None:
    result = screen_frame(ScreenConfig("ema_cross_bars", "X/USDT", {"fast": [4, 8, 16], "slow": [30, 60]},
                                       metric="max_dd_pct"), walk_frame())
    assert (np.diff(result.table["max_dd_pct"].to_numpy()) >= 0).all()


@pytest.mark.parametrize(("texts", "message"), [
    (["fast=5:50"], "--grid fast=5:50: expected START:STOP:STEP"),
    (["fast=a:b:c"], "--grid fast=a:b:c: expected START:STOP:STEP"),
    (["fast"], "--grid fast: expected NAME=START:STOP:STEP"),
    (["speed=1:5:1"], "--grid speed=1:5:1: strategy 'ema_cross_bars' has no parameter 'speed'"),
    (["fast=5:2:1"], "--grid fast=5:2:1: needs STEP > 0 and START <= STOP"),
    (["fast=5:10:0.5"], "--grid fast=5:10:0.5: the parameter is an integer"),
    (["fast=1:5:1"], "--grid fast=1:5:1: parameter 'fast' of strategy 'ema_cross_bars': 1 is outside"),
    (["fast=5,x"], "--grid fast=5,x: parameter 'fast' of strategy 'ema_cross_bars': 'x' is not an integer"),
    (["fast=5:9:2", "fast=3,4"], "--grid fast=3,4: parameter 'fast' is swept twice"),
    (["size=1:2:1"], "--grid size=1:2:1: size is not swept by a screen"),
    ([], "--grid: give at least one"),
])
def test_parse_grid_bad_input_names_flag_and_value(texts: list[str], message: str) -> None:
    with pytest.raises(UserError) as info:
        parse_grid(texts, strategy_class("ema_cross_bars"))
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_parse_grid_ranges_include_stop_and_lists_convert() -> None:
    grid = parse_grid(["fast=5:20:5", "slow=30,45"], strategy_class("ema_cross_bars"))
    assert grid == {"fast": [5, 10, 15, 20], "slow": [30, 45]}
    assert parse_grid(["lower=20:30:2.5"], strategy_class("rsi_mr")) == {"lower": [20.0, 22.5, 25.0, 27.5, 30.0]}


def test_strategy_without_vector_form_is_refused() -> None:
    with pytest.raises(UserError, match=r"^--strategy ema_cross: has no vectorised form .*ema_cross_bars"):
        screen_frame(ScreenConfig("ema_cross", "X/USDT", {"fast": [5]}), walk_frame(10))


def test_heatmap_best_over_third_parameter_written_as_svg(tmp_path: Path) -> None:
    grid: dict[str, list[Any]] = {"fast": [4, 8], "slow": [30, 60], "signal": [3, 5, 9]}
    result = screen_frame(ScreenConfig("macd_trend", "X/USDT", grid), walk_frame())
    fig = result.heatmap()
    image = fig.axes[0].images[0].get_array()
    best = result.table.groupby(["slow", "fast"])["sharpe"].max().unstack("fast").to_numpy()
    assert np.allclose(image, best)
    path = write_heatmap(fig, tmp_path / "heat.svg")
    assert path.read_text().lstrip().startswith("<?xml") and "<svg" in path.read_text()
    with pytest.raises(UserError, match="heatmap x='n'"):
        result.heatmap(x="n")
