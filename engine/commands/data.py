"""`okxbot data ...`: the tick store's commands (ingest, ls, download, synth)."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from engine.commands import help_when_bare

SUBCOMMANDS = ("ingest", "ls", "download", "synth")


def add_parser(sub: Any) -> None:
    """Register `data` and its sub-commands, each from engine.commands.data_<name>."""
    parser: argparse.ArgumentParser = sub.add_parser("data", help="the tick store: ingest, list, download")
    inner = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"engine.commands.data_{name}").add_parser(inner)

    help_when_bare(parser)
