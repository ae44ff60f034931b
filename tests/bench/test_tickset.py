"""The tiled benchmark tick set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.tickset import build_tickset, load_tile
from engine.model.time import NS_PER_MS
from engine.store.lake import Lake

pytestmark = pytest.mark.shared_data


def test_tile_is_the_recordings_trades_in_order(shared_data: Path) -> None:
    tile = load_tile(shared_data)
    assert len(tile) == 9_757
    assert np.all(np.diff(tile.ts) >= 0) and len(np.unique(tile.ids)) == len(tile)


def test_tickset_tiles_join_in_time_price_and_ids(shared_data: Path, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    n = 25_000  # two whole tiles and part of a third
    report = build_tickset(lake, shared_data, n=n, symbol="BTC/USDT:USDT", venue="bench")
    assert (report.received, report.new_rows, report.rejected) == (n, n, {})
    table = lake.read("trades", "bench", "BTC/USDT:USDT")
    tile = load_tile(shared_data)
    size = len(tile)
    ts, recv = table["ts_event"].to_numpy(), table["ts_recv"].to_numpy()
    price = table["price"].to_numpy()
    ids = np.array(table["trade_id"].to_pylist(), dtype=np.int64)
    assert table.num_rows == n and len(np.unique(ids)) == n and np.all(np.diff(ts) >= 0)
    for boundary in (size, 2 * size):
        assert ts[boundary] - ts[boundary - 1] == NS_PER_MS
        assert price[boundary] == price[boundary - 1]
    # each tile repeats the recording's spacing, receive delays, sizes, sides and relative moves
    second = slice(size, 2 * size)
    assert np.array_equal(np.diff(ts[second]), np.diff(tile.ts))
    assert np.array_equal(recv[second] - ts[second], tile.recv - tile.ts)
    assert np.array_equal(table["size"].to_numpy()[second], tile.size)
    assert np.array_equal(table["side"].to_numpy()[second], tile.side)
    np.testing.assert_allclose(price[second] / price[size], tile.price / tile.price[0], rtol=1e-6)
    assert np.array_equal(ts[:size], tile.ts) and np.array_equal(price[:size], tile.price)
