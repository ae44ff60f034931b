"""README "How fills work" through the whole backtester, on tiny hand-written lakes: an aggressor's
sweep is one event, quotes feed fills with no strategy listening, equal receive times never depend
on the order of --symbol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.model.events import Trade
from engine.model.time import NS_PER_MS, to_ns
from engine.store.lake import Lake
from engine.trading.strategy import Param, Strategy

T = to_ns("2024-01-01T00:00Z")
ETH, BTC = "ETH/USDT:USDT", "BTC/USDT:USDT"


class BuyOnPrint(Strategy):
    """Sets a target of `size` on its symbol's `at`-th print."""

    name = "test_buy_on_print"
    at = Param(1, low=1)
    size = Param(1.0, low=-100.0, high=100.0)

    def reset(self) -> None:
        self.seen = 0

    def on_tick(self, tick: Trade) -> None:
        self.seen += 1
        if self.seen == self.at:
            self.ctx.set_target(self.size)


def _trades(root: Path, symbol: str, rows: list[tuple[int, float, float, int, str]]) -> None:
    """Prints (ms after T, price, size, taker side, id), ts_recv = ts_event + 1 ms."""
    table = pa.Table.from_pylist([
        {"ts_event": T + ms * NS_PER_MS, "ts_recv": T + (ms + 1) * NS_PER_MS, "trade_id": tid, "price": price,
         "size": size, "side": side} for ms, price, size, side, tid in rows])
    Lake.at(root).write("trades", "test", symbol, table)


def _run(root: Path, specs: tuple[StrategySpec, ...], symbols: tuple[str, ...], **kw: Any) -> list[dict[str, Any]]:
    cfg = BacktestConfig(strategies=specs, symbols=symbols, start=T, end=T + 10_000 * NS_PER_MS, venue="test",
                         warmup=False, **kw)
    return run_backtest(cfg, root).fills.to_pylist()


def test_an_order_decided_on_a_sweep_cannot_fill_on_the_rest_of_it(data_root: Path) -> None:
    # one seller sweeps 100, 99.9, 99.8 at 1000 ms; a buy decided on the sweep's first print fills on
    # the next print that is not part of it: 100.1 at 2000 ms
    _trades(data_root, ETH, [(500, 100.0, 1.0, 1, "a"), (1000, 100.0, 1.0, -1, "s1"), (1000, 99.9, 1.0, -1, "s2"),
                             (1000, 99.8, 1.0, -1, "s3"), (2000, 100.1, 1.0, 1, "b")])
    spec = StrategySpec("test_buy_on_print", {"at": 2})
    (fill,) = _run(data_root, (spec,), (ETH,))
    assert (fill["price"], fill["trade_id"], fill["liquidity"]) == (100.1, "b", "taker")


def test_a_buyer_after_a_sellers_sweep_at_the_same_time_is_another_aggressor(data_root: Path) -> None:
    # same ms, other taker side: not the same sweep, so it can be filled on
    _trades(data_root, ETH, [(1000, 100.0, 1.0, -1, "s1"), (1000, 100.2, 1.0, 1, "x"), (2000, 100.1, 1.0, 1, "b")])
    (fill,) = _run(data_root, (StrategySpec("test_buy_on_print", {"at": 1}),), (ETH,))
    assert (fill["price"], fill["trade_id"]) == (100.2, "x")


def test_quotes_feed_fills_without_a_strategy_listening(data_root: Path) -> None:
    # a quote 99.9 / 100.1 received at 1500 ms; a buy decided on the print at 2000 ms takes the ask,
    # 100.1, at 2001 ms (its decision time: ts_recv), before the next print at 100.5
    _trades(data_root, ETH, [(1000, 100.0, 1.0, 1, "a"), (2000, 100.0, 1.0, -1, "d"), (3000, 100.5, 1.0, 1, "n")])
    quotes = pa.table({"ts_event": [T + 1499 * NS_PER_MS], "ts_recv": [T + 1500 * NS_PER_MS], "bid": [99.9],
                       "ask": [100.1], "bid_size": [5.0], "ask_size": [5.0]})
    Lake.at(data_root).write("quotes", "test", ETH, quotes)
    (fill,) = _run(data_root, (StrategySpec("test_buy_on_print", {"at": 2}),), (ETH,))
    assert (fill["price"], fill["ts"], fill["trade_id"]) == (100.1, T + 2001 * NS_PER_MS, "")


def test_a_stale_or_overtaken_quote_is_no_book(data_root: Path) -> None:
    # the same quote, but a print at 100.3 (above its ask) came after it: the buy takes the next print
    _trades(data_root, ETH, [(1000, 100.0, 1.0, 1, "a"), (1800, 100.3, 1.0, 1, "o"), (2000, 100.0, 1.0, -1, "d"),
                             (3000, 100.5, 1.0, 1, "n")])
    quotes = pa.table({"ts_event": [T + 1499 * NS_PER_MS], "ts_recv": [T + 1500 * NS_PER_MS], "bid": [99.9],
                       "ask": [100.1], "bid_size": [5.0], "ask_size": [5.0]})
    Lake.at(data_root).write("quotes", "test", ETH, quotes)
    (fill,) = _run(data_root, (StrategySpec("test_buy_on_print", {"at": 3}),), (ETH,))
    assert (fill["price"], fill["trade_id"]) == (100.5, "n")


def test_equal_receive_times_do_not_depend_on_the_order_of_symbols(data_root: Path) -> None:
    # ETH and BTC print at the same instants; each strategy buys on its symbol's first print
    _trades(data_root, ETH, [(1000, 100.0, 1.0, 1, "e1"), (2000, 101.0, 1.0, 1, "e2"), (3000, 102.0, 1.0, 1, "e3")])
    _trades(data_root, BTC, [(1000, 900.0, 1.0, 1, "b1"), (2000, 901.0, 1.0, 1, "b2"), (3000, 902.0, 1.0, 1, "b3")])
    specs = (StrategySpec("test_buy_on_print", {"at": 1}, "eth", ETH),
             StrategySpec("test_buy_on_print", {"at": 1}, "btc", BTC))
    keys = ("ts", "symbol", "price", "trade_id", "event_seq", "decide_seq")
    one = [tuple(f[k] for k in keys) for f in _run(data_root, specs, (ETH, BTC))]
    two = [tuple(f[k] for k in keys) for f in _run(data_root, specs, (BTC, ETH))]
    assert one == two and [f[3] for f in one] == ["b2", "e2"]  # BTC sorts before ETH at equal times
