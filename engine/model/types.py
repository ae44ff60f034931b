"""Basic types: sides, liquidity, instruments and symbols.

Sizes are in base currency, except for inverse (coin-margined) perpetuals, whose sizes are USD
face value (README "Inverse perpetuals"); timestamps are int64 nanoseconds UTC. Symbols are ccxt's
unified form (`ETH/USDT`, `ETH/USDT:USDT` for the linear perpetual) everywhere except inside a
venue adapter. Times are in `engine.model.time`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum

from engine.model.errors import UserError


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
    An `inverse` contract (`BTC/USD:BTC`) counts USD instead: its contract value and the engine's
    sizes are in the quote currency (USD), its amounts in the settle currency, the coin.
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
    inverse: bool = False

    # Read on every order: computed once per instrument (see the rounding constants below).
    @functools.cached_property
    def is_perp(self) -> bool:
        return self.type is InstrumentType.SWAP

    @functools.cached_property
    def size_currency(self) -> str:
        """The currency sizes are counted in: the base, the quote (USD) for an inverse contract."""
        return self.quote if self.inverse else self.base

    def value(self, size: float, price: float) -> float:
        """A signed position's value in the settle currency at `price`, up to a constant that cancels
        in every PnL: size x price, or -size / price for an inverse contract."""
        return -size / price if self.inverse else size * price

    def notional(self, size: float, price: float) -> float:
        """What |size| is worth at `price` in the settle currency: |size| x price (|size| / price inverse)."""
        return abs(size) / price if self.inverse else abs(size) * price

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

    def _lots(self, size: float, up: bool = False) -> int:
        """Whole lots in |size|, rounded down (or `up`); a size within float noise of a whole
        number of lots is that number (0.50050051 / 1e-8 is 50050050.99999999 in floats)."""
        x = abs(size) / self._lot_base
        # the float noise of the division: absolute below a million lots, then two ulps of x (a wider
        # margin would round a holding up by whole lots, and a sell would exceed what is held)
        eps = 1e-9 if x < 1e6 else 4.4e-16 * x
        return math.ceil(x - eps) if up else math.floor(x + eps)

    def contracts(self, size: float) -> float:
        """Convert a base-currency size to contracts, rounded down to the lot size."""
        lots = self._lots(size)
        return round(lots * self.lot_size, self._lot_decimals)

    def round_size(self, size: float) -> float:
        """Round a signed base-currency size down to whole lots, keeping its sign."""
        lots = self._lots(size)
        base = round(lots * self._lot_base, self._base_decimals)
        return math.copysign(base, size) if base else 0.0

    def ceil_size(self, size: float) -> float:
        """Round a signed base-currency size up (away from zero) to whole lots, keeping its sign."""
        lots = self._lots(size, up=True)
        base = round(lots * self._lot_base, self._base_decimals)
        return math.copysign(base, size) if base else 0.0

    def size_error(self, size: float, price: float) -> str | None:
        """Why a size (in `size_currency`) cannot be ordered at `price`, or None if it can."""
        contracts = self.contracts(size)
        unit = self.size_currency
        if contracts <= 0 or contracts + 1e-12 < self.min_size:
            return (
                f"size {abs(size):g} {unit} is below the minimum of "
                f"{max(self.min_size, self.lot_size) * self.contract_value:g} {unit} for {self.symbol}"
            )
        notional = contracts * self.contract_value * (1.0 if self.inverse else price)
        if notional + 1e-12 < self.min_notional:
            return f"notional {notional:g} {self.quote} is below the minimum {self.min_notional:g}"
        return None


def _decimals(step: float) -> int:
    """Decimals that keep a multiple of `step` exact while removing float noise."""
    return min(max(0, -math.floor(math.log10(step)) + 2), 15) if step > 0 else 12


# OKX's linear USDT swaps: base currency per contract.
_CONTRACT_VALUES = {"BTC": 0.01, "ETH": 0.1, "SOL": 1.0, "XRP": 100.0, "DOGE": 1000.0}
# OKX's inverse (coin-margined) swaps: USD per contract, 100 for BTC and 10 for every other coin.
_INVERSE_CONTRACT_VALUES = {"BTC": 100.0}
INVERSE_CONTRACT_VALUE = 10.0


def make_instrument(symbol: str, venue: str = "synthetic", **overrides: object) -> Instrument:
    """Build an instrument from a ccxt symbol with OKX's default fees for its type.

    `ETH/USDT` is spot, `ETH/USDT:USDT` a linear perpetual swap, `BTC/USD:BTC` (settled in its base)
    an inverse one, in whole contracts of 100 USD (BTC) or 10 USD. Fees, tick, lot and contract value
    may be overridden by keyword; `inverse=False` values an inverse symbol as linear (a deliberate
    fault of the tests).
    """
    base, quote, settle = parse_symbol(symbol)
    kind = InstrumentType.SWAP if settle else InstrumentType.SPOT
    maker, taker = DEFAULT_FEES[kind]
    inverse = bool(overrides.pop("inverse", kind is InstrumentType.SWAP and settle == base != quote))
    if inverse and kind is not InstrumentType.SWAP:
        raise UserError(f"symbol {symbol!r} is spot: only a perpetual swap can be inverse")
    inst = Instrument(
        symbol=symbol,
        venue=venue,
        type=kind,
        base=base,
        quote=quote,
        settle=settle or quote,
        tick_size=0.01,
        lot_size=1e-8 if kind is InstrumentType.SPOT else 1.0 if inverse else 0.01,
        contract_value=_contract_value(kind, base, inverse),
        min_size=0.0,
        maker_fee=maker,
        taker_fee=taker,
        max_leverage=1.0 if kind is InstrumentType.SPOT else 10.0,
        inverse=inverse,
    )
    unknown = set(overrides) - set(Instrument.__dataclass_fields__)
    if unknown:
        raise UserError(f"unknown instrument field {sorted(unknown)[0]!r}")
    return replace(inst, **overrides)  # type: ignore[arg-type]


def _contract_value(kind: InstrumentType, base: str, inverse: bool) -> float:
    if kind is InstrumentType.SPOT:
        return 1.0
    if inverse:
        return _INVERSE_CONTRACT_VALUES.get(base, INVERSE_CONTRACT_VALUE)
    return _CONTRACT_VALUES.get(base, 1.0)


def parse_symbol(symbol: str) -> tuple[str, str, str]:
    """Split a ccxt symbol into (base, quote, settle); settle is '' for spot."""
    main, _, settle = symbol.partition(":")
    base, slash, quote = main.partition("/")
    if not slash or not base or not quote or "/" in quote:
        raise UserError(f"symbol {symbol!r} is not a ccxt symbol like 'ETH/USDT' or 'ETH/USDT:USDT'")
    return base, quote, settle
