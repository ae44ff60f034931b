"""The `okxbot` command.

Start-up must stay fast: this module and the `engine.commands.*` modules it imports only build
the argument parser. Each command imports what it needs (duckdb, numba, ...) when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from engine import __version__

COMMANDS = ("data", "backtest", "runs", "strategies", "demo")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one sub-parser per command module."""
    parser = argparse.ArgumentParser(
        prog="okxbot",
        description="OKXBot Plus: tick store, event-driven backtester and live runner.",
    )
    parser.add_argument("--version", action="version", version=f"okxbot {__version__}")
    parser.add_argument(
        "--data-root",
        default=os.environ.get("OKXBOT_DATA", "data"),
        help="local data root holding lake/ and okxbot.duckdb (env OKXBOT_DATA; default ./data)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"engine.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from engine.model.errors import UserError

    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"okxbot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("okxbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `okxbot ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
