"""What the synthetic generator is asked for, validated once: the market's parameters and regimes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from engine.model.errors import ConfigError
from engine.model.time import NS_PER_MIN, NS_PER_S
from engine.model.types import make_instrument

REGIME_NAMES = ("calm", "normal", "turbulent")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RegimeParams:
    """Per-regime parameters, each a (calm, normal, turbulent) triple."""

    vol: tuple[float, float, float] = (0.30, 0.60, 1.60)  # annualised volatility of the log price
    minutes: tuple[float, float, float] = (180.0, 90.0, 20.0)  # mean time a regime lasts
    activity: tuple[float, float, float] = (0.6, 1.0, 2.5)  # event-rate multiplier
    spread_ticks: tuple[float, float, float] = (1.3, 2.0, 5.0)  # mean quoted spread (>= 1 tick)
    jumps_per_hour: float = 0.4  # jump rate at activity 1; scales with the regime's activity
    jump_size: float = 0.003  # Laplace scale of a jump in log price


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """What to generate. `start` is int ns UTC or an ISO date/time (UTC unless it says otherwise)."""

    symbol: str = "ETH/USDT:USDT"
    start: int | str = "2024-01-01T00:00Z"
    hours: float = 24.0
    seed: int = 7
    start_price: float = 2000.0
    trade_rate: float = 3.0  # mean trades per second over a long run
    quotes_per_trade: float = 2.0  # quote updates per trade (>= 1)
    seasonality: float = 0.3  # amplitude of the daily activity cycle, 0 <= a < 1
    latency_ms: float = 5.0  # median ts_recv - ts_event
    funding_mean: float = 1e-4
    funding_noise: float = 5e-5  # per-settlement noise in the normal regime
    regimes: RegimeParams = field(default_factory=RegimeParams)

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def start_ns(self) -> int:
        return _parse_start(self.start)

    @property
    def end_ns(self) -> int:
        return self.start_ns + round(self.hours * 3600 * NS_PER_S)


def _parse_start(value: int | str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        when = datetime.fromisoformat(str(value).strip())
    except ValueError:
        rule = "is not ns or an ISO date like 2024-01-01T00:00Z"
        raise ConfigError(f"synthetic start {value!r} {rule}") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return ((when - _EPOCH) // timedelta(microseconds=1)) * 1000


def _number(value: object) -> float:
    """The value as a float, NaN (failing every range check) if it is not a real number."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def _check(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        raise ConfigError(f"synthetic {name} must be {rule}, got {value!r}")


# name: (lowest, highest, whether the lowest is allowed)
_RANGES: dict[str, tuple[float, float, bool]] = {
    "hours": (0.0, 1e5, False),
    "trade_rate": (0.0, 1e5, False),
    "quotes_per_trade": (1.0, 100.0, True),
    "seasonality": (0.0, 0.99, True),
    "latency_ms": (0.0, 1e4, True),
    "funding_mean": (-0.01, 0.01, True),
    "funding_noise": (0.0, 0.01, True),
    "regimes.jumps_per_hour": (0.0, 1e3, True),
    "regimes.jump_size": (0.0, 0.2, True),
}
_TRIPLE_LOWEST = {"vol": 1e-6, "minutes": 0.5, "activity": 1e-3, "spread_ticks": 1.0}


def _validate(cfg: SynthConfig) -> None:
    tick = make_instrument(cfg.symbol).tick_size
    start = _parse_start(cfg.start)
    _check(start >= 0 and start % NS_PER_MIN == 0, "start", cfg.start, "on a whole minute after 1970")
    seed_ok = isinstance(cfg.seed, int) and not isinstance(cfg.seed, bool) and cfg.seed >= 0
    _check(seed_ok, "seed", cfg.seed, "an integer >= 0")
    price_ok = _number(cfg.start_price) >= 100 * tick
    _check(price_ok, "start_price", cfg.start_price, f"at least 100 ticks ({100 * tick:g})")
    _check(isinstance(cfg.regimes, RegimeParams), "regimes", cfg.regimes, "a RegimeParams")
    for name, (low, high, closed) in _RANGES.items():
        owner, _, attr = name.rpartition(".")
        value = getattr(cfg.regimes if owner else cfg, attr)
        number = _number(value)
        ok = (low <= number if closed else low < number) and number <= high
        _check(ok, name, value, f"a number in {'[' if closed else '('}{low:g}, {high:g}]")
    for name, low in _TRIPLE_LOWEST.items():
        values = getattr(cfg.regimes, name)
        ok = isinstance(values, tuple) and len(values) == 3 and all(low <= _number(v) <= 1e6 for v in values)
        _check(ok, f"regimes.{name}", values, f"three numbers in [{low:g}, 1e6]")


