"""What the `okxbot data` commands share: the exit codes and failures of the disk as one line.

Exit codes (docs/lake.md, "Exit codes"): 0 done, 1 partly done (what was kept is reported), 2
nothing done (a `UserError`, which the CLI prints as `okxbot: error: ...`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from engine.model.errors import UserError

DONE, PARTLY_DONE, NOTHING_DONE = 0, 1, 2


@contextmanager
def one_line_os_errors() -> Iterator[None]:
    """Turn a failure of the disk (permission, a folder where a file was expected, ...) into a
    UserError naming the path; anything already written stays, as every write is atomic."""
    try:
        yield
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise UserError(f"{where}{exc.strerror or exc}") from exc


def warn(line: str) -> None:
    """One line on stderr, for what was rejected or stopped while the rest was kept."""
    print(line, file=sys.stderr)


def error(line: str) -> None:
    """One `okxbot: error:` line on stderr, for a part that was not done."""
    print(f"okxbot: error: {line}", file=sys.stderr)
