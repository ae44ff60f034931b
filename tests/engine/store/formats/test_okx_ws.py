"""OKX WebSocket pushes and REST trade bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.model.errors import UserError
from engine.store import formats
from engine.store.formats import Options, Source, okx_ws


def _push(channel: str, inst: str, data: list) -> dict:
    return {"arg": {"channel": channel, "instId": inst}, "data": data}


def _trade(inst: str, trade_id: str, px: str, sz: str, side: str, ts: int) -> dict:
    return {"instId": inst, "tradeId": trade_id, "px": px, "sz": sz, "side": side, "ts": str(ts)}


def _write_lines(path: Path, lines: list[str]) -> Source:
    path.write_text("\n".join(lines) + "\n")
    return Source(path)


@pytest.mark.shared_data
def test_recorded_jsonl_trades_parse_with_taker_side(shared_data: Path) -> None:
    path = shared_data / "okx" / "gocryptotrader_wsAllTrades.jsonl"
    source = Source(path)
    assert formats.detect(source) is okx_ws
    (batch,) = okx_ws.parse(source, Options()).batches
    raw = [json.loads(line)["data"][0] for line in path.read_text().splitlines()]
    assert (batch.kind, batch.venue, batch.symbol) == ("trades", "okx", "BTC/USDT")
    assert batch.table["trade_id"].to_pylist() == [r["tradeId"] for r in raw]
    assert batch.table["price"].to_pylist() == [float(r["px"]) for r in raw]
    assert batch.table["size"].to_pylist() == [float(r["sz"]) for r in raw]
    assert batch.table["side"].to_pylist() == [1 if r["side"] == "buy" else -1 for r in raw]
    assert batch.table["ts_event"].to_pylist() == [int(r["ts"]) * 1_000_000 for r in raw]
    assert batch.table["ts_recv"].null_count == 2


@pytest.mark.shared_data
def test_pretty_printed_single_push_parses(shared_data: Path) -> None:
    (batch,) = okx_ws.parse(Source(shared_data / "okx" / "nautilus_ws_trades.json"), Options()).batches
    assert batch.symbol == "BTC/USD" and batch.table["trade_id"].to_pylist() == ["130639474"]


@pytest.mark.shared_data
def test_rest_trades_body_parses(shared_data: Path) -> None:
    source = Source(shared_data / "okx" / "nautilus_http_get_trades.json")
    (batch,) = okx_ws.parse(source, Options()).batches
    assert batch.table.num_rows == 2 and batch.table["side"].to_pylist() == [-1, 1]


def test_receive_time_prefix_becomes_ts_recv(tmp_path: Path) -> None:
    push = json.dumps(
        _push("trades-all", "ETH-USDT", [_trade("ETH-USDT", "5", "3000", "0.5", "sell", 1_700_000_000_000)])
    )
    source = _write_lines(tmp_path / "rec.jsonl", [f"1700000000000123456 {push}"])
    (batch,) = okx_ws.parse(source, Options()).batches
    assert batch.table["ts_recv"].to_pylist() == [1_700_000_000_000_123_456]
    assert batch.table["side"].to_pylist() == [-1]


def test_json_array_of_pushes_and_events_are_counted(tmp_path: Path) -> None:
    pushes = [
        {"event": "subscribe", "arg": {"channel": "trades", "instId": "ETH-USDT"}},
        _push("trades", "ETH-USDT", [_trade("ETH-USDT", "1", "1", "1", "buy", 1)]),
        _push("trades", "BTC-USDT", [_trade("BTC-USDT", "2", "2", "2", "buy", 2)]),
        _push("books", "BTC-USDT", [{}]),
    ]
    (tmp_path / "a.json").write_text(json.dumps(pushes, indent=1))
    parsed = okx_ws.parse(Source(tmp_path / "a.json"), Options())
    assert sorted(b.symbol for b in parsed.batches) == ["BTC/USDT", "ETH/USDT"]
    assert parsed.skipped == {"event": 1, "books": 1}


def test_swap_sizes_become_base_currency(tmp_path: Path) -> None:
    lines = [
        json.dumps(_push("trades", "BTC-USDT-SWAP", [_trade("BTC-USDT-SWAP", "1", "50000", "3", "buy", 1)])),
        json.dumps(_push("trades", "BTC-USD-SWAP", [_trade("BTC-USD-SWAP", "1", "50000", "2", "buy", 1)])),
    ]
    parsed = okx_ws.parse(_write_lines(tmp_path / "s.jsonl", lines), Options())
    sizes = {b.symbol: b.table["size"].to_pylist() for b in parsed.batches}
    assert sizes["BTC/USDT:USDT"] == pytest.approx([0.03])  # ctVal 0.01 BTC
    assert sizes["BTC/USD:BTC"] == pytest.approx([2 * 100 / 50000])  # ctVal 100 USD


def test_unknown_swap_needs_contract_value(tmp_path: Path) -> None:
    line = json.dumps(_push("trades", "DOGE-USDT-SWAP", [_trade("DOGE-USDT-SWAP", "1", "0.1", "3", "buy", 1)]))
    source = _write_lines(tmp_path / "d.jsonl", [line])
    with pytest.raises(UserError, match="--contract-value"):
        okx_ws.parse(source, Options())
    (batch,) = okx_ws.parse(source, Options(contract_value=1000)).batches
    assert batch.table["size"].to_pylist() == [3000.0]


def test_quotes_and_confirmed_candles(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            _push(
                "bbo-tbt",
                "ETH-USDT",
                [{"asks": [["10.5", "2", "0", "1"]], "bids": [["10.4", "3", "0", "1"]], "ts": "5"}],
            )
        ),
        json.dumps(
            _push("tickers", "ETH-USDT", [{"bidPx": "10.3", "askPx": "10.6", "bidSz": "1", "askSz": "4", "ts": "6"}])
        ),
        json.dumps(_push("candle1m", "ETH-USDT", [["60000", "1", "3", "0.5", "2", "10", "20", "30", "1"]])),
        json.dumps(_push("candle1m", "ETH-USDT", [["120000", "2", "3", "1", "2", "5", "9", "9", "0"]])),
        json.dumps(_push("candle1D", "ETH-USDT", [["0", "1", "1", "1", "1", "1", "1", "1", "1"]])),
    ]
    parsed = okx_ws.parse(_write_lines(tmp_path / "q.jsonl", lines), Options())
    by_kind = {b.kind: b.table for b in parsed.batches}
    assert by_kind["quotes"].to_pydict()["bid"] == [10.4, 10.3]
    assert by_kind["quotes"].to_pydict()["ask_size"] == [2.0, 4.0]
    assert by_kind["bars"].to_pylist() == [
        {
            "ts_event": 60_000_000_000,
            "open": 1.0,
            "high": 3.0,
            "low": 0.5,
            "close": 2.0,
            "volume": 10.0,
            "interval": "1m",
        }
    ]
    assert parsed.skipped == {"candle1D": 1}  # OKX's 1D bars open at 16:00 UTC: candle1Dutc is taken


def test_symbol_option_must_agree_with_the_file(tmp_path: Path) -> None:
    line = json.dumps(_push("trades", "ETH-USDT", [_trade("ETH-USDT", "1", "1", "1", "buy", 1)]))
    with pytest.raises(UserError, match="BTC/USDT"):
        okx_ws.parse(_write_lines(tmp_path / "t.jsonl", [line]), Options(symbol="BTC/USDT"))
