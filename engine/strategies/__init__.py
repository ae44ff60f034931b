"""The built-in strategies, the indicators, and the catalog that finds every strategy by name."""

from engine.strategies.catalog import all_strategies, build_strategy, load_research, parse_params, strategy_class

__all__ = ["all_strategies", "build_strategy", "load_research", "parse_params", "strategy_class"]
