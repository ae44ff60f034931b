"""Builders of lake tables for the store's tests."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from engine.model.time import NS_PER_DAY, NS_PER_S

DAY0 = 19_723 * NS_PER_DAY  # 2024-01-01T00:00:00Z


def trades(
    ts: Sequence[int],
    ids: Sequence[str | None] | None = None,
    price: Sequence[float] | None = None,
    size: Sequence[float] | None = None,
    side: Sequence[int] | None = None,
    recv: Sequence[int | None] | None = None,
) -> pa.Table:
    """A trades table; ids default to '1', '2', ..., prices to 100 + i, sizes to 1, sides to +1."""
    n = len(ts)
    return pa.table(
        {
            "ts_event": pa.array(ts, pa.int64()),
            "ts_recv": pa.array(recv if recv is not None else [None] * n, pa.int64()),
            "trade_id": pa.array(ids if ids is not None else [str(i + 1) for i in range(n)], pa.string()),
            "price": pa.array(price if price is not None else [100.0 + i for i in range(n)], pa.float64()),
            "size": pa.array(size if size is not None else [1.0] * n, pa.float64()),
            "side": pa.array(side if side is not None else [1] * n, pa.int8()),
        }
    )


def bars(ts: Sequence[int], close: Sequence[float], volume: Sequence[float], interval: str = "1m") -> pa.Table:
    """Bars with open = low = close - 1 and high = close + 1."""
    return pa.table(
        {
            "ts_event": pa.array(ts, pa.int64()),
            "open": [c - 1 for c in close],
            "high": [c + 1 for c in close],
            "low": [c - 1 for c in close],
            "close": list(close),
            "volume": list(volume),
            "interval": [interval] * len(ts),
        }
    )


def seconds(*values: float) -> list[int]:
    """ns times of seconds after DAY0."""
    return [DAY0 + int(v * NS_PER_S) for v in values]


def book_rows(
    recv: Sequence[int],
    seq: Sequence[int],
    side: Sequence[int],
    price: Sequence[float],
    size: Sequence[float],
    action: str = "update",
) -> pa.Table:
    """Book level changes; ts_event = ts_recv - 1 ms, seq_id = recv_seq + 100."""
    n = len(recv)
    return pa.table(
        {
            "ts_event": pa.array([r - 1_000_000 for r in recv], pa.int64()),
            "ts_recv": pa.array(recv, pa.int64()),
            "recv_seq": pa.array(seq, pa.int64()),
            "seq_id": pa.array([s + 100 for s in seq], pa.int64()),
            "prev_seq_id": pa.array([s + 99 for s in seq], pa.int64()),
            "action": [action] * n,
            "side": pa.array(side, pa.int8()),
            "price": pa.array(price, pa.float64()),
            "size": pa.array(size, pa.float64()),
            "n_orders": pa.array([1] * n, pa.int64()),
            "checksum": pa.array([None] * n, pa.int64()),
        }
    )


def gap_rows(start: Sequence[int], end: Sequence[int], channel: str = "books", reason: str = "disconnect") -> pa.Table:
    """Recorded gaps of one channel and reason."""
    return pa.table(
        {
            "ts_event": pa.array(start, pa.int64()),
            "ts_end": pa.array(end, pa.int64()),
            "channel": [channel] * len(start),
            "reason": [reason] * len(start),
        }
    )


def instrument_row(fetched: int, tick: float = 0.01, lot: float = 1.0, ct_val: float | None = 0.1) -> pa.Table:
    """One fetch of ETH-USDT-SWAP's metadata."""
    return pa.table(
        {
            "ts_event": pa.array([fetched], pa.int64()),
            "inst_id": ["ETH-USDT-SWAP"],
            "inst_id_code": pa.array([10459], pa.int64()),
            "inst_type": ["SWAP"],
            "tick_size": [tick],
            "lot_size": [lot],
            "min_size": [lot],
            "contract_value": pa.array([ct_val], pa.float64()),
            "state": ["live"],
        }
    )
