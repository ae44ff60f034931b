"""Built-in reference strategies; importing this package registers them by name."""

from engine.strategies import ema_cross, ema_cross_bars, grid, macd_trend, rsi_mr

__all__ = ["ema_cross", "ema_cross_bars", "grid", "macd_trend", "rsi_mr"]
