"""OKX v5 WebSocket pushes (and REST trade responses) saved as JSON lines or a JSON array.

`trades` / `trades-all` become trades (`side` is the taker's), `bbo-tbt` and `tickers` quotes,
confirmed `candle<bar>` pushes bars and `mark-price-candle<bar>` mark bars. A line may start with
the receive time in ns (`<ns> <json>`, as recorders write), which becomes ts_recv. Swap sizes
are contracts on OKX and are converted to base currency.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from engine.errors import UserError
from engine.store.formats import _okx
from engine.store.formats._common import Batch, Options, Parsed, Source
from engine.types import NS_PER_MS, symbol_from_okx

log = logging.getLogger("okxbot.ingest")
NAME = "okx-ws"
_CANDLE = re.compile(r"^(mark-price-)?candle(\d+)([smHD])(utc)?$")
_decode = msgspec.json.Decoder()


def sniff(source: Source) -> bool:
    """OKX pushes carry `"arg": {"channel": ...}`; REST trade bodies `"code"` and `"tradeId"`."""
    head = source.head
    return (b'"arg"' in head and b'"channel"' in head) or (b'"code"' in head and b'"tradeId"' in head)


def parse(source: Source, options: Options) -> Parsed:
    """Route every message's rows to their (kind, instId, interval) series."""
    rows: dict[tuple[str, str, str], list[tuple[Any, ...]]] = defaultdict(list)
    skipped: Counter[str] = Counter()
    for recv, message in _messages(source, skipped):
        try:
            _route(message, recv, rows, skipped)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            _malformed(source, skipped, exc, repr(message)[:80])
    batches = [_batch(source, options, key, found) for key, found in sorted(rows.items())]
    return Parsed(NAME, batches, dict(skipped))


def _malformed(source: Source, skipped: Counter[str], exc: Exception, example: str) -> None:
    """Count a malformed line or message; say so once per file. The rest of the file is kept."""
    skipped["malformed"] += 1
    if skipped["malformed"] == 1:
        log.warning("%s: skipping a malformed message (%s): %s", source.path, exc, example)


def _messages(source: Source, skipped: Counter[str]) -> Iterator[tuple[int | None, Any]]:
    first = source.head.lstrip().split(b"\n", 1)[0]
    recv, body = _split_prefix(first)
    try:
        _decode.decode(body)
    except msgspec.DecodeError:  # one pretty-printed document
        document = _decode.decode(source.read())
        for item in document if isinstance(document, list) else [document]:
            yield None, item
        return
    for line in source.lines():
        try:
            recv, body = _split_prefix(line)
            message = _decode.decode(body)
        except (msgspec.DecodeError, ValueError) as exc:
            _malformed(source, skipped, exc, repr(line[:80]))
            continue
        yield recv, message


def _split_prefix(line: bytes) -> tuple[int | None, bytes]:
    if line[:1].isdigit():
        stamp, _, body = line.partition(b" ")
        return int(stamp), body
    return None, line


def _route(
    message: Any, recv: int | None, rows: dict[tuple[str, str, str], list[tuple[Any, ...]]], skipped: Counter[str]
) -> None:
    if isinstance(message, list):  # an array of pushes on one line
        for item in message:
            _route(item, recv, rows, skipped)
        return
    if not isinstance(message, dict) or not isinstance(message.get("data"), list):
        skipped["event" if isinstance(message, dict) and "event" in message else "other"] += 1
        return
    arg = message.get("arg") or {}
    channel = arg.get("channel", "rest-trades" if "code" in message else "")
    inst = arg.get("instId", "")
    if channel in ("trades", "trades-all", "rest-trades"):
        for d in message["data"]:
            row = (int(d["ts"]) * NS_PER_MS, recv, d["tradeId"], float(d["px"]), float(d["sz"]), d["side"])
            rows["trades", d.get("instId", inst), ""].append(row)
    elif channel in ("bbo-tbt", "tickers"):
        for d in message["data"]:
            rows["quotes", d.get("instId", inst), ""].append((recv, *_quote(channel, d)))
    elif candle := _candle(channel):
        for d in message["data"]:
            if d[-1] == "1":  # confirmed: the bar is closed
                rows[candle[0], inst, candle[1]].append(tuple(d))
    else:
        skipped[channel or "other"] += 1


def _candle(channel: str) -> tuple[str, str] | None:
    """(kind, interval) of a candle channel whose bars open on UTC boundaries, else None.

    OKX aligns 6H and longer bars to Hong Kong time unless the channel ends in `utc`.
    """
    match = _CANDLE.match(channel)
    if match is None or (match[3] in "HD" and not match[4] and (match[3] == "D" or int(match[2]) >= 6)):
        return None
    return ("mark" if match[1] else "bars"), f"{match[2]}{match[3].lower()}"


def _quote(channel: str, d: dict[str, Any]) -> tuple[int, float, float, float, float]:
    ts = int(d["ts"]) * NS_PER_MS
    if channel == "tickers":
        return (
            ts,
            float(d["bidPx"] or "nan"),
            float(d["askPx"] or "nan"),
            float(d["bidSz"] or 0),
            float(d["askSz"] or 0),
        )
    bid, ask = d["bids"][0], d["asks"][0]
    return ts, float(bid[0]), float(ask[0]), float(bid[1]), float(ask[1])


def _batch(source: Source, options: Options, key: tuple[str, str, str], found: list[tuple[Any, ...]]) -> Batch:
    kind, inst, interval = key
    if options.venue not in (None, _okx.VENUE):
        raise UserError(f"{source.path}: the file holds OKX messages but --venue is {options.venue!r}")
    symbol = symbol_from_okx(inst)
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
                "size": _okx.base_sizes(inst, np.array(size), prices, options, where),
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
                "bid_size": _okx.base_sizes(inst, np.array(bid_size), bids, options, where),
                "ask_size": _okx.base_sizes(inst, np.array(ask_size), asks, options, where),
            }
        )
    else:
        table = _candles(inst, interval, kind, columns)
    return Batch(kind, _okx.VENUE, symbol, table)


def _candles(inst: str, interval: str, kind: str, columns: list[tuple[Any, ...]]) -> pa.Table:
    # candle rows: ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm; volCcy is base currency for
    # swaps, vol is for spot. Mark-price candles have no volume.
    if kind == "mark":
        volume = np.zeros(len(columns[0]))
    else:
        volume = np.array(columns[6 if _okx.is_swap(inst) else 5], dtype=float)
    table = {"ts_event": pa.array([int(t) * NS_PER_MS for t in columns[0]], pa.int64())}
    for i, name in enumerate(("open", "high", "low", "close"), start=1):
        table[name] = pa.array(np.array(columns[i], dtype=float))
    table["volume"] = pa.array(volume)
    table["interval"] = pa.array([interval] * len(volume), pa.string())
    return pa.table(table)
