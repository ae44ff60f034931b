"""Quotes derived from book rows: the top of book after each message, in receive order."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from engine.store.book_quotes import quotes_from_books
from engine.store.lake import Lake
from engine.store.schema import QUOTES
from tests.engine.store.factories import book_rows, seconds


def _tops(table: pa.Table) -> list[tuple[float, float, float, float]]:
    return list(zip(*(table[c].to_pylist() for c in ("bid", "ask", "bid_size", "ask_size")), strict=True))


def test_quotes_follow_the_top_of_book_message_by_message() -> None:
    snapshot = book_rows(seconds(1, 1, 1, 1), [0] * 4, [1, 1, -1, -1], [99.0, 100.0, 101.0, 102.0],
                         [5.0, 1.0, 2.0, 7.0], "snapshot")
    updates = book_rows(
        seconds(2, 3, 3, 4, 5),
        [0, 0, 0, 0, 0],
        [1, -1, -1, 1, 1],
        [98.0, 101.0, 101.5, 100.0, 99.0],
        [3.0, 0.0, 4.0, 2.0, 0.0],
    )  # a level below the top; the best ask goes and another comes in one message; a size; a level under
    quotes = quotes_from_books(pa.concat_tables([updates, snapshot]))  # any order: replayed by receive time
    assert quotes.schema == QUOTES
    assert _tops(quotes) == [(100.0, 101.0, 1.0, 2.0), (100.0, 101.5, 1.0, 4.0), (100.0, 101.5, 2.0, 4.0)]
    assert quotes["ts_recv"].to_pylist() == seconds(1, 3, 4)


def test_a_snapshot_replaces_the_book_and_crossed_or_one_sided_books_give_no_quote() -> None:
    first = book_rows(seconds(1, 1), [0, 0], [1, -1], [100.0, 101.0], [1.0, 1.0], "snapshot")
    one_sided = book_rows(seconds(2), [0], [1], [90.0], [1.0], "snapshot")
    crossed = book_rows(seconds(3), [0], [-1], [80.0], [1.0])
    fixed = book_rows(seconds(3), [1], [-1], [80.0], [0.0])  # same receive time, next message
    ask = book_rows(seconds(4), [0], [-1], [91.0], [2.0])
    quotes = quotes_from_books(pa.concat_tables([first, one_sided, crossed, fixed, ask]))
    assert _tops(quotes) == [(100.0, 101.0, 1.0, 1.0), (90.0, 91.0, 1.0, 2.0)]  # 100 went with the snapshot
    assert quotes_from_books(one_sided).num_rows == 0


def test_quotes_of_stored_books_write_as_the_quotes_kind(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.append("books", "okx", "ETH/USDT", book_rows(seconds(1, 1), [0, 0], [1, -1], [100.0, 101.0], [1.0, 1.0]))
    quotes = quotes_from_books(lake.read("books", "okx", "ETH/USDT"))
    assert lake.write("quotes", "okx", "ETH/USDT", quotes).new_rows == 1
    assert quotes_from_books(lake.read("books", "okx", "BTC/USDT")).num_rows == 0
