"""vectorbt is the oracle: the screen's orders and PnL equal `Portfolio.from_signals` on the same
signals, fill prices (the next bar's open) and taker fee; a grid point opens as a Portfolio."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt

from engine.research.screen import ScreenConfig, screen_frame
from tests.engine.research.test_screen import walk_frame

FEE = 0.0005


def signals(direction: np.ndarray) -> dict[str, np.ndarray]:
    """Entries and exits on the bar after each change of direction (decided at the close before)."""
    new = np.r_[0.0, direction[:-1]]  # what bar i's open moves to
    old = np.r_[0.0, 0.0, direction[:-2]]
    changed = new != old
    return {"entries": changed & (new == 1.0), "short_entries": changed & (new == -1.0),
            "exits": changed & (new == 0.0) & (old == 1.0), "short_exits": changed & (new == 0.0) & (old == -1.0)}


@pytest.mark.parametrize(("name", "point"), [
    ("ema_cross_bars", {"fast": 5, "slow": 40}),
    ("ema_cross_bars", {"fast": 12, "slow": 100}),
    ("macd_trend", {"fast": 6, "slow": 20, "signal": 7}),
    ("rsi_mr", {"n": 10, "lower": 30.0, "exit": 50.0, "upper": 70.0}),
])
def test_screen_orders_and_pnl_equal_vectorbt_from_signals(name: str, point: dict[str, Any]) -> None:
    frame = walk_frame(4000, seed=11)
    cfg = ScreenConfig(name, "X/USDT", {k: [v] for k, v in point.items()}, {"size": 2.0, "size_unit": "base"},
                       taker_fee=FEE, capital=1e6)
    result = screen_frame(cfg, frame)
    ours = result.orders()
    given = signals(result.strategy().vector_positions(frame))
    pf = vbt.Portfolio.from_signals(
        pd.Series(frame.close), **{k: pd.Series(v) for k, v in given.items()},
        price=pd.Series(frame.open), size=2.0, size_type="amount", fees=FEE, init_cash=1e6,
        upon_opposite_entry="reverse", freq="1min",
    )
    theirs = pf.orders.records
    assert len(ours) == len(theirs) == result.table.iloc[0]["orders"] >= 10
    sign = np.where(theirs["side"] == 0, 1.0, -1.0)
    assert ours["bar"].tolist() == theirs["idx"].tolist()
    assert ours["qty"].to_numpy() == pytest.approx(sign * theirs["size"], rel=1e-12)
    assert ours["price"].to_numpy() == pytest.approx(theirs["price"], rel=1e-12)
    assert ours["fee"].to_numpy() == pytest.approx(theirs["fees"], rel=1e-12)
    assert result.table.iloc[0]["pnl"] == pytest.approx(pf.total_profit(), rel=1e-9)


def test_any_grid_point_opens_as_a_vectorbt_portfolio_with_the_same_pnl() -> None:
    frame = walk_frame(3000, seed=5)
    grid = {"fast": [5, 10], "slow": [50, 80]}
    result = screen_frame(ScreenConfig("ema_cross_bars", "X/USDT", grid, taker_fee=FEE), frame)
    for _, row in result.table.iterrows():  # default sizing: all of the capital, so vectorbt is lent cash
        point = {"fast": int(row["fast"]), "slow": int(row["slow"])}
        pf = result.portfolio(point)
        assert pf.orders.count() == row["orders"]
        assert pf.total_profit() == pytest.approx(row["pnl"], rel=1e-9)
        assert pf.stats()["Total Trades"] >= 1
    assert result.portfolio().total_profit() == pytest.approx(result.table.iloc[0]["pnl"], rel=1e-9)
