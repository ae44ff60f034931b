"""Promotion (README "Promotion"): the validation notebook runs, the gate decides, the code must be
the code validated, and the registry is written whole, once per trial."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.model.errors import UserError
from engine.research import promote as promote_mod
from engine.research.promote import promote
from engine.research.registry import read_registry, registry_path, retire, source_hash
from engine.research.spec import StudySpec, load_spec
from engine.research.study import optimize
from tests.engine.backtest_factory import shared_lake
from tests.engine.research.test_study import SPEC

LOOSE = """
[walk_forward]
windows = 2
trials = 2

[gate]
min_oos_sharpe = -1e9
max_drawdown = 1.0
min_trips = 1
"""


def study(tmp_path: Path, factory: pytest.TempPathFactory, gate: str) -> tuple[StudySpec, Path]:
    root = tmp_path / "root"
    root.mkdir()
    (root / "lake").symlink_to(shared_lake(factory) / "lake")
    path = tmp_path / "trend.toml"
    path.write_text(SPEC.replace("trials = 6", "trials = 4") + gate, encoding="utf-8")
    spec = load_spec(path)
    optimize(spec, root)
    return spec, root


def test_a_passing_trial_is_registered_once_and_can_be_retired(tmp_path: Path,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    spec, root = study(tmp_path, tmp_path_factory, LOOSE)
    entry, written = promote(spec, root)
    assert written
    doc = json.loads(registry_path(root).read_text())
    assert (doc["format"], doc["version"]) == ("okxbot-registry", 1)
    (stored,) = doc["entries"]
    assert stored == entry and stored["id"] == f"trend/{stored['trial']}" and stored["status"] == "active"
    assert stored["import_path"] == "engine.strategies.ema_cross_bars:EmaCrossBars"
    assert stored["source_hash"] == source_hash("ema_cross_bars") and stored["data_fingerprint"]
    assert stored["params"]["size"] == 0.1 and {"fast", "slow"} <= set(stored["params"])
    assert [c["name"] for c in stored["gate"]] == ["min_oos_sharpe", "max_drawdown", "min_trips"]
    assert Path(stored["report"]).is_file() and Path(stored["report"]).with_suffix(".html").is_file()
    before = registry_path(root).read_bytes()
    again, written = promote(spec, root)  # the same trial: nothing changes
    assert not written and registry_path(root).read_bytes() == before
    retired = retire(root, again["id"])
    assert retired["status"] == "retired" and read_registry(root)["entries"][0]["status"] == "retired"


def test_a_failing_gate_refuses_with_the_reasons(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    spec, root = study(tmp_path, tmp_path_factory, LOOSE.replace("min_trips = 1", "min_trips = 100000"))
    with pytest.raises(UserError, match=r"refused: the gate failed: min_trips 100000 \(measured \d+\)"):
        promote(spec, root)
    assert not registry_path(root).exists()


def test_code_changed_since_validation_is_refused(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                                                  monkeypatch: Any) -> None:
    spec, root = study(tmp_path, tmp_path_factory, LOOSE)
    # the notebook validated the code on disk; this process now sees another version of it
    monkeypatch.setattr(promote_mod, "source_hash", lambda name: "0" * 64)
    with pytest.raises(UserError, match="changed since it was validated"):
        promote(spec, root)
    assert not registry_path(root).exists()


def test_a_broken_registry_file_is_one_line(tmp_path: Path) -> None:
    registry_path(tmp_path).write_text('{"format": "other", "version": 1, "entries": []}')
    with pytest.raises(UserError, match="is not an okxbot registry"):
        read_registry(tmp_path)
    registry_path(tmp_path).write_text('{"format": "okxbot-registry", "version": 9, "entries": []}')
    with pytest.raises(UserError, match="registry version 9; this okxbot reads version 1"):
        read_registry(tmp_path)
