"""The local OKX simulator's REST side: OKX v5's public market-data paths, served from a lake.

`SimRest(Lake.at(data_root), ["BTC/USDT:USDT", "ETH/USDT"]).start("127.0.0.1", 0)` returns the
base URL of a loopback HTTP server that ccxt's `okx` client can be pointed at
(`urls={'api': {'rest': url}}`); `.stop()` ends it. What it serves, and from what:

- `/api/v5/public/instruments` (SPOT, SWAP, FUTURES; OPTION answers an empty list): the last
  fetch in the lake's `instruments` kind, else built from `formats.CONTRACT_VALUES` and default
  tick and lot sizes.
- `/api/v5/market/trades` (latest, limit <= 500) and `/market/history-trades` (type 1 pages by
  trade id, type 2 by time; `after` older, `before` newer, limit <= 100): the lake's trades.
- `/api/v5/market/candles` and `/market/history-candles` (newest first, `after` / `before` by
  open time, limit <= 300; the bars of `formats.OKX_BARS`, so 6H and longer in their UTC flavour
  only): built from the lake's trades, else its bars of that interval (whose quote volume is then
  volume x close).
- `/api/v5/market/ticker`, `/market/tickers`, `/market/books`, `/market/books-full`: the last
  trade and the 24 hours before it; the best levels from the lake's last book, else its last
  quote, else one level per side synthesised around the last trade (see `sim_market.book_levels`).
- `/api/v5/public/funding-rate` (the last rate carried to the next funding time; `instId=ANY`
  every swap) and `/public/funding-rate-history` (limit <= 400): the lake's funding kind.
- `/api/v5/public/mark-price`: the close of the lake's last mark-price bar, else the last trade.
- `/api/v5/public/time` (the wall clock) and `/system/status` (no maintenance).

Everything is served as of the end of the lake's data. Numbers are strings, times milliseconds,
derivative sizes contracts. Errors carry OKX's body `{"code", "msg", "data": []}`: an unknown
instId 51001 (HTTP 200), a bad parameter 51000 and a missing one 50014 (HTTP 400), an unknown
path HTTP 404 (and the path is kept in `unknown_paths`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from engine.model.time import interval_ns
from engine.venues.okx.formats import OKX_BARS
from engine.venues.okx.loopback import LoopbackHttp
from engine.venues.okx.sim_market import (
    Bars,
    Instrument,
    Tape,
    book_levels,
    candle_rows,
    mark_row,
    num,
    ticker_row,
    trade_rows,
)
from engine.venues.okx.sim_tapes import TableSource, load_instrument, load_tape

__all__ = ["SimRest", "TableSource"]

Body = dict[str, Any]
Answer = tuple[int, Body]
BAR_MS = {okx: interval_ns(ours) // 1_000_000 for ours, okx in OKX_BARS.items()}
INST_TYPES = ("SPOT", "SWAP", "FUTURES", "OPTION")
EIGHT_HOURS_MS = 8 * 3_600_000


class Refused(Exception):
    """A request OKX would refuse: HTTP status and OKX's code and message."""

    def __init__(self, status: int, code: str, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class SimRest(LoopbackHttp):
    """The simulator's REST server over `source` (a `Lake`) for `symbols` of `venue`'s data.

    Every symbol's rows are read once, here; a symbol whose contract size is unknown (no
    `instruments` row and no default) is refused with a UserError.
    """

    name = "OKX simulator's REST server"

    def __init__(self, source: TableSource, symbols: Sequence[str], venue: str = "okx") -> None:
        super().__init__()
        self.instruments = {i.inst_id: i for i in (load_instrument(source, venue, s) for s in symbols)}
        self.tapes = {i.inst_id: load_tape(source, venue, i.symbol) for i in self.instruments.values()}
        self._bars: dict[tuple[str, str], Bars] = {}
        self._lock = threading.Lock()
        self._unknown: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on `host:port` (0: a free port), serve in a daemon thread; returns the base URL."""
        return self._serve(type("_BoundHandler", (_Handler,), {"sim": self}), host, port)

    @property
    def unknown_paths(self) -> list[str]:
        """Paths asked for that the simulator does not serve, in order (a copy)."""
        with self._lock:
            return list(self._unknown)

    # -- requests --------------------------------------------------------------------------
    def handle(self, path: str, params: dict[str, str]) -> Answer:
        """Answer one GET: (HTTP status, OKX's JSON body)."""
        route = _ROUTES.get(path.rstrip("/"))
        if route is None:
            with self._lock:
                self._unknown.append(path)
            return 404, _error("404", f"Not Found: {path}")
        try:
            return 200, _ok(route(self, params))
        except Refused as refused:
            return refused.status, _error(refused.code, refused.msg)

    def _inst(self, params: dict[str, str]) -> tuple[Instrument, Tape]:
        inst_id = _required(params, "instId")
        if inst_id not in self.instruments:
            raise Refused(200, "51001", f"Instrument ID {inst_id} does not exist.")
        return self.instruments[inst_id], self.tapes[inst_id]

    def _of_type(self, params: dict[str, str]) -> list[Instrument]:
        inst_type = _required(params, "instType")
        if inst_type not in INST_TYPES:
            raise Refused(400, "51000", "Parameter instType error")
        family = params.get("instFamily") or params.get("uly")
        return [
            i
            for i in self.instruments.values()
            if i.inst_type == inst_type and (family is None or i.inst_id.startswith(family + "-"))
        ]

    def _instruments(self, params: dict[str, str]) -> list[Any]:
        found = self._of_type(params)
        return [i.row() for i in found if params.get("instId") in (None, i.inst_id)]

    def _trades(self, params: dict[str, str]) -> list[Any]:
        inst, tape = self._inst(params)
        n = len(tape.ts)
        index = np.arange(max(n - _limit(params, 100, 500), 0), n)[::-1]
        return trade_rows(tape, inst, index)

    def _history_trades(self, params: dict[str, str]) -> list[Any]:
        inst, tape = self._inst(params)
        kind = params.get("type", "1")
        if kind not in ("1", "2"):
            raise Refused(400, "51000", "Parameter type error")
        keys = tape.keys if kind == "1" else tape.ts
        if kind == "1" and tape.by_position:
            params = _positions(tape, params)
        return trade_rows(tape, inst, _window(keys, params, _limit(params, 100, 100)))

    def _candles(self, params: dict[str, str]) -> list[Any]:
        inst, tape = self._inst(params)
        bar = params.get("bar", "1m")
        if bar not in BAR_MS:
            raise Refused(400, "51000", "Parameter bar error")
        bars = self._bars_of(inst, tape, bar)
        index = _window(bars.ts, params, _limit(params, 100, 300))
        # As of the last trade, whose candle is still open; candles of the bars kind are closed.
        now = int(tape.ts[-1]) + 1 if len(tape.ts) else _bars_end(bars, BAR_MS[bar])
        return candle_rows(bars, inst, index, now, BAR_MS[bar])

    def _bars_of(self, inst: Instrument, tape: Tape, bar: str) -> Bars:
        with self._lock:
            cached = self._bars.get((inst.inst_id, bar))
        if cached is not None:
            return cached
        ours = next(k for k, v in OKX_BARS.items() if v == bar)
        built = Bars.from_trades(tape, BAR_MS[bar]) if len(tape.ts) else tape.bars.get(ours)
        built = built if built is not None else Bars.from_trades(tape, BAR_MS[bar])
        with self._lock:
            self._bars[inst.inst_id, bar] = built
        return built

    def _books(self, params: dict[str, str]) -> list[Any]:
        inst, tape = self._inst(params)
        depth = _limit(params, 1, 5000, name="sz")
        bids, asks, ts = book_levels(tape, inst)

        def levels(side: list[tuple[float, float]]) -> list[list[str]]:
            return [[num(p), inst.contracts(s, p), "0", "1"] for p, s in side[:depth]]

        return [{"asks": levels(asks), "bids": levels(bids), "ts": str(ts)}]

    def _ticker(self, params: dict[str, str]) -> list[Any]:
        inst, tape = self._inst(params)
        return [ticker_row(tape, inst)]

    def _tickers(self, params: dict[str, str]) -> list[Any]:
        return [ticker_row(self.tapes[i.inst_id], i) for i in self._of_type(params)]

    def _mark_price(self, params: dict[str, str]) -> list[Any]:
        if params.get("instId"):
            rows = [mark_row(tape, inst) for inst, tape in [self._inst(params)]]
        else:
            wanted = _required(params, "instType")
            rows = [mark_row(self.tapes[i], inst) for i, inst in self.instruments.items()]
            rows = [r for r in rows if r is not None and r["instType"] == wanted]
        return [r for r in rows if r is not None]

    def _funding_rate(self, params: dict[str, str]) -> list[Any]:
        if params.get("instId") == "ANY":
            funded = [i for i, tape in self.tapes.items() if len(tape.funding_ts)]
            swaps = [i for i in funded if self.instruments[i].inst_type == "SWAP"]
            return [row for i in swaps for row in self._funding_rate({"instId": i})]
        inst, tape = self._funded(params)
        times, rates = tape.funding_ts, tape.funding_rate
        step = int(times[-1] - times[-2]) if len(times) > 1 else EIGHT_HOURS_MS
        nxt, rate = int(times[-1]) + step, num(float(rates[-1]))
        return [{
            "instType": inst.inst_type, "instId": inst.inst_id, "method": "current_period",
            "fundingRate": rate, "fundingTime": str(nxt), "nextFundingRate": "",
            "nextFundingTime": str(nxt + step), "settFundingRate": rate, "settState": "settled",
            "premium": "0", "interestRate": "0", "impactValue": "", "maxFundingRate": "0.0375",
            "minFundingRate": "-0.0375", "formulaType": "noRate", "ts": str(int(times[-1])),
        }]

    def _funding_history(self, params: dict[str, str]) -> list[Any]:
        inst, tape = self._funded(params)
        index = _window(tape.funding_ts, params, _limit(params, 100, 400))
        return [
            {"instType": inst.inst_type, "instId": inst.inst_id, "method": "current_period",
             "fundingRate": num(float(tape.funding_rate[i])), "realizedRate": num(float(tape.funding_rate[i])),
             "fundingTime": str(int(tape.funding_ts[i]))}
            for i in index
        ]

    def _funded(self, params: dict[str, str]) -> tuple[Instrument, Tape]:
        inst, tape = self._inst(params)
        if inst.inst_type != "SWAP" or not len(tape.funding_ts):
            raise Refused(200, "51001", f"Instrument ID {inst.inst_id} does not exist.")
        return inst, tape

    def _server_time(self, _params: dict[str, str]) -> list[Any]:
        return [{"ts": str(int(time.time() * 1000))}]

    def _status(self, _params: dict[str, str]) -> list[Any]:
        return []


def _positions(tape: Tape, params: dict[str, str]) -> dict[str, str]:
    """The `after` / `before` trade ids as positions, for ids that are not ascending integers."""
    where = {trade_id: i for i, trade_id in enumerate(tape.ids)}
    moved = dict(params)
    for name in ("after", "before"):
        if name in params:
            if params[name] not in where:
                raise Refused(400, "51000", f"Parameter {name} error")
            moved[name] = str(where[params[name]])
    return moved


def _bars_end(bars: Bars, bar_ms: int) -> int:
    """The close of the last bar: bars from the lake's bars kind are all complete."""
    return int(bars.ts[-1]) + bar_ms if len(bars.ts) else 0


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise Refused(400, "50014", f"Parameter {name} can not be empty.")
    return value


def _int(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        raise Refused(400, "51000", f"Parameter {name} error") from None


def _limit(params: dict[str, str], default: int, most: int, name: str = "limit") -> int:
    value = _int(params, name)
    if value is not None and value < 1:
        raise Refused(400, "51000", f"Parameter {name} error")
    return min(value or default, most)


def _window(keys: np.ndarray, params: dict[str, str], limit: int) -> np.ndarray:
    """OKX paging over ascending `keys`: `after` keeps keys below it, `before` keys above it;
    the newest `limit` of those, newest first (indexes into `keys`)."""
    after, before = _int(params, "after"), _int(params, "before")
    hi = int(np.searchsorted(keys, after, "left")) if after is not None else len(keys)
    lo = int(np.searchsorted(keys, before, "right")) if before is not None else 0
    return np.arange(max(lo, hi - limit), hi)[::-1] if hi > lo else np.empty(0, np.int64)


def _ok(data: list[Any]) -> Body:
    return {"code": "0", "msg": "", "data": data}


def _error(code: str, msg: str) -> Body:
    return {"code": code, "msg": msg, "data": []}


_ROUTES: dict[str, Callable[[SimRest, dict[str, str]], list[Any]]] = {
    "/api/v5/public/instruments": SimRest._instruments,
    "/api/v5/market/trades": SimRest._trades,
    "/api/v5/market/history-trades": SimRest._history_trades,
    "/api/v5/market/candles": SimRest._candles,
    "/api/v5/market/history-candles": SimRest._candles,
    "/api/v5/market/books": SimRest._books,
    "/api/v5/market/books-full": SimRest._books,
    "/api/v5/market/ticker": SimRest._ticker,
    "/api/v5/market/tickers": SimRest._tickers,
    "/api/v5/public/funding-rate": SimRest._funding_rate,
    "/api/v5/public/mark-price": SimRest._mark_price,
    "/api/v5/public/funding-rate-history": SimRest._funding_history,
    "/api/v5/public/time": SimRest._server_time,
    "/api/v5/system/status": SimRest._status,
}


class _Handler(BaseHTTPRequestHandler):
    sim: SimRest

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        status, body = self.sim.handle(parts.path, dict(parse_qsl(parts.query)))
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away

    def log_message(self, format: str, *args: Any) -> None:  # silence per-request logging
        pass
