"""README "Inverse perpetuals", end to end: hand-made BTC/USD:BTC lakes replayed by `run_backtest`.

Every number is computed by hand in the comments. The lake holds the tape's sizes in BTC (1,000
each); the strategy sizes 0.1 BTC (`size_unit` base), which is 4,000 USD, 40 contracts, at 40,000.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.events import Trade
from engine.model.time import NS_PER_MIN
from engine.results.build import BacktestResult
from engine.results.summary import summary_table
from engine.store.lake import Lake
from engine.trading.strategy import Context, Param, Strategy
from engine.venues.sim import SimConfig
from tests.engine.backtest.test_money_run import NO_FEES, START, VENUE, S, write_trades

INV = "BTC/USD:BTC"
STEPS = f"{__name__}:Steps"


class Steps(Strategy):
    """Holds the directions of `plan` (comma-separated) in turn, one on every other trade."""

    plan = Param("1,0,1,0")

    def on_start(self, ctx: Context) -> None:
        super().on_start(ctx)
        self.ticks = 0

    def on_tick(self, tick: Trade) -> None:
        step, odd = divmod(self.ticks, 2)
        plan = [float(d) for d in self.plan.split(",")]
        if self.ctx.trading and not odd and step < len(plan):
            self.hold(plan[step])
        self.ticks += 1


def steps(plan: str, capital: float, sim: SimConfig = NO_FEES, **overrides: Any) -> BacktestConfig:
    """Steps on INV, 0.1 BTC per direction, `capital` BTC, five minutes."""
    spec = StrategySpec(STEPS, {"plan": plan, "size": 0.1, "size_unit": "base"}, "steps")
    return BacktestConfig(strategies=(spec,), symbols=(INV,), start=START, end=START + 5 * NS_PER_MIN,
                          **{"capital": capital, "capital_currency": "BTC", "sim": sim, "venue": VENUE, **overrides})


def row(result: BacktestResult, series: str) -> dict[str, Any]:
    return next(r for r in result.stats.to_pylist() if r["series"] == series)


def curve(result: BacktestResult, series: str) -> list[float]:
    return [r["equity"] for r in result.equity.to_pylist() if r["series"] == series]


@pytest.fixture(scope="module")
def trips_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inverse")
    # each price twice: decided on the first trade, filled on the second
    write_trades(root, INV, [(0, 40_000.0), (1, 40_000.0), (61, 50_000.0), (62, 50_000.0),
                             (121, 40_000.0), (122, 40_000.0), (181, 30_000.0), (182, 30_000.0)])
    return root


def assert_two_long_trips(result: BacktestResult, capital: float) -> None:
    """The issue's pair of trips: 4,000 USD bought at 40,000, sold at 50,000, bought at 40,000, sold at
    30,000: +0.02 BTC and -0.033333 BTC, -0.013333 BTC in all (per 100 USD: +0.0005, -0.00083333)."""
    fills = [(f["side"], f["size"], f["price"]) for f in result.fills.to_pylist()]
    assert fills == [(1, 4000.0, 40_000.0), (-1, 4000.0, 50_000.0), (1, 4000.0, 40_000.0), (-1, 4000.0, 30_000.0)]
    trips = [(t["entry_price"], t["exit_price"], t["size"], t["pnl"]) for t in result.trades.to_pylist()]
    # 4,000 x (1/40,000 - 1/50,000) = 0.02; 4,000 x (1/40,000 - 1/30,000) = -0.04 / 1.2 = -0.033333
    assert trips == [(40_000.0, 50_000.0, 4000.0, pytest.approx(0.02, rel=1e-12)),
                     (40_000.0, 30_000.0, 4000.0, pytest.approx(-0.1 / 3, rel=1e-12))]
    stats = row(result, "steps")
    assert (stats["currency"], stats["pnl"]) == ("BTC", pytest.approx(-0.04 / 3, rel=1e-9))
    # minute ends: T0+1m bought (1 + 0.1 - 4,000 / 40,000), T0+2m sold (+0.02), T0+3m bought again
    # (flat value), T0+4m sold (-0.033333)
    assert curve(result, "steps") == pytest.approx([capital, capital + 0.02, capital + 0.02, capital - 0.04 / 3],
                                                   rel=1e-12)


def test_inverse_two_long_trips_lose_0_01333_btc(trips_root: Path) -> None:
    result = run_backtest(steps("1,0,1,0", 1.0), trips_root)
    assert result.config["inverse"] == [INV]
    assert_two_long_trips(result, 1.0)


def test_inverse_as_linear_fault_shows_the_issues_zero_and_the_inverse_checks_catch_it(trips_root: Path) -> None:
    # 1,000 "BTC" of capital so that the linear margin check lets 0.1 BTC through (0.1 x 40,000 / 10 = 400)
    result = run_backtest(steps("1,0,1,0", 1000.0, faults=frozenset({"inverse_as_linear"})), trips_root)
    # today's behaviour: 0.1 BTC contracts valued linearly, +1,000 and -1,000 "BTC" (really USD), 0.00 in all
    assert [t["pnl"] for t in result.trades.to_pylist()] == [pytest.approx(1000.0), pytest.approx(-1000.0)]
    assert row(result, "steps")["pnl"] == pytest.approx(0.0, abs=1e-9)
    assert "inverse" not in result.config
    with pytest.raises(AssertionError):
        assert_two_long_trips(result, 1000.0)


@pytest.fixture(scope="module")
def hold_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inverse_hold")
    write_trades(root, INV, [(0, 40_000.0), (1, 40_000.0), (61, 50_000.0), (130, 50_000.0)])
    write_trades(root, "BTC/USDT", [(0, 40_000.0), (61, 50_000.0), (130, 50_000.0)])
    Lake.at(root).write("funding", VENUE, INV, pa.table({"ts_event": [START + 150 * S], "rate": [0.0001]}))
    return root


def test_inverse_fees_and_funding_in_btc_and_pnl_in_usdt_through_btc_usdt(hold_root: Path) -> None:
    # OKX's base-tier swap fees: the buy of 4,000 USD at 40,000 is a taker, 0.1 BTC x 0.05 % = 0.00005 BTC
    result = run_backtest(steps("1", 1.0, sim=SimConfig()), hold_root)
    (fill,) = result.fills.to_pylist()
    assert (fill["size"], fill["price"], fill["fee"]) == (4000.0, 40_000.0, pytest.approx(0.00005, rel=1e-12))
    stats = row(result, "steps")
    # funding at 150 s at the last trade 50,000 (no mark bars): a long pays 4,000 / 50,000 x 0.01 % = 0.000008
    assert (stats["fees"], stats["funding_paid"]) == (pytest.approx(0.00005), pytest.approx(0.000008))
    # T0+1m: 1 + 0.1 - 0.00005 - 4,000 / 40,000 = 0.99995; T0+2m: + 4,000 x (1/40,000 - 1/50,000) =
    # 1.01995; T0+3m: - 0.000008 = 1.019942
    assert curve(result, "steps") == pytest.approx([0.99995, 1.01995, 1.019942], rel=1e-12)
    assert (stats["currency"], stats["pnl"], stats["turnover"]) == (
        "BTC", pytest.approx(0.019942, rel=1e-9), pytest.approx(0.1, rel=1e-12))
    # in USDT, each minute's change at that minute's BTC/USDT: -0.00005 x 40,000 + 0.02 x 50,000
    # - 0.000008 x 50,000 = -2 + 1,000 - 0.4 = 997.6 (the 4,000 USD long gained 1,000 USD, less costs)
    assert stats["pnl_usdt"] == pytest.approx(997.6, rel=1e-9)
    assert result.config["usdt_conversion"] == "BTC/USDT (test)"
    assert "pnl USDT" in summary_table(result)
    (trip,) = result.trades.to_pylist()
    assert (trip["closed"], trip["pnl"]) == (False, pytest.approx(0.019942, rel=1e-9))


def test_inverse_two_strategies_netting_sum_to_the_account(trips_root: Path) -> None:
    # long 0.1 BTC (4,000 USD) and short 0.05 BTC (2,000 USD) at 40,000: one buy of 2,000 USD and a
    # cross of 2,000; run_backtest checks that the sub-ledgers sum to the account and the venue
    specs = (StrategySpec(STEPS, {"plan": "1,0", "size": 0.1, "size_unit": "base"}, "long"),
             StrategySpec(STEPS, {"plan": "-1,0", "size": 0.05, "size_unit": "base"}, "short"))
    cfg = BacktestConfig(strategies=specs, symbols=(INV,), start=START, end=START + 5 * NS_PER_MIN, capital=2.0,
                         capital_currency="BTC", sim=NO_FEES, venue=VENUE)
    result = run_backtest(cfg, trips_root)
    assert [(f["side"], f["size"]) for f in result.fills.to_pylist()] == [(1, 2000.0), (-1, 2000.0)]
    pnl = {s: row(result, s)["pnl"] for s in ("long", "short", "portfolio")}
    # long: 4,000 x (1/40,000 - 1/50,000) = 0.02; short: -2,000 x the same = -0.01; the account 0.01
    assert pnl == {"long": pytest.approx(0.02), "short": pytest.approx(-0.01), "portfolio": pytest.approx(0.01)}


def test_inverse_tape_sizes_are_read_in_usd_so_the_walk_caps_in_usd(tmp_path: Path) -> None:
    # prints of 0.05 BTC at 40,000 are 2,000 USD each: a market buy of 4,000 USD walks two of them
    rows = [{"ts_event": START + t * S, "ts_recv": None, "trade_id": str(t), "price": 40_000.0, "size": size,
             "side": 1} for t, size in ((0, 1.0), (1, 0.05), (2, 0.05), (3, 1.0))]
    Lake.at(tmp_path).write("trades", VENUE, INV, pa.Table.from_pylist(rows))
    result = run_backtest(steps("1", 1.0, sim=SimConfig(fill_model="walk", maker_fee=0.0, taker_fee=0.0)), tmp_path)
    assert [(f["ts"], f["size"]) for f in result.fills.to_pylist()] == [(START + S, 2000.0), (START + 2 * S, 2000.0)]


def test_inverse_equity_added_in_usdt_with_a_usdt_symbol(hold_root: Path) -> None:
    # 80,000 USDT: inv (the long above) gets 40,000 USDT = 1 BTC at BTC/USDT's 40,000 at the start;
    # idle: BTC/USDT, never trades, 40,000 USDT
    specs = (StrategySpec(STEPS, {"plan": "1", "size": 0.1, "size_unit": "base"}, "inv", INV),
             StrategySpec(STEPS, {"plan": "0"}, "idle", "BTC/USDT"))
    cfg = BacktestConfig(strategies=specs, symbols=(INV, "BTC/USDT"), start=START, end=START + 5 * NS_PER_MIN,
                         capital=80_000.0, venue=VENUE)
    result = run_backtest(cfg, hold_root)
    assert [s["capital"] for s in result.config["strategies"]] == [1.0, 40_000.0]
    assert result.config["capital_rates"] == {"BTC": 40_000.0, "USDT": 1.0}
    assert curve(result, "portfolio BTC") == pytest.approx([0.99995, 1.01995, 1.019942], rel=1e-12)
    assert curve(result, "portfolio USDT") == pytest.approx([40_000.0] * 3)
    # in USDT: 40,000 + 1 BTC x 40,000 = 80,000 of capital, then each minute's BTC change at its rate:
    # -0.00005 x 40,000 = -2 -> 79,998; +0.02 x 50,000 -> 80,998; -0.000008 x 50,000 -> 80,997.6
    assert curve(result, "portfolio") == pytest.approx([79_998.0, 80_998.0, 80_997.6], rel=1e-12)
    assert (row(result, "portfolio")["currency"], row(result, "portfolio")["capital"]) == ("USDT", 80_000.0)


def test_capital_in_usdt_is_converted_into_the_coin_at_the_start(hold_root: Path) -> None:
    # the default 10,000 USDT on an inverse contract: BTC/USDT trades at 40,000 at the start, so the
    # strategy has 10,000 / 40,000 = 0.25 BTC, and the header says at which rate
    cfg = steps("1", 10_000.0, capital_currency="USDT")
    result = run_backtest(cfg, hold_root)
    assert result.config["strategies"][0]["capital"] == pytest.approx(0.25)
    assert row(result, "steps")["capital"] == pytest.approx(0.25)
    assert "capital converted at BTC/USDT (test) 40000 at 2024-03-01T00:00:00" in summary_table(result)


def test_capital_in_usdt_uses_the_inverse_contracts_own_price_without_a_usdt_series(tmp_path: Path) -> None:
    # no BTC/USDT in the lake: the contract's own 40,000 USD, USD taken as USDT
    write_trades(tmp_path, INV, [(0, 40_000.0), (1, 40_000.0), (61, 50_000.0)])
    result = run_backtest(steps("1", 10_000.0, capital_currency="USDT"), tmp_path)
    assert result.config["strategies"][0]["capital"] == pytest.approx(0.25)
    assert "USD taken as USDT" in result.config["capital_conversion"]
