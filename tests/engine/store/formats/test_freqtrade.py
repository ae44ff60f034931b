"""freqtrade JSON data files."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from engine.model.errors import UserError
from engine.store import formats
from engine.store.formats import Options, Source, freqtrade

pytestmark = pytest.mark.shared_data


def test_trades_file_parses_with_pair_from_name(shared_data: Path) -> None:
    path = shared_data / "freqtrade" / "XRP_ETH-trades.json.gz"
    source = Source(path)
    assert formats.detect(source) is freqtrade
    (batch,) = freqtrade.parse(source, Options(venue="binance")).batches
    raw = json.loads(gzip.decompress(path.read_bytes()))
    assert (batch.kind, batch.venue, batch.symbol, batch.table.num_rows) == ("trades", "binance", "XRP/ETH", 12_477)
    assert batch.table.slice(0, 1).to_pylist()[0] == {
        "ts_event": raw[0][0] * 1_000_000,
        "trade_id": raw[0][1],
        "price": raw[0][4],
        "size": raw[0][5],
        "side": 1 if raw[0][3] == "buy" else -1,
    }


def test_venue_comes_from_option_or_exchange_folder(shared_data: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--venue"):
        freqtrade.parse(Source(shared_data / "freqtrade" / "XRP_ETH-1m.json"), Options())
    folder = tmp_path / "kraken"
    folder.mkdir()
    shutil.copy(shared_data / "freqtrade" / "XRP_ETH-1m.json", folder)
    (batch,) = freqtrade.parse(Source(folder / "XRP_ETH-1m.json"), Options()).batches
    assert (batch.kind, batch.venue, batch.table["interval"][0].as_py()) == ("bars", "kraken", "1m")


def test_futures_mark_and_funding_files(shared_data: Path) -> None:
    folder = shared_data / "freqtrade"
    kinds = {}
    for name in ("XRP_USDT_USDT-5m-futures.json", "XRP_USDT_USDT-8h-mark.json", "XRP_USDT_USDT-8h-funding_rate.json"):
        (batch,) = freqtrade.parse(Source(folder / name), Options(venue="binance")).batches
        assert batch.symbol == "XRP/USDT:USDT"
        kinds[batch.kind] = batch.table
    assert kinds["bars"].num_rows == 1_999 and kinds["mark"]["interval"][0].as_py() == "8h"
    raw = json.loads((folder / "XRP_USDT_USDT-8h-funding_rate.json").read_text())
    assert kinds["funding"].column_names == ["ts_event", "rate"]
    assert kinds["funding"]["rate"].to_pylist() == [row[1] for row in raw]
