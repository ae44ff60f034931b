"""The local OKX simulator's WebSocket side: OKX's v5 public and business endpoints on loopback.

`/ws/v5/public` serves tickers, trades, books, books5, bbo-tbt, funding-rate and mark-price;
`/ws/v5/business` serves trades-all and the candle channels; a channel on the wrong path is refused
with OKX's error 60018, like an instrument the simulator does not know. Subscribe and unsubscribe
are acked once per arg with the request's `id` echoed; the text `ping` is answered `pong`; a
connection that sends nothing for `idle_timeout` seconds is closed (OKX: 30 s).

Data: `trades`/`trades-all` replay a tape of trades (from the lake: `engine.live.tape`) and `tickers`
its quotes, each subscription from the tape's first row, at `speed` times real time (0: as fast as
possible); sizes are sent in contracts for derivatives, as OKX does. `books` is driven by the caller:
`book_update` changes a book and pushes the update to its subscribers, a subscription starts with a
snapshot. The other channels are acked and stay quiet.

Faults, for tests in the same process: `drop_all` (the TCP connections cut), `notice_64008` (the
service-upgrade notice), `send_raw` (any text, e.g. a malformed message), `break_books_seq` (an
update whose prevSeqId does not chain), `refuse_connections` (handshakes answered HTTP 503 for a
while: an outage that outlasts the client's reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from engine.venues.okx.channels import BUSINESS_PATH, PUBLIC_PATH, serves
from engine.venues.okx.formats import Contract, default_contract

log = logging.getLogger("okxbot.okx.sim")

NOTICE_64008 = {"event": "notice", "code": "64008",
                "msg": "The connection will soon be closed for a service upgrade. Please reconnect."}


# -- what is replayed ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TapeTrade:
    """One trade as the lake holds it: ms time, id, price, base-currency size, side (+1 buy)."""

    ts_ms: int
    trade_id: str
    price: float
    size: float
    side: int


@dataclass(frozen=True, slots=True)
class TapeQuote:
    ts_ms: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float


@dataclass(frozen=True, slots=True)
class Tape:
    """The trades and quotes of each instId, in time order."""

    trades: Mapping[str, Sequence[TapeTrade]] = field(default_factory=dict)
    quotes: Mapping[str, Sequence[TapeQuote]] = field(default_factory=dict)

    def instruments(self) -> frozenset[str]:
        return frozenset(self.trades) | frozenset(self.quotes)


def contracts(size: float, price: float, contract: Contract) -> str:
    """A base-currency size in OKX's units, as OKX writes it (contracts for derivatives)."""
    exact = Decimal(repr(size))
    if not contract.spot:
        exact = exact * Decimal(repr(price)) if contract.inverse else exact
        exact = exact / contract.contract_size
    return _text(exact)


def _text(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text if text != "-0" else "0"


def trade_push(channel: str, inst: str, trade: TapeTrade) -> dict[str, Any]:
    """The OKX push of one replayed trade."""
    contract = default_contract(inst) or Contract(inst, spot=True)
    item = {"instId": inst, "tradeId": trade.trade_id, "px": _text(Decimal(repr(trade.price))),
            "sz": contracts(trade.size, trade.price, contract), "side": "buy" if trade.side > 0 else "sell",
            "ts": str(trade.ts_ms), "count": "1", "source": "0"}
    return {"arg": {"channel": channel, "instId": inst}, "data": [item]}


def ticker_push(inst: str, quote: TapeQuote) -> dict[str, Any]:
    """The OKX `tickers` push of one replayed quote."""
    contract = default_contract(inst) or Contract(inst, spot=True)
    item = {"instType": "SWAP" if not contract.spot else "SPOT", "instId": inst,
            "bidPx": _text(Decimal(repr(quote.bid))), "bidSz": contracts(quote.bid_size, quote.bid, contract),
            "askPx": _text(Decimal(repr(quote.ask))), "askSz": contracts(quote.ask_size, quote.ask, contract),
            "ts": str(quote.ts_ms)}
    return {"arg": {"channel": "tickers", "instId": inst}, "data": [item]}


# -- books, driven by the caller ----------------------------------------------------------------
@dataclass(slots=True)
class SimBook:
    """One instrument's book in OKX's text levels, with its running seqId."""

    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)
    seq_id: int = 100

    def apply(self, bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for px, sz in levels:
                if Decimal(sz) == 0:
                    side.pop(px, None)
                else:
                    side[px] = sz

    def snapshot(self, inst: str, ts_ms: int) -> dict[str, Any]:
        bids = sorted(self.bids.items(), key=lambda kv: -Decimal(kv[0]))
        asks = sorted(self.asks.items(), key=lambda kv: Decimal(kv[0]))
        return _book_push(inst, "snapshot", bids, asks, (ts_ms, -1, self.seq_id))


def _book_push(inst: str, action: str, bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]],
               times: tuple[int, int, int]) -> dict[str, Any]:
    ts_ms, prev, seq = times
    item = {"asks": [[px, sz, "0", "1"] for px, sz in asks], "bids": [[px, sz, "0", "1"] for px, sz in bids],
            "ts": str(ts_ms), "checksum": 0, "prevSeqId": prev, "seqId": seq}
    return {"arg": {"channel": "books", "instId": inst}, "action": action, "data": [item]}


