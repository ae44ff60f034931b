"""Basic types: sides, instruments, symbols and timestamps.

All sizes are in base currency; timestamps are int64 nanoseconds UTC. Symbols are ccxt's
unified form (`ETH/USDT`, `ETH/USDT:USDT` for the linear perpetual) everywhere except inside a
venue adapter.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum

from engine.errors import UserError

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S
NS_PER_DAY = 86_400 * NS_PER_S


class Side(IntEnum):
    """Order or trade side; the value is the sign of the position change."""

    BUY = 1
    SELL = -1

    @property
    def sign(self) -> int:
        return int(self.value)

    @classmethod
    def of(cls, qty: float) -> Side:
        """Side of a signed quantity (positive buys)."""
        if qty == 0:
            raise ValueError("a zero quantity has no side")
        return cls.BUY if qty > 0 else cls.SELL


class InstrumentType(StrEnum):
    SPOT = "spot"
    SWAP = "swap"


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


# OKX base-tier fees (regular user, level 1), as fractions of notional.
DEFAULT_FEES: dict[InstrumentType, tuple[float, float]] = {
    InstrumentType.SPOT: (0.0008, 0.0010),
    InstrumentType.SWAP: (0.0002, 0.0005),
}


@dataclass(frozen=True)
class Instrument:
    """A tradable instrument with its venue's rounding rules and fees.

    `contract_value` is base currency per contract (OKX `ctVal`; 1 for spot), `lot_size` and
    `min_size` are in contracts, as the venue counts them. Engine sizes are in base currency.
    """

    symbol: str
    venue: str
    type: InstrumentType
    base: str
    quote: str
    settle: str
    tick_size: float
    lot_size: float
    contract_value: float = 1.0
    min_size: float = 0.0
    min_notional: float = 0.0
    maker_fee: float = 0.0
    taker_fee: float = 0.0
    max_leverage: float = 1.0

    @property
    def is_perp(self) -> bool:
        return self.type is InstrumentType.SWAP

    # Rounding runs several times per order: its constants are computed once per instrument
    # (cached_property writes the instance __dict__, which a frozen dataclass without slots has).
    @functools.cached_property
    def _price_decimals(self) -> int:
        return _decimals(self.tick_size)

    @functools.cached_property
    def _lot_decimals(self) -> int:
        return _decimals(self.lot_size)

    @functools.cached_property
    def _lot_base(self) -> float:
        return self.lot_size * self.contract_value

    @functools.cached_property
    def _base_decimals(self) -> int:
        return _decimals(self._lot_base)

    def round_price(self, price: float) -> float:
        """Round a price to the nearest tick."""
        return round(round(price / self.tick_size) * self.tick_size, self._price_decimals)

    def contracts(self, size: float) -> float:
        """Convert a base-currency size to contracts, rounded down to the lot size."""
        lots = math.floor(abs(size) / self._lot_base + 1e-9)
        return round(lots * self.lot_size, self._lot_decimals)

    def round_size(self, size: float) -> float:
        """Round a signed base-currency size down to whole lots, keeping its sign."""
        lots = math.floor(abs(size) / self._lot_base + 1e-9)
        base = round(lots * self._lot_base, self._base_decimals)
        return math.copysign(base, size) if base else 0.0

    def size_error(self, size: float, price: float) -> str | None:
        """Why a base-currency size cannot be ordered at `price`, or None if it can."""
        contracts = self.contracts(size)
        if contracts <= 0 or contracts + 1e-12 < self.min_size:
            return (
                f"size {abs(size):g} {self.base} is below the minimum of "
                f"{max(self.min_size, self.lot_size) * self.contract_value:g} {self.base} for {self.symbol}"
            )
        notional = contracts * self.contract_value * price
        if notional + 1e-12 < self.min_notional:
            return f"notional {notional:g} {self.quote} is below the minimum {self.min_notional:g}"
        return None


def _decimals(step: float) -> int:
    """Decimals that keep a multiple of `step` exact while removing float noise."""
    return min(max(0, -math.floor(math.log10(step)) + 2), 15) if step > 0 else 12


# OKX's linear USDT swaps: base currency per contract.
_CONTRACT_VALUES = {"BTC": 0.01, "ETH": 0.1, "SOL": 1.0, "XRP": 100.0, "DOGE": 1000.0}


def make_instrument(symbol: str, venue: str = "synthetic", **overrides: object) -> Instrument:
    """Build an instrument from a ccxt symbol with OKX's default fees for its type.

    `ETH/USDT` is spot, `ETH/USDT:USDT` a linear perpetual swap. Fees, tick, lot and contract
    value may be overridden by keyword.
    """
    base, quote, settle = parse_symbol(symbol)
    kind = InstrumentType.SWAP if settle else InstrumentType.SPOT
    maker, taker = DEFAULT_FEES[kind]
    inst = Instrument(
        symbol=symbol,
        venue=venue,
        type=kind,
        base=base,
        quote=quote,
        settle=settle or quote,
        tick_size=0.01,
        lot_size=1e-8 if kind is InstrumentType.SPOT else 0.01,
        contract_value=1.0 if kind is InstrumentType.SPOT else _CONTRACT_VALUES.get(base, 1.0),
        min_size=0.0,
        maker_fee=maker,
        taker_fee=taker,
        max_leverage=1.0 if kind is InstrumentType.SPOT else 10.0,
    )
    unknown = set(overrides) - set(Instrument.__dataclass_fields__)
    if unknown:
        raise UserError(f"unknown instrument field {sorted(unknown)[0]!r}")
    return replace(inst, **overrides)  # type: ignore[arg-type]


def parse_symbol(symbol: str) -> tuple[str, str, str]:
    """Split a ccxt symbol into (base, quote, settle); settle is '' for spot."""
    main, _, settle = symbol.partition(":")
    base, slash, quote = main.partition("/")
    if not slash or not base or not quote or "/" in quote:
        raise UserError(f"symbol {symbol!r} is not a ccxt symbol like 'ETH/USDT' or 'ETH/USDT:USDT'")
    return base, quote, settle


def symbol_to_path(symbol: str) -> str:
    """Lake directory form of a ccxt symbol: `/` becomes `-`, `:` becomes `.`."""
    parse_symbol(symbol)
    return symbol.replace("/", "-").replace(":", ".")


def path_to_symbol(part: str) -> str:
    """Inverse of `symbol_to_path`."""
    main, dot, settle = part.partition(".")
    symbol = main.replace("-", "/", 1) + (":" + settle if dot else "")
    parse_symbol(symbol)
    return symbol


def okx_inst_id(symbol: str) -> str:
    """OKX instId of a ccxt symbol: `ETH/USDT` -> `ETH-USDT`, `ETH/USDT:USDT` -> `ETH-USDT-SWAP`."""
    base, quote, settle = parse_symbol(symbol)
    return f"{base}-{quote}-SWAP" if settle else f"{base}-{quote}"


def symbol_from_okx(inst_id: str) -> str:
    """ccxt symbol of an OKX instId (spot and linear/inverse swaps)."""
    parts = inst_id.split("-")
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 3 and parts[2] == "SWAP":
        settle = parts[0] if parts[1] == "USD" else parts[1]
        return f"{parts[0]}/{parts[1]}:{settle}"
    raise UserError(f"instId {inst_id!r} is not an OKX spot or swap instrument")


_UNIT_NS = {"s": NS_PER_S, "m": NS_PER_MIN, "h": 60 * NS_PER_MIN, "d": NS_PER_DAY}


def interval_ns(interval: str) -> int:
    """Length of a bar interval such as '1s', '5m', '4h' or '1d', in ns (1 s to 1 d)."""
    unit = interval[-1:]
    count = interval[:-1]
    if unit not in _UNIT_NS or not count.isdigit() or int(count) <= 0:
        raise UserError(f"interval {interval!r} is not like '1s', '1m', '4h' or '1d'")
    ns = int(count) * _UNIT_NS[unit]
    if not NS_PER_S <= ns <= NS_PER_DAY:
        raise UserError(f"interval {interval!r} is outside 1s..1d")
    return ns


def to_ns(value: object, field: str = "time") -> int:
    """Parse a time (int ns, ISO-8601 string or date; naive means UTC) into int64 ns UTC."""
    from datetime import UTC, date, datetime

    if isinstance(value, bool):
        raise UserError(f"{field} {value!r} is not a time")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(dt.timestamp()) * NS_PER_S + dt.microsecond * 1000
    if isinstance(value, date):
        return to_ns(datetime(value.year, value.month, value.day, tzinfo=UTC), field)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            return to_ns(datetime.fromisoformat(text), field)
        except ValueError:
            pass
    raise UserError(f"{field} {value!r} is not an ISO date or time like 2024-01-01 or 2024-01-01T12:00")


def ns_to_iso(ns: int) -> str:
    """ISO-8601 UTC text of an int64 ns time (to the millisecond)."""
    from datetime import UTC, datetime

    dt = datetime.fromtimestamp(ns // NS_PER_S, tz=UTC)
    ms = (ns % NS_PER_S) // NS_PER_MS
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ms:03d}" if ms else "") + "Z"
