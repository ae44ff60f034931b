"""Parameter checks and choices shared by the built-in strategies."""

from __future__ import annotations

from engine.errors import UserError

BAR_INTERVALS = ("1m", "5m", "15m", "1h")


def check_less(owner: str, low_name: str, low: float, high_name: str, high: float) -> None:
    """Raise a UserError naming both parameters unless low < high."""
    if not low < high:
        raise UserError(
            f"strategy {owner!r}: parameter {low_name!r} ({low:g}) must be smaller than "
            f"parameter {high_name!r} ({high:g})"
        )


def check_positive(owner: str, name: str, value: float) -> None:
    """Raise a UserError naming the parameter unless value > 0."""
    if not value > 0:
        raise UserError(f"parameter {name!r} of strategy {owner!r}: {value!r} must be > 0")


def check_cross(owner: str, fast: int, slow: int, size: float) -> None:
    """The checks every fast/slow crossover shares: fast < slow, size > 0."""
    check_less(owner, "fast", fast, "slow", slow)
    check_positive(owner, "size", size)
