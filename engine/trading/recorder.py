"""Collects a session's orders, fills and ledger rows as they happen, and hands them over as columns.

The columns are plain lists keyed by the record schemas' names (`engine.results.records`), which
turn them into Arrow tables; the trading core itself stays free of Arrow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from engine.model.events import Fill

if TYPE_CHECKING:
    from engine.trading.oms import Order
    from engine.trading.portfolio import Allocation


class Skip(msgspec.Struct, frozen=True, gc=False):
    """A target or order the engine did not act on in full (engine/results/records.py SKIPPED)."""

    ts: int
    strategy_id: str  # the strategy; for an order, the strategies with a gap, comma-separated
    symbol: str
    kind: str  # "target" (below one lot) | "order" (below lot, minimum size or notional) | "spot_short"
    asked: float  # signed base currency: the target asked, or the size not ordered
    kept: float  # the target kept, or 0.0 for an order not sent
    reason: str


class Recorder:
    """Append-only columns of fills and ledger rows, plus the replay index each order was decided on.

    The engine books a venue fill's sub-ledger rows right after recording the fill, so the rows
    handed to `allocations` next belong to that fill: each ledger row keeps the index of its fill
    (-1 for funding and for crosses made outside a fill).
    """

    def __init__(self) -> None:
        self.decided: dict[str, int] = {}
        self.fills: list[tuple[Fill, str, int]] = []
        self.ledger: list[Allocation] = []
        self.ledger_fill: list[int] = []
        self.skipped: list[Skip] = []
        self._last_skip: dict[tuple[str, str], Skip] = {}
        self._awaiting = -1

    def order_decided(self, client_id: str, seq: int) -> None:
        """Remember on which replay event an order was decided."""
        self.decided[client_id] = seq

    def fill(self, fill: Fill, strategy_id: str, event_seq: int) -> None:
        """Record a venue fill (its owner strategy, '' for netted) and the event that filled it."""
        self.fills.append((fill, strategy_id, event_seq))
        self._awaiting = len(self.fills) - 1

    def allocations(self, rows: Iterable[Allocation]) -> None:
        """Record sub-ledger rows (those of the fill recorded just before, if one awaits them)."""
        booked = list(rows)
        self.ledger.extend(booked)
        self.ledger_fill.extend([self._awaiting] * len(booked))
        self._awaiting = -1

    def skip(self, row: Skip, key: str) -> None:
        """Record `row` unless the last one recorded under (kind, key) had the same strategies, asked and
        kept amounts (once per change; a reason that only restates a moved price is no change)."""
        last = self._last_skip.get((row.kind, key))
        if last is not None and (last.strategy_id, last.asked, last.kept) == (row.strategy_id, row.asked, row.kept):
            return
        self._last_skip[(row.kind, key)] = row
        self.skipped.append(row)

    @property
    def skipping(self) -> bool:
        """Whether anything skipped is remembered (so that `unskip` has something to forget)."""
        return bool(self._last_skip)

    def unskip(self, kind: str, key: str) -> None:
        """What was skipped under (kind, key) is acted on again: a new skip is a change."""
        self._last_skip.pop((kind, key), None)

    def skipped_columns(self) -> dict[str, list[Any]]:
        """Every skipped target and order in order, as the columns of records.SKIPPED."""
        rows = self.skipped
        return {
            "ts": [r.ts for r in rows],
            "strategy_id": [r.strategy_id for r in rows],
            "symbol": [r.symbol for r in rows],
            "kind": [r.kind for r in rows],
            "asked": [r.asked for r in rows],
            "kept": [r.kept for r in rows],
            "reason": [r.reason for r in rows],
        }

    def _fill_owners(self) -> list[str]:
        """Per fill: its order's strategy, or the strategies it was allocated to, comma-separated."""
        shares: dict[int, dict[str, None]] = {}
        for row, k in zip(self.ledger, self.ledger_fill, strict=True):
            if k >= 0 and row.kind == "fill":
                shares.setdefault(k, {})[row.strategy_id] = None
        return [owner or ",".join(shares.get(k, {})) for k, (_, owner, _) in enumerate(self.fills)]

    def orders_columns(self, orders: Iterable[Order]) -> dict[str, list[Any]]:
        """All orders with their final state, as the columns of records.ORDERS."""
        rows = list(orders)
        cols: dict[str, list[Any]] = {
            "client_id": [o.client_id for o in rows],
            "strategy_id": [o.strategy_id for o in rows],
            "symbol": [o.symbol for o in rows],
            "side": [int(o.side) for o in rows],
            "order_type": [o.order_type.value for o in rows],
            "size": [o.size for o in rows],
            "price": [o.price for o in rows],
            "ts_created": [o.ts_created for o in rows],
            "decide_seq": [self.decided.get(o.client_id, -1) for o in rows],
            "status": [o.status.value for o in rows],
            "filled_size": [o.filled_size for o in rows],
            "avg_price": [o.avg_price for o in rows],
            "reason": [o.reason for o in rows],
        }
        return cols

    def fills_columns(self) -> dict[str, list[Any]]:
        """Every venue fill in order, as the columns of records.FILLS."""
        f = self.fills
        cols: dict[str, list[Any]] = {
            "seq": list(range(len(f))),
            "ts": [x[0].ts for x in f],
            "client_id": [x[0].client_id for x in f],
            "strategy_id": self._fill_owners(),
            "symbol": [x[0].symbol for x in f],
            "side": [int(x[0].side) for x in f],
            "price": [x[0].price for x in f],
            "size": [x[0].size for x in f],
            "fee": [x[0].fee for x in f],
            "liquidity": [x[0].liquidity.value for x in f],
            "trade_id": [x[0].trade_id for x in f],
            "event_seq": [x[2] for x in f],
            "decide_seq": [self.decided.get(x[0].client_id, -1) for x in f],
            "fee_base": [x[0].fee_base for x in f],
        }
        return cols

    def ledger_columns(self) -> dict[str, list[Any]]:
        """Every sub-ledger row in order, as the columns of records.LEDGER."""
        rows = self.ledger
        cols: dict[str, list[Any]] = {
            "seq": list(range(len(rows))),
            "ts": [r.ts for r in rows],
            "strategy_id": [r.strategy_id for r in rows],
            "symbol": [r.symbol for r in rows],
            "kind": [r.kind for r in rows],
            "qty": [r.qty for r in rows],
            "price": [r.price for r in rows],
            "fee": [r.fee for r in rows],
            "cash_flow": [r.cash_flow for r in rows],
            "client_id": [r.client_id for r in rows],
            "fill_seq": list(self.ledger_fill),
        }
        return cols
