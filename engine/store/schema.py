"""Arrow schemas of the lake's kinds. The README documents the same tables.

Every kind has `ts_event` (int64 ns UTC); trades and quotes also `ts_recv` (null when the source
did not record when the message arrived). Bars' `ts_event` is the bar's open time. The kinds a
recorder writes (books, instruments, gaps) are in the same lake and follow the same rules.
"""

from __future__ import annotations

import pyarrow as pa

TRADES = pa.schema(
    [
        pa.field("ts_event", pa.int64(), nullable=False),
        pa.field("ts_recv", pa.int64()),
        pa.field("trade_id", pa.string()),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("size", pa.float64(), nullable=False),
        pa.field("side", pa.int8(), nullable=False),  # +1 buyer was taker, -1 seller was taker
    ]
)

QUOTES = pa.schema(
    [
        pa.field("ts_event", pa.int64(), nullable=False),
        pa.field("ts_recv", pa.int64()),
        pa.field("bid", pa.float64(), nullable=False),
        pa.field("ask", pa.float64(), nullable=False),
        pa.field("bid_size", pa.float64()),
        pa.field("ask_size", pa.float64()),
    ]
)

BARS = pa.schema(
    [
        pa.field("ts_event", pa.int64(), nullable=False),  # open time
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),
        pa.field("interval", pa.string(), nullable=False),
    ]
)

FUNDING = pa.schema(
    [
        pa.field("ts_event", pa.int64(), nullable=False),
        pa.field("rate", pa.float64(), nullable=False),
    ]
)

# One row per level change of an order book: a snapshot's levels, then each update's. Replay order
# is receive order, (ts_recv, recv_seq): ts_recv is forced non-decreasing by the recorder and
# recv_seq numbers the messages of one ts_recv; the rows of one message share both.
BOOKS = pa.schema(
    [
        pa.field("ts_event", pa.int64(), nullable=False),
        pa.field("ts_recv", pa.int64(), nullable=False),
        pa.field("recv_seq", pa.int64(), nullable=False),
        pa.field("seq_id", pa.int64()),  # the venue's sequence number of the message
        pa.field("prev_seq_id", pa.int64()),
        pa.field("action", pa.string(), nullable=False),  # 'snapshot' or 'update'
        pa.field("side", pa.int8(), nullable=False),  # +1 bid, -1 ask
        pa.field("price", pa.float64(), nullable=False),
        pa.field("size", pa.float64(), nullable=False),  # base currency; 0 removes the level
        pa.field("n_orders", pa.int64()),
        pa.field("checksum", pa.int64()),  # the venue's checksum of the book after the message
    ]
)
BOOK_ACTIONS = ("snapshot", "update")

# The venue's metadata of an instrument, one row per fetch (ts_event = when it was fetched).
# Sizes are in the venue's order-size unit: contracts for swaps and futures, base for spot.
INSTRUMENTS = pa.schema(
    [
        pa.field("ts_event", pa.int64(), nullable=False),
        pa.field("inst_id", pa.string(), nullable=False),  # OKX instId, e.g. ETH-USDT-SWAP
        pa.field("inst_id_code", pa.int64()),  # OKX instIdCode
        pa.field("inst_type", pa.string()),  # SPOT, SWAP, FUTURES, ...
        pa.field("tick_size", pa.float64(), nullable=False),
        pa.field("lot_size", pa.float64(), nullable=False),
        pa.field("min_size", pa.float64(), nullable=False),
        pa.field("contract_value", pa.float64()),  # ctVal; null for spot
        pa.field("state", pa.string()),  # live, suspend, preopen, ...
    ]
)

# Stretches a recorder knows it missed, in local receive time: from ts_event to ts_end.
GAPS = pa.schema(
    [
        pa.field("ts_event", pa.int64(), nullable=False),  # from
        pa.field("ts_end", pa.int64(), nullable=False),  # to
        pa.field("channel", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)
GAP_REASONS = ("disconnect", "sequence_break", "polling_fallback", "history_cap")

# Mark prices are stored as bars of their own kind.
KINDS: dict[str, pa.Schema] = {
    "trades": TRADES,
    "quotes": QUOTES,
    "bars": BARS,
    "mark": BARS,
    "funding": FUNDING,
    "books": BOOKS,
    "instruments": INSTRUMENTS,
    "gaps": GAPS,
}
