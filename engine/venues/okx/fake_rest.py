"""A local fake of OKX's public REST market endpoints, for tests and demos without the network.

`FakeOkxRest(dataset).start()` serves a fixed `OkxDataset` on 127.0.0.1 over real HTTP with the
response shapes of OKX v5, so ccxt pointed at its URL behaves as against www.okx.com:

- `/api/v5/public/instruments` (instType, instId, uly / instFamily filters),
- `/api/v5/market/history-trades` (type=1 pages by trade id, type=2 by timestamp; `after` older
  records, `before` newer ones, newest first, limit <= 100),
- `/api/v5/market/history-candles` (`after` / `before` by open time, newest first, limit <= 100),
- `/api/v5/public/time`.

It logs every request it served, can fail the next k requests (HTTP 500, or 429 with OKX's
code 50011 body) and can pause before the (k+1)-th data page so a test can kill its client at a
known point.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from engine.venues.okx.loopback import LoopbackHttp

__all__ = [
    "CANDLES_PATH",
    "DATA_PATHS",
    "INSTRUMENTS_PATH",
    "TRADES_PATH",
    "FakeCandle",
    "FakeOkxRest",
    "FakeTrade",
    "OkxDataset",
    "ServedRequest",
    "generate_candles",
    "generate_trades",
    "spot_instrument",
    "swap_instrument",
]

MAX_LIMIT = 100
TRADES_PATH = "/api/v5/market/history-trades"
CANDLES_PATH = "/api/v5/market/history-candles"
INSTRUMENTS_PATH = "/api/v5/public/instruments"
TIME_PATH = "/api/v5/public/time"
DATA_PATHS = frozenset({TRADES_PATH, CANDLES_PATH})


@dataclass(frozen=True, slots=True)
class FakeTrade:
    """One public trade as OKX reports it: `sz` in contracts for derivatives, base for spot."""

    trade_id: int
    ts_ms: int
    px: str
    sz: str
    side: str  # taker side, "buy" or "sell"


@dataclass(frozen=True, slots=True)
class FakeCandle:
    """One candle: `vol` in contracts for derivatives (base for spot), `vol_ccy` in base
    for derivatives (quote for spot), as OKX's [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]."""

    ts_ms: int
    o: str
    h: str
    l: str  # noqa: E741 - OKX's own field name
    c: str
    vol: str
    vol_ccy: str
    vol_quote: str
    confirm: str = "1"

    def row(self) -> list[str]:
        return [
            str(self.ts_ms),
            self.o,
            self.h,
            self.l,
            self.c,
            self.vol,
            self.vol_ccy,
            self.vol_quote,
            self.confirm,
        ]


