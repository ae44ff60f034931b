"""Shared pieces of the formats: opened sources, time and side columns, venue and symbol."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from engine.model.errors import UserError
from engine.store.formats import Options, Source
from engine.store.formats._common import resolve, side_from_buyer_maker, to_ns, to_side


def test_source_opens_gzip_and_single_member_zip(tmp_path: Path) -> None:
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"x,y\n1,2\n"))
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as archive:
        archive.writestr("inner/b.csv", "x,y\n3,4\n")
    gz, zipped = Source(tmp_path / "a.csv.gz"), Source(tmp_path / "b.zip")
    assert (gz.name, gz.head, gz.read()) == ("a.csv", b"x,y\n1,2\n", b"x,y\n1,2\n")
    assert (zipped.name, zipped.read()) == ("b.csv", b"x,y\n3,4\n")


def test_source_counts_bytes_read_from_disk(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"line\n" * 1000)
    seen: list[int] = []
    source = Source(tmp_path / "a.txt", seen.append)
    assert len(list(source.lines())) == 1000 and sum(seen) == 5000


def test_source_rejects_missing_file_and_multi_member_zip(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        Source(tmp_path / "none.csv")
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as archive:
        archive.writestr("a.csv", "1")
        archive.writestr("b.csv", "2")
    with pytest.raises(UserError, match="exactly one"):
        Source(tmp_path / "two.zip")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pa.array([1_700_000_000], pa.int64()), 1_700_000_000 * 10**9),
        (pa.array([1_700_000_000_123], pa.int64()), 1_700_000_000_123 * 10**6),
        (pa.array([1_700_000_000_123_456], pa.int64()), 1_700_000_000_123_456 * 10**3),
        (pa.array([1_700_000_000_123_456_789], pa.int64()), 1_700_000_000_123_456_789),
        (pa.array([1_700_000_000.25]), 1_700_000_000_250_000_000),
        (pa.array(["2023-11-14 22:13:20"]), 1_700_000_000 * 10**9),
        (pa.array([0], pa.timestamp("s", "Asia/Tokyo")), 0),
    ],
)
def test_to_ns_reads_units_and_text(values: pa.Array, expected: int) -> None:
    assert to_ns(values).to_pylist() == [expected]


def test_to_ns_rejects_words() -> None:
    with pytest.raises(UserError, match="ISO 8601"):
        to_ns(pa.array(["yesterday"]))


def test_side_columns() -> None:
    assert to_side(pa.array(["Buy", "SELL", "b", "?", None])).to_pylist() == [1, -1, 1, None, None]
    assert to_side(pa.array([1, -1, 0])).to_pylist() == [1, -1, None]
    assert side_from_buyer_maker(pa.array([True, False])).to_pylist() == [-1, 1]
    assert side_from_buyer_maker(pa.array(["true", "False"])).to_pylist() == [-1, 1]


def test_resolve_prefers_file_and_rejects_conflicts(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    source = Source(tmp_path / "f")
    assert resolve(source, Options(venue="okx"), None, "ETH/USDT") == ("okx", "ETH/USDT")
    with pytest.raises(UserError, match="'BTC/USDT'"):
        resolve(source, Options(venue="okx", symbol="BTC/USDT"), None, "ETH/USDT")
    with pytest.raises(UserError, match="pass --venue and --symbol"):
        resolve(source, Options(), None, None)
