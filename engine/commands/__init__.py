"""Argument parsers of the `okxbot` commands; each imports its heavy modules only when run."""

from __future__ import annotations

import argparse


def help_when_bare(parser: argparse.ArgumentParser) -> None:
    """A command with sub-commands run bare prints its help and exits 2."""

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)