@dataclass(frozen=True, slots=True)
class OkxDataset:
    """What the fake serves: raw instrument rows, trades by instId (any order), candles by
    (instId, OKX bar such as '1m')."""

    instruments: tuple[dict[str, Any], ...]
    trades: Mapping[str, Sequence[FakeTrade]] = field(default_factory=dict)
    candles: Mapping[tuple[str, str], Sequence[FakeCandle]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServedRequest:
    """A request the fake received: path, query parameters and the HTTP status it answered."""

    path: str
    params: dict[str, str]
    status: int


_BLANK_FIELDS = (
    "alias auctionEndTime baseCcy ctMult ctType ctVal ctValCcy expTime instFamily lever optType "
    "quoteCcy settleCcy stk uly"
)


def _instrument(inst_type: str, inst_id: str, **fields: str) -> dict[str, Any]:
    """An instrument row with every field OKX sends, empty unless given."""
    row: dict[str, Any] = dict.fromkeys(_BLANK_FIELDS.split(), "")
    row.update(
        category="1",
        instId=inst_id,
        instType=inst_type,
        listTime="1573557408000",
        lotSz="1",
        maxLmtSz="100000000",
        maxMktSz="20000",
        minSz="1",
        ruleType="normal",
        state="live",
        tickSz="0.01",
    )
    row.update(fields)
    return row


def spot_instrument(inst_id: str, tick_sz: str = "0.01", lot_sz: str = "0.000001") -> dict[str, Any]:
    """A SPOT instrument row like `ETH-USDT`."""
    base, quote = inst_id.split("-")
    return _instrument(
        "SPOT", inst_id, baseCcy=base, quoteCcy=quote, tickSz=tick_sz, lotSz=lot_sz, minSz=lot_sz
    )


def swap_instrument(inst_id: str, ct_val: str, tick_sz: str = "0.01", lot_sz: str = "0.01") -> dict[str, Any]:
    """A SWAP instrument row like `ETH-USDT-SWAP` (linear) or `BTC-USD-SWAP` (inverse)."""
    base, quote, _ = inst_id.split("-")
    inverse = quote == "USD"
    return _instrument(
        "SWAP",
        inst_id,
        ctMult="1",
        ctType="inverse" if inverse else "linear",
        ctVal=ct_val,
        ctValCcy=quote if inverse else base,
        instFamily=f"{base}-{quote}",
        uly=f"{base}-{quote}",
        settleCcy=base if inverse else quote,
        lever="100",
        tickSz=tick_sz,
        lotSz=lot_sz,
        minSz=lot_sz,
    )


def generate_trades(
    start_ms: int,
    end_ms: int,
    seed: int = 1,
    first_id: int = 1_000_000,
    max_per_ms: int = 4,
    lot: str = "0.01",
) -> list[FakeTrade]:
    """Deterministic trades in [start_ms, end_ms): bursts of 1..max_per_ms trades sharing one
    millisecond, consecutive ids, a random-walk price and sizes in whole lots of `lot`."""
    rng = random.Random(seed)
    trades: list[FakeTrade] = []
    ts, price, trade_id = start_ms, 2000.0, first_id
    lot_places = len(lot.partition(".")[2])
    while ts < end_ms:
        for _ in range(rng.randint(1, max_per_ms)):
            price = max(1.0, price + rng.choice((-0.01, 0.0, 0.01)) * rng.randint(1, 5))
            size = f"{rng.randint(1, 500) * float(lot):.{lot_places}f}"
            trades.append(FakeTrade(trade_id, ts, f"{price:.2f}", size, rng.choice(("buy", "sell"))))
            trade_id += 1
        ts += rng.randint(1, 700)
    return trades


def generate_candles(
    start_ms: int, end_ms: int, interval_ms: int = 60_000, seed: int = 1, ct_val: str | None = "0.1"
) -> list[FakeCandle]:
    """Deterministic candles opening every `interval_ms` in [start_ms, end_ms). With `ct_val`
    volumes are derivative-style (contracts, then base); with None spot-style (base, then quote)."""
    rng = random.Random(seed)
    candles = []
    price = 2000.0
    for ts in range(start_ms, end_ms, interval_ms):
        o = price
        c = max(1.0, o + rng.randint(-300, 300) / 100)
        h, low = max(o, c) + rng.randint(0, 100) / 100, min(o, c) - rng.randint(0, 100) / 100
        qty = rng.randint(0, 90_000)  # hundredths of a contract (or of base for spot)
        vol = f"{qty / 100:.2f}"
        base = qty / 100 * float(ct_val) if ct_val else qty / 100
        second = f"{base:.6f}" if ct_val else f"{base * c:.6f}"
        candles.append(
            FakeCandle(ts, f"{o:.2f}", f"{h:.2f}", f"{low:.2f}", f"{c:.2f}", vol, second, f"{base * c:.6f}")
        )
        price = c
    return candles


class FakeOkxRest(LoopbackHttp):
    """The fake server; use as `with FakeOkxRest(ds) as url:` or `.start()` / `.stop()`."""

    name = "fake OKX server"

    def __init__(self, dataset: OkxDataset, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.dataset = dataset
        self._trades = {k: sorted(v, key=lambda t: t.trade_id) for k, v in dataset.trades.items()}
        self._candles = {k: sorted(v, key=lambda c: c.ts_ms) for k, v in dataset.candles.items()}
        self._address = (host, port)
        self._lock = threading.Lock()
        self._served: list[ServedRequest] = []
        self._failures: list[tuple[int, str | None]] = []
        self._pages_served = 0
        self._pause_at: int | None = None
        self._release = threading.Event()
        self.paused = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> str:
        """Listen on a free port and serve in a daemon thread; returns the base URL."""
        return self._serve(type("_Handler", (_Handler,), {"fake": self}), *self._address)

    def stop(self) -> None:
        """Release any paused request, stop serving and close the socket."""
        self._release.set()
        super().stop()

    # -- test controls ---------------------------------------------------------------------
    @property
    def served(self) -> list[ServedRequest]:
        """Every request received so far, in order of arrival, a held one included (a copy)."""
        with self._lock:
            return list(self._served)

    def count(self, path: str | None = None) -> int:
        """How many requests (to `path`, or to any path) were received."""
        return sum(1 for r in self.served if path is None or r.path == path)

    def fail_next(self, k: int, status: int = 500, path: str | None = None) -> None:
        """Answer the next `k` requests (to `path` only, if given) with HTTP `status`."""
        with self._lock:
            self._failures.extend([(status, path)] * k)

    def pause_after(self, pages: int | None) -> None:
        """Block the data request that follows `pages` served data pages until `resume()`;
        None disables pausing. `paused` is set while a request is held."""
        with self._lock:
            self._pause_at = None if pages is None else self._pages_served + pages
            self._release.clear()
            self.paused.clear()

    def resume(self) -> None:
        """Let a held request (and any later one) through."""
        with self._lock:
            self._pause_at = None
        self._release.set()

    # -- request handling (called from handler threads) --------------------------------------
    def handle(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        """Answer one GET: (HTTP status, JSON body or plain text)."""
        route = _ROUTES.get(path)
        status = self._take_failure(path) or (200 if route else 404)
        with self._lock:
            self._served.append(ServedRequest(path, dict(params), status))  # logged before any hold
        if status == 200 and path in DATA_PATHS:
            self._maybe_pause()
            with self._lock:
                self._pages_served += 1
        if status == 429:
            return status, {"msg": "Too Many Requests", "code": "50011"}
        if status != 200:
            return status, "Internal Server Error" if status >= 500 else "Not Found"
        assert route is not None
        return 200, route(self, params)

    def _take_failure(self, path: str) -> int | None:
        with self._lock:
            for i, (status, only) in enumerate(self._failures):
                if only is None or only == path:
                    del self._failures[i]
                    return status
        return None

    def _maybe_pause(self) -> None:
        with self._lock:
            hold = self._pause_at is not None and self._pages_served >= self._pause_at
        if hold:
            self.paused.set()
            self._release.wait()

    def _instruments(self, params: dict[str, str]) -> dict[str, Any]:
        rows = [
            row
            for row in self.dataset.instruments
            if row["instType"] == params.get("instType")
            and all(row.get(k) == params[k] for k in ("instId", "uly", "instFamily") if k in params)
        ]
        return _ok(rows)

    def _history_trades(self, params: dict[str, str]) -> dict[str, Any]:
        inst_id = params.get("instId", "")
        if inst_id not in self._trades:
            return _error("51001", f"Instrument ID {inst_id} does not exist.")
        key: Callable[[FakeTrade], int] = (
            (lambda t: t.ts_ms) if params.get("type") == "2" else (lambda t: t.trade_id)
        )
        rows = _window(self._trades[inst_id], key, params)
        return _ok(
            [
                {
                    "instId": inst_id,
                    "side": t.side,
                    "sz": t.sz,
                    "px": t.px,
                    "tradeId": str(t.trade_id),
                    "ts": str(t.ts_ms),
                }
                for t in rows
            ]
        )

    def _history_candles(self, params: dict[str, str]) -> dict[str, Any]:
        inst_id = params.get("instId", "")
        if not any(row["instId"] == inst_id for row in self.dataset.instruments):
            return _error("51001", f"Instrument ID {inst_id} does not exist.")
        candles = self._candles.get((inst_id, params.get("bar", "1m")), [])
        return _ok([c.row() for c in _window(candles, lambda c: c.ts_ms, params)])

    def _time(self, _params: dict[str, str]) -> dict[str, Any]:
        return _ok([{"ts": str(int(time.time() * 1000))}])


def _window(rows: Sequence[Any], key: Callable[[Any], int], params: dict[str, str]) -> list[Any]:
    """OKX paging over ascending `rows`: `after` keeps keys below it, `before` keys above it;
    the newest `limit` (<= 100) are returned newest first."""
    after, before = params.get("after"), params.get("before")
    limit = min(int(params.get("limit") or MAX_LIMIT), MAX_LIMIT)
    hits = [
        r for r in rows if (after is None or key(r) < int(after)) and (before is None or key(r) > int(before))
    ]
    return hits[::-1][:limit]


def _ok(data: list[Any]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": data}


def _error(code: str, msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": []}


_ROUTES: dict[str, Callable[[FakeOkxRest, dict[str, str]], dict[str, Any]]] = {
    INSTRUMENTS_PATH: FakeOkxRest._instruments,
    TRADES_PATH: FakeOkxRest._history_trades,
    CANDLES_PATH: FakeOkxRest._history_candles,
    TIME_PATH: FakeOkxRest._time,
}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOkxRest

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        status, body = self.fake.handle(parts.path, dict(parse_qsl(parts.query)))
        text = body if isinstance(body, str) else json.dumps(body)
        payload = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client was killed while its request was held

    def log_message(self, format: str, *args: Any) -> None:  # silence per-request logging
        pass
