"""The grid of a screen: `--grid NAME=START:STOP:STEP` or `NAME=V1,V2,...`, checked against the
strategy's declared parameters, expanded into grid points."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from engine.model.errors import UserError
from engine.trading.strategy import Strategy

MAX_POINTS = 1_000_000
NOT_SWEPT = ("size", "size_unit", "bar_interval")  # the screen's convention fixes these per run


def parse_grid(texts: Sequence[str], cls: type[Strategy]) -> dict[str, list[Any]]:
    """The values of each swept parameter, converted to its type; a one-line UserError naming the
    flag and the text otherwise."""
    grid: dict[str, list[Any]] = {}
    for text in texts:
        name, values = _parse_one(text, cls)
        if name in grid:
            raise UserError(f"--grid {text}: parameter {name!r} is swept twice")
        grid[name] = values
    if not grid:
        raise UserError("--grid: give at least one NAME=START:STOP:STEP")
    total = math.prod(len(v) for v in grid.values())
    if total > MAX_POINTS:
        raise UserError(f"--grid: {total:,} grid points; at most {MAX_POINTS:,}")
    return grid


def _parse_one(text: str, cls: type[Strategy]) -> tuple[str, list[Any]]:
    name, eq, spec = text.partition("=")
    name = name.strip()
    if not eq or not name or not spec.strip():
        raise UserError(f"--grid {text}: expected NAME=START:STOP:STEP or NAME=V1,V2,...")
    if name not in cls.params:
        known = ", ".join(k for k in cls.params if k not in NOT_SWEPT)
        raise UserError(f"--grid {text}: strategy {cls.name!r} has no parameter {name!r} (it has: {known})")
    if name in NOT_SWEPT:
        raise UserError(f"--grid {text}: {name} is not swept by a screen (set it with --param)")
    param = cls.params[name]
    raw = _range(text, spec, param.type) if ":" in spec else [v.strip() for v in spec.split(",")]
    try:
        values = [param.coerce(name, cls.name, v) for v in raw]
    except UserError as exc:
        raise UserError(f"--grid {text}: {exc}") from None
    return name, list(dict.fromkeys(values))


def _range(text: str, spec: str, kind: type) -> list[float]:
    parts = spec.split(":")
    try:
        start, stop, step = (float(p) for p in parts) if len(parts) == 3 else (math.nan,) * 3
    except ValueError:
        start = stop = step = math.nan
    if not all(math.isfinite(v) for v in (start, stop, step)):
        raise UserError(f"--grid {text}: expected START:STOP:STEP, three numbers (STOP included)")
    if step <= 0 or stop < start:
        raise UserError(f"--grid {text}: needs STEP > 0 and START <= STOP")
    if kind is int and not all(v.is_integer() for v in (start, stop, step)):
        raise UserError(f"--grid {text}: the parameter is an integer; START, STOP and STEP must be too")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_POINTS:
        raise UserError(f"--grid {text}: {count:,} values; at most {MAX_POINTS:,}")
    return [round(start + k * step, 12) for k in range(count)]


def grid_points(grid: Mapping[str, Sequence[Any]]) -> Iterator[dict[str, Any]]:
    """Every combination of the grid's values, the last parameter varying fastest."""
    names = list(grid)
    for combo in itertools.product(*(grid[n] for n in names)):
        yield dict(zip(names, combo, strict=True))
