"""The research loop (README "Research"): screens of a parameter grid over bars, Optuna studies
whose objective is the event-driven backtester, walk-forward validation and the overfitting
guards, the gate, reports and promotion. Above `backtest` in the layers: it runs backtests, the
backtester knows nothing of it.
"""
