"""The recorder's kinds (books, instruments, gaps): columns, checks, duplicates and order."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.commands.data_ls import KINDS as LS_KINDS
from engine.store.lake import Lake
from engine.store.rows import receive_order
from engine.store.schema import BOOKS, GAPS, INSTRUMENTS, KINDS
from tests.engine.store.factories import DAY0, book_rows, gap_rows, instrument_row, seconds

SYM = "ETH/USDT:USDT"


def test_recorded_kinds_have_the_issues_columns() -> None:
    assert BOOKS.names == ["ts_event", "ts_recv", "recv_seq", "seq_id", "prev_seq_id", "action", "side", "price",
                           "size", "n_orders", "checksum"]
    assert INSTRUMENTS.names == ["ts_event", "inst_id", "inst_id_code", "inst_type", "tick_size", "lot_size",
                                 "min_size", "contract_value", "state"]
    assert GAPS.names == ["ts_event", "ts_end", "channel", "reason"]
    assert [BOOKS.field(n).nullable for n in ("ts_recv", "recv_seq", "seq_id")] == [False, False, True]
    assert set(LS_KINDS) == set(KINDS)  # `data ls --kind` offers every kind


def test_books_round_trip_in_the_kinds_schema(data_root: Path) -> None:
    lake = Lake.at(data_root)
    report = lake.write("books", "okx", SYM, book_rows(seconds(1, 1), [0, 0], [1, -1], [100.0, 101.0], [2.0, 3.0]))
    assert report.new_rows == 2
    assert pq.read_schema(lake.files("books", "okx", SYM)[0]).field("recv_seq").type == pa.int64()
    table = lake.read("books", "okx", SYM)
    assert table.schema == BOOKS
    assert table["side"].to_pylist() == [-1, 1] and table["size"].to_pylist() == [3.0, 2.0]


def test_book_duplicates_are_one_level_of_one_message(data_root: Path) -> None:
    lake = Lake.at(data_root)
    first = book_rows(seconds(1, 1, 2), [0, 0, 0], [1, 1, 1], [100.0, 99.0, 100.0], [2.0, 1.0, 0.0])
    lake.append("books", "okx", SYM, first)
    again = book_rows(seconds(1, 1), [0, 1], [1, 1], [100.0, 100.0], [2.0, 5.0])  # a copy; a new message
    lake.append("books", "okx", SYM, again)
    table = lake.read("books", "okx", SYM)
    assert table.num_rows == 4
    assert list(zip(table["recv_seq"].to_pylist(), table["price"].to_pylist(), table["size"].to_pylist(),
                    strict=True)) == [(0, 99.0, 1.0), (0, 100.0, 2.0), (1, 100.0, 5.0), (0, 100.0, 0.0)]


def test_books_reject_rows_a_replay_cannot_use(data_root: Path) -> None:
    table = book_rows(seconds(1, 2, 3, 4, 5), [0, 1, 2, 3, 4], [1, 1, 0, -1, 1], [100.0, -1.0, 100.0, 100.0, 100.0],
                      [1.0, 1.0, 1.0, -2.0, 0.0])
    table = table.set_column(5, "action", pa.array(["snapshot", "update", "update", "update", "delete"]))
    report = Lake.at(data_root).write("books", "okx", SYM, table)
    assert report.rejected == {"price_nonpositive": 1, "side_invalid": 1, "size_negative": 1, "action_invalid": 1}
    assert report.new_rows == 1
    no_recv = book_rows(seconds(1), [0], [1], [100.0], [1.0]).set_column(1, "ts_recv", pa.array([None], pa.int64()))
    assert Lake.at(data_root).write("books", "okx", SYM, no_recv).rejected == {"ts_recv_missing": 1}


def test_receive_order_breaks_equal_receive_times_by_recv_seq() -> None:
    recv = seconds(1, 1, 1, 0.5)
    table = book_rows(recv, [2, 0, 1, 0], [1, 1, 1, 1], [100.0, 101.0, 102.0, 103.0], [1.0] * 4)
    table = table.set_column(0, "ts_event", pa.array([DAY0 + 9, DAY0 + 3, DAY0 + 5, DAY0 + 7], pa.int64()))
    assert receive_order(table)["price"].to_pylist() == [103.0, 101.0, 102.0, 100.0]


def test_books_partition_keeps_time_order_and_replays_in_receive_order(data_root: Path) -> None:
    lake = Lake.at(data_root)
    recv = seconds(1, 1, 2)
    table = book_rows(recv, [1, 0, 0], [1, 1, 1], [100.0, 101.0, 102.0], [1.0] * 3)
    late_event = table.set_column(0, "ts_event", pa.array([DAY0 + 5, DAY0 + 9, DAY0 + 1], pa.int64()))
    lake.append("books", "okx", SYM, late_event)
    stored = lake.read("books", "okx", SYM)
    assert stored["ts_event"].to_pylist() == [DAY0 + 1, DAY0 + 5, DAY0 + 9]  # ranges search by ts_event
    assert receive_order(stored)["price"].to_pylist() == [101.0, 100.0, 102.0]


def test_gaps_keep_each_recorded_stretch_once_and_check_their_fields(data_root: Path) -> None:
    lake = Lake.at(data_root)
    start, end = seconds(10, 50), seconds(20, 60)
    lake.append("gaps", "okx", SYM, gap_rows(start, end))
    lake.append("gaps", "okx", SYM, gap_rows(start[:1], end[:1]))
    lake.append("gaps", "okx", SYM, gap_rows(start[:1], end[:1], reason="sequence_break"))
    table = lake.read("gaps", "okx", SYM)
    assert table["reason"].to_pylist() == ["disconnect", "sequence_break", "disconnect"]
    bad = gap_rows(seconds(5, 5), seconds(4, 6), reason="hiccup")
    report = lake.write("gaps", "okx", SYM, bad)
    assert report.rejected == {"ts_end_before_start": 1, "reason_invalid": 1} and report.new_rows == 0


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [("tick_size", 0.0, "tick_size_nonpositive"), ("lot_size", float("nan"), "lot_size_nan"),
     ("contract_value", -1.0, "contract_value_invalid"), ("inst_id", None, "inst_id_missing")],
)
def test_instruments_reject_unusable_metadata(data_root: Path, column: str, value: object, reason: str) -> None:
    table = instrument_row(DAY0)
    index = table.schema.get_field_index(column)
    table = table.set_column(index, column, pa.array([value], table.schema.field(column).type))
    assert Lake.at(data_root).write("instruments", "okx", SYM, table).rejected == {reason: 1}


def test_instruments_spot_without_contract_value_is_kept(data_root: Path) -> None:
    lake = Lake.at(data_root)
    assert lake.write("instruments", "okx", "ETH/USDT", instrument_row(DAY0, ct_val=None)).new_rows == 1
    assert lake.read("instruments", "okx", "ETH/USDT")["contract_value"].to_pylist() == [None]


def test_two_fetches_at_one_time_keep_the_same_one_in_either_order(tmp_path: Path) -> None:
    a, b = instrument_row(DAY0, tick=0.01), instrument_row(DAY0, tick=0.1)
    kept = []
    for n, order in enumerate(([a, b], [b, a])):
        lake = Lake(tmp_path / str(n))
        for table in order:
            lake.append("instruments", "okx", SYM, table)
        kept.append(lake.read("instruments", "okx", SYM)["tick_size"].to_pylist())
    assert kept == [[0.01], [0.01]]
