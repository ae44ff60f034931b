"""Which strategy callbacks listen to which stream of a backtest, and the bar builders they need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from engine.backtest.config import BacktestConfig
from engine.backtest.replay import BarBuilder
from engine.model.errors import ConfigError
from engine.model.events import Bar, Funding, Quote, Trade
from engine.model.time import interval_ns
from engine.strategies.catalog import build_strategy
from engine.trading.engine import TradingEngine
from engine.trading.strategy import Strategy

E = TypeVar("E")


@dataclass
class Subscriptions:
    """Which callbacks listen to which stream."""

    ticks: list[list[Callable[[Trade], None]]]
    quotes: list[list[Callable[[Quote], None]]]
    funding: list[list[Callable[[Funding], None]]]
    bar_keys: list[tuple[int, str]] = field(default_factory=list)  # (symbol index, interval)
    bars: list[list[Callable[[Bar], None]]] = field(default_factory=list)


def subscribe(
    cfg: BacktestConfig, engine: TradingEngine, symbols: list[str], capitals: dict[str, float]
) -> tuple[dict[str, Strategy], Subscriptions, list[BarBuilder]]:
    """Build the configured strategies, add them to `engine`, and route each used callback.

    Only callbacks a strategy overrides are subscribed; bar strategies share one builder per
    (symbol, interval). `capitals`: each strategy's, in its own currency.
    """
    n = len(symbols)
    strategies: dict[str, Strategy] = {}
    subs = Subscriptions([[] for _ in range(n)], [[] for _ in range(n)], [[] for _ in range(n)])
    for spec in cfg.strategies:
        strat = build_strategy(spec.name, spec.params)
        symbol = cfg.symbol_of(spec)
        s = symbols.index(symbol)
        strategies[spec.strategy_id] = strat
        engine.add_strategy(spec.strategy_id, strat, symbol, capitals[spec.strategy_id])
        if strat.uses("on_tick"):
            subs.ticks[s].append(strat.on_tick)
        if strat.uses("on_quote"):
            subs.quotes[s].append(strat.on_quote)
        if strat.uses("on_funding"):
            subs.funding[s].append(strat.on_funding)
        if strat.uses("on_bar"):
            if not strat.bar_interval:
                raise ConfigError(f"strategy {spec.strategy_id!r} uses on_bar but has no bar_interval")
            key = (s, strat.bar_interval)
            if key not in subs.bar_keys:
                subs.bar_keys.append(key)
                subs.bars.append([])
            subs.bars[subs.bar_keys.index(key)].append(strat.on_bar)
    at_open = "bar_at_open" in cfg.faults
    builders = [BarBuilder(symbols[s], iv, interval_ns(iv), at_open) for s, iv in subs.bar_keys]
    return strategies, subs, builders


def fan_out(cbs: list[Callable[[E], None]]) -> Callable[[E], None]:
    """One callable for the strategies of a stream (the strategy itself when there is one)."""
    if len(cbs) == 1:
        return cbs[0]

    def each(event: E) -> None:
        for cb in cbs:
            cb(event)

    return each
