"""The recorder hands over plain columns with exactly the record schemas' names and types."""

from __future__ import annotations

import pyarrow as pa

from engine.model.events import OrderStatus
from engine.model.types import Side
from engine.results.records import FILLS, LEDGER, ORDERS
from engine.trading.oms import OrderManager
from engine.trading.portfolio import PortfolioManager
from engine.trading.recorder import Recorder
from tests.factories import make_fill, make_submit, make_update


def test_recorder_columns_make_the_record_tables() -> None:
    oms, pm, rec = OrderManager(), PortfolioManager("main"), Recorder()
    pm.register("a")
    oms.submit(make_submit("o1", size=2.0))
    rec.order_decided("o1", 7)
    fill = make_fill(2.0, 100.0, fee=0.1, client_id="o1", trade_id="t9")
    oms.apply_update(make_update(OrderStatus.FILLED, client_id="o1", filled_size=2.0, fill=fill))
    rec.fill(fill, "a", 8)
    rec.allocations(pm.allocate_fill(fill, owner="a"))

    orders = pa.table(rec.orders_columns(oms.orders()), schema=ORDERS)
    fills = pa.table(rec.fills_columns(), schema=FILLS)
    ledger = pa.table(rec.ledger_columns(), schema=LEDGER)

    assert set(rec.orders_columns([])) == set(ORDERS.names)
    assert set(rec.fills_columns()) == set(FILLS.names)
    assert set(rec.ledger_columns()) == set(LEDGER.names)
    assert orders.to_pylist()[0] | {"price": None} == {
        "client_id": "o1", "strategy_id": "", "symbol": "ETH/USDT:USDT", "side": int(Side.BUY),
        "order_type": "market", "size": 2.0, "price": None, "ts_created": 0, "decide_seq": 7,
        "status": "filled", "filled_size": 2.0, "avg_price": 100.0, "reason": "",
    }
    assert fills.to_pylist()[0] | {"liquidity": "taker"} == {
        "seq": 0, "ts": 0, "client_id": "o1", "strategy_id": "a", "symbol": "ETH/USDT:USDT", "side": 1,
        "price": 100.0, "size": 2.0, "fee": 0.1, "liquidity": "taker", "trade_id": "t9", "event_seq": 8,
        "decide_seq": 7, "fee_base": 0.0,
    }
    row = ledger.to_pylist()[0]
    assert (row["strategy_id"], row["kind"], row["qty"], row["fee"]) == ("a", "fill", 2.0, 0.1)
    assert row["cash_flow"] == -2.0 * 100.0 - 0.1


def test_recorder_netted_fill_names_its_strategies_and_tags_its_ledger_rows() -> None:
    # a wants +2 and b wants -0.5 on one symbol: the venue buys 1.5; a crosses 0.5 with b and gets
    # the 1.5 fill; then funding (booked outside any fill) and a fill of the grid's own order
    pm, rec = PortfolioManager("main"), Recorder()
    pm.set_target("a", "ETH/USDT:USDT", 2.0)
    pm.set_target("b", "ETH/USDT:USDT", -0.5)
    netted = make_fill(1.5, 100.0, fee=0.075, client_id="n1")
    rec.fill(netted, "", 3)
    rec.allocations(pm.allocate_fill(netted))
    rec.allocations(pm.apply_funding("ETH/USDT:USDT", 0.001, 100.0, 5))
    own = make_fill(1.0, 101.0, side=Side.SELL, client_id="g1")
    rec.fill(own, "grid", 9)
    rec.allocations(pm.allocate_fill(own, owner="grid"))

    fills = pa.table(rec.fills_columns(), schema=FILLS).to_pylist()
    assert [f["strategy_id"] for f in fills] == ["a", "grid"]
    ledger = pa.table(rec.ledger_columns(), schema=LEDGER).to_pylist()
    got = [(r["strategy_id"], r["kind"], r["qty"], r["fill_seq"]) for r in ledger]
    assert got == [
        ("b", "cross", -0.5, 0), ("a", "cross", 0.5, 0), ("a", "fill", 1.5, 0),  # fill 0
        ("b", "funding", 0.0, -1), ("a", "funding", 0.0, -1),  # no fill
        ("grid", "fill", -1.0, 1),  # fill 1
    ]


def test_recorder_fill_shared_by_two_strategies_lists_both() -> None:
    # a and b both want +1: one venue buy of 2 goes half to each
    pm, rec = PortfolioManager("main"), Recorder()
    pm.set_target("a", "ETH/USDT:USDT", 1.0)
    pm.set_target("b", "ETH/USDT:USDT", 1.0)
    fill = make_fill(2.0, 100.0, fee=0.2)
    rec.fill(fill, "", 1)
    rec.allocations(pm.allocate_fill(fill))
    assert rec.fills_columns()["strategy_id"] == ["a,b"]
    assert rec.ledger_columns()["fill_seq"] == [0, 0]
