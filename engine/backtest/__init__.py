"""The backtester: replay from the lake through the trading core to the simulated venue."""

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest

__all__ = ["BacktestConfig", "StrategySpec", "run_backtest"]
