"""OKX v5 WebSocket pushes (and REST trade responses) saved as JSON lines or a JSON array.

`trades` / `trades-all` become trades (`side` is the taker's), `bbo-tbt` and `tickers` quotes,
confirmed `candle<bar>` pushes bars and `mark-price-candle<bar>` mark bars. A line may start with
the receive time in ns (`<ns> <json>`, as recorders write), which becomes ts_recv. Swap sizes
are contracts on OKX and are converted to base currency.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from engine.model.errors import UserError
from engine.model.time import NS_PER_MS
from engine.store.formats._common import Batch, Options, Parsed, Source
from engine.venues.okx import formats as okx

log = logging.getLogger("okxbot.ingest")
NAME = "okx-ws"
_decode = msgspec.json.Decoder()


def sniff(source: Source) -> bool:
    """OKX pushes carry `"arg": {"channel": ...}`; REST trade bodies `"code"` and `"tradeId"`."""
    head = source.head
    return (b'"arg"' in head and b'"channel"' in head) or (b'"code"' in head and b'"tradeId"' in head)


def parse(source: Source, options: Options) -> Parsed:
    """Route every message's rows to their (kind, instId, interval) series."""
    rows: dict[tuple[str, str, str], list[tuple[Any, ...]]] = defaultdict(list)
    skipped: Counter[str] = Counter()
    first: list[str] = []
    for recv, message in _messages(source, skipped, first):
        _route(source, message, recv, rows, skipped, first)
    batches = [_batch(source, options, key, found) for key, found in sorted(rows.items())]
    return Parsed(NAME, batches, dict(skipped), first[0] if first else None)


def _route(source: Source, message: Any, recv: int | None, rows: okx.Rows, skipped: Counter[str],
           first: list[str]) -> None:
    """Route a message; when it is malformed, its data items one by one, so one bad trade costs one row."""
    try:
        _route_whole(message, recv, rows, skipped)
        return
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        items = message.get("data") if isinstance(message, dict) else None
        if not isinstance(items, list) or len(items) < 2:
            _malformed(source, skipped, first, exc, repr(message)[:80])
            return
    for item in items:
        try:
            _route_whole({**message, "data": [item]}, recv, rows, skipped)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            _malformed(source, skipped, first, exc, repr(item)[:80])


def _route_whole(message: Any, recv: int | None, rows: okx.Rows, skipped: Counter[str]) -> None:
    """Route a message's rows all or none: a failure part-way leaves `rows` as it was."""
    part: okx.Rows = defaultdict(list)
    okx.route(message, recv, part, skipped)
    for key, found in part.items():
        rows[key].extend(found)


def _malformed(source: Source, skipped: Counter[str], first: list[str], exc: Exception, example: str) -> None:
    """Count a malformed line or message; say so once per file. The rest of the file is kept."""
    skipped["malformed"] += 1
    if skipped["malformed"] == 1:
        first.append(f"{example} ({type(exc).__name__}: {exc})")
        log.warning("%s: skipping a malformed message (%s): %s", source.path, exc, example)


def _messages(source: Source, skipped: Counter[str], first: list[str]) -> Iterator[tuple[int | None, Any]]:
    if not any(_decodes(line) for line in source.head.lstrip().split(b"\n")[:3]):  # one pretty-printed document
        document = _decode.decode(source.read())
        for item in document if isinstance(document, list) else [document]:
            yield None, item
        return
    for line in source.lines():
        try:
            recv, body = _split_prefix(line)
            message = _decode.decode(body)
        except (msgspec.DecodeError, ValueError) as exc:
            _malformed(source, skipped, first, exc, repr(line[:80]))
            continue
        yield recv, message


def _decodes(line: bytes) -> bool:
    try:
        _decode.decode(_split_prefix(line.strip())[1])
    except (msgspec.DecodeError, ValueError):
        return False
    return True


def _split_prefix(line: bytes) -> tuple[int | None, bytes]:
    if line[:1].isdigit():
        stamp, _, body = line.partition(b" ")
        return int(stamp), body
    return None, line


def _batch(source: Source, options: Options, key: tuple[str, str, str], found: list[tuple[Any, ...]]) -> Batch:
    kind, inst, interval = key
    if options.venue not in (None, okx.VENUE):
        raise UserError(f"{source.path}: the file holds OKX messages but --venue is {options.venue!r}")
    symbol = okx.symbol_of(inst)
    if options.symbol not in (None, symbol):
        raise UserError(f"{source.path}: the file says symbol {symbol!r} but --symbol is {options.symbol!r}")
    columns = list(zip(*found, strict=True))
    where = str(source.path)
    if kind == "trades":
        ts, recv, ids, price, size, side = columns
        prices = np.array(price)
        table = pa.table(
            {
                "ts_event": pa.array(ts, pa.int64()),
                "ts_recv": pa.array(recv, pa.int64()),
                "trade_id": pa.array(ids, pa.string()),
                "price": prices,
                "size": okx.base_sizes(inst, np.array(size), prices, options.contract_value, where),
                "side": pa.array([1 if s == "buy" else -1 if s == "sell" else None for s in side], pa.int8()),
            }
        )
    elif kind == "quotes":
        recv, ts, bid, ask, bid_size, ask_size = columns
        bids, asks = np.array(bid), np.array(ask)
        table = pa.table(
            {
                "ts_event": pa.array(ts, pa.int64()),
                "ts_recv": pa.array(recv, pa.int64()),
                "bid": bids,
                "ask": asks,
                "bid_size": okx.base_sizes(inst, np.array(bid_size), bids, options.contract_value, where),
                "ask_size": okx.base_sizes(inst, np.array(ask_size), asks, options.contract_value, where),
            }
        )
    else:
        table = _candles(inst, interval, kind, columns)
    return Batch(kind, okx.VENUE, symbol, table)


def _candles(inst: str, interval: str, kind: str, columns: list[tuple[Any, ...]]) -> pa.Table:
    # candle rows: ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm
    vol = okx.candle_volume_column(inst, kind)
    volume = np.zeros(len(columns[0])) if vol is None else np.array(columns[vol], dtype=float)
    table = {"ts_event": pa.array([int(t) * NS_PER_MS for t in columns[0]], pa.int64())}
    for i, name in enumerate(("open", "high", "low", "close"), start=1):
        table[name] = pa.array(np.array(columns[i], dtype=float))
    table["volume"] = pa.array(volume)
    table["interval"] = pa.array([interval] * len(volume), pa.string())
    return pa.table(table)
