"""A study spec: `research/studies/NAME.toml` (README "Studies"), read and checked once.

Every key is checked when the spec is read; a bad one is a ConfigError of one line naming the file,
the key and the value. The search space defaults to the strategy's declared number `Param`s with
finite bounds (`log` respected); `[params]` narrows a range
(`fast = { low = 5, high = 50 }`), fixes a value (`size = 0.5`) or lists choices
(`bar_interval = ["1m", "5m"]`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.model.errors import ConfigError, UserError
from engine.model.time import ns_to_iso, to_ns
from engine.model.types import parse_symbol
from engine.research.files import read_toml
from engine.strategies.catalog import strategy_class
from engine.trading.money import symbol_currency
from engine.trading.strategy import Param
from engine.venues.sim import SimConfig

OBJECTIVES = ("sharpe", "sortino", "calmar", "pnl")
SAMPLERS = ("tpe", "random")
PRUNERS = ("none", "median")  # median: Optuna's MedianPruner on the PnL a day so far, step k the k-th day
WALK_MODES = ("rolling", "anchored")
GATE_KEYS = ("min_oos_sharpe", "min_holdout_sharpe", "max_drawdown", "min_trips", "min_dsr", "max_pbo",
             "min_stability")
_TOP = {"strategy", "symbols", "venue", "start", "end", "holdout", "objective", "min_trips", "trials", "sampler",
        "seed", "pruner", "pruner_startup_trials", "pruner_warmup_days", "capital", "params", "walk_forward", "gate",
        "backtest"}
_BACKTEST = {"fill_model", "latency_ms", "taker_fee", "maker_fee", "warmup"}


@dataclass(frozen=True, slots=True)
class Dimension:
    """One searched parameter: a number range (`log` scale or not) or a set of choices."""

    name: str
    kind: str  # "int" | "float" | "choice"
    low: float = math.nan
    high: float = math.nan
    log: bool = False
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class WalkForward:
    windows: int = 4
    mode: str = "rolling"
    trials: int = 0  # of each window's sub-study; 0: the spec's trials / windows (at least 5)


@dataclass(frozen=True, slots=True)
class StudySpec:
    """What a study optimises, over which data, how it searches and how its winner is judged."""

    name: str
    path: Path
    strategy: str
    symbols: tuple[str, ...]
    venue: str
    start: int
    end: int
    holdout: float = 0.2  # the last share of [start, end), never seen by any study
    objective: str = "sharpe"
    min_trips: int = 5  # a trial with fewer closed round trips is FAIL, not zero
    trials: int = 100
    sampler: str = "tpe"
    seed: int = 0
    pruner: str = "none"
    pruner_startup_trials: int = 5  # complete trials before any is pruned
    pruner_warmup_days: int = 0  # trading days of each trial never pruned
    capital: float = 10_000.0
    space: tuple[Dimension, ...] = ()
    fixed: dict[str, Any] = field(default_factory=dict)
    walk_forward: WalkForward = field(default_factory=WalkForward)
    gate: dict[str, float] = field(default_factory=dict)
    backtest: dict[str, Any] = field(default_factory=dict)

    @property
    def holdout_start(self) -> int:
        """Where the hold-out begins: studies see [start, holdout_start) only."""
        return self.end - int((self.end - self.start) * self.holdout)


def load_spec(path: str | Path) -> StudySpec:
    """Read and check a study spec; ConfigError (one line: file, key, value) on anything wrong."""
    p = Path(path)
    return spec_from_dict(read_toml(p, "study spec"), p)


def spec_from_dict(raw: dict[str, Any], path: Path) -> StudySpec:
    """A StudySpec from the TOML's table (`path` names it in errors and gives the study's name)."""
    where = f"study spec {path}"

    def bad(key: str, value: Any, why: str) -> ConfigError:
        return ConfigError(f"{where}: {key} = {value!r} {why}")

    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise bad(unknown[0], raw[unknown[0]], f"is not a key of a study spec (keys: {', '.join(sorted(_TOP))})")
    for key in ("strategy", "symbols", "start", "end"):
        if key not in raw:
            raise ConfigError(f"{where}: {key} is missing")
    strategy = raw["strategy"]
    if not isinstance(strategy, str):
        raise bad("strategy", strategy, "must be a strategy name")
    try:
        cls = strategy_class(strategy)
    except UserError as exc:
        raise bad("strategy", strategy, f"is not a strategy ({exc})") from None
    symbols = raw["symbols"]
    if isinstance(symbols, str):
        symbols = [symbols]
    if not (isinstance(symbols, list) and symbols and all(isinstance(s, str) for s in symbols)):
        raise bad("symbols", symbols, "must be a list of ccxt symbols")
    for s in symbols:
        try:
            parse_symbol(s)
        except UserError:
            raise bad("symbols", s, "is not a ccxt symbol like 'ETH/USDT' or 'ETH/USDT:USDT'") from None
    start, end = (_time(raw[k], k, bad) for k in ("start", "end"))
    if start >= end:
        raise bad("end", raw["end"], f"is not after start {ns_to_iso(start)}")
    holdout = _number(raw, "holdout", 0.2, bad)
    if not 0 <= holdout < 1:
        raise bad("holdout", holdout, "must be a share in [0, 1)")
    objective = _choice(raw, "objective", "sharpe", OBJECTIVES, bad)
    sampler = _choice(raw, "sampler", "tpe", SAMPLERS, bad)
    pruner, startup, warmup_days = _pruner(raw, symbols, bad)
    min_trips = _integer(raw, "min_trips", 5, 0, bad)
    trials = _integer(raw, "trials", 100, 1, bad)
    seed = _integer(raw, "seed", 0, 0, bad)
    capital = _number(raw, "capital", 10_000.0, bad)
    if not capital > 0:
        raise bad("capital", capital, "must be a positive number")
    space, fixed = search_space(cls.params, raw.get("params", {}), bad, cls.name)
    wf = raw.get("walk_forward", {})
    if not isinstance(wf, dict):
        raise bad("walk_forward", wf, "must be a table")
    unknown = sorted(set(wf) - {"windows", "mode", "trials"})
    if unknown:
        raise bad(f"walk_forward.{unknown[0]}", wf[unknown[0]],
                  "is not a key of [walk_forward] (windows, mode, trials)")
    walk = WalkForward(_integer(wf, "windows", 4, 1, bad, "walk_forward."),
                       _choice(wf, "mode", "rolling", WALK_MODES, bad, "walk_forward."),
                       _integer(wf, "trials", 0, 0, bad, "walk_forward."))
    gate = raw.get("gate", {})
    if not isinstance(gate, dict):
        raise bad("gate", gate, "must be a table")
    for key, value in gate.items():
        if key not in GATE_KEYS:
            raise bad(f"gate.{key}", value, f"is not a gate threshold ({', '.join(GATE_KEYS)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise bad(f"gate.{key}", value, "must be a number")
    backtest = raw.get("backtest", {})
    if not isinstance(backtest, dict):
        raise bad("backtest", backtest, "must be a table")
    unknown = sorted(set(backtest) - _BACKTEST)
    if unknown:
        raise bad(f"backtest.{unknown[0]}", backtest[unknown[0]],
                  f"is not a key of [backtest] ({', '.join(sorted(_BACKTEST))})")
    for key, value in backtest.items():
        if key == "warmup" and not isinstance(value, bool):
            raise bad("backtest.warmup", value, "must be true or false")
        if key in ("latency_ms", "maker_fee", "taker_fee") and (isinstance(value, bool) or
                                                               not isinstance(value, int | float)):
            raise bad(f"backtest.{key}", value, "must be a number")
        if key == "latency_ms" and value < 0:
            raise bad("backtest.latency_ms", value, "must be >= 0")
    try:
        sim_config(backtest)
    except ConfigError as exc:
        raise ConfigError(f"{where}: [backtest] {exc}") from None
    venue = raw.get("venue", "okx")
    if not isinstance(venue, str) or not venue:
        raise bad("venue", venue, "must be a venue name")
    return StudySpec(path.stem, path, cls.name, tuple(symbols), venue, start, end, holdout, objective, min_trips,
                     trials, sampler, seed, pruner, startup, warmup_days, capital, space, fixed, walk,
                     {k: float(v) for k, v in gate.items()}, dict(backtest))


def _pruner(raw: dict[str, Any], symbols: list[str], bad: Any) -> tuple[str, int, int]:
    """The pruner, its startup trials and its warm-up days; the last two only with a pruner."""
    pruner = _choice(raw, "pruner", "none", PRUNERS, bad)
    startup = _integer(raw, "pruner_startup_trials", 5, 0, bad)
    warmup_days = _integer(raw, "pruner_warmup_days", 0, 0, bad)
    given = [k for k in ("pruner_startup_trials", "pruner_warmup_days") if k in raw]
    if pruner == "none" and given:
        raise bad(given[0], raw[given[0]], "is read only with a pruner (pruner = 'median')")
    currencies = sorted({symbol_currency(s) for s in symbols})
    if pruner != "none" and len(currencies) > 1:
        raise bad("pruner", pruner, f"needs symbols of one currency, not {' and '.join(currencies)} "
                                    "(the PnL so far it compares is not converted)")
    return pruner, startup, warmup_days


def sim_config(backtest: dict[str, Any]) -> SimConfig:
    """The simulated venue of a study's trials, from its [backtest] table."""
    return SimConfig(fill_model=str(backtest.get("fill_model", "touch")),
                     latency_ns=round(float(backtest.get("latency_ms", 0)) * 1e6),
                     maker_fee=backtest.get("maker_fee"), taker_fee=backtest.get("taker_fee"))


