"""Argument parsers of the `okxbot` commands; each imports its heavy modules only when run."""

from __future__ import annotations

import argparse
from typing import Any


def help_when_bare(parser: argparse.ArgumentParser) -> None:
    """A command with sub-commands run bare prints its help and exits 2."""

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)


def number(text: str, flag: str, kind: type[int] | type[float] = float) -> Any:
    """`text` as a `kind`; a UserError naming the flag and the text when it is not one."""
    from engine.model.errors import UserError

    try:
        return kind(text)
    except ValueError:
        raise UserError(f"{flag} {text!r} is not a number") from None
