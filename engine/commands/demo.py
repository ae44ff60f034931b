"""`okxbot demo`: synthetic data, a two-strategy portfolio backtest, a summary and an HTML report."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="synthetic data + a two-strategy portfolio backtest + an HTML report (what `make demo` runs)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo under --data-root."""
    from engine.backtest.demo import main

    return main(args.data_root)
