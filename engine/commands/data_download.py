"""`okxbot data download` (placeholder until the store lands)."""

from __future__ import annotations

from typing import Any


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    sub.add_parser("download", help="(not yet implemented)")
