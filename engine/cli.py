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
from typing import NoReturn

from engine import __version__

COMMANDS = ("data", "backtest", "screen", "study", "registry", "reports", "runs", "strategies", "demo", "okx_sim",
            "record")


class _Parser(argparse.ArgumentParser):
    """Bad usage is one line on stderr (no usage block), exit 2: the rule for every command."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("okxbot").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"okxbot: error: {where}{message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one sub-parser per command module."""
    parser = _Parser(
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
    _data_root_everywhere(sub)
    return parser


def _data_root_everywhere(sub: argparse._SubParsersAction) -> None:
    """Accept `--data-root` after any (sub-)command too; given there, it wins over the one before."""
    for parser in set(sub.choices.values()):
        if not any("--data-root" in action.option_strings for action in parser._actions):
            parser.add_argument("--data-root", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _data_root_everywhere(action)


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
    except Exception as exc:  # a bug of ours: one line for the user, the details in a file
        return _internal_error(exc)


def _internal_error(exc: Exception) -> int:
    """Write the traceback to a temporary file and say one line about it; exit 1 (what was done is unknown)."""
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="okxbot-error-", suffix=".txt", delete=False) as out:
        traceback.print_exception(exc, file=out)
    text = " ".join(str(exc).split())[:200]
    print(f"okxbot: error: internal error {type(exc).__name__}: {text} (details in {out.name}; "
          "please report it)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
