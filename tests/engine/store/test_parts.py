"""Appended part files: reading every part, compaction, and writers that die mid-flush."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.model.time import NS_PER_DAY, NS_PER_MIN
from engine.store.bars import bars_from_lake
from engine.store.catalog import connect
from engine.store.lake import Lake
from engine.store.memo import MemoLake
from engine.store.parts import PART, part_files, remove_stale_temps, retry_vanished
from tests.engine.store.factories import DAY0, seconds, trades

SYM = "ETH/USDT"
REPO = Path(__file__).resolve().parents[3]


def _day_dir(lake: Lake, kind: str = "trades", day: str = "2024-01-01") -> Path:
    return lake.series_dir(kind, "okx", SYM) / f"date={day}"


def _appended(lake: Lake) -> Lake:
    """Three flushes of trades 1-3, 3-5 (3 again) and 6 on the next day."""
    lake.append("trades", "okx", SYM, trades(seconds(1, 2, 3), ids=["1", "2", "3"]))
    lake.append("trades", "okx", SYM, trades(seconds(3, 4, 5), ids=["3", "4", "5"], price=[102.0, 103.0, 104.0]))
    lake.append("trades", "okx", SYM, trades([DAY0 + NS_PER_DAY + 1], ids=["6"]))
    return lake


def test_append_writes_one_part_per_flush_and_partition(data_root: Path) -> None:
    lake = _appended(Lake.at(data_root))
    names = [p.name for p in part_files(_day_dir(lake))]
    assert len(names) == 2 and PART not in names
    assert all(n.startswith("part-") and n.endswith(f"-{os.getpid()}.parquet") for n in names)
    assert names == sorted(names)  # write order
    assert lake.dates("trades", "okx", SYM) == ["2024-01-01", "2024-01-02"]
    assert len(lake.files("trades", "okx", SYM)) == 3
    assert lake.entries() == [("trades", "okx", SYM)]


def test_read_merges_parts_once_per_row_in_time_order(data_root: Path) -> None:
    lake = _appended(Lake.at(data_root))
    table = lake.read("trades", "okx", SYM)
    assert table["trade_id"].to_pylist() == ["1", "2", "3", "4", "5", "6"]
    assert table["price"].to_pylist() == [100.0, 101.0, 102.0, 103.0, 104.0, 100.0]
    assert lake.read("trades", "okx", SYM, seconds(2)[0], seconds(5)[0], ["price"]).num_rows == 3
    assert lake.tail("trades", "okx", SYM, seconds(5)[0], 2)["trade_id"].to_pylist() == ["3", "4"]


def test_append_reports_the_batchs_distinct_and_rejected_rows(data_root: Path) -> None:
    report = Lake.at(data_root).append(
        "trades", "okx", SYM, trades(seconds(1, 1, 2), ids=["1", "1", "2"], price=[1.0, 1.0, -1.0])
    )
    assert (report.received, report.new_rows, report.duplicates, report.rejected) == (3, 1, 1, {"price_nonpositive": 1})


def test_compaction_leaves_one_file_equal_to_a_write_of_the_union(data_root: Path, tmp_path: Path) -> None:
    lake = _appended(Lake.at(data_root))
    before = lake.read("trades", "okx", SYM)
    assert lake.compact("trades", "okx", SYM) == 2
    assert [p.name for p in part_files(_day_dir(lake))] == [PART]
    assert lake.read("trades", "okx", SYM).equals(before)
    written = Lake(tmp_path / "other")
    written.write("trades", "okx", SYM, before)
    for day in ("2024-01-01", "2024-01-02"):
        assert (_day_dir(lake, day=day) / PART).read_bytes() == (_day_dir(written, day=day) / PART).read_bytes()
    assert lake.compact("trades", "okx", SYM) == 0


def test_compaction_keeps_the_merged_file_when_appends_add_nothing_new(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "okx", SYM, trades(seconds(1, 2)))
    merged = (_day_dir(lake) / PART).read_bytes()
    lake.append("trades", "okx", SYM, trades(seconds(2), ids=["2"], price=[101.0]))
    assert lake.compact("trades", "okx", SYM) == 1
    assert (_day_dir(lake) / PART).read_bytes() == merged
    assert part_files(_day_dir(lake)) == [_day_dir(lake) / PART]


def test_a_crash_between_rename_and_unlink_reads_every_row_once(data_root: Path, tmp_path: Path) -> None:
    lake = _appended(Lake.at(data_root))
    before = lake.read("trades", "okx", SYM)
    parts = part_files(_day_dir(lake))
    saved = [shutil.copy(p, tmp_path / p.name) for p in parts]
    lake.compact("trades", "okx", SYM)
    for copy, original in zip(saved, parts, strict=True):  # the merged file renamed, the parts not yet gone
        shutil.copy(copy, original)
    assert len(part_files(_day_dir(lake))) == 3
    assert lake.read("trades", "okx", SYM).equals(before)
    lake.compact("trades", "okx", SYM)
    assert lake.read("trades", "okx", SYM).equals(before)
    assert len(part_files(_day_dir(lake))) == 1


def test_write_into_appended_parts_counts_new_rows_against_every_part(data_root: Path) -> None:
    lake = _appended(Lake.at(data_root))
    report = lake.write("trades", "okx", SYM, trades(seconds(5, 6), ids=["5", "7"], price=[104.0, 1.0]))
    assert (report.new_rows, report.duplicates) == (1, 1)
    assert [p.name for p in part_files(_day_dir(lake))] == [PART]
    assert lake.read("trades", "okx", SYM)["trade_id"].to_pylist() == ["1", "2", "3", "4", "5", "7", "6"]


def _temp(day_dir: Path, pid: int) -> Path:
    path = day_dir / f".part-123-{pid}.parquet.{pid}.{uuid.uuid4().hex}.tmp"
    path.write_bytes(b"PAR1 half a file")
    return path


def test_a_dead_writers_temporary_file_is_ignored_then_removed(data_root: Path) -> None:
    lake = _appended(Lake.at(data_root))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale, live = _temp(_day_dir(lake), int(dead.stdout)), _temp(_day_dir(lake), os.getpid())
    assert lake.read("trades", "okx", SYM).num_rows == 6
    assert lake.dates("trades", "okx", SYM) == ["2024-01-01", "2024-01-02"]
    lake.compact("trades", "okx", SYM)
    assert not stale.exists() and live.exists()  # a live writer's file is its own business
    old = time.time() - 7200
    os.utime(live, (old, old))
    assert remove_stale_temps(_day_dir(lake)) == 1 and not live.exists()


def test_a_partition_holding_only_a_temporary_file_is_no_partition(data_root: Path) -> None:
    lake = Lake.at(data_root)
    day = _day_dir(lake)
    day.mkdir(parents=True)
    _temp(day, os.getpid())
    assert lake.dates("trades", "okx", SYM) == [] and lake.entries() == []
    assert lake.read("trades", "okx", SYM).num_rows == 0


def test_retry_vanished_reads_again_after_a_part_disappeared() -> None:
    calls: list[int] = []

    def read() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise FileNotFoundError("part-1.parquet")
        return 7

    assert retry_vanished(read) == 7 and len(calls) == 3

    def never() -> int:
        raise FileNotFoundError("gone")

    with pytest.raises(FileNotFoundError):
        retry_vanished(never)


def test_other_readers_see_appended_rows(data_root: Path) -> None:
    lake = _appended(Lake.at(data_root))
    memo = MemoLake.at(data_root)
    assert memo.read("trades", "okx", SYM).equals(lake.read("trades", "okx", SYM))
    memo.read("trades", "okx", SYM)
    assert memo.partitions_read == 2
    bars = bars_from_lake(lake, "okx", SYM, "1m")
    assert (bars["volume"].to_pylist(), bars["close"].to_pylist()) == ([5.0, 1.0], [104.0, 100.0])
    assert connect(data_root).sql("SELECT count(*) FROM trades").fetchall() == [(7,)]  # as stored: 3 twice
    fingerprint = lake.fingerprint("trades", "okx", SYM)
    lake.compact("trades", "okx", SYM)
    assert bars_from_lake(lake, "okx", SYM, "1m").equals(bars)
    assert lake.fingerprint("trades", "okx", SYM) != fingerprint


def test_memo_lake_refuses_append_and_compact(data_root: Path) -> None:
    memo = MemoLake.at(data_root)
    with pytest.raises(RuntimeError, match="read-only"):
        memo.append("trades", "okx", SYM, trades(seconds(1)))
    with pytest.raises(RuntimeError, match="read-only"):
        memo.compact("trades", "okx", SYM)


_CHILD = textwrap.dedent(
    """
    import sys
    import pyarrow as pa
    from engine.store.lake import Lake
    lake, day0, step = Lake(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    flush = 0
    while True:
        ids = list(range(flush * 200, flush * 200 + 200))
        ts = [day0 + (i % 2) * 86_400_000_000_000 + i * step for i in ids]  # each flush spans two days
        lake.append("trades", "okx", "ETH/USDT", pa.table({
            "ts_event": ts, "trade_id": [str(i) for i in ids], "price": [100.0] * 200,
            "size": [1.0] * 200, "side": pa.array([1] * 200, pa.int8())}))
        print(ids[-1], flush=True)
        flush += 1
    """
)


def test_a_recorder_killed_by_sigkill_loses_at_most_its_last_flush(data_root: Path) -> None:
    lake = Lake.at(data_root)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(lake.root), str(DAY0), str(NS_PER_MIN // 1000)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    done = [int(child.stdout.readline()) for _ in range(15)]
    time.sleep(0.013)  # land somewhere inside a later flush
    child.send_signal(signal.SIGKILL)
    done += [int(line) for line in child.stdout.read().split()]
    assert child.wait() == -signal.SIGKILL
    for path in lake.files("trades", "okx", SYM):
        assert pq.read_table(path).num_rows in (100, 200) or path.name == PART
    got = sorted(int(i) for i in lake.read("trades", "okx", SYM)["trade_id"].to_pylist())
    completed = list(range(done[-1] + 1))
    assert got[: len(completed)] == completed  # every completed flush, whole
    assert all(done[-1] < i <= done[-1] + 200 for i in got[len(completed):])  # at most the flush cut short
    lake.compact("trades", "okx", SYM)
    assert sorted(int(i) for i in lake.read("trades", "okx", SYM)["trade_id"].to_pylist()) == got
    leftovers = list(lake.series_dir("trades", "okx", SYM).glob("date=*/*.tmp"))
    assert leftovers == []


def test_appended_parts_are_typed_as_the_kind(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.append("trades", "okx", SYM, trades(seconds(1), recv=[DAY0 + 5]))
    (path,) = lake.files("trades", "okx", SYM)
    assert pq.read_schema(path).field("side").type == pa.int8()
    assert lake.read("trades", "okx", SYM)["ts_recv"].to_pylist() == [DAY0 + 5]
