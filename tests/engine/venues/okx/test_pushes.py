"""OKX WebSocket messages -> engine events: every recorded message, each channel, malformed variants."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.model.events import Bar, Funding, MarkPrice, Quote, Trade
from engine.venues.okx.formats import Contract
from engine.venues.okx.pushes import Kind, Push, parse_push

RECV = 1_700_000_000_000_000_123
MS = 1_000_000


def okx_file(shared_data: Path, name: str) -> Any:
    return json.loads((shared_data / "okx" / name).read_text())


def trade_push(inst: str, px: str = "40000", sz: str = "3", side: str = "buy") -> dict[str, Any]:
    item = {"instId": inst, "tradeId": "9", "px": px, "sz": sz, "side": side, "ts": "1700000000000"}
    return {"arg": {"channel": "trades", "instId": inst}, "data": [item]}


def only(push: Push) -> Any:
    assert push.kind is Kind.DATA, push.reason
    assert len(push.events) == 1
    return push.events[0]


# -- the recorded messages -------------------------------------------------------------------------
@pytest.mark.shared_data
def test_recorded_trades_push_gives_its_trade(shared_data: Path) -> None:
    trade = only(parse_push(okx_file(shared_data, "nautilus_ws_trades.json"), RECV))
    # {"instId":"BTC-USD","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897"}
    assert trade == Trade("BTC/USD", 1630048897897 * MS, RECV, 42219.9, 0.12060306, 1, "130639474")


@pytest.mark.shared_data
def test_recorded_trade_lines_as_text_give_taker_sides(shared_data: Path) -> None:
    lines = (shared_data / "okx" / "gocryptotrader_wsAllTrades.jsonl").read_text().splitlines()
    trades = [only(parse_push(line, RECV)) for line in lines]
    assert [(t.price, t.size, t.side, t.trade_id) for t in trades] == [
        (95634.9, 0.00011186, 1, "674510826"),
        (95635.3, 0.00011194, -1, "674510827"),
    ]
    assert trades[0].ts_event == 1740394561685 * MS and trades[0].symbol == "BTC/USDT"


@pytest.mark.shared_data
def test_recorded_tickers_push_gives_a_quote(shared_data: Path) -> None:
    quote = only(parse_push(okx_file(shared_data, "nautilus_ws_tickers.json"), RECV))
    assert quote == Quote("BTC/USDT", 1597026383085 * MS, RECV, 8888.88, 9999.99, 5.0, 11.0)


@pytest.mark.shared_data
def test_recorded_bbo_tbt_push_gives_a_quote_and_a_one_level_snapshot(shared_data: Path) -> None:
    push = parse_push(okx_file(shared_data, "nautilus_ws_bbo_tbt.json"), RECV)
    assert only(push) == Quote("BTC/USDT", 1597026383085 * MS, RECV, 8476.97, 8476.98, 256.0, 415.0)
    (book,) = push.books
    assert book.snapshot and book.bids == (("8476.97", "256"),) and book.asks == (("8476.98", "415"),)
    assert book.prev_seq_id is None  # bbo-tbt is not chained


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "snapshot", "prev"), [
    ("nautilus_ws_books_snapshot.json", True, -1),
    ("nautilus_ws_books_update.json", False, 123456),
])
def test_recorded_books_pushes_give_book_updates(shared_data: Path, name: str, snapshot: bool, prev: int) -> None:
    push = parse_push(okx_file(shared_data, name), RECV)
    assert push.kind is Kind.DATA and push.events == ()  # the quote comes from the chained book
    (book,) = push.books
    assert (book.snapshot, book.prev_seq_id, book.checksum) == (snapshot, prev, -855196043)
    assert book.seq_id == 123456 + (not snapshot)
    assert len(book.bids) == len(book.asks) == 8
    assert book.bids[0] == ("8476.97", "256") and book.asks[-1] == ("8506.96", "100")


@pytest.mark.shared_data
def test_recorded_funding_rate_push_gives_funding_at_its_funding_time(shared_data: Path) -> None:
    funding = only(parse_push(okx_file(shared_data, "nautilus_ws_funding_rate.json"), RECV))
    assert isinstance(funding, Funding)
    assert (funding.symbol, funding.ts_event, funding.rate) == ("BTC/USDT:USDT", 1744590349506 * MS, 0.0001)


@pytest.mark.shared_data
def test_recorded_candle_1d_is_skipped_as_hong_kong_aligned(shared_data: Path) -> None:
    push = parse_push(okx_file(shared_data, "nautilus_ws_candle.json"), RECV)
    assert push.kind is Kind.DATA and push.events == ()
    assert push.skipped == ("bar not aligned to UTC (subscribe the channel ending in utc)",)


@pytest.mark.shared_data
def test_recorded_candle_on_a_utc_channel_gives_a_bar(shared_data: Path) -> None:
    message = okx_file(shared_data, "nautilus_ws_candle.json")
    message["arg"]["channel"] = "candle1Dutc"
    bar = only(parse_push(message, RECV))
    # ["1597026383085","8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061","1"]
    assert bar == Bar("BTC/USDT", "1d", 1597026383085 * MS, 8533.02, 8553.74, 8527.17, 8548.26, 45247.0)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["nautilus_ws_orders.json", "nautilus_ws_orders_fok.json", "nautilus_ws_account.json"])
def test_recorded_private_pushes_are_classified_not_parsed(shared_data: Path, name: str) -> None:
    push = parse_push(okx_file(shared_data, name), RECV)
    assert push.kind is Kind.PRIVATE and push.events == () and push.channel in ("orders", "account")


@pytest.mark.shared_data
def test_recorded_http_bodies_are_not_taken_for_pushes(shared_data: Path) -> None:
    names = sorted(p.name for p in (shared_data / "okx").glob("nautilus_http_*.json"))
    assert len(names) == 8
    for name in names:
        push = parse_push((shared_data / "okx" / name).read_text(), RECV)
        assert (push.kind, push.reason, push.events, push.books) == (Kind.MALFORMED, "not a push", (), ()), name


@pytest.mark.shared_data
def test_every_recorded_okx_message_parses_without_raising(shared_data: Path) -> None:
    kinds = []
    for path in sorted((shared_data / "okx").iterdir()):
        lines = path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]
        kinds += [parse_push(line, RECV).kind for line in lines]
    assert kinds.count(Kind.DATA) == 9 and kinds.count(Kind.PRIVATE) == 7 and kinds.count(Kind.MALFORMED) == 8


# -- channels and instruments ------------------------------------------------------------------------
@pytest.mark.parametrize(("inst", "symbol", "size"), [
    ("BTC-USDT", "BTC/USDT", 3.0),  # spot: base as sent
    ("BTC-USDT-SWAP", "BTC/USDT:USDT", 0.03),  # 3 contracts x 0.01 BTC
    ("BTC-USD-SWAP", "BTC/USD:BTC", 0.0075),  # 3 x 100 USD / 40,000
    ("ETH-USDT-220325", "ETH/USDT:USDT-220325", 0.3),  # 3 x 0.1 ETH
    ("BTC-USD-220325", "BTC/USD:BTC-220325", 0.0075),
])
def test_trade_of_each_instrument_kind_maps_symbol_and_base_size(inst: str, symbol: str, size: float) -> None:
    trade = only(parse_push(trade_push(inst), RECV))
    assert trade.symbol == symbol and trade.size == pytest.approx(size) and trade.price == 40000.0


def test_given_contract_overrides_the_known_ct_val() -> None:
    contracts = {"SOL-USDT-SWAP": Contract("SOL-USDT-SWAP", False, Decimal("1"))}
    assert only(parse_push(trade_push("SOL-USDT-SWAP"), RECV, contracts)).size == 3.0
    push = parse_push(trade_push("SOL-USDT-SWAP"), RECV)
    assert (push.kind, push.reason) == (Kind.MALFORMED, "unknown contract size")


def test_option_instrument_is_refused() -> None:
    push = parse_push(trade_push("BTC-USD-250328-50000-C"), RECV)
    assert (push.kind, push.channel, push.reason) == (Kind.MALFORMED, "trades", "unsupported instrument")


def test_trades_all_channel_is_parsed_like_trades() -> None:
    message = trade_push("BTC-USDT", side="sell")
    message["arg"]["channel"] = "trades-all"
    assert only(parse_push(message, RECV)).side == -1


def test_unconfirmed_candle_is_skipped_and_confirmed_one_kept_with_derivative_vol_ccy() -> None:
    rows = [["1700000000000", "10", "12", "9", "11", "55", "5.5", "60", "0"],
            ["1699999940000", "9", "10", "8", "10", "40", "4", "39", "1"]]
    push = parse_push({"arg": {"channel": "candle1m", "instId": "ETH-USDT-SWAP"}, "data": rows}, RECV)
    assert push.skipped == ("unconfirmed candle",)
    assert push.events == (Bar("ETH/USDT:USDT", "1m", 1699999940000 * MS, 9.0, 10.0, 8.0, 10.0, 4.0),)


def test_mark_price_push_gives_mark_price() -> None:
    message = {"arg": {"channel": "mark-price", "instId": "BTC-USDT-SWAP"},
               "data": [{"instType": "SWAP", "instId": "BTC-USDT-SWAP", "markPx": "42310.6", "ts": "1630049139746"}]}
    assert only(parse_push(message, RECV)) == MarkPrice("BTC/USDT:USDT", 1630049139746 * MS, RECV, 42310.6)


def test_books5_with_an_empty_bid_side_is_a_valid_quote() -> None:
    item = {"asks": [["101", "2", "0", "1"]], "bids": [], "instId": "BTC-USDT", "ts": "1700000000000", "seqId": 5}
    quote = only(parse_push({"arg": {"channel": "books5", "instId": "BTC-USDT"}, "data": [item]}, RECV))
    assert math.isnan(quote.bid) and math.isnan(quote.bid_size) and (quote.ask, quote.ask_size) == (101.0, 2.0)


def test_tickers_with_an_empty_ask_is_a_valid_quote() -> None:
    item = {"instId": "BTC-USDT", "bidPx": "100", "bidSz": "1", "askPx": "", "askSz": "", "ts": "1700000000000"}
    quote = only(parse_push({"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": [item]}, RECV))
    assert quote.bid == 100.0 and math.isnan(quote.ask) and math.isnan(quote.ask_size)


# -- not market data ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("message", "kind", "reason"), [
    ("pong", Kind.PONG, ""),
    (b"pong", Kind.PONG, ""),
    ('{"id":"1","event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"a"}', Kind.ACK, ""),
    ('{"event":"unsubscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"a"}', Kind.ACK, ""),
    ('{"event":"error","code":"60012","msg":"Invalid request","connId":"a"}', Kind.ERROR, "60012 Invalid request"),
    ('{"event":"login","code":"0","msg":"","connId":"a"}', Kind.EVENT, ""),
    ('{"event":"notice","code":"64008","msg":"The connection will soon be closed"}', Kind.EVENT, ""),
    ('{"id":"1","op":"order","data":[],"code":"60013","msg":""}', Kind.OP, ""),
])
def test_control_messages_are_classified(message: Any, kind: Kind, reason: str) -> None:
    push = parse_push(message, RECV)
    assert (push.kind, push.reason, push.events) == (kind, reason, ())


# -- malformed ---------------------------------------------------------------------------------------
def _trade_with(**change: Any) -> dict[str, Any]:
    message = trade_push("BTC-USDT")
    message["data"][0].update(change)
    return message


@pytest.mark.parametrize(("message", "channel", "reason"), [
    ('{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"px":"1"', "", "invalid json"),
    ({k: v for k, v in trade_push("BTC-USDT").items() if k != "data"}, "trades", "missing field data"),
    (_trade_with(px="abc"), "trades", "bad number"),
    (_trade_with(px="nan"), "trades", "bad number"),
    (_trade_with(px="-1"), "trades", "bad number"),
    (_trade_with(px=40000.5), "trades", "wrong type"),
    (_trade_with(ts="soon"), "trades", "bad number"),
    (_trade_with(side="short"), "trades", "bad side"),
    ({"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [{"tradeId": "1"}]}, "trades", "missing field px"),
    ({"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": {"px": "1"}}, "trades", "wrong type"),
    ({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "snapshot",
      "data": [{"bids": [["1"]], "asks": [], "ts": "1", "seqId": 1, "prevSeqId": -1}]}, "books", "wrong type"),
    ({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "snapshot",
      "data": [{"bids": [], "asks": [], "ts": "1", "seqId": "1", "prevSeqId": -1}]}, "books", "wrong type"),
    ({"arg": {"channel": "candle1m", "instId": "BTC-USDT"}, "data": [["1", "2"]]}, "candle1m", "short candle"),
    ({"arg": {"channel": "bogus", "instId": "BTC-USDT"}, "data": []}, "bogus", "unknown channel"),
    ([1, 2], "", "not a json object"),
    ('"hello"', "", "not a json object"),
])
def test_malformed_message_is_reported_with_channel_and_reason(message: Any, channel: str, reason: str) -> None:
    push = parse_push(message, RECV)
    assert (push.kind, push.channel, push.reason) == (Kind.MALFORMED, channel, reason)
    assert push.events == () and push.books == ()


def test_one_bad_item_drops_the_whole_push() -> None:
    message = trade_push("BTC-USDT")
    message["data"].append({**message["data"][0], "sz": "x"})
    push = parse_push(message, RECV)
    assert push.kind is Kind.MALFORMED and push.events == ()
