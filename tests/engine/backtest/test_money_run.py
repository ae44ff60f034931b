"""README "How money is counted", end to end: tiny hand-made lakes replayed by `run_backtest`.

Every number is computed by hand in the comments. Fees are zero unless a test says otherwise, so
that the cash is exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.time import NS_PER_MIN, NS_PER_S, to_ns
from engine.results.build import BacktestResult
from engine.store.lake import Lake
from engine.venues.sim import SimConfig
from tests.engine.backtest_factory import HOLD

VENUE = "test"
START = to_ns("2024-03-01T00:00Z")
S = NS_PER_S
NO_FEES = SimConfig(maker_fee=0.0, taker_fee=0.0)


def write_trades(root: Path, symbol: str, trades: list[tuple[int, float]]) -> None:
    """Trades (seconds after START, price) of size 1000, received when they happen."""
    rows: list[dict[str, Any]] = [
        {"ts_event": START + t * S, "ts_recv": None, "trade_id": str(k), "price": p, "size": 1000.0, "side": 1}
        for k, (t, p) in enumerate(trades)
    ]
    Lake.at(root).write("trades", VENUE, symbol, pa.Table.from_pylist(rows))


def hold(symbol: str, size: float, minutes: int, **overrides: Any) -> BacktestConfig:
    """Hold `size` of `symbol` from the first trade, 10,000 of capital, no fees."""
    base: dict[str, Any] = {"capital": 10_000.0, "sim": NO_FEES, "venue": VENUE}
    return BacktestConfig(strategies=(StrategySpec(HOLD, {"size": size}, "hold"),), symbols=(symbol,),
                          start=START, end=START + minutes * NS_PER_MIN, **{**base, **overrides})


def cash(result: BacktestResult) -> float:
    """The account's cash at the end: its capital plus every cash flow of the ledger."""
    return 10_000.0 + sum(result.ledger.column("cash_flow").to_pylist())


def row(result: BacktestResult, series: str) -> dict[str, Any]:
    return next(r for r in result.stats.to_pylist() if r["series"] == series)


@pytest.fixture(scope="module")
def spot_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spot")
    # decided on the first trade (2,003), filled on the second (2,003), then 2,010
    write_trades(root, "ETH/USDT", [(0, 2003.0), (1, 2003.0), (61, 2010.0), (130, 2010.0)])
    return root


def test_spot_cash_run_buys_what_the_cash_pays(spot_root: Path) -> None:
    result = run_backtest(hold("ETH/USDT", 100.0, 3), spot_root)
    orders = result.orders.to_pylist()
    # 10,000 / 2,003 = 4.9925112331 -> 4.99251123 ETH (whole lots of 1e-8) for 9,999.99999369 USDT;
    # after its fill the rest of the target, 95.00748877 ETH, finds 0.00000631 USDT and is refused
    assert [(o["size"], o["status"]) for o in orders] == [(4.99251123, "filled"),
                                                          (pytest.approx(95.00748877), "rejected")]
    assert "spot cash" in orders[1]["reason"]
    assert cash(result) == pytest.approx(0.00000631, abs=1e-8)
    # marked at 2,010 at the end: 10,000 + 4.99251123 x (2,010 - 2,003) = 10,034.94757861
    assert row(result, "portfolio")["final_equity"] == pytest.approx(10_034.94757861)


def test_spot_cash_run_with_the_no_cash_check_fault_goes_negative(spot_root: Path) -> None:
    # the deliberate fault: 10,000 USDT buys 100 ETH at 2,003, cash 10,000 - 200,300 = -190,300
    result = run_backtest(hold("ETH/USDT", 100.0, 3, faults=frozenset({"no_cash_check"})), spot_root)
    assert [(o["size"], o["status"]) for o in result.orders.to_pylist()] == [(100.0, "filled")]
    assert cash(result) == pytest.approx(-190_300.0)
    # and the "7% return on a 0.35% move": 10,000 - 200,300 + 100 x 2,010 = 10,700
    assert row(result, "portfolio")["final_equity"] == pytest.approx(10_700.0)
