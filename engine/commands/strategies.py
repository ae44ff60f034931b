"""`okxbot strategies`: the registered strategies with their declared parameters."""

from __future__ import annotations

import argparse
from typing import Any

WIDTH = 100  # columns of the listing


def add_parser(sub: Any) -> None:
    """Register the command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "strategies", help="list the strategies (built in and under research/) and their parameters")
    p.add_argument("name", nargs="?", help="show only this strategy")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print each strategy's name, docstring and parameters (type, default, range, doc)."""
    from engine.strategies.catalog import all_strategies, broken_research, strategy_class

    classes = [strategy_class(args.name)] if args.name else list(all_strategies().values())
    for cls in classes:
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{cls.name}: {doc}")
        for key, spec in cls.params.items():
            if spec.choices is not None:
                space = "one of " + ", ".join(map(str, spec.choices))
            elif spec.type is bool:
                space = "true or false"
            elif spec.type in (int, float):
                space = spec.range_text()
            else:
                space = "any text"
            line = f"    {key:<14} {spec.type.__name__:<6} default {spec.default!s:<9} {space:<22}"
            fits = len(line) + 1 + len(spec.doc) <= WIDTH
            print(f"{line} {spec.doc}" if fits else f"{line.rstrip()}\n{'':8}{spec.doc}")
    # A research module that did not load was reported on stderr: the list is partial.
    return 1 if broken_research() and not args.name else 0
