"""OKXBot Plus engine: one package for research, backtest, paper and live trading.

Keep this module light: the CLI imports it on start-up, so nothing heavy (duckdb, numba,
vectorbt, optuna, jupyter) may be imported here.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
