"""`okxbot runs` (placeholder)."""

from __future__ import annotations

from typing import Any


def add_parser(sub: Any) -> None:
    """Register the command."""
    sub.add_parser("runs", help="(not yet implemented)")