def search_space(params: dict[str, Param[Any]], given: Any, bad: Any, owner: str
                 ) -> tuple[tuple[Dimension, ...], dict[str, Any]]:
    """The searched dimensions and the fixed values: the declared Params with finite bounds (or
    choices), narrowed, fixed or listed by `[params]`."""
    if not isinstance(given, dict):
        raise bad("params", given, "must be a table")
    for key in given:
        if key not in params:
            raise bad(f"params.{key}", given[key], f"is not a parameter of {owner} ({', '.join(sorted(params))})")
    space: list[Dimension] = []
    fixed: dict[str, Any] = {}
    for name, p in params.items():
        key = f"params.{name}"
        value = given.get(name)
        if value is None:
            dim = _declared(name, p)
            if dim is not None:
                space.append(dim)
            continue
        if isinstance(value, dict):
            space.append(_narrowed(name, p, value, bad, owner))
        elif isinstance(value, list):
            if not value:
                raise bad(key, value, "lists no choice")
            space.append(Dimension(name, "choice", choices=tuple(_coerce(p, name, v, key, bad, owner) for v in value)))
        else:
            fixed[name] = _coerce(p, name, value, key, bad, owner)
    return tuple(space), fixed


def _declared(name: str, p: Param[Any]) -> Dimension | None:
    """The default dimension of a declared number with finite bounds (choices are searched only when
    the spec lists them: a unit or an interval is a decision, not a knob)."""
    if p.choices is not None:
        return None
    if p.type in (int, float) and p.type is not bool and p.low is not None and p.high is not None \
            and math.isfinite(p.low) and math.isfinite(p.high):
        low = p.low
        if p.open_low:  # the value must be > low: start one step (or a tiny share) above it
            low = low + 1 if p.type is int else low + (p.high - low) * 1e-6
        return Dimension(name, "int" if p.type is int else "float", low, p.high, p.log and low > 0)
    return None


