"""The trades list and the fills with their split, as the report and `runs show` print them."""

from __future__ import annotations

from engine.results.build import records_table
from engine.results.records import ALLOCATIONS, FILLS
from engine.results.views import FILL_HEADERS, TRADE_HEADERS, allocation_text, fill_rows, number, trade_rows
from tests.engine.results_factory import fill_row, scenario_result


def test_trade_rows_scenario_cells() -> None:
    a, b = (dict(zip(TRADE_HEADERS, row, strict=True)) for row in trade_rows(scenario_result().trades))
    # a: long 1 from 100 at 00:00:10 to 101.5 at 00:03:20 (190 s), PnL 1.4245, fees 0.0755
    assert (a["strategy"], a["#"], a["side"], a["status"]) == ("a", "1", "long", "closed")
    assert (a["entry time"], a["exit time"], a["duration"]) == ("2024-01-01T00:00:10Z", "2024-01-01T00:03:20Z", "3m10s")
    assert (a["size"], a["entry"], a["exit"], a["pnl"], a["fees"], a["funding paid"]) == (
        "1", "100", "101.5", "1.42", "0.08", "0.00")
    # b is still open, valued at the last mark 101 at 00:05
    assert (b["status"], b["exit"], b["exit time"]) == ("open", "101", "2024-01-01T00:05:00Z")
    assert b["funding paid"] == "0.10"


def test_trade_rows_limit() -> None:
    assert len(trade_rows(scenario_result().trades, limit=1)) == 1


def test_allocation_text_shared_fill_names_each_share_and_fee() -> None:
    shares = [
        {"fill_seq": 0, "strategy_id": "a", "kind": "cross", "qty": 0.5, "fee": 0.0},
        {"fill_seq": 0, "strategy_id": "b", "kind": "cross", "qty": -0.5, "fee": 0.0},
        {"fill_seq": 0, "strategy_id": "a", "kind": "fill", "qty": 1.0, "fee": 0.05},
        {"fill_seq": 0, "strategy_id": "c", "kind": "fill", "qty": 0.5, "fee": 0.025},
    ]
    assert allocation_text(shares) == "a +1 (fee 0.05), c +0.5 (fee 0.025); crossed a +0.5, b -0.5"
    assert allocation_text(shares[2:3]) == "a +1"  # alone, it pays the whole fee


def test_fill_rows_show_the_split_and_the_owner() -> None:
    result = scenario_result()
    rows = [dict(zip(FILL_HEADERS, r, strict=True)) for r in fill_rows(result.fills, result.allocations)]
    assert rows[0]["strategies: share"] == "a +1 (fee 0.05), b +0.5 (fee 0.025)"
    assert (rows[0]["side"], rows[0]["price"], rows[0]["size"], rows[0]["fee"]) == ("buy", "100", "1.5", "0.075")
    assert rows[1]["strategies: share"] == "a -0.5"
    # a fill without allocation rows (an older run) falls back to its strategy_id
    fills = records_table(FILLS, [fill_row(0, 0, -1, 10.0, 1.0, 0.0, strategy_id="grid")])
    assert fill_rows(fills, records_table(ALLOCATIONS))[0][-1] == "grid"


def test_number_eight_significant_digits() -> None:
    assert [number(x) for x in (100.0, 1.5, 2001.234567891, 0.000123456789, -0.0, None)] == [
        "100", "1.5", "2001.2346", "0.00012345679", "0", "-"]
