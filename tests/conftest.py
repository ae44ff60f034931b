"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The recorded market data folder `../shared/data`; tests on it skip only where it is absent."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.skip(
            f"recorded data not found at {SHARED_DATA} (a fresh clone without ../shared/data; CI has it)"
        )
    return SHARED_DATA


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """A fresh, empty data root (lake/ and okxbot.duckdb live under it)."""
    root = tmp_path / "data"
    root.mkdir()
    return root
