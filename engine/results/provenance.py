"""Where a result came from: the code version and a hash of the configuration."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from engine import __version__

PACKAGE_DIR = Path(__file__).resolve().parent
GIT_TIMEOUT_S = 10.0


def _git(root: Path, *args: str) -> str | None:
    """stdout of a git command in `root`, or None when git or the checkout is unavailable."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version(root: Path | None = None) -> str:
    """'<package version>+<short commit>[-dirty]', or just the version outside a git checkout.

    `root` is any folder inside the checkout (default: the engine package's folder). '-dirty'
    means the work tree has uncommitted changes, untracked files included.
    """
    where = PACKAGE_DIR if root is None else root
    commit = _git(where, "rev-parse", "--short", "HEAD")
    if not commit:
        return __version__
    status = _git(where, "status", "--porcelain")
    dirty = "-dirty" if status is None or status else ""
    return f"{__version__}+{commit}{dirty}"


def canonical_json(config: Any) -> str:
    """JSON text with sorted keys and no spaces: equal configs give equal text."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(config: Any) -> str:
    """sha256 hex digest of the configuration's canonical JSON."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()
