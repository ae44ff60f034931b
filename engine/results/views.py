"""The trades list and the fills with their split among strategies, as rows of text cells.

The HTML report and `okxbot runs show --trades / --fills` show the same cells.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from engine.results.series import symbol_currency
from engine.results.summary import format_cell, format_duration, format_ns, money_decimals

TRADE_HEADERS = [
    "strategy", "#", "symbol", "side", "entry time", "exit time", "duration", "size",
    "entry", "exit", "pnl", "fees", "funding paid", "status",
]
FILL_HEADERS = ["seq", "time", "symbol", "side", "price", "size", "fee", "liquidity", "strategies: share"]
TRADE_TEXT_COLUMNS = ("strategy", "symbol", "side", "entry time", "exit time", "status")
FILL_TEXT_COLUMNS = ("time", "symbol", "side", "liquidity", "strategies: share")


def number(value: Any) -> str:
    """A price, size or amount with up to 8 significant digits ('-' for NaN or None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{float(value):.8g}"
    return "0" if text == "-0" else text


def signed(value: float) -> str:
    """A quantity with its sign: '+1.5', '-0.5'."""
    text = number(value)
    return text if text.startswith("-") else "+" + text


def trade_rows(trades: pa.Table, limit: int | None = None) -> list[list[str]]:
    """TRADE_HEADERS cells of the first `limit` trades (all by default)."""
    shown = trades if limit is None else trades.slice(0, limit)
    return [
        [
            t["strategy_id"], str(t["trip"]), t["symbol"], "long" if t["side"] > 0 else "short",
            format_ns(t["entry_ts"]), format_ns(t["exit_ts"]), format_duration(t["duration_s"]),
            number(t["size"]), number(t["entry_price"]), number(t["exit_price"]),
            *(format_cell(t[f], "money", money_decimals(symbol_currency(t["symbol"])))
              for f in ("pnl", "fees", "funding_paid")),
            "closed" if t["closed"] else "open",
        ]
        for t in shown.to_pylist()
    ]


def allocation_text(shares: Sequence[Mapping[str, Any]]) -> str:
    """A fill's split: 'a +1 (fee 0.05), b +0.5 (fee 0.025); crossed a +0.5, b -0.5'.

    The fee of each share is named only when the fill is shared (alone, a strategy pays all of it).
    """
    fill_rows = [s for s in shares if s["kind"] == "fill"]
    fills = [
        f"{s['strategy_id']} {signed(s['qty'])}" + (f" (fee {number(s['fee'])})" if len(fill_rows) > 1 else "")
        for s in fill_rows
    ]
    crosses = [f"{s['strategy_id']} {signed(s['qty'])}" for s in shares if s["kind"] == "cross"]
    text = ", ".join(fills)
    return text + (f"; crossed {', '.join(crosses)}" if crosses else "")


def allocations_by_fill(allocations: pa.Table) -> dict[int, list[dict[str, Any]]]:
    """The allocation rows of each fill seq, in ledger order."""
    out: dict[int, list[dict[str, Any]]] = {}
    for row in allocations.to_pylist():
        out.setdefault(row["fill_seq"], []).append(row)
    return out


def fill_rows(fills: pa.Table, allocations: pa.Table, limit: int | None = None) -> list[list[str]]:
    """FILL_HEADERS cells of the first `limit` fills (all by default), each with its split."""
    split = allocations_by_fill(allocations)
    shown = fills if limit is None else fills.slice(0, limit)
    return [
        [
            str(f["seq"]), format_ns(f["ts"]), f["symbol"] or "", "buy" if (f["side"] or 0) > 0 else "sell",
            number(f["price"]), number(f["size"]), number(f["fee"]), f["liquidity"] or "",
            allocation_text(split.get(f["seq"], [])) or f["strategy_id"] or "",
        ]
        for f in shown.to_pylist()
    ]
