"""The strategy catalog: every strategy by name, built in or under `research/`.

A strategy class registers its `name` when it is defined (`engine.trading.strategy`); the
catalog imports the built-in strategies and the `research/` modules so that every name is
known, and builds strategies by name with their parameters checked. `module:Class` names a
class anywhere on the import path.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.model.errors import UserError
from engine.trading.strategy import STRATEGIES, Strategy

CHECKOUT = Path(__file__).resolve().parents[2]  # the project root of this checkout
log = logging.getLogger("okxbot.research")

BUILTINS = ("ema_cross", "ema_cross_bars", "grid", "macd_trend", "rsi_mr")


def _load_builtins() -> None:
    for module in BUILTINS:
        importlib.import_module(f"engine.strategies.{module}")


def all_strategies(search: Path | None = None) -> dict[str, type[Strategy]]:
    """Every known strategy class by name, built-in and research/, sorted by name."""
    load_research(search)
    return dict(sorted(STRATEGIES.items()))


def parse_params(pairs: list[str]) -> dict[str, str]:
    """Parse `k=v` strings from the command line."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise UserError(f"--param {pair!r} is not of the form name=value")
        out[key.strip()] = value.strip()
    return out


def strategy_class(name: str, search: Path | None = None) -> type[Strategy]:
    """Find a strategy class by registered name, `module:Class`, or a file under `research/`."""
    _load_builtins()
    if name in STRATEGIES:
        return STRATEGIES[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise UserError(f"cannot load strategy {name!r}: {exc}") from None
        if isinstance(obj, type) and issubclass(obj, Strategy):
            return obj
        raise UserError(f"{name!r} is not a Strategy subclass")
    load_research(search)
    if name in STRATEGIES:
        return STRATEGIES[name]
    known = ", ".join(sorted(STRATEGIES))
    raise UserError(f"unknown strategy {name!r} (known: {known})")


def load_research(search: Path | None = None) -> None:
    """Import the built-in strategies and research/ (of the working directory, then of this checkout)."""
    _load_builtins()
    for folder in (search,) if search else (Path.cwd() / "research", CHECKOUT / "research"):
        _load_research(folder)


def _load_research(folder: Path) -> None:
    """Import every module under `folder` so that its strategies register themselves.

    A module that fails to import (a syntax error, a bad import, an exception at import time) is
    reported once on stderr with its file, line and error, and the others are loaded all the same.
    """
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.py")):
        mod_name = "okxbot_research_" + "_".join(path.relative_to(folder).with_suffix("").parts)
        if mod_name in sys.modules or path.resolve() in _BROKEN:
            continue
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's code: anything may fail in it
            del sys.modules[mod_name]
            _BROKEN.add(path.resolve())
            log.warning("okxbot: warning: research module %s not loaded: %s", path, _where(exc, path))


_BROKEN: set[Path] = set()  # research files that failed to import in this process (reported once)


def broken_research() -> list[Path]:
    """The research files that failed to import in this process."""
    return sorted(_BROKEN)


def _where(exc: BaseException, path: Path) -> str:
    """`line N: ErrorType: message` of an exception raised while importing `path`."""
    line = exc.lineno if isinstance(exc, SyntaxError) else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return f"line {line if line is not None else '?'}: {type(exc).__name__}: {message}"


def build_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """Instantiate a strategy by name with validated parameters."""
    return strategy_class(name)(**dict(params or {}))
