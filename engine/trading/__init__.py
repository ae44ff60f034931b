"""What runs identically in backtest, paper and live: the Strategy interface and its Context, the
trading engine, portfolio netting, risk, the OMS, execution, the recorder, and the ports
(Venue, PriceSource, Clock) that venues and drivers implement."""

from engine.trading.engine import EngineConfig, TradingEngine
from engine.trading.ports import Clock, PriceSource, UpdateSink, Venue
from engine.trading.risk import RiskLimits
from engine.trading.strategy import Context, Param, Strategy, Warmup

__all__ = [
    "Clock",
    "Context",
    "EngineConfig",
    "Param",
    "PriceSource",
    "RiskLimits",
    "Strategy",
    "TradingEngine",
    "UpdateSink",
    "Venue",
    "Warmup",
]
