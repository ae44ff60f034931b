"""Binance raw WebSocket recordings."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from engine.model.errors import UserError
from engine.store import formats
from engine.store.formats import Options, Source, binance_ws

RECORDING = Path("hftbacktest") / "spot_btcusdt_20240808.gz"


@pytest.mark.shared_data
def test_recording_splits_trades_quotes_and_skipped_lines(shared_data: Path) -> None:
    source = Source(shared_data / RECORDING)
    assert formats.detect(source) is binance_ws
    parsed = binance_ws.parse(source, Options())
    tables = {b.kind: b for b in parsed.batches}
    assert tables["trades"].table.num_rows == 9_757 and tables["quotes"].table.num_rows == 28_040
    assert parsed.skipped == {"btcusdt@depth@100ms": 3_451, "snapshot": 1}
    assert {(b.venue, b.symbol) for b in parsed.batches} == {("binance", "BTC/USDT")}


@pytest.mark.shared_data
def test_recording_first_trade_matches_its_raw_line(shared_data: Path) -> None:
    with gzip.open(shared_data / RECORDING, "rt") as handle:
        recv, raw = next(line.split(" ", 1) for line in handle if "@trade" in line[:60])
    d = json.loads(raw)["data"]
    (trades,) = [
        b.table for b in binance_ws.parse(Source(shared_data / RECORDING), Options()).batches if b.kind == "trades"
    ]
    first = trades.slice(0, 1).to_pylist()[0]
    assert first == {
        "ts_event": d["T"] * 1_000_000,
        "ts_recv": int(recv),
        "trade_id": str(d["t"]),
        "price": float(d["p"]),
        "size": float(d["q"]),
        "side": -1 if d["m"] else 1,
    }


def _recording(path: Path, lines: list[str]) -> Source:
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return Source(path)


def test_symbol_option_selects_the_perpetual(tmp_path: Path) -> None:
    trade = {"stream": "ethusdt@trade", "data": {"T": 1, "t": 7, "p": "1", "q": "2", "m": False}}
    source = _recording(tmp_path / "r.gz", [f"5 {json.dumps(trade)}"])
    (batch,) = binance_ws.parse(source, Options(symbol="ETH/USDT:USDT")).batches
    assert batch.symbol == "ETH/USDT:USDT" and batch.table["side"].to_pylist() == [1]
    with pytest.raises(UserError, match="ethusdt"):
        binance_ws.parse(source, Options(symbol="BTC/USDT"))


def test_book_ticker_time_falls_back_to_receive_time(tmp_path: Path) -> None:
    ticker = {"stream": "ethbtc@bookTicker", "data": {"b": "0.05", "B": "1", "a": "0.06", "A": "2"}}
    futures = {"stream": "ethbtc@bookTicker", "data": {"E": 9, "b": "0.05", "B": "1", "a": "0.06", "A": "2"}}
    source = _recording(tmp_path / "q.gz", [f"123 {json.dumps(ticker)}", f"456 {json.dumps(futures)}"])
    (batch,) = binance_ws.parse(source, Options()).batches
    assert batch.symbol == "ETH/BTC"
    assert batch.table["ts_event"].to_pylist() == [123, 9_000_000]


def test_unsplittable_stream_symbol_asks_for_symbol(tmp_path: Path) -> None:
    trade = {"stream": "abcxyz@trade", "data": {"T": 1, "t": 7, "p": "1", "q": "2", "m": True}}
    with pytest.raises(UserError, match="--symbol"):
        binance_ws.parse(_recording(tmp_path / "x.gz", [f"5 {json.dumps(trade)}"]), Options())


def test_torn_and_garbled_lines_are_counted_and_the_rest_kept(tmp_path: Path) -> None:
    def trade(t: int) -> str:
        return json.dumps({"stream": "ethusdt@trade", "data": {"T": t, "t": t, "p": "1", "q": "2", "m": False}})

    torn = trade(2)[:40]  # a recorder killed mid-write
    missing = json.dumps({"stream": "ethusdt@trade", "data": {"T": 3}})
    source = _recording(tmp_path / "t.gz", [f"5 {trade(1)}", f"6 {torn}", f"7 {missing}", f"8 {trade(4)}"])
    parsed = binance_ws.parse(source, Options())
    assert parsed.skipped == {"malformed": 2}
    (batch,) = parsed.batches
    assert batch.table["trade_id"].to_pylist() == ["1", "4"]
