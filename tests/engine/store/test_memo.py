"""MemoLake: what it reads equals what the lake reads, and each partition is read from disk once."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from engine.model.time import NS_PER_DAY, to_ns
from engine.store.lake import Lake
from engine.store.memo import MemoLake

T0 = to_ns("2024-01-01")


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    rows = [{"ts_event": T0 + k * NS_PER_DAY // 4, "ts_recv": None, "trade_id": str(k), "price": 100.0 + k,
             "size": 1.0, "side": 1} for k in range(12)]  # three days, four trades a day
    Lake.at(tmp_path).write("trades", "v", "ETH/USDT", pa.Table.from_pylist(rows))
    return tmp_path


def test_memo_reads_equal_the_lakes_and_each_partition_is_read_once(root: Path) -> None:
    lake, memo = Lake.at(root), MemoLake.at(root)
    for start, end, columns in [(None, None, None), (T0 + NS_PER_DAY // 2, T0 + 2 * NS_PER_DAY, ["price"]),
                                (T0, T0 + 1, ["ts_event", "price"])]:
        assert memo.read("trades", "v", "ETH/USDT", start, end, columns).equals(
            lake.read("trades", "v", "ETH/USDT", start, end, columns))
    assert memo.tail("trades", "v", "ETH/USDT", T0 + 2 * NS_PER_DAY, 5).equals(
        lake.tail("trades", "v", "ETH/USDT", T0 + 2 * NS_PER_DAY, 5))
    assert memo.partitions_read == 3  # three days, however many reads
    assert memo.entries() == lake.entries()


def test_memo_refuses_writes(root: Path) -> None:
    with pytest.raises(RuntimeError, match="read-only"):
        MemoLake.at(root).write("trades", "v", "ETH/USDT", pa.table({}))
