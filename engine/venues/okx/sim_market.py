"""What the local OKX simulator's REST side serves of one symbol, in OKX's words, pure.

A `Tape` holds one symbol's lake rows as arrays (trades, the last quote, funding, bars, the book)
and an `Instrument` its OKX metadata; the functions below turn them into OKX v5 REST rows: every
number a string, timestamps milliseconds, derivative sizes in contracts (base size / ctVal, or
base size x price / ctVal for inverse contracts). `engine.venues.okx.sim_rest` serves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from engine.venues.okx.fake_rest import spot_instrument, swap_instrument
from engine.venues.okx.formats import is_derivative, is_inverse

__all__ = ["Bars", "Instrument", "Tape", "book_levels", "candle_rows", "mark_row", "num", "ticker_row", "trade_rows"]

DAY_MS = 86_400_000
# Dated futures expire at 08:00 UTC of the date in their instId.
EXPIRY_HOUR_MS = 8 * 3_600_000


def num(value: float | Decimal) -> str:
    """A number as OKX writes it: plain decimal text, no exponent, no trailing zeros."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    return str(np.format_float_positional(float(value), trim="-"))


@dataclass(frozen=True, slots=True)
class Instrument:
    """OKX's metadata of one served instrument; sizes in OKX's order-size unit."""

    symbol: str
    inst_id: str
    tick: str
    lot: str
    min_size: str
    ct_val: Decimal | None = None  # derivatives only
    inst_id_code: int | None = None
    state: str = "live"

    @property
    def inst_type(self) -> str:
        if not is_derivative(self.inst_id):
            return "SPOT"
        return "SWAP" if self.inst_id.endswith("-SWAP") else "FUTURES"

    def row(self) -> dict[str, Any]:
        """The instrument as `/api/v5/public/instruments` lists it."""
        if self.ct_val is None:
            row = spot_instrument(self.inst_id, self.tick, self.lot)
        else:
            row = swap_instrument(self.inst_id, num(self.ct_val), self.tick, self.lot)
            row["instType"] = self.inst_type
            if self.inst_type == "FUTURES":
                expiry = np.datetime64("20" + _iso(self.inst_id.split("-")[2]), "ms").astype(np.int64)
                row["expTime"] = str(int(expiry) + EXPIRY_HOUR_MS)
                row["alias"] = "quarter"
        row.update(minSz=self.min_size, state=self.state)
        row["instIdCode"] = "" if self.inst_id_code is None else str(self.inst_id_code)
        return row

    def contracts(self, size: float, price: float) -> str:
        """OKX's size of a base-currency size: itself for spot, else in contracts."""
        if self.ct_val is None:
            return num(size)
        if is_inverse(self.inst_id):
            return num(Decimal(num(size * price)) / self.ct_val)
        return num(Decimal(num(size)) / self.ct_val)


def _iso(yymmdd: str) -> str:
    return f"{yymmdd[:2]}-{yymmdd[2:4]}-{yymmdd[4:]}"


@dataclass(frozen=True, slots=True)
class Bars:
    """Candles as arrays, ascending by open time (ms); volumes in base and quote currency."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    base: np.ndarray
    quote: np.ndarray

    @classmethod
    def from_trades(cls, tape: Tape, bar_ms: int) -> Bars:
        """OHLCV of the trades in each `bar_ms` bucket (empty buckets give no candle)."""
        if not len(tape.ts):
            empty = np.empty(0)
            return cls(np.empty(0, np.int64), empty, empty, empty, empty, empty, empty)
        bucket = tape.ts // bar_ms * bar_ms
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        ends = np.r_[starts[1:], len(bucket)] - 1
        return cls(
            bucket[starts],
            tape.price[starts],
            np.maximum.reduceat(tape.price, starts),
            np.minimum.reduceat(tape.price, starts),
            tape.price[ends],
            np.add.reduceat(tape.size, starts),
            np.add.reduceat(tape.size * tape.price, starts),
        )


@dataclass(frozen=True, slots=True)
class Tape:
    """One symbol's lake rows: trades ascending (ts ms, id, key to page by, price, base size,
    side +1/-1), the last quote (bid, ask, bid size, ask size, ts ms) if any, funding (ts ms,
    rate), bars by lake interval, and the last book (price, base size) per side if any."""

    ts: np.ndarray
    ids: list[str]
    keys: np.ndarray
    price: np.ndarray
    size: np.ndarray
    side: np.ndarray
    quote: tuple[float, float, float, float, int] | None = None
    funding_ts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    funding_rate: np.ndarray = field(default_factory=lambda: np.empty(0))
    bars: dict[str, Bars] = field(default_factory=dict)
    book: tuple[list[tuple[float, float]], list[tuple[float, float]], int] | None = None
    mark: tuple[float, int] | None = None  # the last mark-price bar's close and open time (ms)
    by_position: bool = False  # `keys` are positions: the ids are not ascending integers


def mark_row(tape: Tape, inst: Instrument) -> dict[str, str] | None:
    """`/public/mark-price`'s row: the last mark-price close, else the last trade's price."""
    mark = tape.mark or ((float(tape.price[-1]), int(tape.ts[-1])) if len(tape.ts) else None)
    if mark is None:
        return None
    inst_type = "MARGIN" if inst.inst_type == "SPOT" else inst.inst_type
    return {"instType": inst_type, "instId": inst.inst_id, "markPx": num(mark[0]), "ts": str(mark[1])}


def trade_rows(tape: Tape, inst: Instrument, index: np.ndarray) -> list[dict[str, str]]:
    """The trades at `index` in OKX's public-trade shape, in the order given."""
    return [
        {
            "instId": inst.inst_id,
            "side": "buy" if tape.side[i] > 0 else "sell",
            "sz": inst.contracts(float(tape.size[i]), float(tape.price[i])),
            "px": num(float(tape.price[i])),
            "source": "0",
            "tradeId": tape.ids[i],
            "ts": str(int(tape.ts[i])),
        }
        for i in index
    ]


