"""Typed configuration of a backtest, validated once."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.model.errors import ConfigError
from engine.model.time import ns_to_iso
from engine.model.types import Instrument, parse_symbol
from engine.trading.risk import RiskLimits
from engine.venues.sim import SimConfig

FAULTS = frozenset({"bar_at_open", "fill_on_decision", "full_fill_on_touch", "inverse_as_linear", "no_cash_check"})


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """One strategy of the portfolio: its registered name, parameters, id, symbol and weight.

    `weight` is its share of the account's capital; strategies without one share what the others
    leave in equal parts.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""
    symbol: str = ""
    weight: float | None = None

    @property
    def strategy_id(self) -> str:
        return self.id or self.name


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """What to replay, with which strategies, on which simulated venue.

    `faults` deliberately breaks the replay ("bar_at_open": release bars at their open time;
    "fill_on_decision": let an order fill on the event that decided it; "full_fill_on_touch": fill
    resting orders whole on any print that reaches them; "no_cash_check": let spot buys spend cash
    the account does not have; "inverse_as_linear": size, value and settle inverse contracts as if
    they were linear). Only the tests use it, to prove they catch such bugs.
    """

    strategies: tuple[StrategySpec, ...]
    symbols: tuple[str, ...]
    start: int
    end: int
    capital: float = 10_000.0  # the account's, in capital_currency; each strategy gets its weight of it,
    capital_currency: str = "USDT"  # converted at the start into its own currency (backtest/capital.py)
    warn_leverage: float = 1.5  # warn once when gross exposure passes this multiple of equity
    venue: str = "synthetic"
    sim: SimConfig = field(default_factory=SimConfig)
    limits: RiskLimits = field(default_factory=RiskLimits)
    instruments: Mapping[str, Instrument] | None = None
    warmup: bool = True
    faults: frozenset[str] = frozenset()
    progress: bool = False

    def __post_init__(self) -> None:
        if not self.strategies:
            raise ConfigError("strategies: at least one strategy is needed")
        if not self.symbols:
            raise ConfigError("symbols: at least one symbol is needed")
        for symbol in self.symbols:
            parse_symbol(symbol)
        if self.start >= self.end:
            raise ConfigError(
                f"the date range is empty: start {ns_to_iso(self.start)} is not before end {ns_to_iso(self.end)}"
            )
        ids = [s.strategy_id for s in self.strategies]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ConfigError(f"strategy id {dupes[0]!r} is used twice; give each an id")
        for spec in self.strategies:
            if spec.symbol and spec.symbol not in self.symbols:
                raise ConfigError(
                    f"strategy {spec.strategy_id!r}: symbol {spec.symbol!r} is not in {list(self.symbols)}")
            if spec.weight is not None and not (isinstance(spec.weight, int | float) and 0 < spec.weight <= 1):
                raise ConfigError(f"strategy {spec.strategy_id!r}: weight {spec.weight!r} must be in (0, 1]")
        if not (isinstance(self.capital, int | float) and math.isfinite(self.capital) and self.capital > 0):
            raise ConfigError(f"capital {self.capital!r} must be a positive number")
        if not (isinstance(self.capital_currency, str) and self.capital_currency.isalnum()
                and self.capital_currency.isupper()):
            raise ConfigError(f"capital_currency {self.capital_currency!r} must be a currency code like USDT or BTC")
        if not (isinstance(self.warn_leverage, int | float) and self.warn_leverage > 0):
            raise ConfigError(f"warn_leverage {self.warn_leverage!r} must be a positive number")
        self.capitals()  # weights that do not add up are refused here
        unknown = self.faults - FAULTS
        if unknown:
            raise ConfigError(f"faults: unknown {sorted(unknown)[0]!r}")

    def symbol_of(self, spec: StrategySpec) -> str:
        return spec.symbol or self.symbols[0]

    def capitals(self) -> dict[str, float]:
        """Each strategy's capital: the account's times its weight.

        Given weights must leave a positive share for the strategies without one, which split it
        equally; when every strategy has a weight they must add up to 1.
        """
        given = sum(s.weight for s in self.strategies if s.weight is not None)
        free = [s for s in self.strategies if s.weight is None]
        if (free and given >= 1 - 1e-9) or (not free and abs(given - 1) > 1e-9):
            weights = ", ".join(f"{s.strategy_id} {s.weight:g}" for s in self.strategies if s.weight is not None)
            rule = "below 1, leaving a share for the others" if free else "up to 1"
            raise ConfigError(f"weights ({weights}) add up to {given:g}; they must add {rule}")
        share = (1 - given) / len(free) if free else 0.0
        return {s.strategy_id: self.capital * (share if s.weight is None else s.weight) for s in self.strategies}

    def to_json(self) -> dict[str, Any]:
        """A JSON-able description (stored with every run)."""
        capitals = self.capitals()
        return {
            "strategies": [
                {"id": s.strategy_id, "name": s.name, "params": dict(s.params),
                 "symbol": self.symbol_of(s), "weight": capitals[s.strategy_id] / self.capital,
                 "capital": capitals[s.strategy_id]}
                for s in self.strategies
            ],
            "capital": self.capital,
            "capital_currency": self.capital_currency,
            "warn_leverage": self.warn_leverage,
            "symbols": list(self.symbols),
            "start": self.start,
            "end": self.end,
            "venue": self.venue,
            "fill_model": self.sim.fill_model,
            "latency_ns": self.sim.latency_ns,
            "queue_ahead": self.sim.queue_ahead,
            "quote_staleness_ns": self.sim.quote_staleness_ns,
            "maker_fee": self.sim.maker_fee,
            "taker_fee": self.sim.taker_fee,
            "warmup": self.warmup,
            "faults": sorted(self.faults),
        }

    def digest(self) -> str:
        """Short stable hash of the configuration (names the session's client order ids)."""
        text = json.dumps(self.to_json(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:8]
