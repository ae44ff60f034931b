"""Reading windows from the lake: one receive-time order across the UTC day boundary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.model.events import Funding
from engine.model.time import NS_PER_MS, to_ns
from engine.store.lake import Lake
from tests.engine.backtest_factory import TickProbe, replay

SYMBOL = "ETH/USDT:USDT"
MIDNIGHT = to_ns("2024-01-02T00:00Z")
FUNDING_PROBE = "tests.engine.backtest.test_data:FundingProbe"


class FundingProbe(TickProbe):
    """TickProbe that also records funding instants."""

    def on_funding(self, funding: Funding) -> None:
        self.seen.append(("funding", funding.ts_event))


def _midnight_lake(root: Path) -> None:
    """Four trades around midnight; the last one of day 1 is received after two of day 2."""
    ms = NS_PER_MS
    rows: list[dict[str, Any]] = [
        {"ts_event": MIDNIGHT - 5 * ms, "ts_recv": MIDNIGHT - 4 * ms, "trade_id": "1", "price": 100.0},
        {"ts_event": MIDNIGHT - 1 * ms, "ts_recv": MIDNIGHT + 10 * ms, "trade_id": "2", "price": 101.0},
        {"ts_event": MIDNIGHT + 1 * ms, "ts_recv": MIDNIGHT + 2 * ms, "trade_id": "3", "price": 102.0},
        {"ts_event": MIDNIGHT + 20 * ms, "ts_recv": MIDNIGHT + 21 * ms, "trade_id": "4", "price": 103.0},
    ]
    for row in rows:
        row.update(size=1.0, side=1)
    lake = Lake.at(root)
    lake.write("trades", "test", SYMBOL, pa.Table.from_pylist(rows))
    lake.write("funding", "test", SYMBOL, pa.table({"ts_event": [MIDNIGHT], "rate": [0.0001]}))


def test_replay_crosses_midnight_in_receive_order(data_root: Path) -> None:
    _midnight_lake(data_root)
    cfg = BacktestConfig(strategies=(StrategySpec(FUNDING_PROBE),), symbols=(SYMBOL,),
                         start=MIDNIGHT - 1_000 * NS_PER_MS, end=MIDNIGHT + 1_000 * NS_PER_MS, venue="test")
    bt = replay(cfg, data_root)
    seen = bt.strategies[FUNDING_PROBE].seen  # type: ignore[attr-defined]
    order = [(e[0], e[1]) for e in seen]
    ms = NS_PER_MS
    assert order == [
        ("tick", MIDNIGHT - 4 * ms),  # trade 1
        ("funding", MIDNIGHT),  # the 00:00 funding comes before anything received after it
        ("tick", MIDNIGHT + 2 * ms),  # trade 3, received before trade 2
        ("tick", MIDNIGHT + 10 * ms),  # trade 2, stamped on day 1 but received on day 2
        ("tick", MIDNIGHT + 21 * ms),
    ]


def test_price_step_is_the_coarsest_power_of_ten_the_prices_fit() -> None:
    import numpy as np

    from engine.backtest.data import price_step

    assert price_step(np.array([0.00142709, 0.00142805])) == 1e-8
    assert price_step(np.array([61685.99, 61686.0])) == 0.01
    assert price_step(np.array([2000.0, 2010.0])) == 1.0


def test_backtest_tick_follows_the_data_when_finer_than_the_default(data_root: Path) -> None:
    from engine.backtest.data import DataSource
    from engine.backtest.runner import Backtest

    rows = [{"ts_event": MIDNIGHT + k, "ts_recv": None, "trade_id": str(k), "price": 0.00142709 + k * 1e-8,
             "size": 100.0, "side": 1} for k in range(10)]
    Lake.at(data_root).write("trades", "test", "XRP/ETH", pa.Table.from_pylist(rows))
    cfg = BacktestConfig(strategies=(StrategySpec("ema_cross"),), symbols=("XRP/ETH",), start=MIDNIGHT,
                         end=MIDNIGHT + 1_000, venue="test")
    bt = Backtest(cfg, DataSource(Lake.at(data_root), "test", ["XRP/ETH"], cfg.start, cfg.end))
    assert bt.instruments["XRP/ETH"].tick_size == 1e-8
    assert bt.instruments["XRP/ETH"].round_price(0.001427094) == 0.00142709


def test_backtest_instrument_is_the_last_fetch_before_the_start(data_root: Path) -> None:
    from engine.backtest.data import DataSource
    from engine.backtest.runner import Backtest
    from tests.engine.store.factories import instrument_row

    lake = Lake.at(data_root)
    rows = [{"ts_event": MIDNIGHT + k, "trade_id": str(k), "price": 2e3 + k, "size": 1.0, "side": 1} for k in range(5)]
    lake.write("trades", "test", SYMBOL, pa.Table.from_pylist(rows))
    cfg = BacktestConfig(strategies=(StrategySpec("ema_cross"),), symbols=(SYMBOL,), start=MIDNIGHT,
                         end=MIDNIGHT + 1_000, venue="test")

    def instrument() -> tuple[float, float, float, float]:
        inst = Backtest(cfg, DataSource(Lake.at(data_root), "test", [SYMBOL], cfg.start, cfg.end)).instruments[SYMBOL]
        return inst.tick_size, inst.lot_size, inst.min_size, inst.contract_value

    assert instrument() == (0.01, 0.01, 0.0, 0.1)  # no fetch: the defaults
    lake.append("instruments", "test", SYMBOL, instrument_row(MIDNIGHT - 10, tick=0.1, lot=1.0, ct_val=0.01))
    lake.append("instruments", "test", SYMBOL, instrument_row(MIDNIGHT + 1, tick=0.5, lot=2.0))  # after the start
    assert instrument() == (0.1, 1.0, 1.0, 0.01)
