"""OKX's L2 book: snapshot then updates, deletes, seqId/prevSeqId chain, empty sides, the checksum."""

from __future__ import annotations

import math
import zlib
from decimal import Decimal

import pytest

from engine.venues.okx.book import BookUpdate, L2Book, Level, checksum
from engine.venues.okx.formats import Contract

SPOT = Contract("BTC-USDT", spot=True)
LINEAR = Contract("BTC-USDT-SWAP", spot=False, contract_size=Decimal("0.01"))


def _signed(text: str) -> int:
    """CRC32 of `text` as a signed 32-bit integer, computed here apart from the module under test."""
    value = zlib.crc32(text.encode())
    return value - 2**32 if value > 2**31 - 1 else value


def update(bids: list[Level], asks: list[Level], seq: int, prev: int, snapshot: bool = False,
           check: int = 0) -> BookUpdate:
    return BookUpdate("BTC-USDT", snapshot, tuple(bids), tuple(asks), ts_event=seq * 1000, seq_id=seq,
                      prev_seq_id=prev, checksum=check)


def snapshot_book() -> L2Book:
    book = L2Book("BTC-USDT")
    problem = book.apply(update([("100.5", "2"), ("100", "1")], [("101", "3"), ("102", "4")], 10, -1, True))
    assert problem == ""
    return book


def test_checksum_interleaves_bid_ask_pairs_best_first_and_is_signed() -> None:
    bids, asks = [("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]
    assert checksum(bids, asks) == _signed("3366.1:7:3366.8:9:3366:6:3368:8")
    # OKX's (v3) documentation example for this book states -1881014294
    assert checksum(bids, asks) == -1881014294


def test_checksum_skips_the_missing_levels_of_the_shorter_side() -> None:
    bids, asks = [("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]
    assert checksum(bids, asks) == _signed("3366.1:7:3366.8:9:3368:8:3372:8")
    assert checksum(bids, asks) == 831078360  # OKX's documentation example


def test_checksum_covers_only_25_levels_per_side() -> None:
    bids = [(str(1000 - i), "1") for i in range(30)]
    asks = [(str(2000 + i), "2") for i in range(30)]
    text = ":".join(f"{1000 - i}:1:{2000 + i}:2" for i in range(25))
    assert checksum(bids, asks) == _signed(text)
    assert checksum(bids[:25], asks[:25]) == checksum(bids, asks)  # levels 26+ do not count
    assert checksum([*bids[:24], ("975", "9")], asks) != checksum(bids, asks)  # level 25 does


def test_snapshot_then_update_sets_and_deletes_levels() -> None:
    book = snapshot_book()
    problem = book.apply(update([("100.5", "0"), ("100.7", "5")], [("101", "1.5")], 11, 10))
    assert problem == ""
    bids, asks = book.levels()
    assert bids == [("100.7", "5"), ("100", "1")]  # 100.5 deleted by size "0", 100.7 added
    assert asks == [("101", "1.5"), ("102", "4")]  # 101 resized
    assert book.seq_id == 11 and not book.stale


def test_quote_is_the_best_levels_in_base_currency() -> None:
    book = L2Book("BTC-USDT-SWAP")
    book.apply(BookUpdate("BTC-USDT-SWAP", True, (("40000", "3"),), (("40001", "7"),), 5, 1, -1))
    quote = book.quote("BTC/USDT:USDT", 9, LINEAR)
    assert (quote.bid, quote.ask, quote.ts_event, quote.ts_recv) == (40000.0, 40001.0, 5, 9)
    assert quote.bid_size == pytest.approx(0.03) and quote.ask_size == pytest.approx(0.07)  # contracts x 0.01


def test_one_empty_side_is_a_quote_with_that_side_nan() -> None:
    book = snapshot_book()
    assert book.apply(update([], [("101", "0"), ("102", "0")], 11, 10)) == ""
    quote = book.quote("BTC/USDT", 0, SPOT)
    assert quote.bid == 100.5 and quote.bid_size == 2.0
    assert math.isnan(quote.ask) and math.isnan(quote.ask_size)


def test_update_whose_prev_seq_id_is_not_the_last_seq_id_is_a_break() -> None:
    book = snapshot_book()
    problem = book.apply(update([("100.9", "1")], [], 13, 12))
    assert problem.startswith("sequence break") and "12" in problem and "10" in problem
    assert book.stale
    assert ("100.9", "1") not in book.levels()[0]  # the broken update is not applied
    assert book.apply(update([("99", "1")], [], 14, 13)).startswith("update without a snapshot")
    assert book.apply(update([("99", "1")], [("103", "1")], 20, -1, snapshot=True)) == ""
    assert not book.stale and book.levels() == ([("99", "1")], [("103", "1")])


def test_no_change_heartbeat_and_maintenance_reset_chain_as_usual() -> None:
    book = snapshot_book()
    assert book.apply(update([], [], 10, 10)) == ""  # seqId == prevSeqId: nothing changed
    assert book.apply(update([("100.6", "1")], [], 3, 10)) == ""  # reset: seqId < prevSeqId
    assert book.apply(update([], [("101.5", "1")], 4, 3)) == ""
    assert book.seq_id == 4 and book.levels()[0][0] == ("100.6", "1")


def test_update_before_any_snapshot_is_refused() -> None:
    book = L2Book("BTC-USDT")
    assert book.apply(update([("1", "1")], [], 2, 1)) == "update without a snapshot"
    assert book.stale and book.levels() == ([], [])


def test_checksum_sent_and_matching_keeps_the_book() -> None:
    book = snapshot_book()
    sent = _signed("100.7:5:101:3:100.5:2:102:4:100:1")
    assert book.apply(update([("100.7", "5")], [], 11, 10, check=sent)) == ""
    assert not book.stale


def test_checksum_sent_and_not_matching_makes_the_book_stale() -> None:
    book = snapshot_book()
    problem = book.apply(update([("100.7", "5")], [], 11, 10, check=12345))
    assert problem.startswith("checksum mismatch") and "12345" in problem
    assert book.stale


def test_checksum_zero_or_verification_off_is_not_checked() -> None:
    book = snapshot_book()
    assert book.apply(update([("100.7", "5")], [], 11, 10, check=0)) == ""
    unchecked = L2Book("BTC-USDT", verify_checksum=False)
    assert unchecked.apply(update([("1", "1")], [("2", "1")], 1, -1, snapshot=True, check=12345)) == ""
    assert not unchecked.stale