# -- the server ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SimConfig:
    """Where and how the simulator serves; `port` 0 picks a free one."""

    host: str = "127.0.0.1"
    port: int = 0
    idle_timeout: float = 30.0
    speed: float = 1.0
    close_timeout: float = 2.0  # how long stop() waits for a client's closing handshake
    answer_pings: bool = True  # False: a server that stopped answering (the client's pong timeout)
    live: bool = False  # True: the tape runs from start() on, a subscription hears only what follows (as OKX)


@dataclass(slots=True, eq=False)
class _Client:
    ws: ServerConnection
    path: str
    conn_id: str = field(default_factory=lambda: secrets.token_hex(4))
    subs: dict[tuple[str, str], asyncio.Task[None] | None] = field(default_factory=dict)


class OkxWsSim:
    """OKX's v5 WebSocket on loopback; `async with OkxWsSim(config, tape) as sim:` serves on `sim.port`."""

    def __init__(self, config: SimConfig | None = None, tape: Tape | None = None) -> None:
        self.config = config or SimConfig()
        self.tape = tape or Tape()
        self.books: dict[str, SimBook] = {}
        self.clients: set[_Client] = set()
        self.received: list[str] = []  # every text frame a client sent, for tests
        self.snapshots_sent = 0
        self.idle_drops = 0
        self.refused = 0
        self._refuse_until = 0.0
        self._t0 = 0.0  # when start() ran, on the loop's clock
        self._server: Server | None = None

    async def __aenter__(self) -> OkxWsSim:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen; `port` is then the bound port."""
        self._t0 = asyncio.get_running_loop().time()
        self._server = await serve(self._serve, self.config.host, self.config.port, ping_interval=None,
                                   close_timeout=self.config.close_timeout, process_request=self._gate)

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(next(iter(self._server.sockets)).getsockname()[1])

    def url(self, path: str = PUBLIC_PATH) -> str:
        return f"ws://{self.config.host}:{self.port}{path}"

    # -- faults ----------------------------------------------------------------------------------
    def drop_all(self) -> int:
        """Cut every connection (no close frame, as a network failure); returns how many."""
        clients = list(self.clients)
        for client in clients:
            client.ws.transport.abort()
        return len(clients)

    def refuse_connections(self, seconds: float) -> None:
        """Answer every opening handshake for the next `seconds` with HTTP 503."""
        self._refuse_until = time.monotonic() + seconds

    def _gate(self, connection: ServerConnection, _request: Request) -> Response | None:
        if time.monotonic() < self._refuse_until:
            self.refused += 1
            return connection.respond(503, "refusing connections\n")
        return None

    async def notice_64008(self) -> None:
        """Send OKX's service-upgrade notice to every connection."""
        await self.send_raw(json.dumps(NOTICE_64008))

    async def send_raw(self, text: str, path: str | None = None) -> None:
        """Send `text` as is to every connection (on `path` only, when given)."""
        for client in list(self.clients):
            if path not in (None, client.path):
                continue
            with contextlib.suppress(ConnectionClosed):
                await client.ws.send(text)

    async def break_books_seq(self, inst: str) -> None:
        """Push a `books` update for `inst` whose prevSeqId does not follow the last seqId."""
        book = self.books.setdefault(inst, SimBook())
        book.seq_id += 2
        await self._to_subscribers(("books", inst), _book_push(inst, "update", [], [], (_now_ms(),
                                                                                       book.seq_id - 1000,
                                                                                       book.seq_id)))

    async def book_update(self, inst: str, bids: Sequence[tuple[str, str]] = (),
                          asks: Sequence[tuple[str, str]] = ()) -> None:
        """Change `inst`'s book and push the update to its `books` subscribers."""
        book = self.books.setdefault(inst, SimBook())
        book.apply(bids, asks)
        prev, book.seq_id = book.seq_id, book.seq_id + 1
        await self._to_subscribers(("books", inst), _book_push(inst, "update", bids, asks,
                                                              (_now_ms(), prev, book.seq_id)))

    async def _to_subscribers(self, key: tuple[str, str], message: dict[str, Any]) -> None:
        text = json.dumps(message)
        for client in list(self.clients):
            if key in client.subs:
                with contextlib.suppress(ConnectionClosed):
                    await client.ws.send(text)

    # -- one connection --------------------------------------------------------------------------
    async def _serve(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        if path not in (PUBLIC_PATH, BUSINESS_PATH):
            await ws.close(4004, f"no endpoint {path}")
            return
        client = _Client(ws, path)
        self.clients.add(client)
        try:
            await self._read(client)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            for task in client.subs.values():
                if task is not None:
                    task.cancel()

    async def _read(self, client: _Client) -> None:
        while True:
            try:
                async with asyncio.timeout(self.config.idle_timeout):  # not wait_for: it can swallow a cancel
                    text = await client.ws.recv()
            except TimeoutError:
                self.idle_drops += 1
                await client.ws.close(4000, "no data for idle_timeout seconds")
                return
            text = text if isinstance(text, str) else text.decode()
            self.received.append(text)
            if text == "ping":
                if self.config.answer_pings:
                    await client.ws.send("pong")
            else:
                await self._request(client, text)

    async def _request(self, client: _Client, text: str) -> None:
        try:
            request = json.loads(text)
            op, args = request["op"], request.get("args", [])
            if not isinstance(args, list) or op not in ("subscribe", "unsubscribe"):
                raise ValueError(op)
        except (ValueError, KeyError, TypeError):
            await self._error(client, {}, "60012", f"Invalid request: {text[:200]}")
            return
        for arg in args:
            await self._one(client, request, op, arg)

    async def _one(self, client: _Client, request: dict[str, Any], op: str, arg: Any) -> None:
        channel = arg.get("channel", "") if isinstance(arg, dict) else ""
        inst = arg.get("instId", "") if isinstance(arg, dict) else ""
        if not self._known(client.path, channel, inst):
            await self._error(client, request, "60018", f"Wrong URL or channel:{channel},instId:{inst} doesn't "
                              "exist. Please use the correct URL, channel and parameters referring to API document.")
            return
        ack = {"event": op, "arg": {"channel": channel, "instId": inst}, "connId": client.conn_id}
        if "id" in request:
            ack = {"id": request["id"], **ack}
        await client.ws.send(json.dumps(ack))
        key = (channel, inst)
        old = client.subs.pop(key, None)
        if old is not None:
            old.cancel()
        if op == "subscribe":
            client.subs[key] = await self._start(client, key)

    def _known(self, path: str, channel: str, inst: str) -> bool:
        if not serves(path, channel) or not inst:
            return False
        return inst in self.tape.instruments() or inst in self.books or default_contract(inst) is not None

    async def _error(self, client: _Client, request: dict[str, Any], code: str, msg: str) -> None:
        error = {"event": "error", "code": code, "msg": msg, "connId": client.conn_id}
        if "id" in request:
            error = {"id": request["id"], **error}
        await client.ws.send(json.dumps(error))

    async def _start(self, client: _Client, key: tuple[str, str]) -> asyncio.Task[None] | None:
        channel, inst = key
        if channel == "books":
            self.snapshots_sent += 1
            await client.ws.send(json.dumps(self.books.setdefault(inst, SimBook()).snapshot(inst, _now_ms())))
            return None
        if channel in ("trades", "trades-all") and self.tape.trades.get(inst):
            pushes = [(t.ts_ms, trade_push(channel, inst, t)) for t in self.tape.trades[inst]]
        elif channel == "tickers" and self.tape.quotes.get(inst):
            pushes = [(q.ts_ms, ticker_push(inst, q)) for q in self.tape.quotes[inst]]
        else:
            return None
        return asyncio.create_task(self._replay(client, pushes))

    async def _replay(self, client: _Client, pushes: list[tuple[int, dict[str, Any]]]) -> None:
        """Send the pushes spaced as their times, `speed` times faster (0: no waiting)."""
        loop = asyncio.get_running_loop()
        start, first = loop.time(), pushes[0][0]
        speed = self.config.speed
        if self.config.live and speed > 0:
            start, now_ms = self._t0, first + (loop.time() - self._t0) * 1000 * speed
            pushes = [(ts_ms, push) for ts_ms, push in pushes if ts_ms >= now_ms]
        try:
            for ts_ms, push in pushes:
                if speed > 0:
                    delay = start + (ts_ms - first) / 1000 / speed - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await client.ws.send(json.dumps(push))
                if speed <= 0:
                    await asyncio.sleep(0)
        except ConnectionClosed:
            pass


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
