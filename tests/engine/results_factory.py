"""Small hand-made backtest records shared by the results, stats, runs and report tests.

The scenario (ETH/USDT, two strategies, quote currency USDT), T0 = 2024-01-01 00:00 UTC:

- marks (minute ends): T0+1m 100, T0+2m 102, (T0+3m no trade: carries 102), T0+4m 99, T0+5m 101
- T0+10s   venue fill 0: buy 1.5 @ 100, fee 0.075, netted; ledger: a +1.0 (fee 0.05, cf -100.05),
                                                                 b +0.5 (fee 0.025, cf -50.025)
- T0+90s   internal cross @ 101: a -0.5 (cf +50.5), b +0.5 (cf -50.5), no fee
- T0+200s  venue fill 1: a sells 0.5 @ 102, fee 0.0255, cf +50.9745 (a is flat again)
- T0+240s  funding: b pays 0.1 (cf -0.1)
- T0+30s   skipped: b's target 0.0004 ETH is below one lot (nothing traded)

Capital: a 1000, b 500 (portfolio 1500).
"""

from __future__ import annotations

from typing import Any

from engine.model.time import NS_PER_MIN, NS_PER_S
from engine.results.build import BacktestResult, build_result, records_table
from engine.results.records import FILLS, LEDGER, MARKS, ORDERS, SKIPPED

T0 = 1_704_067_200 * NS_PER_S
M = NS_PER_MIN
SYMBOL = "ETH/USDT"


def config(**overrides: Any) -> dict[str, Any]:
    """A run config with strategies a (1000) and b (500)."""
    base: dict[str, Any] = {
        "strategies": [
            {"id": "a", "name": "rsi_mr", "params": {"period": 14}, "capital": 1000.0},
            {"id": "b", "name": "macd", "params": {}, "capital": 500.0},
        ],
        "symbols": [SYMBOL],
        "start": T0,
        "end": T0 + 5 * M,
        "fill_model": "taker",
        "latency_ns": 25_000_000,
        "venue": "okx",
    }
    return {**base, **overrides}


def ledger_row(
    seq: int,
    ts: int,
    sid: str,
    kind: str,
    qty: float,
    price: float,
    fee: float,
    cash_flow: float,
    symbol: str = SYMBOL,
    fill_seq: int = -1,
) -> dict[str, Any]:
    """One LEDGER row (`fill_seq`: the venue fill it allocates, -1 for none)."""
    return {
        "seq": seq,
        "ts": ts,
        "strategy_id": sid,
        "symbol": symbol,
        "kind": kind,
        "qty": qty,
        "price": price,
        "fee": fee,
        "cash_flow": cash_flow,
        "client_id": f"c{seq}",
        "fill_seq": fill_seq,
    }


def fill_row(
    seq: int, ts: int, side: int, price: float, size: float, fee: float, symbol: str = SYMBOL, strategy_id: str = ""
) -> dict[str, Any]:
    """One FILLS row."""
    return {
        "seq": seq,
        "ts": ts,
        "client_id": f"c{seq}",
        "strategy_id": strategy_id,
        "symbol": symbol,
        "side": side,
        "price": price,
        "size": size,
        "fee": fee,
        "liquidity": "taker",
        "trade_id": f"t{seq}",
        "event_seq": seq,
        "decide_seq": seq,
    }


def mark_row(ts: int, price: float, symbol: str = SYMBOL) -> dict[str, Any]:
    """One MARKS row."""
    return {"ts": ts, "symbol": symbol, "price": price}


def scenario_tables() -> dict[str, Any]:
    """orders, fills, ledger and marks of the scenario in the module docstring."""
    s = NS_PER_S
    ledger = records_table(
        LEDGER,
        [
            ledger_row(0, T0 + 10 * s, "a", "fill", 1.0, 100.0, 0.05, -100.05, fill_seq=0),
            ledger_row(1, T0 + 10 * s, "b", "fill", 0.5, 100.0, 0.025, -50.025, fill_seq=0),
            ledger_row(2, T0 + 90 * s, "a", "cross", -0.5, 101.0, 0.0, 50.5),
            ledger_row(3, T0 + 90 * s, "b", "cross", 0.5, 101.0, 0.0, -50.5),
            ledger_row(4, T0 + 200 * s, "a", "fill", -0.5, 102.0, 0.0255, 50.9745, fill_seq=1),
            ledger_row(5, T0 + 4 * M, "b", "funding", 0.0, 0.0, 0.0, -0.1),
        ],
    )
    fills = records_table(
        FILLS,
        [
            fill_row(0, T0 + 10 * s, 1, 100.0, 1.5, 0.075, strategy_id="a,b"),
            fill_row(1, T0 + 200 * s, -1, 102.0, 0.5, 0.0255, strategy_id="a"),
        ],
    )
    marks = records_table(
        MARKS,
        [
            mark_row(T0 + 1 * M, 100.0),
            mark_row(T0 + 2 * M, 102.0),
            mark_row(T0 + 4 * M, 99.0),
            mark_row(T0 + 5 * M, 101.0),
        ],
    )
    orders = records_table(
        ORDERS,
        [
            {
                "client_id": "c0",
                "strategy_id": "",
                "symbol": SYMBOL,
                "side": 1,
                "order_type": "market",
                "size": 1.5,
                "price": float("nan"),
                "ts_created": T0 + 9 * s,
                "decide_seq": 0,
                "status": "filled",
                "filled_size": 1.5,
                "avg_price": 100.0,
                "reason": "",
            },
        ],
    )
    skipped = records_table(SKIPPED, [{"ts": T0 + 30 * s, "strategy_id": "b", "symbol": SYMBOL, "kind": "target",
                                       "asked": 0.0004, "kept": 0.0, "reason": "below one lot"}])
    return {"orders": orders, "fills": fills, "ledger": ledger, "marks": marks, "skipped": skipped}


def scenario_result(
    run_id: str = "20240101T000500-0000aaaa", created_ns: int = T0 + 6 * M, **config_overrides: Any
) -> BacktestResult:
    """The scenario as a BacktestResult."""
    return build_result(
        run_id, config(**config_overrides), "0.1.0+test", "fp-scenario", created_ns=created_ns, **scenario_tables()
    )
