"""Run a backtest end to end: replay, check the invariants, derive results."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.backtest.config import BacktestConfig
from engine.backtest.data import DataSource
from engine.backtest.runner import Backtest
from engine.model.time import NS_PER_DAY, NS_PER_MIN
from engine.results.build import BacktestResult, build_result, minute_grid, new_run_id
from engine.results.records import FILLS, LEDGER, MARKS, ORDERS, SKIPPED
from engine.results.series import symbol_currency
from engine.store.lake import Lake


def run_backtest(cfg: BacktestConfig, data_root: str | Path | Lake,
                 on_window: Callable[[int, float], None] | None = None) -> BacktestResult:
    """Replay `cfg` over the lake under `data_root` (or that lake: a study's worker passes one that
    keeps its data in memory) and return the result (not yet saved).

    `on_window(end, pnl)`, when given, is called after each trading window (`DataSource.windows`: a
    UTC day of trades, up to 31 days of bars alone) with the window's end and `pnl_so_far`; an
    exception it raises stops the run (a study prunes a trial so)."""
    lake = data_root if isinstance(data_root, Lake) else Lake.at(data_root)
    perps = {s for s in cfg.symbols if ":" in s}
    source = DataSource(lake, cfg.venue, list(cfg.symbols), cfg.start, cfg.end, perps)
    bt = Backtest(cfg, source)
    bt.run(None if on_window is None else lambda end: on_window(end, pnl_so_far(bt)))
    check_accounts(bt)
    from engine.results.provenance import code_version

    config = cfg.to_json()
    record_params(config, bt)
    inverse = sorted(s for s, inst in bt.instruments.items() if inst.inverse)
    if inverse:  # valued as inverse contracts by the results (README "Inverse perpetuals")
        config["inverse"] = inverse
    config["events"] = bt.events
    config["lots"] = {s: i.lot_size * i.contract_value for s, i in bt.instruments.items()}
    record_capital(config, bt)
    config["warnings"] = bt.capital.warnings + [text for _ts, text in bt.engine.warnings]
    conversion = usdt_conversions(lake, cfg, config)
    ledger = pa.table(bt.engine.recorder.ledger_columns(), schema=LEDGER)
    marks = with_mark_bars(lake, cfg, config, marks_table(bt.marks), ledger)
    created = time.time_ns()
    return build_result(
        new_run_id(config, created),
        config,
        code_version(),
        source.fingerprint(bt.windows_start),
        pa.table(bt.engine.recorder.orders_columns(bt.engine.oms.orders()), schema=ORDERS),
        pa.table(bt.engine.recorder.fills_columns(), schema=FILLS),
        ledger,
        marks,
        created,
        conversion,
        pa.table(bt.engine.recorder.skipped_columns(), schema=SKIPPED),
    )


def pnl_so_far(bt: Backtest) -> float:
    """The account's equity less its capital, at the last trade prices, added over its currencies
    (unconverted: meaningful for symbols of one currency)."""
    return sum(bt.engine.equity(currency) - capital for currency, capital in bt.engine.money.capital.items())


def record_params(config: dict[str, Any], bt: Backtest) -> None:
    """Store each strategy's full parameter set as it ran: the typed values, defaults included."""
    for entry in config["strategies"]:
        entry["params"] = bt.strategies[entry["id"]].param_values()


def record_capital(config: dict[str, Any], bt: Backtest) -> None:
    """Each strategy's capital as it ran, in its own currency, and the rates it was converted at:
    config["capital_rates"] (USDT per unit, the start's) and config["capital_conversion"] (text)."""
    for entry in config["strategies"]:
        entry["capital"] = bt.capital.capitals[entry["id"]]
    if bt.capital.rates:
        config["capital_rates"] = dict(bt.capital.rates)
    if bt.capital.sources:
        config["capital_conversion"] = ", ".join(bt.capital.sources[c] for c in sorted(bt.capital.sources))


