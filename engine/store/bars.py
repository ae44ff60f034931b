"""OHLCV bars from trades: a numpy kernel for the backtester and a DuckDB query over the lake.

Bars are aligned to multiples of the interval since the epoch (UTC), keyed by open time, and
only non-empty intervals produce a bar; `ffill_bars` adds freqtrade's rows for the empty ones.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from engine.model.errors import UserError
from engine.model.time import interval_ns as parse_interval
from engine.store.lake import Lake
from engine.store.schema import BARS

BAR_KEYS = ("ts_event", "open", "high", "low", "close", "volume")


def bars_from_arrays(
    ts_event: np.ndarray, price: np.ndarray, size: np.ndarray, interval_ns: int
) -> dict[str, np.ndarray]:
    """Bars of trades in time order: open = first, close = last trade of each non-empty interval.

    Trades out of time order are first put in order of their bucket (stably, so ties keep the
    given order).
    """
    ts = np.asarray(ts_event, dtype=np.int64)
    price = np.asarray(price, dtype=np.float64)
    size = np.asarray(size, dtype=np.float64)
    if not len(ts):
        return {key: np.empty(0, dtype=np.int64 if key == "ts_event" else np.float64) for key in BAR_KEYS}
    bucket = np.floor_divide(ts, interval_ns)
    step = bucket[1:] != bucket[:-1]
    if (bucket[1:] < bucket[:-1]).any():
        order = np.argsort(bucket, kind="stable")
        bucket, price, size = bucket[order], price[order], size[order]
        step = bucket[1:] != bucket[:-1]
    starts = np.concatenate(([0], np.flatnonzero(step) + 1))
    ends = np.concatenate((starts[1:], [len(ts)]))
    return {
        "ts_event": bucket[starts] * interval_ns,
        "open": price[starts],
        "high": np.maximum.reduceat(price, starts),
        "low": np.minimum.reduceat(price, starts),
        "close": price[ends - 1],
        "volume": np.add.reduceat(size, starts),
    }


def ffill_bars(bars: dict[str, np.ndarray], interval_ns: int) -> dict[str, np.ndarray]:
    """Every interval from the first bar to the last; empty ones are O=H=L=C=previous close, volume 0."""
    ts = np.asarray(bars["ts_event"], dtype=np.int64)
    if len(ts) < 2:
        return {key: np.asarray(bars[key]).copy() for key in BAR_KEYS}
    slot = (ts - ts[0]) // interval_ns
    count = int(slot[-1]) + 1
    present = np.zeros(count, dtype=bool)
    present[slot] = True
    # index of the latest real bar at or before each slot
    source = np.maximum.accumulate(np.where(present, np.cumsum(present) - 1, 0))
    close = np.asarray(bars["close"], dtype=np.float64)[source]
    out = {"ts_event": ts[0] + np.arange(count, dtype=np.int64) * interval_ns, "close": close}
    for key in ("open", "high", "low"):
        values = close.copy()
        values[slot] = np.asarray(bars[key], dtype=np.float64)
        out[key] = values
    volume = np.zeros(count)
    volume[slot] = np.asarray(bars["volume"], dtype=np.float64)
    out["volume"] = volume
    return {key: out[key] for key in BAR_KEYS}


def bars_table(bars: dict[str, np.ndarray], interval: str) -> pa.Table:
    """Bars as a table of the lake's BARS schema."""
    columns = [pa.array(bars[key]) for key in BAR_KEYS]
    columns.append(pa.array([interval] * len(bars["ts_event"]), pa.string()))
    return pa.Table.from_arrays(columns, schema=BARS)


# Rows of one ts_event all sit in one file (one date), so (ts_event, row number in the file) is
# the lake's order: open and close are the first and last trade in it.
_QUERY = """
SELECT ts_event - ((ts_event % $n) + $n) % $n AS bucket,
       arg_min(price, (ts_event, file_row_number)) AS open,
       max(price) AS high,
       min(price) AS low,
       arg_max(price, (ts_event, file_row_number)) AS close,
       sum(size) AS volume
FROM read_parquet($files, file_row_number = true)
WHERE ts_event >= $start AND ts_event < $end
GROUP BY bucket
ORDER BY bucket
"""


def bars_from_lake(
    lake: Lake,
    venue: str,
    symbol: str,
    interval: str,
    start: int | None = None,
    end: int | None = None,
    fill: str | None = None,
) -> pa.Table:
    """Bars of the lake's trades, computed by DuckDB over the partition files; `fill="ffill"` fills gaps."""
    import duckdb

    step = parse_interval(interval)
    if fill not in (None, "ffill"):
        raise UserError(f"fill {fill!r} is not 'ffill' or none")
    files = [str(p) for p in lake.files("trades", venue, symbol, start, end)]
    if not files:
        return BARS.empty_table()
    if len(files) > len(lake.dates("trades", venue, symbol, start, end)):  # appended parts: de-duplicate
        table = lake.read("trades", venue, symbol, start, end, columns=["ts_event", "price", "size"])
        ts, price, size = (table[c].to_numpy() for c in ("ts_event", "price", "size"))
        bars = bars_from_arrays(ts, price, size, step)
        return bars_table(ffill_bars(bars, step) if fill == "ffill" else bars, interval)
    params = {
        "n": step,
        "files": files,
        "start": -(2**63) if start is None else start,
        "end": 2**63 - 1 if end is None else end,
    }
    with duckdb.connect() as con:
        result = con.sql(_QUERY, params=params).to_arrow_table()
    bars = {
        "ts_event": np.asarray(result["bucket"].to_numpy(), dtype=np.int64),
        **{key: np.asarray(result[key].to_numpy(), dtype=np.float64) for key in BAR_KEYS[1:]},
    }
    if fill == "ffill":
        bars = ffill_bars(bars, step)
    return bars_table(bars, interval)
