"""README "How money is counted", end to end: tiny hand-made lakes replayed by `run_backtest`.

Every number is computed by hand in the comments. Fees are zero unless a test says otherwise, so
that the cash is exact.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.events import Bar, Trade
from engine.model.time import NS_PER_MIN, NS_PER_S, to_ns
from engine.results.build import BacktestResult
from engine.results.summary import summary_table
from engine.store.lake import Lake
from engine.trading.strategy import Context, Param, Strategy
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


def test_spot_market_buy_reserves_at_the_ask_of_the_book_in_force(tmp_path: Path) -> None:
    # bid 2,000 / ask 2,010 quoted at 0.5 s, last trade 2,003 at 1 s: the buy decided there costs the
    # ask. 10,000 / 2,010 = 4.975124378 -> 4.97512437 ETH (lots of 1e-8); it fills at the ask for
    # 4.97512437 x 2,010 = 9,999.9999837 USDT, and the rest of the target finds no cash.
    write_trades(tmp_path, "ETH/USDT", [(1, 2003.0), (2, 2003.0), (61, 2010.0), (130, 2010.0)])
    quote = {"ts_event": START + S // 2, "ts_recv": START + S // 2, "bid": 2000.0, "ask": 2010.0,
             "bid_size": 1000.0, "ask_size": 1000.0}
    Lake.at(tmp_path).write("quotes", VENUE, "ETH/USDT", pa.Table.from_pylist([quote]))
    result = run_backtest(hold("ETH/USDT", 100.0, 3), tmp_path)
    (fill,) = result.fills.to_pylist()
    assert (fill["size"], fill["price"], fill["liquidity"]) == (4.97512437, 2010.0, "taker")
    assert cash(result) == pytest.approx(0.0000163, abs=1e-9)
    assert [o["status"] for o in result.orders.to_pylist()] == ["filled", "rejected"]  # not cut at the fill


def test_spot_cash_run_with_the_no_cash_check_fault_goes_negative(spot_root: Path) -> None:
    # the deliberate fault: 10,000 USDT buys 100 ETH at 2,003, cash 10,000 - 200,300 = -190,300
    result = run_backtest(hold("ETH/USDT", 100.0, 3, faults=frozenset({"no_cash_check"})), spot_root)
    assert [(o["size"], o["status"]) for o in result.orders.to_pylist()] == [(100.0, "filled")]
    assert cash(result) == pytest.approx(-190_300.0)
    # and the "7% return on a 0.35% move": 10,000 - 200,300 + 100 x 2,010 = 10,700
    assert row(result, "portfolio")["final_equity"] == pytest.approx(10_700.0)


class EnterExit(Strategy):
    """Target `size` on the first trade, back to 0 on the first trade `exit_after_s` seconds later."""

    size = Param(1.0, low=0.0, high=1000.0)
    exit_after_s = Param(60, low=0)

    def reset(self) -> None:
        self.entered: int | None = None

    def on_tick(self, tick: Trade) -> None:
        if not self.ctx.trading:
            return
        if self.entered is None:
            self.entered = tick.ts_recv
            self.ctx.set_target(self.size)
        elif tick.ts_recv >= self.entered + self.exit_after_s * S:
            self.ctx.set_target(0.0)


FLIP = "tests.engine.backtest.test_money_run:EnterExit"


def test_spot_buy_pays_its_fee_in_the_eth_it_receives_and_reaches_its_target(spot_root: Path) -> None:
    # taker 0.1%: a target of 1 ETH buys 1 / 0.999 = 1.001001001 -> 1.00100101 ETH (lots of 1e-8)
    taker = SimConfig(maker_fee=0.0, taker_fee=0.001)
    result = run_backtest(hold("ETH/USDT", 1.0, 3, sim=taker), spot_root)
    (fill,) = result.fills.to_pylist()
    assert (fill["size"], fill["price"]) == (1.00100101, 2003.0)
    # the fee is 1.00100101 x 0.001 = 0.00100100101 ETH, worth 2.00500502303 USDT at 2,003
    assert fill["fee_base"] == pytest.approx(0.00100100101, abs=1e-15)
    assert fill["fee"] == pytest.approx(2.00500502303, abs=1e-10)
    # it holds 1.00000000899 ETH (its target, and a dust of 0.00000000899 below one lot) and paid
    # 1.00100101 x 2,003 = 2,005.00502303 USDT: the cash is 7,994.99497697
    ledger = result.ledger.to_pylist()
    assert sum(r["qty"] for r in ledger) == pytest.approx(1.00000000899, abs=1e-14)
    assert cash(result) == pytest.approx(7_994.99497697, abs=1e-8)
    # one order: the dust left over is no gap to fill and no skipped order
    assert len(result.orders) == 1 and result.skipped.num_rows == 0
    # marked at 2,010: 7,994.99497697 + 1.00000000899 x 2,010 = 10,004.99499504
    assert row(result, "portfolio")["final_equity"] == pytest.approx(10_004.99499504, abs=1e-7)


def test_spot_fee_dust_left_by_a_round_trip_counts_as_flat(tmp_path: Path) -> None:
    # buy 1 ETH (receives 1.00000000899), sell it back: the sell rounds the holding down to whole
    # lots (1.0), the 0.00000000899 ETH of dust stays; the trip is closed and the account flat.
    write_trades(tmp_path, "ETH/USDT", [(0, 2003.0), (1, 2003.0), (61, 2010.0), (62, 2010.0), (190, 2012.0)])
    taker = SimConfig(maker_fee=0.0, taker_fee=0.001)
    result = run_backtest(BacktestConfig(strategies=(StrategySpec(FLIP, {"size": 1.0, "exit_after_s": 60}, "flip"),),
                                         symbols=("ETH/USDT",), start=START, end=START + 4 * NS_PER_MIN,
                                         capital=10_000.0, sim=taker, venue=VENUE), tmp_path)
    sizes = [(f["side"], f["size"]) for f in result.fills.to_pylist()]
    assert sizes == [(1, 1.00100101), (-1, 1.0)]
    held = sum(r["qty"] for r in result.ledger.to_pylist())
    assert held == pytest.approx(0.00000000899, abs=1e-14)
    trades = result.trades.to_pylist()
    assert [(t["closed"], t["exit_price"]) for t in trades] == [(True, 2010.0)]
    # exposure: the grid is 00:01 .. 00:04 (the last trade is at 00:03:10); the position is read
    # strictly before each point: 1 ETH at 00:01, the dust from 00:02 on (flat): 1 of 4 minutes
    assert row(result, "flip")["exposure"] == pytest.approx(0.25)


# -- the equity grid ----------------------------------------------------------------------------------
class BarHold(Strategy):
    """Sets one target (`size`) on the first bar it may trade on."""

    size = Param(1.0, low=0.0, high=1000.0)
    bar_interval = "1m"

    def on_start(self, ctx: Context) -> None:
        super().on_start(ctx)
        self.done = False

    def on_bar(self, bar: Bar) -> None:
        if not self.done and self.ctx.trading:
            self.done = True
            self.ctx.set_target(self.size)


def test_bar_only_fill_at_the_minute_boundary_counts_after_it_no_false_drawdown(tmp_path: Path) -> None:
    # Four 1m bars (O, H, L, C): 100 flat; 101 -> 103; 103 -> 104; 104 flat. The strategy decides at
    # the first bar's release (T0+1m) and buys 99 at the next bar's open, 101, at exactly T0+1m.
    bars = [(100.0, 100.0, 100.0, 100.0), (101.0, 103.0, 101.0, 103.0), (103.0, 104.0, 103.0, 104.0),
            (104.0, 104.0, 104.0, 104.0)]
    rows = [{"ts_event": START + k * NS_PER_MIN, "open": o, "high": h, "low": lo, "close": c, "volume": 1e6,
             "interval": "1m"} for k, (o, h, lo, c) in enumerate(bars)]
    Lake.at(tmp_path).write("bars", VENUE, "ETH/USDT", pa.Table.from_pylist(rows))
    cfg = BacktestConfig(strategies=(StrategySpec(f"{__name__}:BarHold", {"size": 99.0}, "hold"),),
                         symbols=("ETH/USDT",), start=START, end=START + 4 * NS_PER_MIN, capital=10_000.0,
                         sim=NO_FEES, venue=VENUE)
    result = run_backtest(cfg, tmp_path)
    (fill,) = result.fills.to_pylist()
    assert (fill["ts"], fill["price"], fill["size"]) == (START + NS_PER_MIN, 101.0, 99.0)
    equity = [r["equity"] for r in result.equity.to_pylist() if r["series"] == "hold"]
    # T0+1m: the fill is not before T0+1m: 10,000 (before, the fill at 101 was marked at the close 100:
    # 10,000 - 9,999 + 9,900 = 9,901, a 0.99 % drawdown that never happened);
    # T0+2m: 10,000 - 9,999 + 99 x 103 = 10,198; T0+3m and T0+4m: 10,000 - 9,999 + 99 x 104 = 10,297
    assert equity == pytest.approx([10_000.0, 10_198.0, 10_297.0, 10_297.0])
    assert row(result, "hold")["max_drawdown"] == 0.0


PERP = "ETH/USDT:USDT"


def perp_lake(root: Path, mark_closes: list[float] | None, first_bar: int = 0) -> Path:
    """Trades 2,000 (0 s), 2,000 (1 s), 2,010 (110 s); funding 0.1 % at 150 s; 1m mark bars if given
    (the first opening `first_bar` minutes after START)."""
    write_trades(root, PERP, [(0, 2000.0), (1, 2000.0), (110, 2010.0)])
    lake = Lake.at(root)
    lake.write("funding", VENUE, PERP, pa.table({"ts_event": [START + 150 * S], "rate": [0.001]}))
    if mark_closes is not None:
        rows = [{"ts_event": START + k * NS_PER_MIN, "open": c, "high": c, "low": c, "close": c, "volume": 0.0,
                 "interval": "1m"} for k, c in enumerate(mark_closes, start=first_bar)]
        lake.write("mark", VENUE, PERP, pa.Table.from_pylist(rows))
    return root


def test_funding_after_the_last_trade_extends_the_grid_into_pnl(tmp_path: Path) -> None:
    result = run_backtest(hold(PERP, 1.0, 5), perp_lake(tmp_path, None))
    # marks: T0+1m 2,000, T0+2m 2,010; funding at T0+2m30s (no mark bars: at the last trade 2,010):
    # paid 1 x 2,010 x 0.1 % = 2.01, so the grid runs to T0+3m
    assert [r["ts"] for r in result.equity.to_pylist() if r["series"] == "hold"] == [
        START + k * NS_PER_MIN for k in (1, 2, 3)]
    stats = row(result, "hold")
    # 10,000 - 2,000 + 2,010 - 2.01 = 10,007.99: the funding is in the PnL, as in the funding figure
    assert (stats["pnl"], stats["funding_paid"]) == (pytest.approx(7.99), pytest.approx(2.01))
    assert result.config["marks"] == {PERP: "last trade"}


def test_perp_marked_at_mark_bar_closes_and_the_header_says_so(tmp_path: Path) -> None:
    # mark bars [0, 1m) 2,001, [1m, 2m) 2,012, [2m, 3m) 2,015, [3m, 4m) 2,020 (after the grid: unused)
    result = run_backtest(hold(PERP, 1.0, 5), perp_lake(tmp_path, [2001.0, 2012.0, 2015.0, 2020.0]))
    equity = [r["equity"] for r in result.equity.to_pylist() if r["series"] == "hold"]
    # bought 1 @ 2,000 at 1 s; funding at 150 s at the last complete mark bar's close 2,012: 2.012 paid
    # T0+1m: 10,000 - 2,000 + 2,001 = 10,001; T0+2m: + 2,012 -> 10,012; T0+3m: - 2.012 + 2,015 -> 10,012.988
    assert equity == pytest.approx([10_001.0, 10_012.0, 10_012.988])
    assert result.config["marks"] == {PERP: "mark bars"}
    assert "marks: mark bars" in summary_table(result)


# -- currencies ---------------------------------------------------------------------------------------
def test_two_currencies_reported_apart_and_added_in_usdt_through_the_lakes_conversion(tmp_path: Path) -> None:
    write_trades(tmp_path, "ETH/USDT", [(0, 2000.0), (1, 2000.0), (61, 2100.0)])
    write_trades(tmp_path, "XRP/ETH", [(0, 0.0005), (1, 0.0005), (61, 0.0006)])
    specs = (StrategySpec(HOLD, {"size": 1.0}, "eth", "ETH/USDT"),
             StrategySpec(HOLD, {"size": 100.0}, "xrp", "XRP/ETH"))
    cfg = BacktestConfig(strategies=specs, symbols=("ETH/USDT", "XRP/ETH"), start=START, end=START + 3 * NS_PER_MIN,
                         capital=10_000.0, sim=NO_FEES, venue=VENUE)
    result = run_backtest(cfg, tmp_path)
    assert (result.config["quote"], result.config["usdt_conversion"]) == ("mixed", "ETH/USDT (test)")
    rows = {r["series"]: r for r in result.stats.to_pylist()}
    # eth: 5,000 USDT, 1 ETH bought @ 2,000, marked 2,100: +100 USDT
    assert (rows["eth"]["currency"], rows["eth"]["pnl"]) == ("USDT", pytest.approx(100.0))
    # xrp: its 5,000 USDT are 2.5 ETH at ETH/USDT's 2,000 at the start; 100 XRP bought @ 0.0005 ETH
    # (0.05 ETH), marked 0.0006: +0.01 ETH, made in the minute ETH/USDT closed at 2,100: 21 USDT
    assert (rows["xrp"]["currency"], rows["xrp"]["capital"]) == ("ETH", pytest.approx(2.5))
    assert rows["xrp"]["pnl"] == pytest.approx(0.01)
    assert rows["xrp"]["pnl_usdt"] == pytest.approx(21.0)
    # the portfolio: per currency, and in USDT 100 + 21 = 121, never 100 + 0.01; its capital is the
    # 10,000 USDT given (2.5 ETH at the 2,000 they were converted at)
    assert rows["portfolio USDT"]["pnl"] == pytest.approx(100.0)
    assert rows["portfolio ETH"]["pnl"] == pytest.approx(0.01)
    assert (rows["portfolio"]["currency"], rows["portfolio"]["pnl"]) == ("USDT", pytest.approx(121.0))
    assert rows["portfolio"]["capital"] == pytest.approx(10_000.0)
    # buy-and-hold invests 2.5 ETH in XRP, not "5,000"
    assert rows["buy_and_hold ETH"]["capital"] == pytest.approx(2.5)


def test_a_currency_without_a_usdt_series_is_counted_one_to_one_with_a_warning(tmp_path: Path) -> None:
    write_trades(tmp_path, "XRP/ETH", [(0, 0.0005), (1, 0.0005), (61, 0.0006)])
    cfg = BacktestConfig(strategies=(StrategySpec(HOLD, {"size": 100.0}, "xrp"),), symbols=("XRP/ETH",), start=START,
                         end=START + 3 * NS_PER_MIN, capital=10.0, sim=NO_FEES, venue=VENUE)
    result = run_backtest(cfg, tmp_path)
    assert result.config["strategies"][0]["capital"] == 10.0
    assert result.config["warnings"] == [
        "strategy xrp: its capital of 10 USDT is counted as 10 ETH: the lake has no ETH/USDT trades around the "
        "start to convert it (okxbot data download ETH/USDT)"]
    # given in ETH, nothing to convert and nothing to warn about
    same = run_backtest(replace(cfg, capital_currency="ETH"), tmp_path)
    assert (same.config["strategies"][0]["capital"], same.config["warnings"]) == (10.0, [])


def test_perp_minutes_before_the_first_mark_bar_keep_the_last_trade(tmp_path: Path) -> None:
    # mark bars only from [1m, 2m) (2,012) and [2m, 3m) (2,015): T0+1m is marked at the last trade 2,000
    result = run_backtest(hold(PERP, 1.0, 5), perp_lake(tmp_path, [2012.0, 2015.0], first_bar=1))
    equity = [r["equity"] for r in result.equity.to_pylist() if r["series"] == "hold"]
    # 10,000 - 2,000 + 2,000; + 2,012 -> 10,012; funding 2.012 (mark 2,012) and 2,015 -> 10,012.988
    assert equity == pytest.approx([10_000.0, 10_012.0, 10_012.988])


def test_spot_fee_dust_on_large_holdings_keeps_the_engine_and_the_venue_equal(tmp_path: Path) -> None:
    # 20 million XRP at 0.0005 ETH, bought and sold four times with the fee paid in XRP: the dust left
    # is summed by the engine and the venue from the same numbers, so both hold exactly the same
    # (floats of this size carry ~4e-9 of rounding, more than the accounts check allows)
    from tests.engine.backtest.test_inverse_run import STEPS

    write_trades(tmp_path, "XRP/ETH", [(t, 0.0005 + (t % 3) * 1e-8) for t in range(40)])
    cfg = BacktestConfig(strategies=(StrategySpec(STEPS, {"plan": "1,0,1,0,1,0,1,0", "size": 2e7,
                                                          "size_unit": "base"}, "steps"),),
                         symbols=("XRP/ETH",), start=START, end=START + NS_PER_MIN, capital=1e9,
                         capital_currency="ETH", sim=SimConfig(maker_fee=0.0, taker_fee=0.001), venue=VENUE)
    result = run_backtest(cfg, tmp_path)  # raises if the engine's position differs from the venue's
    assert len(result.fills) == 8
    assert [(f["side"], f["size"] < 2.01e7) for f in result.fills.to_pylist()] == [(1, True), (-1, True)] * 4
    # what is left is dust: under one lot (1e-8) per round trip, give or take the floats' ~4e-9 at 2e7
    held = sum(r["qty"] for r in result.ledger.to_pylist())
    assert abs(held) < 4e-8
