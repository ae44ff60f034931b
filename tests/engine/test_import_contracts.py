"""The import contracts of pyproject.toml hold on the real package, and each one bites.

Each case copies engine/ into a temporary folder, adds one import that breaks the rule, and runs
`lint-imports` there (the copy comes first on the import path): the contract must be reported
BROKEN, and no other contract than the ones the rule overlaps with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
NAMES = {c["id"]: c["name"] for c in CONFIG["contracts"]}

# (contract, module to edit, the violating line, every contract the line breaks)
VIOLATIONS = [
    ("rooms", "trading/portfolio.py", "import engine.venues.sim", {"rooms"}),
    ("rooms", "backtest/runner.py", "import engine.commands.download", {"rooms"}),
    ("rooms", "model/types.py", "from engine.trading import strategy", {"rooms"}),
    ("rooms", "store/lake.py", "from engine.venues.okx import rest", {"rooms"}),
    ("rooms", "venues/sim.py", "import engine.store.lake", {"rooms"}),
    ("pure-core", "model/types.py", "import duckdb", {"pure-core"}),
    ("pure-core", "trading/oms.py", "import pyarrow.dataset", {"pure-core"}),
    ("pure-core", "strategies/grid.py", "import ccxt", {"pure-core"}),
    # The layers already keep strategies below venues, store, backtest and results, so this
    # contract restates part of `rooms` on purpose: both must name the break. (engine.venues.sim
    # imports no heavy library, so pure-core stays kept.)
    ("strategies-alone", "strategies/ema_cross.py", "import engine.venues.sim", {"strategies-alone", "rooms"}),
]


def _lint(folder: Path) -> str:
    """Run lint-imports on `folder`/engine with the project's contracts; the output on one line."""
    if folder != ROOT:
        shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(folder), "COLUMNS": "400"}
    done = subprocess.run([str(LINT_IMPORTS), "--no-cache", "pyproject.toml"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)
    return " ".join((done.stdout + done.stderr).split()) + f" [exit {done.returncode}]"


def _broken(output: str) -> set[str]:
    return {cid for cid, name in NAMES.items() if f"{name} BROKEN" in output}


def test_contracts_hold_on_the_package() -> None:
    assert LINT_IMPORTS.is_file(), "lint-imports is missing: run `make test` (it installs requirements.lock)"
    out = _lint(ROOT)
    assert _broken(out) == set() and "[exit 0]" in out, out
    for name in NAMES.values():
        assert f"{name} KEPT" in out


@pytest.mark.parametrize(("contract", "module", "line", "breaks"), VIOLATIONS,
                         ids=[f"{c}:{m}:{line}" for c, m, line, _ in VIOLATIONS])
def test_contract_bites(tmp_path: Path, contract: str, module: str, line: str, breaks: set[str]) -> None:
    shutil.copytree(ROOT / "engine", tmp_path / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "engine" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    out = _lint(tmp_path)
    assert contract in breaks
    assert _broken(out) == breaks, out
    assert "[exit 1]" in out, out
