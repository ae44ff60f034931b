"""OKX v5 WebSocket messages -> engine events, pure: one message in, one `Push` out, never an exception.

| channel                          | becomes                                                        |
|----------------------------------|----------------------------------------------------------------|
| `trades`, `trades-all`           | Trade per data item (`side` the taker's)                       |
| `tickers`                        | Quote (best bid/ask; an empty side is NaN)                      |
| `bbo-tbt`, `books5`              | Quote of the best levels, plus a BookUpdate snapshot            |
| `books`                          | BookUpdate (snapshot or update) for an `L2Book` to chain        |
| `funding-rate`                   | Funding at `fundingTime` (the instant the rate is paid)         |
| `mark-price`                     | MarkPrice                                                       |
| `candle<bar>` (UTC-aligned)      | Bar once confirmed; an open candle is skipped with a reason     |

Sizes are in base currency (OKX counts derivatives in contracts; see `formats.Contract`), symbols
are ccxt's, `ts_event` is OKX's `ts` in ns. `{"event": ...}` acks, errors and notices, `pong`,
order-op responses and private channels are classified, not parsed. Anything else, or a message
with a missing field, a non-numeric or non-finite number, a wrong type, an unsupported instrument
or a derivative of unknown contract size, is `malformed` with a short reason; the whole message is
then dropped (no half of a push).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from engine.model.errors import UserError
from engine.model.events import Bar, Funding, MarkPrice, Quote, Trade
from engine.model.time import NS_PER_MS
from engine.venues.okx.book import BookUpdate, Level, best_quote
from engine.venues.okx.formats import Contract, base_size, candle_channel, default_contract, is_derivative, symbol_of

Event = Trade | Quote | Bar | Funding | MarkPrice
Item = Event | BookUpdate

# Channels of /private (and orders-algo on /business): the OMS reads them, not this module.
PRIVATE = frozenset(
    {"orders", "orders-algo", "algo-advance", "account", "positions", "balance_and_position", "fills",
     "liquidation-warning", "account-greeks"}
)
_EVENTS = {"subscribe": "ack", "unsubscribe": "ack", "error": "error"}
_SIDES = {"buy": 1, "sell": -1}
_decode = msgspec.json.Decoder()


class Kind(StrEnum):
    DATA = "data"  # market data: events and/or book updates (or skipped items)
    ACK = "ack"  # subscribe / unsubscribe confirmed
    ERROR = "error"  # {"event": "error"}: `reason` holds code and msg
    EVENT = "event"  # login, notice, channel-conn-count, ...
    PONG = "pong"
    OP = "op"  # the answer to an order op
    PRIVATE = "private"  # a private channel's push
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Push:
    """What one WebSocket message was. `skipped` holds one reason per data item left out on purpose."""

    kind: Kind
    channel: str = ""
    inst_id: str = ""
    events: tuple[Event, ...] = ()
    books: tuple[BookUpdate, ...] = ()
    skipped: tuple[str, ...] = ()
    reason: str = ""


class Malformed(ValueError):
    """A message this module cannot read; `reason` is short and bounded (it is a counter's key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Ctx:
    channel: str
    inst_id: str
    ts_recv: int
    contracts: Mapping[str, Contract]


def parse_push(message: Any, ts_recv: int, contracts: Mapping[str, Contract] | None = None) -> Push:
    """Classify and parse one message (text as received, or decoded JSON). Never raises.

    `contracts` gives the ctVal of derivatives by instId; without it the known families are used.
    """
    channel = ""
    try:
        if _is_pong(message):
            return Push(Kind.PONG)
        message = _decoded(message)
        channel, kind = _classify(message)
        if kind is not Kind.DATA:
            return Push(kind, channel, reason=_event_reason(message, kind))
        return _parse_data(message, channel, ts_recv, contracts or {})
    except Malformed as exc:
        return Push(Kind.MALFORMED, channel, reason=exc.reason)
    except KeyError as exc:
        return Push(Kind.MALFORMED, channel, reason=f"missing field {exc.args[0]}")
    except UserError:
        return Push(Kind.MALFORMED, channel, reason="unsupported instrument")
    except (ValueError, ArithmeticError):
        return Push(Kind.MALFORMED, channel, reason="bad number")
    except (TypeError, AttributeError, IndexError):
        return Push(Kind.MALFORMED, channel, reason="wrong type")


def _is_pong(message: Any) -> bool:
    return isinstance(message, str | bytes) and message.strip() in ("pong", b"pong")


def _decoded(message: Any) -> Any:
    if not isinstance(message, str | bytes | bytearray | memoryview):
        return message
    try:
        return _decode.decode(message)
    except msgspec.DecodeError:
        raise Malformed("invalid json") from None


def _classify(message: Any) -> tuple[str, Kind]:
    if not isinstance(message, dict):
        raise Malformed("not a json object")
    arg = message.get("arg")
    channel = arg.get("channel", "") if isinstance(arg, dict) else ""
    if not isinstance(channel, str):
        raise Malformed("wrong type")
    if "event" in message:
        return channel, Kind(_EVENTS.get(message["event"], "event"))
    if "op" in message:
        return channel, Kind.OP
    if not channel:
        raise Malformed("not a push")  # e.g. a REST body
    return channel, Kind.PRIVATE if channel in PRIVATE else Kind.DATA


def _event_reason(message: dict[str, Any], kind: Kind) -> str:
    if kind is Kind.ERROR:
        return f"{message.get('code', '')} {message.get('msg', '')}".strip()
    return ""


def _parse_data(message: dict[str, Any], channel: str, ts_recv: int, contracts: Mapping[str, Contract]) -> Push:
    parse = _PARSERS.get(channel) or _candle_parser(channel)
    if parse is None:
        raise Malformed("unknown channel")
    data = message["data"]
    if not isinstance(data, list):
        raise Malformed("wrong type")
    inst = message["arg"].get("instId", "")
    ctx = _Ctx(channel, inst, ts_recv, contracts)
    events: list[Event] = []
    books: list[BookUpdate] = []
    skipped: list[str] = []
    for item in data:
        for out in parse(item, ctx, message):
            if isinstance(out, str):
                skipped.append(out)
            elif isinstance(out, BookUpdate):
                books.append(out)
            else:
                events.append(out)
    return Push(Kind.DATA, channel, inst, tuple(events), tuple(books), tuple(skipped))


# -- values ---------------------------------------------------------------------------------------
def _num(value: Any) -> float:
    """A finite number OKX sent as text."""
    if not isinstance(value, str):
        raise TypeError("a number must be text")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _ns(value: Any) -> int:
    """OKX milliseconds (text or integer) in ns."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError("a time must be text or an integer")
    return int(value) * NS_PER_MS


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an id must be an integer")
    return value


def _inst(item: dict[str, Any], ctx: _Ctx) -> str:
    inst = item.get("instId") or ctx.inst_id
    if not isinstance(inst, str) or not inst:
        raise KeyError("instId")
    return inst


def _contract(inst: str, ctx: _Ctx) -> Contract:
    contract = ctx.contracts.get(inst) or default_contract(inst)
    if contract is None:
        raise Malformed("unknown contract size")
    return contract


def _level(raw: Any) -> Level:
    """A book level [px, sz, "0", numOrders] as its (px, sz) text, both checked to be numbers."""
    if not isinstance(raw, list):
        raise TypeError("a level must be a list")
    return _pair(raw[0], raw[1])


def _pair(px: Any, sz: Any) -> Level:
    if _num(px) <= 0 or _num(sz) < 0:
        raise ValueError("a price must be positive and a size not negative")
    return px, sz


# -- channels -------------------------------------------------------------------------------------
Out = list[Item | str]


def _trade(item: dict[str, Any], ctx: _Ctx, _: dict[str, Any]) -> Out:
    inst = _inst(item, ctx)
    px, sz, side = item["px"], item["sz"], item["side"]
    if side not in _SIDES:
        raise Malformed("bad side")
    _pair(px, sz)
    price = float(px)
    size = base_size(sz, px, _contract(inst, ctx))
    return [Trade(symbol_of(inst), _ns(item["ts"]), ctx.ts_recv, price, size, _SIDES[side], str(item["tradeId"]))]


def _ticker(item: dict[str, Any], ctx: _Ctx, _: dict[str, Any]) -> Out:
    inst = _inst(item, ctx)
    bid = _pair(item["bidPx"], item["bidSz"]) if item["bidPx"] else None
    ask = _pair(item["askPx"], item["askSz"]) if item["askPx"] else None
    return [best_quote(symbol_of(inst), (_ns(item["ts"]), ctx.ts_recv), bid, ask, _contract(inst, ctx))]


def _book(item: dict[str, Any], ctx: _Ctx, message: dict[str, Any]) -> Out:
    inst = _inst(item, ctx)
    contract = _contract(inst, ctx)  # also for `books`: the reader's quote needs it
    bids = tuple(_level(level) for level in item["bids"])
    asks = tuple(_level(level) for level in item["asks"])
    chained = ctx.channel == "books"
    action = message.get("action", "snapshot")
    if action not in ("snapshot", "update"):
        raise Malformed("bad action")
    update = BookUpdate(
        inst,
        snapshot=action == "snapshot",
        bids=bids,
        asks=asks,
        ts_event=_ns(item["ts"]),
        seq_id=_int(item["seqId"]) if chained else None,
        prev_seq_id=_int(item["prevSeqId"]) if chained else None,
        checksum=_int(item.get("checksum", 0)),
    )
    if chained:
        return [update]
    quote = best_quote(symbol_of(inst), (update.ts_event, ctx.ts_recv), bids[0] if bids else None,
                       asks[0] if asks else None, contract)
    return [quote, update]


def _funding(item: dict[str, Any], ctx: _Ctx, _: dict[str, Any]) -> Out:
    inst = _inst(item, ctx)
    _ns(item["ts"])
    return [Funding(symbol_of(inst), _ns(item["fundingTime"]), _num(item["fundingRate"]))]


def _mark(item: dict[str, Any], ctx: _Ctx, _: dict[str, Any]) -> Out:
    inst = _inst(item, ctx)
    return [MarkPrice(symbol_of(inst), _ns(item["ts"]), ctx.ts_recv, _num(item["markPx"]))]


def _candle_parser(channel: str) -> Callable[[Any, _Ctx, dict[str, Any]], Out] | None:
    if not channel.startswith(("candle", "mark-price-candle")):
        return None
    found = candle_channel(channel)
    if found is None:
        return _skip("bar not aligned to UTC (subscribe the channel ending in utc)")
    if found[0] == "mark":
        return _skip("mark-price candles are not parsed")
    interval = found[1]

    def candle(row: Any, ctx: _Ctx, _: dict[str, Any]) -> Out:
        if not isinstance(row, list) or len(row) < 9:
            raise Malformed("short candle")
        inst = _inst({}, ctx)
        o, h, low, c, vol, vol_ccy = (_num(v) for v in row[1:7])
        ts = _ns(row[0])
        if row[8] != "1":
            return ["unconfirmed candle"]
        volume = vol_ccy if is_derivative(inst) else vol  # base currency either way
        return [Bar(symbol_of(inst), interval, ts, o, h, low, c, volume)]

    return candle


def _skip(reason: str) -> Callable[[Any, _Ctx, dict[str, Any]], Out]:
    def skip(_item: Any, _ctx: _Ctx, _message: dict[str, Any]) -> Out:
        return [reason]

    return skip


_PARSERS: dict[str, Callable[[Any, _Ctx, dict[str, Any]], Out]] = {
    "trades": _trade,
    "trades-all": _trade,
    "tickers": _ticker,
    "bbo-tbt": _book,
    "books5": _book,
    "books": _book,
    "funding-rate": _funding,
    "mark-price": _mark,
}
