"""Quotes from book rows: the best bid and ask after each message, in receive order.

A message is the rows sharing (`ts_recv`, `recv_seq`). A snapshot message replaces the book, an
update changes its levels (size 0 removes one). A quote is emitted after each message that leaves
both sides non-empty, not crossed, and a top of book different from the last one emitted.
"""

from __future__ import annotations

import heapq

import numpy as np
import pyarrow as pa

from engine.store.rows import receive_order
from engine.store.schema import QUOTES


class _Side:
    """One side's levels, with a heap of prices for the best one (stale entries skipped)."""

    def __init__(self, sign: float) -> None:
        self.sign = sign  # -1 for bids: the heap's smallest key is the highest price
        self.levels: dict[float, float] = {}
        self.heap: list[float] = []

    def set(self, price: float, size: float) -> None:
        if size > 0:
            if price not in self.levels:
                heapq.heappush(self.heap, self.sign * price)
            self.levels[price] = size
        else:
            self.levels.pop(price, None)

    def best(self) -> tuple[float, float] | None:
        while self.heap:
            price = self.sign * self.heap[0]
            if price in self.levels:
                return price, self.levels[price]
            heapq.heappop(self.heap)
        return None

    def clear(self) -> None:
        self.levels.clear()
        self.heap.clear()


def quotes_from_books(books: pa.Table) -> pa.Table:
    """Top-of-book quotes (the `quotes` kind's columns) of book rows of one symbol."""
    if not books.num_rows:
        return QUOTES.empty_table()
    table = receive_order(books)
    recv, seq = table["ts_recv"].to_numpy(), table["recv_seq"].to_numpy()
    event, side = table["ts_event"].to_numpy(), table["side"].to_numpy()
    price, size = table["price"].to_numpy(), table["size"].to_numpy()
    snapshot = np.asarray(table["action"].to_numpy(zero_copy_only=False) == "snapshot")
    ends = [*np.flatnonzero((recv[1:] != recv[:-1]) | (seq[1:] != seq[:-1])).tolist(), len(recv) - 1]
    bids, asks = _Side(-1.0), _Side(1.0)
    out: list[tuple[int, int, float, float, float, float]] = []
    last: tuple[float, float, float, float] | None = None
    start = 0
    for end in ends:
        if snapshot[start]:
            bids.clear()
            asks.clear()
        for i in range(start, end + 1):
            (bids if side[i] > 0 else asks).set(float(price[i]), float(size[i]))
        bid, ask = bids.best(), asks.best()
        if bid is not None and ask is not None and bid[0] < ask[0] and (top := (*bid, *ask)) != last:
            out.append((int(event[end]), int(recv[end]), top[0], top[2], top[1], top[3]))
            last = top
        start = end + 1
    columns: list[tuple[float, ...]] = list(zip(*out, strict=True)) if out else [() for _ in range(6)]
    return pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(columns, QUOTES, strict=True)], schema=QUOTES)