def usdt_conversions(lake: Lake, cfg: BacktestConfig, config: dict[str, object]) -> dict[str, pa.Table]:
    """Minute marks (ts, price) of CURRENCY/USDT for each currency of the symbols other than USDT that
    the lake has trades of (on the run's venue first, else any).

    Sets config["quote"] (the one currency, or "mixed", with config["currencies"] listing them) and,
    when a series is found, config["usdt_conversion"] ('ETH/USDT (binance)', comma-separated).
    """
    currencies = sorted({symbol_currency(s) for s in cfg.symbols})
    config["quote"] = currencies[0] if len(currencies) == 1 else "mixed"
    if len(currencies) > 1:
        config["currencies"] = currencies
    found: dict[str, pa.Table] = {}
    names = []
    for currency in (c for c in currencies if c != "USDT"):
        symbol = f"{currency}/USDT"
        for venue in [cfg.venue, *(v for v in lake.venues("trades", symbol) if v != cfg.venue)]:
            table = lake.read("trades", venue, symbol, cfg.start - NS_PER_DAY, cfg.end, ["ts_event", "price"])
            if table.num_rows:
                names.append(f"{symbol} ({venue})")
                ts = table.column("ts_event").to_numpy()
                minute = ts // NS_PER_MIN
                last = np.flatnonzero(np.r_[minute[1:] != minute[:-1], True])
                found[currency] = pa.table({"ts": (minute[last] + 1) * NS_PER_MIN,
                                            "price": table.column("price").to_numpy()[last]})
                break
    if names:
        config["usdt_conversion"] = ", ".join(names)
    return found


def with_mark_bars(lake: Lake, cfg: BacktestConfig, config: dict[str, Any], marks: pa.Table,
                   ledger: pa.Table) -> pa.Table:
    """`marks` with each perpetual's prices replaced by the closes of the lake's 1-minute mark bars
    ending on the equity grid, where it has them (README "How money is counted"); minutes before
    the first or after the last mark bar keep the last trade.

    Sets config["marks"]: per symbol, "mark bars" or "last trade".
    """
    grid = minute_grid(np.asarray(marks.column("ts").to_numpy(), dtype=np.int64),
                       np.asarray(ledger.column("ts").to_numpy(), dtype=np.int64))
    sources = {s: "last trade" for s in cfg.symbols}
    if grid.size == 0:
        config["marks"] = sources
        return marks
    parts = [marks]
    for symbol in (s for s in cfg.symbols if ":" in s):
        # a bar opening in [first - 1m, last - 1m] ends on the grid
        bars = lake.read("mark", cfg.venue, symbol, int(grid[0]) - NS_PER_MIN, int(grid[-1]), ["ts_event", "close"],
                         interval="1m")
        if bars.num_rows:
            sources[symbol] = "mark bars"
            ends = np.asarray(bars.column("ts_event").to_numpy(), dtype=np.int64) + NS_PER_MIN
            # the trades still mark the minutes before the first mark bar and after the last one
            ts = parts[0].column("ts")
            inside = pc.and_(pc.greater_equal(ts, int(ends.min())), pc.less_equal(ts, int(ends.max())))
            parts[0] = parts[0].filter(pc.invert(pc.and_(pc.equal(parts[0].column("symbol"), symbol), inside)))
            parts.append(pa.table({"ts": ends, "symbol": [symbol] * len(ends),
                                   "price": bars.column("close").to_numpy()}, schema=MARKS))
    config["marks"] = sources
    if len(parts) == 1:
        return marks
    table = pa.concat_tables(parts)
    return table.take(pc.sort_indices(table, [("ts", "ascending"), ("symbol", "ascending")]))


def check_accounts(bt: Backtest) -> None:
    """The invariants every run must keep: sub-ledgers sum to the account, which equals the venue's."""
    marks = {s: bt.last_price(s) for s in bt.symbols}
    bt.engine.portfolio.check_invariant({s: p for s, p in marks.items() if math.isfinite(p)})
    for symbol in bt.symbols:
        ours = bt.engine.portfolio.position(symbol)
        venue = bt.venue.positions.get(symbol, 0.0)
        if abs(ours - venue) > 1e-9 * max(1.0, abs(venue)):
            raise AssertionError(f"{symbol}: engine position {ours} differs from the venue's {venue}")


def marks_table(marks: list[tuple[np.ndarray, str, np.ndarray]]) -> pa.Table:
    """Minute marks of every symbol, in time order (engine/results/records.py MARKS)."""
    if not marks:
        return MARKS.empty_table()
    ts = np.concatenate([m[0] for m in marks])
    price = np.concatenate([m[2] for m in marks])
    names = sorted({m[1] for m in marks})
    code = np.concatenate([np.full(len(m[0]), names.index(m[1]), dtype=np.int32) for m in marks])
    order = np.lexsort((code, ts))  # by time, then symbol name
    symbol = pa.DictionaryArray.from_arrays(code[order], pa.array(names, pa.string())).cast(pa.string())
    return pa.table({"ts": ts[order], "symbol": symbol, "price": price[order]}, schema=MARKS)
