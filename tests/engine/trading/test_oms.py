"""The order state machine: transitions, fills, resends, amends, and real OKX order pushes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model.events import AmendOrder, Fill, OrderStatus, OrderType, OrderUpdate
from engine.model.time import NS_PER_MS
from engine.model.types import Liquidity, Side
from engine.trading.oms import (
    AmendError,
    DuplicateOrder,
    IllegalTransition,
    Order,
    OrderManager,
    Overfill,
    UnknownOrder,
    transition,
)
from engine.venues.okx.formats import symbol_of
from tests.factories import make_fill, make_submit, make_update

S = OrderStatus
SYM = "ETH/USDT:USDT"
TERMINAL = (S.FILLED, S.CANCELED, S.REJECTED)
ALLOWED = {
    S.NEW: {S.LIVE, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.REJECTED},
    S.LIVE: {S.LIVE, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED},
    S.PARTIALLY_FILLED: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELED},
    S.FILLED: set(),
    S.CANCELED: set(),
    S.REJECTED: set(),
}


def _order(status: OrderStatus = S.NEW, size: float = 1.0) -> Order:
    return Order("o1", SYM, Side.BUY, size, OrderType.LIMIT, 100.0, "s1", status, 0, 0)


def _manager(size: float = 1.0, **kw: Any) -> OrderManager:
    oms = OrderManager()
    oms.submit(make_submit("o1", size=size, price=100.0, **kw))
    return oms


# -- real OKX pushes --------------------------------------------------------------------------------
def _okx_pushes(shared_data: Path) -> list[dict[str, Any]]:
    lines = (shared_data / "okx" / "gocryptotrader_wsOrders.jsonl").read_text().splitlines()
    return [json.loads(line)["data"][0] for line in lines if line.strip()]


def _okx_update(d: dict[str, Any], client_id: str) -> OrderUpdate:
    """By hand: OKX fees are negative when paid, ours positive; fillSz 0 means no fill."""
    symbol = symbol_of(d["instId"])
    fill = None
    if float(d["fillSz"]) > 0:
        fill = Fill(
            client_id, symbol, Side.BUY if d["side"] == "buy" else Side.SELL, float(d["fillPx"]),
            float(d["fillSz"]), -float(d["fillFee"]),
            Liquidity.MAKER if d["execType"] == "M" else Liquidity.TAKER,
            int(d["fillTime"]) * NS_PER_MS, trade_id=d["tradeId"],
        )
    return OrderUpdate(
        client_id, symbol, OrderStatus(d["state"]), int(d["uTime"]) * NS_PER_MS,
        filled_size=float(d["accFillSz"]), avg_price=float(d["avgPx"]), venue_order_id=d["ordId"], fill=fill,
    )


@pytest.mark.shared_data
def test_okx_filled_limit_push_goes_new_to_filled_with_fill(shared_data: Path) -> None:
    push = _okx_pushes(shared_data)[0]
    oms = OrderManager()
    oms.submit(make_submit("HamsterParty14", side=Side.SELL, size=0.001, price=31527.1, symbol="BTC/USDT"))
    applied = oms.apply_update(_okx_update(push, "HamsterParty14"))
    order = applied.order
    assert order.status is S.FILLED and not order.is_open
    assert order.filled_size == 0.001 and order.avg_price == 31527.1
    assert order.fees == pytest.approx(0.02522168)
    assert order.venue_order_id == "452197707845865472"
    assert applied.fill is not None and applied.fill.liquidity is Liquidity.MAKER
    assert oms.open_orders() == []


@pytest.mark.shared_data
def test_okx_market_pushes_live_partial_filled_and_resends_ignored(shared_data: Path) -> None:
    live, partial, filled = (_okx_update(d, "620258920632008725") for d in _okx_pushes(shared_data)[1:])
    oms = OrderManager()
    # OKX sized this market sell as 10 USDT (tgtCcy quote_ccy); in base currency it sold 0.00038128 BTC.
    oms.submit(make_submit("620258920632008725", side=Side.SELL, size=0.00038128, symbol="BTC/USDT"))
    assert oms.apply(live).status is S.LIVE
    order = oms.apply(partial)
    assert order.status is S.PARTIALLY_FILLED
    assert order.filled_size == 0.00038128 and order.avg_price == 26228.1
    assert order.fees == pytest.approx(0.010000249968)
    order = oms.apply(filled)
    assert order.status is S.FILLED and order.filled_size == 0.00038128
    assert order.ts_updated == 1694153250535 * NS_PER_MS
    # After a reconnect OKX resends: nothing is counted twice, and nothing raises.
    for resend in (partial, filled, live):
        applied = oms.apply_update(resend)
        assert applied.ignored and applied.fill is None and applied.order == order
    assert oms.get("620258920632008725").fees == pytest.approx(0.010000249968)


# -- transitions --------------------------------------------------------------------------------------
@pytest.mark.parametrize("src", list(S))
@pytest.mark.parametrize("dst", list(S))
def test_transition_table_allows_listed_moves_and_refuses_the_rest(
    src: OrderStatus, dst: OrderStatus
) -> None:
    order = _order(src)
    update = make_update(dst, ts=7)
    if dst in ALLOWED[src]:
        assert transition(order, update).status is dst
    elif src == dst and src in TERMINAL:  # a terminal state restated is a resend
        assert transition(order, update) is order
    else:
        with pytest.raises(IllegalTransition, match=rf"o1: {src.value} -> {dst.value}"):
            transition(order, update)


def test_transition_new_fill_on_terminal_order_raises() -> None:
    order = _order(S.FILLED)
    with pytest.raises(IllegalTransition, match="filled -> filled"):
        transition(order, make_update(S.FILLED, fill=make_fill(0.1, 100.0, fill_id="late")))


def test_transition_fills_sum_sizes_fees_and_weight_avg_price() -> None:
    order = transition(_order(size=4.0), make_update(S.PARTIALLY_FILLED, fill=make_fill(1.0, 100.0, fee=0.1,
                                                                                            fill_id="f1")))
    order = transition(order, make_update(S.FILLED, fill=make_fill(3.0, 200.0, fee=0.3, fill_id="f2")))
    assert order.filled_size == 4.0 and order.remaining == 0.0
    assert order.avg_price == pytest.approx((100.0 + 600.0) / 4.0)
    assert order.fees == pytest.approx(0.4)


def test_transition_overfill_raises_naming_sizes() -> None:
    order = _order(S.LIVE, size=1.0)
    with pytest.raises(Overfill, match=r"1\.5.*above the order size 1"):
        transition(order, make_update(S.FILLED, fill=make_fill(1.5, 100.0)))


def test_transition_duplicate_fill_by_id_or_trade_is_ignored() -> None:
    first = make_update(S.PARTIALLY_FILLED, fill=make_fill(0.2, 100.0, fill_id="f1", trade_id="t1"))
    order = transition(_order(S.LIVE), first)
    assert transition(order, first) is order
    same_id = make_update(S.PARTIALLY_FILLED, fill=make_fill(0.3, 101.0, fill_id="f1"))
    assert transition(order, same_id) is order
    no_id = make_update(S.PARTIALLY_FILLED, fill=make_fill(0.2, 100.0, trade_id="t9"))
    order = transition(order, no_id)
    assert transition(order, no_id) is order
    other_trade = make_update(S.PARTIALLY_FILLED, fill=make_fill(0.2, 100.0, trade_id="t10"))
    assert transition(order, other_trade).filled_size == pytest.approx(0.6)


def test_transition_stale_update_with_lower_filled_size_is_ignored() -> None:
    order = transition(_order(S.LIVE), make_update(S.PARTIALLY_FILLED, filled_size=0.5,
                                                   fill=make_fill(0.5, 100.0, fill_id="f1")))
    assert transition(order, make_update(S.LIVE, filled_size=0.0)) is order
    # A terminal update is never stale: it closes the order.
    assert transition(order, make_update(S.CANCELED, filled_size=0.0)).status is S.CANCELED


def test_transition_fill_of_other_side_or_symbol_raises() -> None:
    order = _order(S.LIVE)
    with pytest.raises(IllegalTransition, match="SELL"):
        transition(order, make_update(S.PARTIALLY_FILLED, fill=make_fill(0.1, 100.0, side=Side.SELL)))
    with pytest.raises(UnknownOrder, match="BTC/USDT"):
        transition(order, make_update(S.LIVE, symbol="BTC/USDT"))


def test_transition_venue_reported_size_beyond_fills_is_kept_for_reconciliation() -> None:
    order = transition(_order(S.LIVE), make_update(S.PARTIALLY_FILLED, filled_size=0.4))
    assert order.filled_size == 0.0 and order.venue_filled_size == 0.4


# -- manager -----------------------------------------------------------------------------------------
def test_submit_records_new_order_and_refuses_reused_client_id() -> None:
    oms = _manager(size=2.0, strategy_id="grid1", ts=5)
    order = oms.get("o1")
    assert (order.status, order.size, order.price, order.strategy_id, order.ts_created) == (
        S.NEW, 2.0, 100.0, "grid1", 5)
    with pytest.raises(DuplicateOrder, match="o1"):
        oms.submit(make_submit("o1"))
    oms.apply(make_update(S.REJECTED, reason="risk: max_position"))
    assert oms.get("o1").reason == "risk: max_position"
    with pytest.raises(DuplicateOrder):
        oms.submit(make_submit("o1"))


def test_submit_bad_size_or_limit_price_raises() -> None:
    oms = OrderManager()
    with pytest.raises(ValueError, match="size"):
        oms.submit(make_submit("a", size=0.0))
    with pytest.raises(ValueError, match="price"):
        oms.submit(make_submit("b", price=-1.0))


def test_get_and_apply_unknown_order_raise() -> None:
    oms = OrderManager()
    with pytest.raises(UnknownOrder, match="nope"):
        oms.get("nope")
    with pytest.raises(UnknownOrder):
        oms.apply(make_update(S.LIVE, client_id="nope"))


def test_open_orders_filter_and_orders_keep_submission_order() -> None:
    oms = OrderManager()
    oms.submit(make_submit("a", strategy_id="g"))
    oms.submit(make_submit("b", symbol="BTC/USDT"))
    oms.submit(make_submit("c", strategy_id="g"))
    oms.apply(make_update(S.CANCELED, client_id="a"))
    assert [o.client_id for o in oms.orders()] == ["a", "b", "c"]
    assert [o.client_id for o in oms.open_orders()] == ["b", "c"]
    assert [o.client_id for o in oms.open_orders(symbol=SYM)] == ["c"]
    assert [o.client_id for o in oms.open_orders(strategy_id="")] == ["b"]
    assert oms.open_orders(symbol="BTC/USDT", strategy_id="g") == []


def test_amend_changes_price_and_size_locally() -> None:
    oms = _manager(size=2.0)
    order = oms.amend(AmendOrder("o1", SYM, ts=9, price=101.0))
    assert (order.price, order.size, order.ts_updated) == (101.0, 2.0, 9)
    assert oms.amend(AmendOrder("o1", SYM, ts=10, size=3.0)).size == 3.0


def test_amend_size_below_filled_raises_naming_both() -> None:
    oms = _manager(size=2.0)
    oms.apply(make_update(S.PARTIALLY_FILLED, fill=make_fill(1.5, 100.0, fill_id="f1")))
    with pytest.raises(AmendError, match=r"1\.2.*1\.5"):
        oms.amend(AmendOrder("o1", SYM, ts=1, size=1.2))
    assert oms.get("o1").size == 2.0


def test_amend_closed_or_empty_raises() -> None:
    oms = _manager()
    with pytest.raises(AmendError, match="neither"):
        oms.amend(AmendOrder("o1", SYM, ts=1))
    oms.apply(make_update(S.CANCELED))
    with pytest.raises(AmendError, match="canceled"):
        oms.amend(AmendOrder("o1", SYM, ts=1, price=99.0))


def test_apply_venue_amend_confirmation_sets_price_and_size() -> None:
    oms = _manager(size=2.0)
    oms.apply(make_update(S.LIVE))
    oms.amend(AmendOrder("o1", SYM, ts=1, price=105.0))
    # The venue refused the amend and restated the old price.
    assert oms.apply(make_update(S.LIVE, price=100.0, size=2.0)).price == 100.0
    oms.apply(make_update(S.PARTIALLY_FILLED, fill=make_fill(1.0, 100.0, fill_id="f1")))
    with pytest.raises(Overfill):
        oms.apply(make_update(S.PARTIALLY_FILLED, filled_size=1.0, size=0.5))


def test_apply_update_reports_new_fill_once() -> None:
    oms = _manager()
    update = make_update(S.PARTIALLY_FILLED, fill=make_fill(0.5, 100.0, fill_id="f1"))
    first = oms.apply_update(update)
    assert not first.ignored and first.fill == update.fill
    again = oms.apply_update(update)
    assert again.ignored and again.fill is None and again.order.filled_size == 0.5


# -- properties -----------------------------------------------------------------------------------
_UPDATE = st.tuples(
    st.sampled_from(list(S)),
    st.one_of(st.none(), st.tuples(st.integers(0, 5), st.floats(0.01, 0.6))),  # (fill id, size)
    st.floats(0.0, 1.5),  # reported filled size
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_UPDATE, max_size=25))
def test_random_updates_raise_illegal_or_keep_invariants(steps: list[tuple]) -> None:
    oms = _manager(size=1.0)
    booked: dict[str, float] = {}
    for status, fill_spec, reported in steps:
        fill = None if fill_spec is None else make_fill(fill_spec[1], 100.0, fill_id=f"f{fill_spec[0]}")
        before = oms.get("o1")
        try:
            applied = oms.apply_update(make_update(status, filled_size=reported, fill=fill))
        except IllegalTransition:
            assert oms.get("o1") == before  # a refused update changes nothing
            continue
        after = applied.order
        assert after.filled_size <= after.size * (1 + 1e-9)
        if not before.is_open:
            assert (after.status, after.filled_size) == (before.status, before.filled_size)
        if applied.fill is not None:
            assert applied.fill.fill_id not in booked
            booked[applied.fill.fill_id] = applied.fill.size
        assert after.filled_size == pytest.approx(math.fsum(booked.values()))
        assert (after in oms.open_orders()) == after.is_open


def test_order_is_frozen() -> None:
    order = _order()
    with pytest.raises(AttributeError):
        order.size = 2.0  # type: ignore[misc]
    assert msgspec.structs.replace(order, size=2.0).size == 2.0 and order.size == 1.0
