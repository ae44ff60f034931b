"""The Strategy interface and its declared parameters.

A strategy reacts to market events (`on_tick`, `on_quote`, `on_bar`, `on_funding`) and to its own
orders (`on_order_update`). It trades by setting a target position with `ctx.set_target` (netted
with the other strategies on the symbol) or, when it needs resting orders at its own prices, by
placing them itself with `ctx.submit_limit`. The same object runs in backtest, paper and live.
Looking strategies up by name is the catalog's job (`engine.strategies.catalog`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, overload

from engine.model.errors import UserError
from engine.model.events import NAN, Bar, Funding, OrderUpdate, Quote, Trade
from engine.model.time import interval_ns
from engine.model.types import Side
from engine.trading.sizing import SIZE_UNITS, position_size

if TYPE_CHECKING:
    from engine.trading.frame import BarFrame, FloatArray

T = TypeVar("T")
_KINDS = {int: "an integer", float: "a number", bool: "true or false", str: "a text"}


@dataclass(frozen=True, slots=True)
class Param(Generic[T]):
    """A declared strategy parameter: type from the default, a range or choices.

    The range [low, high] is inclusive; `open_low` excludes `low` itself (a size that must be
    > 0 is `Param(1.0, low=0.0, open_low=True)`). Declared on the class
    (`fast = Param(20, low=2, high=500)`), it reads as its value on an instance: the base class
    stores the coerced value in the instance, which shadows this (non-data) descriptor, and
    type checkers see `self.fast` as an int.
    """

    default: T
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    doc: str = ""
    log: bool = False  # search on a log scale when optimising
    open_low: bool = False  # the value must be > low, not >= low

    @property
    def type(self) -> type:
        return type(self.default)

    @overload
    def __get__(self, instance: None, owner: Any) -> Param[T]: ...
    @overload
    def __get__(self, instance: object, owner: Any) -> T: ...
    def __get__(self, instance: object | None, owner: Any) -> Param[T] | T:
        return self if instance is None else self.default

    def coerce(self, name: str, owner: str, value: Any) -> Any:
        """Return `value` converted to this parameter's type, or raise a UserError naming it."""
        kind = self.type
        try:
            if kind is bool and isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(value)
                out: Any = value.lower() in ("1", "true", "yes")
            elif kind is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            elif kind is int and isinstance(value, str):
                out = int(float(value)) if float(value).is_integer() else int(value)
            else:
                out = kind(value)
        except (TypeError, ValueError):
            raise UserError(
                f"parameter {name!r} of strategy {owner!r}: {value!r} is not {_KINDS.get(kind, kind.__name__)}"
            ) from None
        if isinstance(out, float) and not math.isfinite(out):
            raise UserError(f"parameter {name!r} of strategy {owner!r}: {value!r} is not finite")
        if self.choices is not None and out not in self.choices:
            raise UserError(
                f"parameter {name!r} of strategy {owner!r}: {out!r} is not one of {list(self.choices)}"
            )
        if kind in (int, float) and not self.contains(out):
            raise UserError(
                f"parameter {name!r} of strategy {owner!r}: {out!r} is outside its range {self.range_text()}"
            )
        return out

    def contains(self, value: float) -> bool:
        """Whether a number lies in the declared range."""
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        return (lo < value if self.open_low else lo <= value) and value <= hi

    def range_text(self) -> str:
        """The declared range as text: `[2, 500]`, `(0, inf]`."""
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        return f"{'(' if self.open_low else '['}{lo:g}, {hi:g}]"


@dataclass(frozen=True, slots=True)
class Warmup:
    """History a strategy needs before it may trade: a number of trades and/or of bars."""

    ticks: int = 0
    bars: int = 0


class Context(Protocol):
    """What the engine offers a strategy. Implemented by the engine for backtest, paper and live."""

    strategy_id: str
    symbol: str

    @property
    def trading(self) -> bool: ...
    @property
    def capital(self) -> float: ...
    @property
    def inverse(self) -> bool: ...
    def now(self) -> int: ...
    def position(self, symbol: str | None = None) -> float: ...
    def last_price(self, symbol: str | None = None) -> float: ...
    def equity(self) -> float: ...
    def set_target(self, target: float, symbol: str | None = None) -> None: ...
    def submit_limit(
        self, side: Side, size: float, price: float, symbol: str | None = None,
        post_only: bool = False,
    ) -> str: ...
    def cancel(self, client_id: str) -> None: ...
    def amend(self, client_id: str, price: float = NAN, size: float = NAN) -> None: ...
    def open_orders(self, symbol: str | None = None) -> list[str]: ...
    def log(self, message: str) -> None: ...


STRATEGIES: dict[str, type[Strategy]] = {}


