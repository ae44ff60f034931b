"""Reading a stream of OKX messages: counts by (channel, reason), log lines, chained books, resubscribes."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from engine.model.events import Quote
from engine.venues.okx.pushes import Kind
from engine.venues.okx.reader import PushReader

MS = 1_000_000


def books(action: str, seq: int, prev: int, bids: list[list[str]], asks: list[list[str]]) -> dict[str, Any]:
    item = {"bids": bids, "asks": asks, "ts": str(1_700_000_000_000 + seq), "checksum": 0, "seqId": seq,
            "prevSeqId": prev}
    return {"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": action, "data": [item]}


def test_malformed_messages_are_counted_by_channel_and_reason_and_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    reader = PushReader()
    bad_px = '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1",' \
             '"px":"x","sz":"1","side":"buy","ts":"1"}]}'
    with caplog.at_level(logging.WARNING, logger="okxbot.okx"):
        for message in [bad_px, bad_px, '{"arg":{"channel":"tickers"', '{"arg":{"channel":"nope"},"data":[]}']:
            assert reader.read(message, 1).push.kind is Kind.MALFORMED
    assert reader.stats.malformed == {("trades", "bad number"): 2, ("?", "invalid json"): 1,
                                      ("nope", "unknown channel"): 1}
    assert reader.stats.kinds[Kind.MALFORMED] == 4
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3  # the second bad price is logged at DEBUG only
    assert "malformed trades message (bad number)" in warnings[0]


def test_garbage_of_every_shape_never_raises() -> None:
    reader = PushReader()
    for message in [None, 3, [], {}, "", b"\xff\xfe", '{"arg":null,"data":[]}', '{"arg":{"channel":5},"data":[]}',
                    {"arg": {"channel": "books", "instId": "BTC-USDT"}, "data": [None]},
                    {"arg": {"channel": "candle1m"}, "data": [[None] * 9]}]:
        assert reader.read(message, 1).push.kind is Kind.MALFORMED
    assert sum(reader.stats.malformed.values()) == 10


def test_error_event_is_logged_not_counted_as_malformed(caplog: pytest.LogCaptureFixture) -> None:
    reader = PushReader()
    with caplog.at_level(logging.WARNING, logger="okxbot.okx"):
        reader.read('{"event":"error","code":"60018","msg":"channel does not exist","connId":"a"}', 1)
    assert reader.stats.malformed == {} and reader.stats.kinds[Kind.ERROR] == 1
    assert "60018 channel does not exist" in caplog.text


def test_skipped_candles_are_counted_by_channel_and_reason() -> None:
    reader = PushReader()
    row = ["1700000000000", "1", "1", "1", "1", "1", "1", "1", "0"]
    reader.read({"arg": {"channel": "candle1m", "instId": "BTC-USDT"}, "data": [row, row]}, 1)
    assert reader.stats.skipped == {("candle1m", "unconfirmed candle"): 2}


def test_books_snapshot_and_updates_give_the_books_quote_in_base_currency() -> None:
    reader = PushReader()
    first = reader.read(books("snapshot", 10, -1, [["100", "5", "0", "1"]], [["101", "7", "0", "2"]]), 11)
    assert first.events == (Quote("BTC/USDT:USDT", (1_700_000_000_000 + 10) * MS, 11, 100.0, 101.0, 0.05, 0.07),)
    second = reader.read(books("update", 12, 10, [["100.5", "1", "0", "1"]], [["101", "0", "0", "0"]]), 13)
    (quote,) = second.events
    assert (quote.bid, quote.bid_size, quote.ts_recv) == (100.5, 0.01, 13)
    assert quote.ask != quote.ask  # the only ask was deleted: NaN
    assert second.resubscribe == ()


def test_books_sequence_break_asks_for_a_resubscribe_until_a_snapshot(caplog: pytest.LogCaptureFixture) -> None:
    reader = PushReader()
    reader.read(books("snapshot", 10, -1, [["100", "5", "0", "1"]], []), 1)
    with caplog.at_level(logging.WARNING, logger="okxbot.okx"):
        broken = reader.read(books("update", 13, 12, [], []), 2)
    assert broken.resubscribe == (("books", "BTC-USDT-SWAP"),) and broken.events == ()
    assert "BTC-USDT-SWAP is stale (sequence break" in caplog.text
    assert reader.read(books("update", 14, 13, [], []), 3).resubscribe == (("books", "BTC-USDT-SWAP"),)
    assert reader.stats.book_breaks == {
        ("BTC-USDT-SWAP", "sequence break"): 1,
        ("BTC-USDT-SWAP", "update without a snapshot"): 1,
    }
    healed = reader.read(books("snapshot", 20, -1, [["99", "1", "0", "1"]], []), 4)
    assert healed.resubscribe == () and healed.events[0].bid == 99.0


@pytest.mark.shared_data
def test_recorded_books_chain_with_their_checksum_skipped(shared_data: Path) -> None:
    reader = PushReader(verify_checksum=False)  # the recorded examples' checksums do not match their levels
    for name in ["nautilus_ws_books_snapshot.json", "nautilus_ws_books_update.json"]:
        read = reader.read((shared_data / "okx" / name).read_text(), 7)
        assert read.resubscribe == ()
        assert read.events == (Quote("BTC/USDT", 1597026383085 * MS, 7, 8476.97, 8476.98, 256.0, 415.0),)
    assert reader.books["BTC-USDT"].seq_id == 123457


@pytest.mark.shared_data
def test_recorded_books_checksum_verified_is_a_mismatch(shared_data: Path) -> None:
    reader = PushReader()
    message = json.loads((shared_data / "okx" / "nautilus_ws_books_snapshot.json").read_text())
    read = reader.read(message, 7)
    assert read.resubscribe == (("books", "BTC-USDT"),) and read.events == ()
    assert reader.stats.book_breaks == {("BTC-USDT", "checksum mismatch"): 1}


@pytest.mark.shared_data
def test_every_recorded_okx_message_is_read_and_counted(shared_data: Path) -> None:
    reader = PushReader(verify_checksum=False)
    events = []
    for path in sorted((shared_data / "okx").iterdir()):
        lines = path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]
        for line in lines:
            events += reader.read(line, 1).events
    assert reader.stats.kinds == {Kind.DATA: 9, Kind.PRIVATE: 7, Kind.MALFORMED: 8}
    assert reader.stats.malformed == {("?", "not a push"): 8}
    assert [type(e).__name__ for e in events].count("Trade") == 3
    assert [type(e).__name__ for e in events].count("Quote") == 4  # tickers, bbo-tbt, books snapshot + update
