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
import numpy as np
import pyarrow as pa

from engine.model.errors import UserError
from engine.model.time import NS_PER_MS
from engine.store.formats._common import Batch, Options, Parsed, Source, resolve, to_side

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
    rows: list[list[Any]] = msgspec.json.decode(source.read())
    if not rows:
        raise UserError(f"{source.path}: the file holds no rows")
    if "tf" not in match.groupdict():
        return Parsed(NAME, [Batch("trades", venue, symbol, _trades(rows))])
    kind = {"mark": "mark", "funding_rate": "funding"}.get(match["type"] or "", "bars")
    table = _funding(rows) if kind == "funding" else _candles(rows, match["tf"])
    return Parsed(NAME, [Batch(kind, venue, symbol, table)])


def _symbol(pair: str) -> str:
    parts = pair.upper().split("_")
    return f"{parts[0]}/{parts[1]}" + (f":{parts[2]}" if len(parts) == 3 else "")


def _column(rows: list[list[Any]], index: int) -> list[Any]:
    return [row[index] for row in rows]


def _ts(rows: list[list[Any]]) -> pa.Array:
    return pa.array(np.asarray(_column(rows, 0), dtype=np.int64) * NS_PER_MS)


def _floats(rows: list[list[Any]], index: int) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in _column(rows, index)], dtype=np.float64)


def _trades(rows: list[list[Any]]) -> pa.Table:
    return pa.table(
        {
            "ts_event": _ts(rows),
            "trade_id": pa.array([None if v is None else str(v) for v in _column(rows, 1)], pa.string()),
            "price": _floats(rows, 4),
            "size": _floats(rows, 5),
            "side": to_side(pa.array(_column(rows, 3), pa.string())),
        }
    )


def _candles(rows: list[list[Any]], interval: str) -> pa.Table:
    table: dict[str, Any] = {"ts_event": _ts(rows)}
    for index, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        table[name] = _floats(rows, index)
    table["interval"] = pa.array([interval] * len(rows), pa.string())
    return pa.table(table)


def _funding(rows: list[list[Any]]) -> pa.Table:
    return pa.table({"ts_event": _ts(rows), "rate": _floats(rows, 1)})
