"""Arrow schemas of the lake's kinds. The README documents the same tables.

Every kind has `ts_event` (int64 ns UTC); trades and quotes also `ts_recv` (null when the source
did not record when the message arrived). Bars' `ts_event` is the bar's open time.
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

# Mark prices are stored as bars of their own kind.
KINDS: dict[str, pa.Schema] = {
    "trades": TRADES,
    "quotes": QUOTES,
    "bars": BARS,
    "mark": BARS,
    "funding": FUNDING,
}
