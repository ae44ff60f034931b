"""`okxbot` starts light: importing the CLI and building its parser pulls in no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OKXBOT = Path(sys.executable).with_name("okxbot")
HEAVY = ("vectorbt", "optuna", "duckdb", "numba", "pandas", "pyarrow")

# Prints the loaded top-level modules after the given statements.
PROBE = """
import json, sys
{body}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
"""


def _loaded(body: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(body=body)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m in HEAVY or m.startswith("jupyter"))


def test_cli_import_and_parser_no_heavy_modules() -> None:
    loaded = _loaded("import engine.cli\nengine.cli.build_parser()")
    assert "engine" in loaded and "argparse" in loaded  # the probe sees what was imported
    assert _heavy(loaded) == []


@pytest.mark.parametrize("argv", [["--help"], ["backtest", "--help"], ["data", "ingest", "--help"]])
def test_cli_help_no_heavy_modules(argv: list[str]) -> None:
    body = f"from engine.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    assert _heavy(_loaded(body)) == []


def test_cli_help_exits_0() -> None:
    done = subprocess.run([str(OKXBOT), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: okxbot")
    for command in ("data", "backtest", "runs"):
        assert command in done.stdout


def test_strategy_authors_public_names_load_light() -> None:
    body = ("import engine\nbefore = set(sys.modules)\n"
            "from engine import Bar, Context, Param, Strategy, Trade, Warmup\n"
            "from engine.trading.strategy import Strategy as S\nassert Strategy is S\n"
            "assert 'engine.trading.strategy' not in before, 'import engine must stay light'")
    assert _heavy(_loaded(body)) == []


def test_engine_has_no_unknown_public_name() -> None:
    import engine

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = engine.Nope  # type: ignore[attr-defined]
