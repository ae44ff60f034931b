"""Typed configuration of a backtest, validated once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.model.errors import ConfigError
from engine.model.time import ns_to_iso
from engine.model.types import Instrument, parse_symbol
from engine.trading.risk import RiskLimits
from engine.venues.sim import SimConfig

FAULTS = frozenset({"bar_at_open", "fill_on_decision"})


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """One strategy of the portfolio: its registered name, parameters, id, symbol and capital."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""
    symbol: str = ""
    capital: float = 10_000.0

    @property
    def strategy_id(self) -> str:
        return self.id or self.name


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """What to replay, with which strategies, on which simulated venue.

    `faults` deliberately breaks the replay ("bar_at_open": release bars at their open time;
    "fill_on_decision": let an order fill on the event that decided it). Only the lookahead tests
    use it, to prove they catch such bugs.
    """

    strategies: tuple[StrategySpec, ...]
    symbols: tuple[str, ...]
    start: int
    end: int
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
            if not spec.capital > 0:
                raise ConfigError(f"strategy {spec.strategy_id!r}: capital {spec.capital!r} must be > 0")
        unknown = self.faults - FAULTS
        if unknown:
            raise ConfigError(f"faults: unknown {sorted(unknown)[0]!r}")

    def symbol_of(self, spec: StrategySpec) -> str:
        return spec.symbol or self.symbols[0]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able description (stored with every run)."""
        return {
            "strategies": [
                {"id": s.strategy_id, "name": s.name, "params": dict(s.params),
                 "symbol": self.symbol_of(s), "capital": s.capital}
                for s in self.strategies
            ],
            "symbols": list(self.symbols),
            "start": self.start,
            "end": self.end,
            "venue": self.venue,
            "fill_model": self.sim.fill_model,
            "latency_ns": self.sim.latency_ns,
            "queue_ahead": self.sim.queue_ahead,
            "maker_fee": self.sim.maker_fee,
            "taker_fee": self.sim.taker_fee,
            "warmup": self.warmup,
            "faults": sorted(self.faults),
        }

    def digest(self) -> str:
        """Short stable hash of the configuration (names the session's client order ids)."""
        text = json.dumps(self.to_json(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:8]
