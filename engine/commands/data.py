"""`okxbot data ...`: the tick store's commands (ingest, ls, download, synth)."""

from __future__ import annotations

import argparse
import importlib
from typing import Any, NoReturn

SUBCOMMANDS = ("ingest", "ls", "download", "synth")


def add_parser(sub: Any) -> None:
    """Register `data` and its sub-commands, each from engine.commands.data_<name>."""
    parser: argparse.ArgumentParser = sub.add_parser("data", help="the tick store: ingest, list, download")
    inner = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"engine.commands.data_{name}").add_parser(inner)
    for each in (parser, *inner.choices.values()):
        _one_line_errors(each)

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Bad usage is one line naming the problem (exit 2), like every other error of the data commands."""

    def error(message: str) -> NoReturn:
        command = parser.prog.removeprefix("okxbot ")
        parser.exit(2, f"okxbot: error: {command}: {message} (see `{parser.prog} --help`)\n")

    parser.error = error  # type: ignore[method-assign]
