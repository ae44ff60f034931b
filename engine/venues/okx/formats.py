"""OKX's formats, pure: instrument ids, contract sizes, REST bodies, WebSocket pushes, trade CSV headers.

Everything OKX-specific that turns OKX's words into the engine's lives here, with no I/O and no
client: the ingest of recorded files, the REST client, and later the live feed and the local OKX
simulator all use it. OKX counts derivative sizes in contracts (`ctVal` base currency each, or
`ctVal` USD for inverse, coin-margined contracts); everything handed back is in base currency.

instId <-> ccxt symbol:

| OKX instId          | ccxt symbol            | kind                  |
|---------------------|------------------------|-----------------------|
| `BTC-USDT`          | `BTC/USDT`             | spot                  |
| `BTC-USDT-SWAP`     | `BTC/USDT:USDT`        | linear perpetual swap |
| `BTC-USD-SWAP`      | `BTC/USD:BTC`          | inverse perpetual     |
| `BTC-USDT-250328`   | `BTC/USDT:USDT-250328` | linear dated future   |
| `BTC-USD-250328`    | `BTC/USD:BTC-250328`   | inverse dated future  |

Options (`BTC-USD-250328-50000-C`) are not supported and are refused by name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from engine.model.errors import UserError
from engine.model.time import NS_PER_MS
from engine.model.types import parse_symbol

VENUE = "okx"

# OKX's bar names; 6h and longer in their UTC flavour (the plain ones open on Hong Kong time).
OKX_BARS = {
    "1s": "1s",
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1H",
    "2h": "2H",
    "4h": "4H",
    "6h": "6Hutc",
    "12h": "12Hutc",
    "1d": "1Dutc",
}
SIDES = {"buy": 1, "sell": -1}

# ctVal of OKX's derivatives by instrument family (swaps and dated futures of a family share it),
# from the public instruments endpoint (recorded in shared/data/okx): linear contracts count base
# currency, inverse (coin-margined, -USD-) contracts count USD.
CONTRACT_VALUES = {"BTC-USDT": 0.01, "ETH-USDT": 0.1, "BTC-USD": 100.0}
# OKX's inverse contracts are 100 USD for BTC and 10 USD for every other coin.
INVERSE_CONTRACT_VALUE = 10.0

_EXPIRY = re.compile(r"^\d{6}$")

# The tables handed back carry the fields of the engine's Trade and Bar events, in these names.
TRADE_FIELDS = ("ts_event", "ts_recv", "trade_id", "price", "size", "side")
BAR_FIELDS = ("ts_event", "open", "high", "low", "close", "volume", "interval")


# -- instruments ------------------------------------------------------------------------------------
def inst_id(symbol: str) -> str:
    """OKX instId of a ccxt symbol (see the module's table); a UserError for options or a wrong settle."""
    base, quote, settle = parse_symbol(symbol)
    if not settle:
        return f"{base}-{quote}"
    currency, _, expiry = settle.partition("-")
    if expiry and not _EXPIRY.match(expiry):
        raise UserError(f"symbol {symbol!r} is an option or unknown; only spot, swaps and dated futures are supported")
    expected = base if quote == "USD" else quote
    if currency != expected:
        raise UserError(f"symbol {symbol!r}: OKX settles {base}-{quote} contracts in {expected}, not {currency}")
    return f"{base}-{quote}-{expiry or 'SWAP'}"


def symbol_of(inst: str) -> str:
    """ccxt symbol of an OKX instId (spot, swaps and dated futures, linear and inverse)."""
    parts = inst.split("-")
    if len(parts) == 2 and all(parts):
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 3 and all(parts) and (parts[2] == "SWAP" or _EXPIRY.match(parts[2])):
        settle = parts[0] if parts[1] == "USD" else parts[1]
        suffix = "" if parts[2] == "SWAP" else f"-{parts[2]}"
        return f"{parts[0]}/{parts[1]}:{settle}{suffix}"
    raise UserError(f"instId {inst!r} is not an OKX spot, swap or dated-future instrument")


def market_type(symbol: str) -> str:
    """ccxt market type of a unified symbol: spot, swap or future (options are refused)."""
    _, _, settle = parse_symbol(symbol)
    if not settle:
        return "spot"
    dashes = settle.count("-")
    if dashes > 1:
        raise UserError(f"symbol {symbol!r} is an option; only spot, swap and future are supported")
    return "future" if dashes else "swap"


def is_derivative(inst: str) -> bool:
    """Swaps and dated futures: OKX counts their sizes in contracts."""
    return inst.count("-") >= 2


def is_inverse(inst: str) -> bool:
    """Coin-margined contracts (`BTC-USD-SWAP`): a contract is worth ctVal USD."""
    return is_derivative(inst) and inst.split("-")[1] == "USD"


@dataclass(frozen=True, slots=True)
class Contract:
    """What turning OKX sizes into base currency needs: size = contracts x `contract_size`,
    divided by the price for inverse contracts; spot sizes are in base already."""

    inst_id: str
    spot: bool
    contract_size: Decimal = Decimal(1)
    inverse: bool = False


def default_contract(inst: str) -> Contract | None:
    """The Contract of an instId from the known ctVals (spot needs none); None for an unknown family."""
    if not is_derivative(inst):
        return Contract(inst, spot=True)
    family = "-".join(inst.split("-")[:2])
    value = CONTRACT_VALUES.get(family) or (INVERSE_CONTRACT_VALUE if is_inverse(inst) else None)
    if value is None:
        return None
    return Contract(inst, spot=False, contract_size=Decimal(str(value)), inverse=is_inverse(inst))


def base_sizes(inst: str, sizes: np.ndarray, prices: np.ndarray, contract_value: float | None,
               where: str) -> np.ndarray:
    """Sizes in base currency from OKX's: contracts x ctVal (/ price for inverse); spot as sent.

    `contract_value` overrides the known ctVal; without either a UserError names `where`.
    """
    if not is_derivative(inst):
        return sizes
    family = "-".join(inst.split("-")[:2])
    value = contract_value or CONTRACT_VALUES.get(family) or (INVERSE_CONTRACT_VALUE if is_inverse(inst) else None)
    if value is None:
        raise UserError(
            f"{where}: {inst} sizes are in contracts; pass --contract-value (its ctVal from OKX's "
            "instruments endpoint) to convert them to base currency"
        )
    if is_inverse(inst):
        with np.errstate(divide="ignore", invalid="ignore"):
            return sizes * value / prices
    return sizes * value


# -- REST bodies ------------------------------------------------------------------------------------
def parse_trades(rows: list[dict[str, str]], contract: Contract) -> pa.Table:
    """OKX public trades (any order) -> a table of TRADE_FIELDS, base-currency sizes, ts_recv null."""
    return pa.Table.from_arrays(
        [
            pa.array([int(r["ts"]) * NS_PER_MS for r in rows], pa.int64()),
            pa.nulls(len(rows), pa.int64()),
            pa.array([r["tradeId"] for r in rows], pa.string()),
            pa.array([float(r["px"]) for r in rows], pa.float64()),
            pa.array([base_size(r["sz"], r["px"], contract) for r in rows], pa.float64()),
            pa.array([SIDES[r["side"]] for r in rows], pa.int8()),
        ],
        names=list(TRADE_FIELDS),
    )


def base_size(sz: str, px: str, contract: Contract) -> float:
    """One OKX size in base currency: spot as sent, contracts x ctVal (/ price for inverse)."""
    if contract.spot:
        return float(sz)
    size = Decimal(sz) * contract.contract_size  # exact: 3 x 0.1 is 0.3, not 0.30000000000000004
    return float(size / Decimal(px) if contract.inverse else size)


def parse_candles(rows: list[list[str]], interval: str, spot: bool) -> pa.Table:
    """OKX candles -> a table of BAR_FIELDS, the completed ones (confirm = 1). Volume in base currency:
    OKX's `vol` for spot, `volCcy` for derivatives (whose `vol` counts contracts)."""
    done = [r for r in rows if len(r) < 9 or r[8] == "1"]
    vol = 5 if spot else 6
    columns = [pa.array([int(r[0]) * NS_PER_MS for r in done], pa.int64())]
    columns += [pa.array([float(r[i]) for r in done], pa.float64()) for i in (1, 2, 3, 4, vol)]
    columns.append(pa.array([interval] * len(done), pa.string()))
    return pa.Table.from_arrays(columns, names=list(BAR_FIELDS))


# -- WebSocket pushes -------------------------------------------------------------------------------
_CANDLE = re.compile(r"^(mark-price-)?candle(\d+)([smHD])(utc)?$")

Rows = dict[tuple[str, str, str], list[tuple[Any, ...]]]


def route(message: Any, recv: int | None, rows: Rows, skipped: Counter[str]) -> None:
    """Add a push's rows to `rows[(kind, instId, interval)]`; count what is not market data.

    `trades`/`trades-all` (and REST trade bodies) give (ts, recv, tradeId, px, sz, side) rows,
    `bbo-tbt`/`tickers` (recv, ts, bid, ask, bid size, ask size) quotes, confirmed `candle<bar>`
    and `mark-price-candle<bar>` pushes their raw candle rows. Sizes are OKX's (contracts for
    derivatives). Raises KeyError, IndexError, TypeError or ValueError on a malformed message.
    """
    if isinstance(message, list):  # an array of pushes on one line
        for item in message:
            route(item, recv, rows, skipped)
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
            rows["quotes", d.get("instId", inst), ""].append((recv, *quote_fields(channel, d)))
    elif candle := candle_channel(channel):
        for d in message["data"]:
            if d[-1] == "1":  # confirmed: the bar is closed
                rows[candle[0], inst, candle[1]].append(tuple(d))
    else:
        skipped[channel or "other"] += 1


def candle_channel(channel: str) -> tuple[str, str] | None:
    """(kind, interval) of a candle channel whose bars open on UTC boundaries, else None.

    OKX aligns 6H and longer bars to Hong Kong time unless the channel ends in `utc`.
    """
    match = _CANDLE.match(channel)
    if match is None or (match[3] in "HD" and not match[4] and (match[3] == "D" or int(match[2]) >= 6)):
        return None
    return ("mark" if match[1] else "bars"), f"{match[2]}{match[3].lower()}"


def quote_fields(channel: str, d: dict[str, Any]) -> tuple[int, float, float, float, float]:
    """(ts, bid, ask, bid size, ask size) of a `tickers` or `bbo-tbt` data item."""
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


def candle_volume_column(inst: str, kind: str) -> int | None:
    """Index of the base-currency volume in a candle row (`vol` spot, `volCcy` derivatives);
    None for mark-price candles, which have no volume."""
    if kind == "mark":
        return None
    return 6 if is_derivative(inst) else 5


# -- trade history CSV (okx.com/data-download) ---------------------------------------------------
# Two headers exist: `instrument_name,trade_id,side,price,size,created_time[,source]` and the older
# bilingual `trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间`, whose
# instrument is only in the file name (`BTC-USDT-trades-2025-04-19.zip`).
CSV_FILE = re.compile(r"^([A-Z0-9]+-[A-Z0-9]+(?:-SWAP|-\d{6})?)-(?:agg)?trades-\d{4}-\d{2}-\d{2}", re.IGNORECASE)
CSV_REQUIRED = frozenset({"trade_id", "side", "price", "size", "created_time"})
CSV_TYPES = {"trade_id": pa.string(), "side": pa.string(), "instrument_name": pa.string(), "created_time": pa.int64()}


def csv_header(first_line: str) -> list[str]:
    """Column names of a trade CSV, with the bilingual header's Chinese halves removed."""
    return [name.split("/", 1)[0].strip().lower() for name in first_line.split(",")]


def csv_instrument(file_name: str) -> str | None:
    """The instId a trade CSV's file name states, if any."""
    match = CSV_FILE.match(file_name)
    return match[1].upper() if match else None
