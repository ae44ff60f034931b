"""The Parquet lake: layout, merge and dedupe, validation, reads, listing and crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.model.errors import UserError
from engine.model.time import NS_PER_DAY, NS_PER_S
from engine.store.lake import Lake
from engine.store.schema import BARS, KINDS, TRADES
from tests.engine.store.factories import DAY0, bars, seconds, trades

ROOT = Path(__file__).resolve().parents[3]
SYM = "ETH/USDT:USDT"


def test_lake_at_data_root_uses_lake_subfolder(data_root: Path) -> None:
    assert Lake.at(data_root).root == data_root / "lake"
    assert Lake.at(str(data_root)).root == data_root / "lake"


def test_write_two_days_creates_one_sorted_file_per_date(data_root: Path) -> None:
    lake = Lake.at(data_root)
    ts = [DAY0 + NS_PER_DAY + 5, DAY0 + 3, DAY0 + NS_PER_DAY - 1, DAY0 + 1]
    report = lake.write("trades", "okx", SYM, trades(ts, ids=["4", "3", "2", "1"]))
    assert (report.received, report.new_rows, report.duplicates, report.rejected) == (4, 4, 0, {})
    series = data_root / "lake" / "trades" / "venue=okx" / "symbol=ETH-USDT.USDT"
    files = sorted(p.relative_to(series).as_posix() for p in series.rglob("*.parquet"))
    assert files == ["date=2024-01-01/part-0.parquet", "date=2024-01-02/part-0.parquet"]
    first = pq.read_table(series / files[0])
    assert first.schema == TRADES
    assert first["ts_event"].to_pylist() == [DAY0 + 1, DAY0 + 3, DAY0 + NS_PER_DAY - 1]
    assert pq.read_table(series / files[1])["trade_id"].to_pylist() == ["4"]


def test_write_same_rows_again_adds_nothing_and_keeps_the_file(data_root: Path) -> None:
    lake = Lake.at(data_root)
    table = trades(seconds(1, 2, 3))
    lake.write("trades", "okx", SYM, table)
    path = lake.files("trades", "okx", SYM)[0]
    before = (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns)
    report = lake.write("trades", "okx", SYM, table)
    assert (report.new_rows, report.duplicates) == (0, 3)
    assert (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns) == before


def test_write_overlap_counts_new_and_duplicate_rows(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "okx", SYM, trades(seconds(1, 2), ids=["1", "2"]))
    report = lake.write("trades", "okx", SYM, trades(seconds(2, 3, 3), ids=["2", "3", "3"]))
    assert (report.received, report.new_rows, report.duplicates) == (3, 1, 2)
    assert lake.read("trades", "okx", SYM)["trade_id"].to_pylist() == ["1", "2", "3"]


def test_duplicate_ids_resolve_the_same_in_either_write_order(tmp_path: Path) -> None:
    early = trades(seconds(1, 2), ids=["1", "2"], recv=[seconds(1.5)[0], seconds(2.9)[0]])
    late = trades(seconds(2, 3), ids=["2", "3"], recv=[seconds(2.1)[0], None])
    one, two = Lake(tmp_path / "a"), Lake(tmp_path / "b")
    for table in (early, late):
        one.write("trades", "okx", SYM, table)
    for table in (late, early):
        two.write("trades", "okx", SYM, table)
    assert one.files("trades", "okx", SYM)[0].read_bytes() == two.files("trades", "okx", SYM)[0].read_bytes()
    # the earliest receive time wins trade "2"
    assert one.read("trades", "okx", SYM)["ts_recv"].to_pylist()[1] == seconds(2.1)[0]


def test_sort_ties_integer_ids_in_numeric_order(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "okx", SYM, trades(seconds(1, 1, 1, 0), ids=["10", "9", "100", "11"]))
    assert lake.read("trades", "okx", SYM)["trade_id"].to_pylist() == ["11", "9", "10", "100"]


def test_sort_ties_other_ids_in_string_order(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "okx", SYM, trades(seconds(1, 1, 1), ids=["b", "a10", "a9"]))
    assert lake.read("trades", "okx", SYM)["trade_id"].to_pylist() == ["a10", "a9", "b"]


def test_trades_without_ids_get_stable_ids_that_dedupe(data_root: Path) -> None:
    lake = Lake.at(data_root)
    table = trades(seconds(1, 1, 1), ids=[None, None, None], price=[101.0, 100.0, 101.0])
    assert lake.write("trades", "okx", SYM, table).new_rows == 3  # equal trades in one file both stay
    assert lake.write("trades", "okx", SYM, table).new_rows == 0
    stored = lake.read("trades", "okx", SYM)
    assert stored["price"].to_pylist() == [101.0, 100.0, 101.0]  # file order within the millisecond
    assert len(set(stored["trade_id"].to_pylist())) == 3


def test_write_rejects_bad_trades_by_reason_and_keeps_good_ones(data_root: Path) -> None:
    lake = Lake.at(data_root)
    table = pa.table(
        {
            "ts_event": pa.array([*seconds(1), None, *seconds(3, 4, 5, 6, 7, 8, 9)], pa.int64()),
            "price": [1.0, 1.0, float("nan"), -2.0, 1.0, 1.0, float("inf"), 1.0, None],
            "size": [1.0, 1.0, 1.0, 1.0, 0.0, float("nan"), 1.0, 1.0, 1.0],
            "side": pa.array([1, 1, 1, 1, 1, 1, 1, 0, -1], pa.int8()),
        }
    )
    report = lake.write("trades", "okx", SYM, table)
    assert report.rejected == {
        "ts_missing": 1,
        "price_nan": 2,
        "price_nonpositive": 1,
        "size_nonpositive": 1,
        "size_nan": 1,
        "price_nonfinite": 1,
        "side_invalid": 1,
    }
    assert (report.received, report.new_rows) == (9, 1)
    assert lake.read("trades", "okx", SYM)["ts_event"].to_pylist() == seconds(1)


def test_write_rejects_bad_quotes_bars_and_funding(data_root: Path) -> None:
    lake = Lake.at(data_root)
    quotes = pa.table(
        {
            "ts_event": seconds(1, 2, 3, 4),
            "bid": [1.0, 2.0, float("nan"), 1.0],
            "ask": [1.1, 1.9, 1.0, 1.2],
            "bid_size": [1.0, 1.0, 1.0, -1.0],
        }
    )
    assert lake.write("quotes", "x", SYM, quotes).rejected == {"bid_above_ask": 1, "bid_nan": 1, "bid_size_invalid": 1}
    table = bars(seconds(0, 60, 120, 180), close=[10, 10, 10, 10], volume=[1, -1, 1, 1])
    table = table.set_column(2, "high", pa.array([11.0, 11.0, 5.0, 11.0]))
    table = table.set_column(6, "interval", pa.array(["1m", "1m", "1m", "7x"]))
    assert lake.write("bars", "x", SYM, table).rejected == {
        "ohlc_inconsistent": 1,
        "volume_negative": 1,
        "interval_invalid": 1,
    }
    funding = pa.table({"ts_event": seconds(0, 1), "rate": [0.0001, float("nan")]})
    assert lake.write("funding", "x", SYM, funding).rejected == {"rate_nan": 1}


def test_write_without_a_required_column_names_it(data_root: Path) -> None:
    with pytest.raises(UserError, match="'price'"):
        Lake.at(data_root).write("trades", "okx", SYM, pa.table({"ts_event": [1], "size": [1.0], "side": [1]}))


@pytest.mark.parametrize(
    ("kind", "venue", "symbol", "message"),
    [
        ("book", "okx", SYM, "kind 'book'"),
        ("trades", "ok/x", SYM, "venue 'ok/x'"),
        ("trades", "okx", "ETHUSDT", "ETHUSDT"),
    ],
)
def test_write_bad_names_raise_user_error(data_root: Path, kind: str, venue: str, symbol: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        Lake.at(data_root).write(kind, venue, symbol, trades(seconds(1)))


def test_read_unknown_series_is_empty_with_the_kind_schema(data_root: Path) -> None:
    lake = Lake.at(data_root)
    for kind, schema in KINDS.items():
        table = lake.read(kind, "nowhere", SYM)
        assert table.num_rows == 0 and table.schema == schema
    assert lake.read("trades", "nowhere", SYM, columns=["price"]).column_names == ["price"]


def test_read_range_is_half_open_across_days(data_root: Path) -> None:
    lake = Lake.at(data_root)
    ts = [DAY0 + d * NS_PER_DAY + s * NS_PER_S for d in range(3) for s in range(3)]
    lake.write("trades", "okx", SYM, trades(ts))
    got = lake.read("trades", "okx", SYM, start=ts[2], end=ts[7])["ts_event"].to_pylist()
    assert got == ts[2:7]
    assert lake.read("trades", "okx", SYM, start=ts[-1] + 1).num_rows == 0
    assert lake.read("trades", "okx", SYM).schema == TRADES


def test_read_columns_selects_and_unknown_column_raises(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "okx", SYM, trades(seconds(1, 2)))
    assert lake.read("trades", "okx", SYM, start=seconds(2)[0], columns=["price"]).to_pydict() == {"price": [101.0]}
    with pytest.raises(UserError, match="'px'"):
        lake.read("trades", "okx", SYM, columns=["px"])


def test_read_interval_keeps_one_bar_interval(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("bars", "okx", SYM, bars(seconds(0, 60), close=[10, 20], volume=[1, 1], interval="1m"))
    lake.write("bars", "okx", SYM, bars(seconds(0), close=[30], volume=[2], interval="5m"))
    assert lake.read("bars", "okx", SYM, interval="5m")["close"].to_pylist() == [30.0]
    assert lake.read("bars", "okx", SYM, interval="1m", columns=["close"]).to_pydict() == {"close": [10.0, 20.0]}
    assert lake.read("bars", "okx", SYM).num_rows == 3 and lake.read("bars", "okx", SYM).schema == BARS


def test_iter_days_yields_each_partition_in_order(data_root: Path) -> None:
    lake = Lake.at(data_root)
    ts = [DAY0 + 2 * NS_PER_DAY, DAY0, DAY0 + 1, DAY0 + 2 * NS_PER_DAY + 1]
    lake.write("trades", "okx", SYM, trades(ts))
    days = [t["ts_event"].to_pylist() for t in lake.iter_days("trades", "okx", SYM)]
    assert days == [[DAY0, DAY0 + 1], [DAY0 + 2 * NS_PER_DAY, DAY0 + 2 * NS_PER_DAY + 1]]
    assert [t.num_rows for t in lake.iter_days("trades", "okx", SYM, start=DAY0 + 1, end=DAY0 + 2)] == [1]


def test_tail_returns_last_rows_before_a_time_across_days(data_root: Path) -> None:
    lake = Lake.at(data_root)
    ts = [DAY0 + d * NS_PER_DAY + s for d in range(3) for s in range(2)]
    lake.write("trades", "okx", SYM, trades(ts))
    assert lake.tail("trades", "okx", SYM, before=ts[5], n=3)["ts_event"].to_pylist() == ts[2:5]
    assert lake.tail("trades", "okx", SYM, before=ts[1], n=10)["ts_event"].to_pylist() == ts[:1]
    assert lake.tail("trades", "okx", SYM, before=ts[0], n=3).num_rows == 0


def test_entries_and_venues_list_series_with_data(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "okx", SYM, trades(seconds(1)))
    lake.write("trades", "binance", SYM, trades(seconds(1)))
    lake.write("funding", "okx", SYM, pa.table({"ts_event": seconds(0), "rate": [0.0001]}))
    lake.write("trades", "empty", SYM, trades(seconds(1), price=[-1.0]))  # all rejected
    assert lake.entries() == [("funding", "okx", SYM), ("trades", "binance", SYM), ("trades", "okx", SYM)]
    assert lake.venues("trades", SYM) == ["binance", "okx"]
    assert lake.venues("quotes", SYM) == []


def test_fingerprint_follows_partition_bytes_in_range(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "okx", SYM, trades([DAY0, DAY0 + NS_PER_DAY]))
    whole = lake.fingerprint("trades", "okx", SYM)
    first_day = lake.fingerprint("trades", "okx", SYM, end=DAY0 + NS_PER_DAY)
    assert first_day != whole and len(whole) == 64
    lake.write("trades", "okx", SYM, trades([DAY0 + NS_PER_DAY + 1], ids=["9"]))
    assert lake.fingerprint("trades", "okx", SYM, end=DAY0 + NS_PER_DAY) == first_day
    assert lake.fingerprint("trades", "okx", SYM) != whole


def test_concurrent_writers_lose_no_rows(data_root: Path) -> None:
    script = (
        "import sys; from engine.store.lake import Lake; from tests.engine.store.factories import trades, DAY0\n"
        "k = int(sys.argv[1]); lake = Lake.at(sys.argv[2])\n"
        "for i in range(15):\n"
        "    ids = [f'{k}-{i}-{j}' for j in range(200)]\n"
        "    lake.write('trades', 'okx', 'ETH/USDT', trades([DAY0 + j for j in range(200)], ids=ids))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(k), str(data_root)], cwd=ROOT) for k in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert Lake.at(data_root).read("trades", "okx", "ETH/USDT").num_rows == 2 * 15 * 200


def test_killed_writer_leaves_a_readable_partition(data_root: Path) -> None:
    script = (
        "import sys; from engine.store.lake import Lake; from tests.engine.store.factories import trades, DAY0\n"
        "lake = Lake.at(sys.argv[1]); n = 100_000; i = 0\n"
        "while True:\n"
        "    lake.write('trades', 'okx', 'ETH/USDT', trades([DAY0 + i * n + j for j in range(n)], "
        "ids=[str(i * n + j) for j in range(n)]))\n"
        "    i += 1\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(data_root)], cwd=ROOT)
    lake = Lake.at(data_root)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and lake.read("trades", "okx", "ETH/USDT", columns=["price"]).num_rows < 200_000:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = lake.read("trades", "okx", "ETH/USDT")
    assert stored.num_rows >= 200_000 and stored.num_rows % 100_000 == 0
    ids = [int(i) for i in stored["trade_id"].to_pylist()]
    assert ids == list(range(len(ids)))


def test_write_arrow_timestamps_of_any_unit_become_ns(data_root: Path) -> None:
    lake = Lake.at(data_root)
    table = trades(seconds(1)).set_column(0, "ts_event", pa.array([DAY0 // 10**6 + 1000], pa.timestamp("ms", "UTC")))
    lake.write("trades", "okx", SYM, table)
    assert lake.read("trades", "okx", SYM)["ts_event"].to_pylist() == seconds(1)


def test_interval_on_a_kind_without_intervals_raises(data_root: Path) -> None:
    with pytest.raises(UserError, match="no intervals"):
        Lake.at(data_root).read("trades", "okx", SYM, interval="1m")
