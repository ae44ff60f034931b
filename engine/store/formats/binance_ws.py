"""Binance raw WebSocket recordings: `<local receive ns> <combined-stream JSON>` per line.

`<sym>@trade` messages become trades (ts_event = trade time `T`, side +1 when the buyer was not
the maker), `<sym>@bookTicker` quotes (ts_event = event time `E` when present, else the receive
time). Depth diffs, snapshots and other lines are skipped and counted. Stream symbols such as
`btcusdt` are split at a known quote currency unless --symbol says the market (e.g. a perpetual).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from typing import Any

import msgspec
import pyarrow as pa

from engine.model.errors import UserError
from engine.model.time import NS_PER_MS
from engine.model.types import parse_symbol
from engine.store.formats._common import Batch, Options, Parsed, Source

log = logging.getLogger("okxbot.ingest")
NAME = "binance-ws"
VENUE = "binance"
QUOTES = (
    "FDUSD",
    "USDT",
    "USDC",
    "BUSD",
    "TUSD",
    "BIDR",
    "IDRT",
    "DAI",
    "BTC",
    "ETH",
    "BNB",
    "EUR",
    "TRY",
    "BRL",
    "GBP",
)
_LINE = re.compile(rb"^(\d+ )?\{")
_STREAM = re.compile(rb'"stream"\s*:\s*"([^"]+)"')
_decode = msgspec.json.Decoder()


def sniff(source: Source) -> bool:
    """JSON lines (optionally time-prefixed) of Binance combined streams."""
    first = source.head.lstrip().split(b"\n", 1)[0]
    return bool(_LINE.match(first)) and b'"stream"' in source.head and b'"arg"' not in source.head


def parse(source: Source, options: Options) -> Parsed:
    """Trades and quotes per stream symbol; everything else counted as skipped."""
    trades: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    quotes: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    skipped: Counter[str] = Counter()
    first: str | None = None
    for line in source.lines():
        try:
            recv, body = _split_prefix(line)
            match = _STREAM.search(body, 0, 200)
            if match is None:
                skipped["snapshot" if b'"lastUpdateId"' in body[:40] else "other"] += 1
                continue
            _route(match[1].decode(), recv, body, trades, quotes, skipped)
        except (msgspec.DecodeError, KeyError, IndexError, TypeError, ValueError) as exc:  # incl. UnicodeDecodeError
            # A recording survives a torn or garbled line: count it, say so, keep the rest.
            skipped["malformed"] += 1
            if skipped["malformed"] == 1:
                first = f"{line[:60]!r} ({type(exc).__name__}: {exc})"
                log.warning("%s: skipping a malformed line (%s): %r", source.path, exc, line[:80])
    venue = options.venue or VENUE
    batches = [
        Batch("trades", venue, _symbol(source, options, n), _table(_TRADES, r)) for n, r in sorted(trades.items())
    ]
    batches += [
        Batch("quotes", venue, _symbol(source, options, n), _table(_QUOTES, r)) for n, r in sorted(quotes.items())
    ]
    return Parsed(NAME, batches, dict(skipped), first)


def _split_prefix(line: bytes) -> tuple[int | None, bytes]:
    if line[:1].isdigit():
        stamp, _, body = line.partition(b" ")
        return int(stamp), body
    return None, line


_TRADES = (
    ("ts_event", pa.int64()),
    ("ts_recv", pa.int64()),
    ("trade_id", pa.string()),
    ("price", pa.float64()),
    ("size", pa.float64()),
    ("side", pa.int8()),
)
_QUOTES = (
    ("ts_event", pa.int64()),
    ("ts_recv", pa.int64()),
    ("bid", pa.float64()),
    ("ask", pa.float64()),
    ("bid_size", pa.float64()),
    ("ask_size", pa.float64()),
)


def _table(fields: tuple[tuple[str, pa.DataType], ...], found: list[tuple[Any, ...]]) -> pa.Table:
    columns = list(zip(*found, strict=True))
    return pa.table({name: pa.array(columns[i], kind) for i, (name, kind) in enumerate(fields)})


def _route(stream: str, recv: int | None, body: bytes, trades: dict[str, list[tuple[Any, ...]]],
           quotes: dict[str, list[tuple[Any, ...]]], skipped: Counter[str]) -> None:
    name, _, channel = stream.partition("@")
    if channel == "trade":
        d = _decode.decode(body)["data"]
        trades[name].append(
            (int(d["T"]) * NS_PER_MS, recv, str(d["t"]), float(d["p"]), float(d["q"]), -1 if d["m"] else 1)
        )
    elif channel == "bookTicker":
        d = _decode.decode(body)["data"]
        ts = int(d["E"]) * NS_PER_MS if "E" in d else recv
        quotes[name].append((ts, recv, float(d["b"]), float(d["a"]), float(d["B"]), float(d["A"])))
    else:
        skipped[stream] += 1


def _symbol(source: Source, options: Options, stream_symbol: str) -> str:
    """ccxt symbol of a stream symbol (`btcusdt` -> `BTC/USDT`), or --symbol when it matches."""
    if options.symbol is not None:
        base, quote, _ = parse_symbol(options.symbol)
        if (base + quote).lower() != stream_symbol.lower():
            raise UserError(f"{source.path}: stream symbol {stream_symbol!r} is not --symbol {options.symbol!r}")
        return options.symbol
    upper = stream_symbol.upper()
    for quote in QUOTES:
        if upper.endswith(quote) and len(upper) > len(quote):
            return f"{upper[: -len(quote)]}/{quote}"
    raise UserError(f"{source.path}: cannot tell base and quote of stream symbol {stream_symbol!r}; pass --symbol")
