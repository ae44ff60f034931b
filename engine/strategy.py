"""The Strategy interface, its declared parameters, and loading strategies by name.

A strategy reacts to market events (`on_tick`, `on_quote`, `on_bar`, `on_funding`) and to its own
orders (`on_order_update`). It trades by setting a target position with `ctx.set_target` (netted
with the other strategies on the symbol) or, when it needs resting orders at its own prices, by
placing them itself with `ctx.submit_limit`. The same object runs in backtest, paper and live.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar, overload

from engine.errors import UserError
from engine.events import NAN, Bar, Funding, OrderUpdate, Quote, Trade
from engine.types import Side

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Param(Generic[T]):
    """A declared strategy parameter: type from the default, inclusive range or choices.

    Declared on the class (`fast = Param(20, low=2, high=500)`), it reads as its value on an
    instance: the base class stores the coerced value in the instance, which shadows this
    (non-data) descriptor, and type checkers see `self.fast` as an int.
    """

    default: T
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    doc: str = ""
    log: bool = False  # search on a log scale when optimising

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
                f"parameter {name!r} of strategy {owner!r}: {value!r} is not a {kind.__name__}"
            ) from None
        if isinstance(out, float) and not math.isfinite(out):
            raise UserError(f"parameter {name!r} of strategy {owner!r}: {value!r} is not finite")
        if self.choices is not None and out not in self.choices:
            raise UserError(
                f"parameter {name!r} of strategy {owner!r}: {out!r} is not one of {list(self.choices)}"
            )
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        if kind in (int, float) and not lo <= out <= hi:
            raise UserError(
                f"parameter {name!r} of strategy {owner!r}: {out!r} is outside its range [{lo:g}, {hi:g}]"
            )
        return out


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
    def now(self) -> int: ...
    def position(self, symbol: str | None = None) -> float: ...
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

    Parameters become instance attributes of the declared type. `bar_interval` (for example
    "1m") asks for bars built from trades; override `warmup` to declare the history needed.
    """

    name: ClassVar[str] = ""
    params: ClassVar[dict[str, Param[Any]]] = {}
    bar_interval: str | None = None
    ctx: Context

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        merged: dict[str, Param[Any]] = {}
        for klass in reversed(cls.__mro__):
            merged.update({k: v for k, v in vars(klass).items() if isinstance(v, Param)})
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
        self.validate()

    # -- declarations -------------------------------------------------------------------
    def validate(self) -> None:
        """Check relations between parameters; raise UserError naming them."""

    def warmup(self) -> Warmup:
        """History needed before the first trade."""
        return Warmup()

    def param_values(self) -> dict[str, Any]:
        """The current parameter values."""
        return {k: getattr(self, k) for k in self.params}

    @classmethod
    def uses(cls, callback: str) -> bool:
        """Whether this class overrides `callback` (the engine only dispatches what is used)."""
        return getattr(cls, callback) is not getattr(Strategy, callback)

    # -- callbacks ------------------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        """Called once before the first event; keep `ctx` for trading."""
        self.ctx = ctx

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


def parse_params(pairs: list[str]) -> dict[str, str]:
    """Parse `k=v` strings from the command line."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise UserError(f"--param {pair!r} is not of the form name=value")
        out[key.strip()] = value.strip()
    return out


def strategy_class(name: str, search: Path | None = None) -> type[Strategy]:
    """Find a strategy class by registered name, `module:Class`, or a file under `research/`."""
    importlib.import_module("engine.strategies")
    if name in STRATEGIES:
        return STRATEGIES[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise UserError(f"cannot load strategy {name!r}: {exc}") from None
        if isinstance(obj, type) and issubclass(obj, Strategy):
            return obj
        raise UserError(f"{name!r} is not a Strategy subclass")
    load_research(search)
    if name in STRATEGIES:
        return STRATEGIES[name]
    known = ", ".join(sorted(STRATEGIES))
    raise UserError(f"unknown strategy {name!r} (known: {known})")


def load_research(search: Path | None = None) -> None:
    """Import the built-in strategies and research/ (of the working directory, then of this checkout)."""
    importlib.import_module("engine.strategies")
    for folder in (search,) if search else (Path.cwd() / "research", Path(__file__).resolve().parents[1] / "research"):
        _load_research(folder)


def _load_research(folder: Path) -> None:
    """Import every module under `folder` so that its strategies register themselves."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.py")):
        mod_name = "okxbot_research_" + "_".join(path.relative_to(folder).with_suffix("").parts)
        if mod_name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)


def build_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """Instantiate a strategy by name with validated parameters."""
    return strategy_class(name)(**dict(params or {}))
