"""freqtrade's JSON data files (optionally gzipped), named `<PAIR>-trades.json` / `<PAIR>-<tf>[-<type>].json`.

Trades rows are `[ts_ms, id, order_type, side, price, amount, cost]` (side is the taker's),
candles `[ts_ms, open, high, low, close, volume]`; `-mark` candles go to kind mark and
`-funding_rate` files (rate in the second column) to kind funding. The pair comes from the
name (`XRP_ETH` -> XRP/ETH, `XRP_USDT_USDT` -> XRP/USDT:USDT); the venue from --venue, or from
the folder when it is named after an exchange as in freqtrade's `user_data/data/<exchange>/`.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pyarrow as pa

from engine.model.errors import UserError
from engine.store.formats._common import (
    Batch,
    Options,
    Parsed,
    Source,
    Unreadable,
    floats_of,
    marks,
    ms_of,
    read_side,
    resolve,
)

NAME = "freqtrade"
_TRADES = re.compile(r"^(?P<pair>[A-Za-z0-9]+(?:_[A-Za-z0-9]+){1,2})-trades\.json$")
_CANDLES = re.compile(
    r"^(?P<pair>[A-Za-z0-9]+(?:_[A-Za-z0-9]+){1,2})-(?P<tf>\d+[smhd])(?:-(?P<type>spot|futures|mark|funding_rate))?\.json$"
)
# freqtrade's data folders are named after ccxt exchange ids
EXCHANGES = frozenset(
    {
        "binance",
        "binanceus",
        "binanceusdm",
        "okx",
        "bybit",
        "kraken",
        "kucoin",
        "gate",
        "gateio",
        "htx",
        "bitget",
        "bitmart",
        "bingx",
        "hyperliquid",
        "coinbase",
        "bitfinex",
        "mexc",
        "huobi",
        "deribit",
    }
)


def _match(source: Source) -> re.Match[str] | None:
    return _TRADES.match(source.name) or _CANDLES.match(source.name)


def sniff(source: Source) -> bool:
    """A freqtrade file name and a JSON array of arrays."""
    return _match(source) is not None and source.head.lstrip().startswith(b"[")


def parse(source: Source, options: Options) -> Parsed:
    """One batch: trades, bars, mark bars or funding rates."""
    match = _match(source)
    assert match is not None  # sniffed
    folder = source.path.parent.name.lower()
    from_folder = folder if folder in EXCHANGES and options.venue is None else None
    venue, symbol = resolve(source, options, from_folder, _symbol(match["pair"]))
    document = msgspec.json.decode(source.read())
    if not isinstance(document, list) or not document:
        raise UserError(f"{source.path}: the file holds no rows (a freqtrade file is a JSON array of rows)")
    trades = "tf" not in match.groupdict()
    width = 6 if trades else 2 if match["type"] == "funding_rate" else 6
    rows = [row for row in document if isinstance(row, list) and len(row) >= width]
    malformed = len(document) - len(rows)
    first_bad = next((row for row in document if not (isinstance(row, list) and len(row) >= width)), None)
    skipped = {"malformed": malformed} if malformed else {}
    example = f"{str(first_bad)[:60]!r} is not a row of {width} or more fields" if malformed else None
    if trades:
        batch = Batch("trades", venue, symbol, *_trades(rows))
    else:
        kind = {"mark": "mark", "funding_rate": "funding"}.get(match["type"] or "", "bars")
        found = _funding(rows) if kind == "funding" else _candles(rows, match["tf"])
        batch = Batch(kind, venue, symbol, *found)
    return Parsed(NAME, [batch], skipped, example)


def _symbol(pair: str) -> str:
    parts = pair.upper().split("_")
    return f"{parts[0]}/{parts[1]}" + (f":{parts[2]}" if len(parts) == 3 else "")


def _column(rows: list[list[Any]], index: int) -> list[Any]:
    return [row[index] for row in rows]


Found = tuple[pa.Table, tuple[Unreadable, ...], dict[str, str]]


def _trades(rows: list[list[Any]]) -> Found:
    names = {"ts_event": "field 1 (time)", "price": "field 5 (price)", "size": "field 6 (amount)"}
    names["side"] = "field 4 (side)"
    ts, bad_ts = ms_of(_column(rows, 0), names["ts_event"])
    price, bad_price = floats_of(_column(rows, 4), names["price"], "price")
    size, bad_size = floats_of(_column(rows, 5), names["size"], "size")
    sides = pa.array([None if v is None else str(v) for v in _column(rows, 3)], pa.string())
    side, bad_side = read_side(sides, names["side"])
    table = pa.table(
        {
            "ts_event": ts,
            "trade_id": pa.array([None if v is None else str(v) for v in _column(rows, 1)], pa.string()),
            "price": price,
            "size": size,
            "side": side,
        }
    )
    return table, marks(bad_ts, bad_price, bad_size, bad_side), names


def _candles(rows: list[list[Any]], interval: str) -> Found:
    ts, bad_ts = ms_of(_column(rows, 0), "field 1 (time)")
    table: dict[str, Any] = {"ts_event": ts}
    found: list[Unreadable | None] = [bad_ts]
    names = {"ts_event": "field 1 (time)"}
    for index, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        names[name] = f"field {index + 1} ({name})"
        table[name], bad = floats_of(_column(rows, index), names[name], name)
        found.append(bad)
    table["interval"] = pa.array([interval] * len(rows), pa.string())
    return pa.table(table), marks(*found), names


def _funding(rows: list[list[Any]]) -> Found:
    ts, bad_ts = ms_of(_column(rows, 0), "field 1 (time)")
    rate, bad_rate = floats_of(_column(rows, 1), "field 2 (rate)", "rate")
    names = {"ts_event": "field 1 (time)", "rate": "field 2 (rate)"}
    return pa.table({"ts_event": ts, "rate": rate}), marks(bad_ts, bad_rate), names
