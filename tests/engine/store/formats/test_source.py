"""Opened sources that are torn: real recordings cut short, kept up to their last complete line."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from engine.model.errors import UserError
from engine.store.formats import Options, Source
from engine.store.ingest import ingest_paths
from engine.store.lake import Lake

RECORDING = Path("hftbacktest") / "spot_btcusdt_20240808.gz"
FREQTRADE = Path("freqtrade") / "XRP_ETH-trades.json.gz"


def cut(source: Path, target: Path, size: int) -> Path:
    target.write_bytes(source.read_bytes()[:size])
    return target


def complete_lines(path: Path, size: int) -> list[bytes]:
    """The complete lines in the content a gzip prefix of `size` bytes decompresses to."""
    import zlib

    content = zlib.decompressobj(31).decompress(path.read_bytes()[:size])
    return [line for line in content[: content.rfind(b"\n") + 1].split(b"\n") if line.strip()]


@pytest.mark.shared_data
def test_torn_recording_keeps_every_complete_line_before_the_tear(shared_data: Path, tmp_path: Path) -> None:
    torn = cut(shared_data / RECORDING, tmp_path / "spot_btcusdt.gz", 100_000)
    lines = complete_lines(shared_data / RECORDING, 100_000)
    source = Source(torn)
    assert list(source.lines()) == [line.strip() for line in lines]
    assert source.torn == "the gzip data ends early"
    trades = sum(b'"stream":"btcusdt@trade"' in line for line in lines)
    quotes = sum(b'"stream":"btcusdt@bookTicker"' in line for line in lines)
    (result,) = ingest_paths(Lake(tmp_path / "lake"), [torn], Options())
    assert result.torn == "the gzip data ends early" and result.refused is None
    assert {r.kind: r.received for r in result.reports} == {"trades": trades, "quotes": quotes}
    assert trades > 100 and "malformed" not in result.skipped  # the partial last line is dropped, not counted


@pytest.mark.shared_data
def test_recording_torn_inside_its_first_line_is_refused(shared_data: Path, tmp_path: Path) -> None:
    first = len(complete_lines(shared_data / RECORDING, 4000))
    torn = cut(shared_data / RECORDING, tmp_path / "r.gz", 300)
    assert first > 0
    with pytest.raises(UserError, match=r"r\.gz: the gzip data ends early, before the end of its first line"):
        Source(torn)


@pytest.mark.shared_data
def test_torn_freqtrade_document_is_refused_naming_the_file(shared_data: Path, tmp_path: Path) -> None:
    torn = cut(shared_data / FREQTRADE, tmp_path / "XRP_ETH-trades.json.gz", 4000)
    with pytest.raises(UserError, match=r"XRP_ETH-trades\.json\.gz: the gzip data ends early, before the end"):
        ingest_paths(Lake(tmp_path / "lake"), [torn], Options("binance"))
    assert not (tmp_path / "lake" / "trades").exists()


def _okx_zip(path: Path, rows: int) -> bytes:
    body = "".join(f"BTC-USDT,{i},buy,{40000 + i % 50}.5,0.01,{1704067200000 + 7 * i}\n" for i in range(rows))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        header = "instrument_name,trade_id,side,price,size,created_time\n"
        archive.writestr("BTC-USDT-trades-2024-01-01.csv", header + body)
    return path.read_bytes()


def test_torn_zip_keeps_the_rows_before_the_tear(tmp_path: Path) -> None:
    whole = _okx_zip(tmp_path / "whole.zip", 20_000)
    torn = tmp_path / "BTC-USDT-trades-2024-01-01.zip"
    torn.write_bytes(whole[: len(whole) // 2])
    source = Source(torn)
    assert source.name == "BTC-USDT-trades-2024-01-01.csv"
    assert source.torn == "the zip archive's directory at its end is missing"  # all the head read shows
    content = source.read()
    assert source.torn == "the zip data ends early" and content.endswith(b"\n")
    (result,) = ingest_paths(Lake(tmp_path / "lake"), [torn], Options())
    (report,) = result.reports
    ids = Lake(tmp_path / "lake").read("trades", "okx", "BTC/USDT")["trade_id"].to_pylist()
    assert result.torn == "the zip data ends early" and 0 < report.received < 20_000
    assert sorted(ids, key=int) == [str(i) for i in range(report.received)]  # a prefix, no half row


def test_zip_without_its_directory_keeps_its_whole_member(tmp_path: Path) -> None:
    whole = _okx_zip(tmp_path / "whole.zip", 500)
    cut_dir = tmp_path / "BTC-USDT-trades-2024-01-01.zip"
    cut_dir.write_bytes(whole[:-40])
    (result,) = ingest_paths(Lake(tmp_path / "lake"), [cut_dir], Options())
    assert result.torn == "the zip archive's directory at its end is missing"
    assert result.reports[0].received == 500


def test_damaged_gzip_keeps_what_came_before(tmp_path: Path) -> None:
    text = "".join(f"{1704067200000 + i},100,1,buy,{i}\n" for i in range(50_000))
    packed = bytearray(gzip.compress(("ts,price,size,side,id\n" + text).encode()))
    packed[len(packed) // 2 : len(packed) // 2 + 64] = b"\xff" * 64
    path = tmp_path / "d.csv.gz"
    path.write_bytes(bytes(packed))
    (result,) = ingest_paths(Lake(tmp_path / "lake"), [path], Options("x", "ETH/USDT"))
    assert result.torn is not None and result.torn.startswith("the gzip data is damaged")
    assert 0 < result.reports[0].received < 50_000


def test_folder_and_empty_file_are_named(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "blank.csv").write_bytes(b"\n  \n")
    with pytest.raises(UserError, match="is a folder"):
        Source(tmp_path)
    with pytest.raises(UserError, match=r"empty\.csv: the file is empty"):
        Source(tmp_path / "empty.csv")
    with pytest.raises(UserError, match=r"blank\.csv: holds no data"):
        Source(tmp_path / "blank.csv")
