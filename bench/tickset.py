"""A large, realistic trade tape for benchmarks, tiled from a real Binance recording.

The 9,757 BTCUSDT trades of `hftbacktest/spot_btcusdt_20240808.gz` (about six minutes) are
repeated: each tile starts 1 ms after the previous tile's last trade, its prices are scaled so it
opens at the previous tile's last price (rounded to the 0.01 tick), and its trade ids are offset
to stay unique. Rows are generated and written one UTC day at a time, so ten million trades never
sit in memory at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine.model.time import NS_PER_DAY, NS_PER_MS
from engine.store.formats import Options, Source, binance_ws
from engine.store.ingest import merge_reports
from engine.store.lake import Lake, WriteReport

RECORDING = Path("hftbacktest") / "spot_btcusdt_20240808.gz"
DECIMALS = 2  # prices stay on the 0.01 tick


@dataclass(frozen=True, slots=True)
class Tile:
    """The recording's trades in lake order, as arrays."""

    ts: np.ndarray
    recv: np.ndarray
    ids: np.ndarray
    price: np.ndarray
    size: np.ndarray
    side: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


def load_tile(shared_data: Path) -> Tile:
    """The recording's `@trade` messages, sorted by time then trade id."""
    parsed = binance_ws.parse(Source(shared_data / RECORDING), Options())
    table = next(b.table for b in parsed.batches if b.kind == "trades")
    ids = np.asarray(table["trade_id"].to_pylist(), dtype=np.int64)
    ts = table["ts_event"].to_numpy()
    order = np.lexsort([ids, ts])
    return Tile(
        ts[order],
        table["ts_recv"].to_numpy()[order],
        ids[order],
        table["price"].to_numpy()[order],
        table["size"].to_numpy()[order],
        table["side"].to_numpy()[order].astype(np.int8),
    )


def tile_offsets(tile: Tile, tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Per tile: the time shift (ns) and the price scale."""
    shift = np.arange(tiles, dtype=np.int64) * (int(tile.ts[-1] - tile.ts[0]) + NS_PER_MS)
    scale = np.empty(tiles)
    last = float(tile.price[0])
    for k in range(tiles):  # each scale depends on the previous tile's rounded last price
        scale[k] = last / tile.price[0]
        last = round(float(tile.price[-1]) * scale[k], DECIMALS)
    return shift, scale


def rows(tile: Tile, shift: np.ndarray, scale: np.ndarray, lo: int, hi: int) -> pa.Table:
    """Rows lo..hi of the tiled tape."""
    index = np.arange(lo, hi, dtype=np.int64)
    k, j = np.divmod(index, len(tile))
    id_span = int(tile.ids.max() - tile.ids.min()) + 1
    return pa.table(
        {
            "ts_event": tile.ts[j] + shift[k],
            "ts_recv": tile.recv[j] + shift[k],
            "trade_id": pa.array(tile.ids[j] + k * id_span).cast(pa.string()),
            "price": np.round(tile.price[j] * scale[k], DECIMALS),
            "size": tile.size[j],
            "side": tile.side[j],
        }
    )


def build_tickset(
    lake: Lake, shared_data: Path, n: int = 1_000_000, symbol: str = "BTC/USDT:USDT", venue: str = "bench"
) -> WriteReport:
    """Write `n` tiled trades into the lake, one UTC day per write."""
    tile = load_tile(Path(shared_data))
    tiles = -(-n // len(tile))
    shift, scale = tile_offsets(tile, tiles)
    day_rows = len(tile) * (NS_PER_DAY // int(shift[1] if tiles > 1 else NS_PER_DAY) + 2)
    reports = []
    lo = 0
    while lo < n:
        part = rows(tile, shift, scale, lo, min(n, lo + day_rows))
        ts = part["ts_event"].to_numpy()
        cut = int(np.searchsorted(ts, (ts[0] // NS_PER_DAY + 1) * NS_PER_DAY))
        reports.append(lake.write("trades", venue, symbol, part.slice(0, cut)))
        lo += cut
    return merge_reports(reports)[0]