class Strategy:
    """Base class of all strategies. Subclasses declare `name`, `Param`s and the callbacks they use.

    Parameters become instance attributes of the declared type. `ordered` names parameters that
    must strictly increase in that order (`("fast", "slow")`); `validate` checks any other
    relation. `bar_interval` (for example "1m") asks for bars built from trades, and is a
    parameter like any other (`--param bar_interval=5m`); override `warmup` to declare the history
    needed and `reset` to set the state a run starts from. Every strategy shares one sizing rule
    (`size` in `size_unit`, see `hold` and engine.trading.sizing).
    """

    name: ClassVar[str] = ""
    params: ClassVar[dict[str, Param[Any]]] = {}
    ordered: ClassVar[tuple[str, ...]] = ()
    bar_interval: str | None = None
    size = Param(1.0, low=0.0, open_low=True, doc="position size, in size_unit")
    size_unit = Param(
        "fraction", choices=SIZE_UNITS,
        doc="fraction: of the strategy's capital; quote: notional; base: base currency",
    )
    ctx: Context

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        interval = cls.__dict__.get("bar_interval")
        if isinstance(interval, str):  # a plain declaration becomes tunable like the built-ins'
            cls.bar_interval = Param(interval, doc="bar length, e.g. 1m, 5m, 1h")  # type: ignore[assignment]
        merged: dict[str, Param[Any]] = {}
        for klass in cls.__mro__:  # the class's own parameters first, the inherited ones after
            for key, value in vars(klass).items():
                if isinstance(value, Param) and key not in merged:
                    merged[key] = value
        cls.params = merged
        if cls.__dict__.get("name"):
            STRATEGIES[cls.name] = cls

    def __init__(self, **params: Any) -> None:
        owner = self.name or type(self).__name__
        for key in params:
            if key not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                raise UserError(f"strategy {owner!r} has no parameter {key!r} (it has: {known})")
        for key, spec in self.params.items():
            value = params.get(key, spec.default)
            setattr(self, key, spec.coerce(key, owner, value))
        for low, high in zip(self.ordered, self.ordered[1:], strict=False):
            a, b = getattr(self, low), getattr(self, high)
            if not a < b:
                raise UserError(
                    f"strategy {owner!r}: parameter {low!r} ({a:g}) must be smaller than parameter {high!r} ({b:g})"
                )
        if isinstance(self.bar_interval, str):
            interval_ns(self.bar_interval)  # a UserError naming a malformed interval
        self.validate()
        self._direction = 0.0
        self.reset()

    # -- declarations -------------------------------------------------------------------
    def validate(self) -> None:
        """Check relations between parameters beyond `ordered`; raise UserError naming them."""

    def reset(self) -> None:
        """Set the state a run starts from (called after the parameters are set, and in on_start)."""

    def warmup(self) -> Warmup:
        """History needed before the first trade."""
        return Warmup()

    def vector_positions(self, frame: BarFrame) -> FloatArray:
        """The vectorised form of a bar strategy, for screens (README "Screens"): for every bar i of
        `frame`, the direction held after bar i's close (what `on_bar` passes to `hold`; 0 before the
        first decision), computed from whole arrays. A strategy declares it by overriding this."""
        raise NotImplementedError(f"strategy {self.name!r} has no vectorised form")

    @classmethod
    def has_vector_form(cls) -> bool:
        """Whether this class declares `vector_positions` (a screen can sweep it)."""
        return cls.uses("vector_positions")

    def param_values(self) -> dict[str, Any]:
        """The current parameter values."""
        return {k: getattr(self, k) for k in self.params}

    # -- trading ---------------------------------------------------------------------------
    def hold(self, direction: float, price: float | None = None) -> None:
        """Hold `direction` times `size`: +1 long, -1 short, 0 flat (fractions scale it).

        The size is converted to base units (USD on an inverse contract) at `price` (default: the last
        trade) only when the direction changes, so a held position is never re-traded because the
        price moved.
        """
        if direction == self._direction:
            return
        self._direction = direction
        if direction == 0:
            self.ctx.set_target(0.0)
            return
        if self.size_unit == "base" and not self.ctx.inverse:  # no price needed (the benchmark's hot path)
            self.ctx.set_target(direction * self.size)
            return
        px = self.ctx.last_price() if price is None else price
        self.ctx.set_target(direction * position_size(self.size, self.size_unit, px, self.ctx.capital,
                                                      self.ctx.inverse))

    @classmethod
    def uses(cls, callback: str) -> bool:
        """Whether this class overrides `callback` (the engine only dispatches what is used)."""
        return getattr(cls, callback) is not getattr(Strategy, callback)

    # -- callbacks ------------------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        """Called once before the first event: keeps `ctx` for trading, then `reset()`s the state."""
        self.ctx = ctx
        self._direction = 0.0
        self.reset()

    def on_tick(self, tick: Trade) -> None:
        """A trade on a subscribed symbol."""

    def on_quote(self, quote: Quote) -> None:
        """A best bid/ask change."""

    def on_bar(self, bar: Bar) -> None:
        """A completed bar of `bar_interval`."""

    def on_funding(self, funding: Funding) -> None:
        """A funding instant of a perpetual."""

    def on_order_update(self, update: OrderUpdate) -> None:
        """A change of one of this strategy's own orders, or a fill allocated to it."""

    def on_stop(self) -> None:
        """Called once after the last event."""