def _narrowed(name: str, p: Param[Any], value: dict[str, Any], bad: Any, owner: str) -> Dimension:
    key = f"params.{name}"
    unknown = sorted(set(value) - {"low", "high", "log"})
    if unknown:
        raise bad(f"{key}.{unknown[0]}", value[unknown[0]], "is not low, high or log")
    if p.type not in (int, float) or p.type is bool:
        raise bad(key, value, f"narrows a range but {name} is a {p.type.__name__}")
    base = _declared(name, p)
    low = _coerce(p, name, value.get("low", base.low if base else math.nan), f"{key}.low", bad, owner)
    high = _coerce(p, name, value.get("high", base.high if base else math.nan), f"{key}.high", bad, owner)
    if not low < high:
        raise bad(f"{key}.high", high, f"is not above low {low!r}")
    log = value.get("log", p.log)
    if not isinstance(log, bool):
        raise bad(f"{key}.log", log, "must be true or false")
    if log and low <= 0:
        raise bad(f"{key}.low", low, "must be > 0 on a log scale")
    return Dimension(name, "int" if p.type is int else "float", float(low), float(high), log)


def _coerce(p: Param[Any], name: str, value: Any, key: str, bad: Any, owner: str) -> Any:
    if isinstance(value, float) and math.isnan(value):
        raise bad(key, value, f"is needed: {name} has no declared bound")
    try:
        return p.coerce(name, owner, value)
    except UserError as exc:
        raise bad(key, value, f"is refused: {exc}") from None


def _time(value: Any, key: str, bad: Any) -> int:
    text = value.isoformat() if hasattr(value, "isoformat") else value
    if not isinstance(text, str):
        raise bad(key, value, "must be a UTC date or time like 2024-01-01")
    try:
        return to_ns(text, key)
    except UserError:
        raise bad(key, value, "must be a UTC date or time like 2024-01-01") from None


def _number(raw: dict[str, Any], key: str, default: float, bad: Any) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad(key, value, "must be a number")
    return float(value)


def _integer(raw: dict[str, Any], key: str, default: int, low: int, bad: Any, prefix: str = "") -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise bad(prefix + key, value, f"must be a whole number >= {low}")
    return value


def _choice(raw: dict[str, Any], key: str, default: str, options: tuple[str, ...], bad: Any, prefix: str = "") -> str:
    value = raw.get(key, default)
    if value not in options:
        raise bad(prefix + key, value, f"is not one of {', '.join(options)}")
    return str(value)