def candle_rows(bars: Bars, inst: Instrument, index: np.ndarray, now_ms: int, bar_ms: int) -> list[list[str]]:
    """Candles at `index`: [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]. `vol` counts
    contracts for derivatives (base for spot), `volCcy` base for derivatives (quote for spot)."""
    rows = []
    for i in index:
        close, base, quote = float(bars.close[i]), float(bars.base[i]), float(bars.quote[i])
        vol = inst.contracts(base, close) if inst.ct_val is not None else num(base)
        second = num(base) if inst.ct_val is not None else num(quote)
        done = "1" if int(bars.ts[i]) + bar_ms <= now_ms else "0"
        prices = (bars.open[i], bars.high[i], bars.low[i], bars.close[i])
        rows.append([str(int(bars.ts[i])), *(num(float(p)) for p in prices), vol, second, num(quote), done])
    return rows


def book_levels(tape: Tape, inst: Instrument) -> tuple[list[tuple[float, float]], list[tuple[float, float]], int]:
    """(bids best first, asks best first, ts ms): the last book, else the last quote, else one
    level each side synthesised around the last trade (the taker's side at the trade price,
    the other side one tick away, both the trade's size); empty without any data."""
    if tape.book is not None:
        return tape.book
    if tape.quote is not None:
        bid, ask, bid_size, ask_size, ts = tape.quote
        return [(bid, bid_size)], [(ask, ask_size)], ts
    if not len(tape.ts):
        return [], [], 0
    last, size, tick = float(tape.price[-1]), float(tape.size[-1]), float(inst.tick)
    if tape.side[-1] > 0:  # a buyer took the ask
        return [(last - tick, size)], [(last, size)], int(tape.ts[-1])
    return [(last, size)], [(last + tick, size)], int(tape.ts[-1])


def ticker_row(tape: Tape, inst: Instrument) -> dict[str, str]:
    """`/market/ticker`'s row: the last trade, the best bid and ask (`book_levels`), and the
    24 hours before the last trade (open, high, low, volumes)."""
    bids, asks, book_ts = book_levels(tape, inst)
    row = {"instType": inst.inst_type, "instId": inst.inst_id}
    if not len(tape.ts):
        return row | dict.fromkeys(_TICKER_FIELDS, "") | {"vol24h": "0", "volCcy24h": "0", "ts": str(book_ts)}
    last, ts = float(tape.price[-1]), int(tape.ts[-1])
    day = slice(int(np.searchsorted(tape.ts, ts - DAY_MS, "right")), len(tape.ts))
    prices, sizes = tape.price[day], tape.size[day]
    base, quote = float(sizes.sum()), float((sizes * prices).sum())
    return row | {
        "last": num(last),
        "lastSz": inst.contracts(float(tape.size[-1]), last),
        "askPx": num(asks[0][0]) if asks else "",
        "askSz": inst.contracts(asks[0][1], asks[0][0]) if asks else "",
        "bidPx": num(bids[0][0]) if bids else "",
        "bidSz": inst.contracts(bids[0][1], bids[0][0]) if bids else "",
        "open24h": num(float(prices[0])),
        "high24h": num(float(prices.max())),
        "low24h": num(float(prices.min())),
        "vol24h": inst.contracts(base, last) if inst.ct_val is not None else num(base),
        "volCcy24h": num(base) if inst.ct_val is not None else num(quote),
        "sodUtc0": num(_open_since(tape, ts // DAY_MS * DAY_MS)),
        "sodUtc8": num(_open_since(tape, (ts + 8 * 3_600_000) // DAY_MS * DAY_MS - 8 * 3_600_000)),
        "ts": str(max(ts, book_ts)),
    }


_TICKER_FIELDS = ("last", "lastSz", "askPx", "askSz", "bidPx", "bidSz", "open24h", "high24h", "low24h", "sodUtc0",
                  "sodUtc8")


def _open_since(tape: Tape, start_ms: int) -> float:
    """The first price at or after `start_ms` (the last price when none)."""
    i = int(np.searchsorted(tape.ts, start_ms, "left"))
    return float(tape.price[min(i, len(tape.ts) - 1)])
