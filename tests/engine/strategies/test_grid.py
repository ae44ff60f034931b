"""grid: initial ladder, counter-orders one step away, inventory cap, cancel on stop, parameters."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model.errors import UserError
from engine.model.events import OrderStatus, OrderUpdate
from engine.model.types import Side
from engine.strategies.catalog import build_strategy
from engine.strategies.grid import Grid
from engine.trading.strategy import Warmup
from tests.engine.strategies.recording_context import RecordingContext


def start(**params: object) -> tuple[Grid, RecordingContext]:
    ctx = RecordingContext()
    grid = build_strategy("grid", {"tick_size": 0.01, "size_unit": "base", "size": 1.0, "max_position": 5.0, **params})
    assert isinstance(grid, Grid)
    ctx.start(grid)
    return grid, ctx


def resting(ctx: RecordingContext) -> dict[float, tuple[Side, float]]:
    """Open orders by price: (side, size)."""
    return {ctx.placed[c].price: (ctx.placed[c].side, ctx.placed[c].size) for c in ctx.open}


def order_at(ctx: RecordingContext, price: float) -> str:
    (cid,) = [c for c in ctx.open if ctx.placed[c].price == price]
    return cid


def test_grid_first_trade_places_ladder_around_reference() -> None:
    _, ctx = start(levels=3, step=0.01)
    ctx.trades([100.0, 100.7, 99.2])  # only the first trade sets the reference
    # 100 -+ k * (0.01 * 100), already multiples of the 0.01 tick
    buys = {99.0: (Side.BUY, 1.0), 98.0: (Side.BUY, 1.0), 97.0: (Side.BUY, 1.0)}
    sells = {101.0: (Side.SELL, 1.0), 102.0: (Side.SELL, 1.0), 103.0: (Side.SELL, 1.0)}
    assert resting(ctx) == {**buys, **sells}
    assert ctx.targets == []
    assert len(ctx.logs) == 1 and "100" in ctx.logs[0]


def test_grid_waits_for_trading_before_setting_reference() -> None:
    grid, ctx = start(levels=2, step=0.01)
    ctx.trading = False
    ctx.trades([100.0, 101.0])
    assert ctx.placed == {} and grid.reference is None
    ctx.trading = True
    ctx.trades([200.0])
    assert sorted(resting(ctx)) == [196.0, 198.0, 202.0, 204.0]


def test_grid_filled_buy_becomes_sell_one_step_up_and_back() -> None:
    _, ctx = start(levels=3, step=0.01, size=0.5)
    ctx.trades([100.0])
    ctx.fill(order_at(ctx, 99.0))
    assert resting(ctx)[100.0] == (Side.SELL, 0.5)
    assert 99.0 not in resting(ctx) and ctx.position() == 0.5
    ctx.fill(order_at(ctx, 100.0))
    assert resting(ctx)[99.0] == (Side.BUY, 0.5)
    assert 100.0 not in resting(ctx) and ctx.position() == 0.0


def test_grid_filled_sell_becomes_buy_one_step_down() -> None:
    grid, ctx = start(levels=3, step=0.01)
    ctx.trades([100.0])
    ctx.fill(order_at(ctx, 101.0))
    ctx.fill(order_at(ctx, 102.0))
    assert resting(ctx)[100.0] == (Side.BUY, 1.0) and resting(ctx)[101.0] == (Side.BUY, 1.0)
    assert grid.inventory == ctx.position() == -2.0
    assert len(ctx.open) == 6  # the grid keeps every level but one occupied


def test_grid_partial_fill_waits_then_counters_the_whole_order() -> None:
    _, ctx = start(levels=2, step=0.01)
    ctx.trades([100.0])
    cid = order_at(ctx, 99.0)
    ctx.fill(cid, 0.4)
    assert len(ctx.placed) == 4 and 100.0 not in resting(ctx)  # no counter-order yet
    ctx.fill(cid, 0.6)
    assert ctx.position() == pytest.approx(1.0)
    assert resting(ctx)[100.0] == (Side.SELL, pytest.approx(1.0))


def test_grid_counter_order_onto_a_taken_level_is_skipped() -> None:
    # Filling the far buy first (a gap) would put its sell onto the level still holding a buy.
    _, ctx = start(levels=2, step=0.01)
    ctx.trades([100.0])
    ctx.fill(order_at(ctx, 98.0))
    assert resting(ctx) == {99.0: (Side.BUY, 1.0), 101.0: (Side.SELL, 1.0), 102.0: (Side.SELL, 1.0)}


def test_grid_partially_filled_then_cancelled_order_counters_the_filled_part() -> None:
    grid, ctx = start(levels=2, step=0.01)
    ctx.trades([100.0])
    cid = order_at(ctx, 101.0)
    ctx.fill(cid, 0.25)
    del ctx.open[cid]  # the venue cancels the rest
    ctx.deliver(OrderUpdate(cid, ctx.symbol, OrderStatus.CANCELED, ctx.clock, filled_size=0.25))
    assert resting(ctx)[100.0] == (Side.BUY, 0.25)
    assert grid.inventory == -0.25


def test_grid_order_answered_inside_submit_is_tracked_correctly() -> None:
    # Submits in order: buy 99 (filled before submit_limit returns), its counter-sell at 100
    # (rests), sell 101 (rejected before submit_limit returns), buy 98, sell 102.
    grid, ctx = start(levels=2, step=0.01)
    ctx.instant.extend([OrderStatus.FILLED, None, OrderStatus.REJECTED])
    ctx.trades([100.0])
    assert resting(ctx) == {98.0: (Side.BUY, 1.0), 100.0: (Side.SELL, 1.0), 102.0: (Side.SELL, 1.0)}
    assert sorted(o.price for o in grid.orders.values()) == [98.0, 100.0, 102.0]
    assert grid.inventory == ctx.position() == 1.0


def test_grid_cap_trims_far_levels_at_start() -> None:
    _, ctx = start(levels=5, step=0.01, size=1.0, max_position=2.0)
    ctx.trades([100.0])
    assert sorted(resting(ctx)) == [98.0, 99.0, 101.0, 102.0]


def test_grid_inventory_cap_holds_on_a_random_walk() -> None:
    # A price walk fills every order it crosses (sometimes only in part); after each price the
    # position, even with every open order on one side filled, stays within the cap.
    grid, ctx = start(levels=6, step=0.005, size=0.3, max_position=1.0)
    rng = np.random.default_rng(9)
    path = (100 + np.cumsum(rng.normal(0, 0.3, 1500))).tolist()
    ctx.trades(path[:1])
    positions = []
    for price in path[1:]:
        for cid in list(ctx.open):
            o = ctx.placed[cid]
            if (price - o.price) * o.side.sign <= 0:  # a buy at or above the price, a sell at or below
                left_on_order = o.size - ctx.open[cid]
                ctx.fill(cid, None if rng.random() < 0.8 else min(0.1, left_on_order))
        left = {c: ctx.placed[c].size - f for c, f in ctx.open.items()}
        open_buys = sum(q for c, q in left.items() if ctx.placed[c].side is Side.BUY)
        open_sells = sum(q for c, q in left.items() if ctx.placed[c].side is Side.SELL)
        pos = ctx.position()
        assert pos + open_buys <= 1.0 + 1e-9 and pos - open_sells >= -1.0 - 1e-9
        assert grid.inventory == pytest.approx(pos, abs=1e-12)
        positions.append(pos)
    assert max(positions) == pytest.approx(0.9) and min(positions) == pytest.approx(-0.9)
    assert len(ctx.fills) > 50


def test_grid_on_stop_cancels_every_open_order_and_places_no_more() -> None:
    grid, ctx = start(levels=3, step=0.01)
    ctx.trades([100.0])
    ctx.fill(order_at(ctx, 99.0))
    ctx.fill(order_at(ctx, 102.0), 0.5)
    open_before = list(ctx.open)
    placed_before = len(ctx.placed)
    ctx.stop()
    assert sorted(ctx.cancels) == sorted(open_before) and len(open_before) == 6
    assert ctx.open == {} and grid.orders == {}
    assert len(ctx.placed) == placed_before  # the half-filled sell was not countered after stop


def test_grid_step_in_ticks_and_post_only() -> None:
    _, ctx = start(levels=2, step=5, step_unit="ticks", tick_size=0.5, post_only="true")
    ctx.trades([1000.0])
    spacing = 5 * 0.5
    assert sorted(resting(ctx)) == [1000 - 2 * spacing, 1000 - spacing, 1000 + spacing, 1000 + 2 * spacing]
    assert all(p.post_only for p in ctx.placed.values())


def test_grid_rounds_prices_to_tick_size() -> None:
    _, ctx = start(levels=2, step=0.003, tick_size=0.1)
    ctx.trades([123.4])
    # 123.4 * 0.003 = 0.3702 per level -> 123.0298 and 123.7702 -> 123.0 and 123.8 after rounding
    assert sorted(resting(ctx)) == [122.7, 123.0, 123.8, 124.1]


def test_grid_same_inputs_same_orders() -> None:
    runs = []
    for _ in range(2):
        _, ctx = start(levels=4, step=0.002)
        ctx.trades([250.0])
        ctx.fill(order_at(ctx, 249.5))
        runs.append(list(ctx.placed.values()))
    assert runs[0] == runs[1]


def test_grid_declares_params_and_no_warmup() -> None:
    g = build_strategy("grid", {"levels": "7", "step": "0.01", "max_position": "3"})
    assert (g.levels, g.step, g.max_position) == (7, 0.01, 3.0)  # type: ignore[attr-defined]
    assert g.warmup() == Warmup()
    assert Grid.uses("on_tick") and Grid.uses("on_order_update") and Grid.uses("on_stop")


@pytest.mark.parametrize(
    ("params", "named"),
    [({"levels": 0}, "'levels'"), ({"step": 0}, "'step'"), ({"size": 0}, "'size'"),
     ({"max_position": -1}, "'max_position'"), ({"step_unit": "pips"}, "'step_unit'"),
     ({"step_unit": "ticks"}, "'tick_size'")],
)
def test_grid_bad_param_raises_user_error_naming_it(params: dict[str, object], named: str) -> None:
    with pytest.raises(UserError, match=named):
        build_strategy("grid", params)
