"""OKX trade-history CSV files (both headers, zipped or not)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from engine.model.errors import UserError
from engine.store import formats
from engine.store.formats import Options, Source, okx_csv

NEW = "instrument_name,trade_id,side,price,size,created_time,source\n"
OLD = "trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间\n"


def test_zipped_swap_file_converts_contracts(tmp_path: Path) -> None:
    rows = (
        "BTC-USDT-SWAP,2885385356,buy,78542.3,2.5,1788192000025,0\n"
        "BTC-USDT-SWAP,2885385355,sell,78542.2,14.07,1788192000021,0\n"
    )
    path = tmp_path / "BTC-USDT-SWAP-trades-2026-09-01.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("BTC-USDT-SWAP-trades-2026-09-01.csv", NEW + rows)
    source = Source(path)
    assert formats.detect(source) is okx_csv
    (batch,) = okx_csv.parse(source, Options()).batches
    assert (batch.kind, batch.venue, batch.symbol) == ("trades", "okx", "BTC/USDT:USDT")
    assert batch.table["trade_id"].to_pylist() == ["2885385356", "2885385355"]
    assert batch.table["size"].to_pylist() == pytest.approx([0.025, 0.1407])
    assert batch.table["side"].to_pylist() == [1, -1]
    assert batch.table["ts_event"].to_pylist() == [1788192000025_000000, 1788192000021_000000]


def test_bilingual_header_takes_instrument_from_file_name(tmp_path: Path) -> None:
    path = tmp_path / "BTC-USDT-trades-2025-04-19.csv"
    path.write_text(
        OLD + "719977054,buy,0.00527188,84760.0,1745034103856\n719977057,sell,0.0277,84760.1,1745034103856\n"
    )
    (batch,) = okx_csv.parse(Source(path), Options()).batches
    assert batch.symbol == "BTC/USDT"
    assert batch.table["price"].to_pylist() == [84760.0, 84760.1]
    assert batch.table["size"].to_pylist() == [0.00527188, 0.0277]  # spot sizes are base already


def test_unnamed_bilingual_file_needs_symbol(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(OLD + "1,buy,1,100,1745034103856\n")
    with pytest.raises(UserError, match="--symbol"):
        okx_csv.parse(Source(path), Options())
    (batch,) = okx_csv.parse(Source(path), Options(symbol="ETH/USDT")).batches
    assert batch.symbol == "ETH/USDT" and batch.venue == "okx"


def test_several_instruments_give_several_batches(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(NEW.replace(",source", "") + "ETH-USDT,1,buy,1,1,1\nBTC-USDT,2,sell,2,2,2\nETH-USDT,3,buy,3,3,3\n")
    batches = okx_csv.parse(Source(path), Options()).batches
    assert {b.symbol: b.table["trade_id"].to_pylist() for b in batches} == {"ETH/USDT": ["1", "3"], "BTC/USDT": ["2"]}
