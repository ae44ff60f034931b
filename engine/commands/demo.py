"""`okxbot demo`: synthetic data, a two-strategy portfolio backtest and its report, then the research
loop on the same data: a screen, a study, its validation with the gate, a promotion (`make demo`)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="synthetic data, a portfolio backtest, a screen, a study, the gate and a promotion "
                     "(what `make demo` runs)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo under --data-root: the backtest half, then the research half."""
    from engine.backtest.demo import main
    from engine.research.demo import Steps, research_part

    steps = Steps()
    steps.run("backtest", "a two-strategy netted portfolio on a SYNTHETIC market", main, args.data_root)
    return research_part(args.data_root, steps)
