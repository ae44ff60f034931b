"""Reading the simulator's tapes out of a lake: books, marks, bars, ids, instruments."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from engine.model.errors import UserError
from engine.store.lake import Lake
from engine.venues.okx.sim_rest import SimRest
from engine.venues.okx.sim_tapes import load_instrument, load_tape
from tests.engine.store.factories import DAY0, bars, book_rows, seconds, trades

MS = 1_000_000


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake.at(tmp_path)


def test_last_book_is_the_last_snapshot_with_later_updates(lake: Lake) -> None:
    recv = seconds(1, 1, 1, 2, 2, 3, 3)
    lake.write("books", "okx", "ETH/USDT", pa.concat_tables([
        book_rows(recv[:3], [0, 0, 0], [1, -1, -1], [99.0, 101.0, 102.0], [1.0, 2.0, 3.0], "snapshot"),
        book_rows(recv[3:5], [0, 0], [1, 1], [98.0, 97.0], [1.0, 4.0], "snapshot"),
        book_rows(recv[5:], [0, 0], [1, -1], [98.0, 103.0], [0.0, 5.0]),
    ]))
    book = load_tape(lake, "okx", "ETH/USDT").book
    assert book == ([(97.0, 4.0)], [(103.0, 5.0)], (recv[-1] - MS) // MS)


def test_mark_and_bars_are_read_and_served_when_there_are_no_trades(lake: Lake) -> None:
    lake.write("mark", "okx", "ETH/USDT:USDT", bars(seconds(0, 60), [2000.0, 2001.0], [0.0, 0.0]))
    lake.write("bars", "okx", "ETH/USDT:USDT", bars(seconds(0, 60, 120), [10.0, 11.0, 12.0], [3.0, 0.5, 1.0]))
    tape = load_tape(lake, "okx", "ETH/USDT:USDT")
    assert tape.mark == (2001.0, DAY0 // MS + 60_000)
    sim = SimRest(lake, ["ETH/USDT:USDT"])
    status, body = sim.handle("/api/v5/market/candles", {"instId": "ETH-USDT-SWAP", "bar": "1m", "limit": "2"})
    assert status == 200
    assert body["data"] == [
        [str(DAY0 // MS + 120_000), "11", "13", "11", "12", "10", "1", "12", "1"],
        [str(DAY0 // MS + 60_000), "10", "12", "10", "11", "5", "0.5", "5.5", "1"],
    ]


def test_ids_that_are_not_integers_page_by_position(lake: Lake) -> None:
    lake.write("trades", "okx", "ETH/USDT", trades(seconds(1, 2, 3), ids=["b", "a", "c"]))
    tape = load_tape(lake, "okx", "ETH/USDT")
    assert (tape.keys.tolist(), tape.by_position) == ([0, 1, 2], True)
    sim = SimRest(lake, ["ETH/USDT"])
    _, body = sim.handle("/api/v5/market/history-trades", {"instId": "ETH-USDT", "after": "c"})
    assert [row["tradeId"] for row in body["data"]] == ["a", "b"]
    status, body = sim.handle("/api/v5/market/history-trades", {"instId": "ETH-USDT", "after": "zz"})
    assert (status, body["code"]) == (400, "51000")


def test_instrument_from_defaults_and_unknown_ct_val_refused(lake: Lake) -> None:
    swap = load_instrument(lake, "okx", "ETH/USDT:USDT")
    assert (swap.inst_id, swap.ct_val, swap.tick) == ("ETH-USDT-SWAP", Decimal("0.1"), "0.1")
    assert load_instrument(lake, "okx", "BTC/USD:BTC").ct_val == Decimal("100")
    with pytest.raises(UserError, match="contract size is unknown"):
        load_instrument(lake, "okx", "SOL/USDT:USDT")
