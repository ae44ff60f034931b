"""Small file helpers the research commands share: an exclusive lock that never waits, and a TOML
file read with one-line errors."""

from __future__ import annotations

import contextlib
import fcntl
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.model.errors import ConfigError


@contextlib.contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on `path` when it is free: yields True, or False when another process
    holds it (then nothing is locked). The lock goes with the process, however it ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML document at `path`; ConfigError naming `what` and the file when absent or invalid."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path}: not valid TOML ({exc})") from None
