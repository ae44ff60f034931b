"""`okxbot demo` (what `make demo` runs), whole, twice, into a fresh data root: the backtest, the
screen, the study, the validation notebook with the gate, the promotion with the registry entry
printed as `okxbot registry show` prints it; run again, the study is reused and the registry is
unchanged. Then the two ways the research half can end otherwise: without a Jupyter kernel (one
line, exit 1) and with a failing gate (refused, nothing written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest

from engine.research import reports as reports_mod
from engine.research.demo import SCREEN_GRID, SPEC, Steps, promotion_step, research_part
from engine.research.registry import registry_path
from engine.research.spec import load_spec
from engine.research.study import open_storage

Run = subprocess.CompletedProcess[str]


def okxbot_demo(root: Path) -> Run:
    return subprocess.run([sys.executable, "-m", "engine.cli", "--data-root", str(root), "demo"], cwd=root.parent,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run, bytes, Run]:
    """The demo run twice on one data root: (root, first run, registry.json after it, second run)."""
    root = tmp_path_factory.mktemp("demo") / "data"
    first = okxbot_demo(root)
    assert first.returncode == 0, first.stderr
    registry = registry_path(root).read_bytes()
    second = okxbot_demo(root)
    assert second.returncode == 0, second.stderr
    return root, first, registry, second


def printed_entry(stdout: str) -> tuple[str, dict[str, Any]]:
    """The entry id and the JSON printed after `$ okxbot registry show ID`."""
    _, _, rest = stdout.partition("$ okxbot registry show ")
    assert rest, stdout[-2000:]
    entry_id, _, text = rest.partition("\n")
    return entry_id, json.loads(text[: text.index("\n}\n") + 2])


def test_demo_screens_studies_validates_and_promotes_the_best_trial(demo: tuple[Path, Run, bytes, Run]) -> None:
    root, first, _, _ = demo
    out = first.stdout
    assert first.stderr == ""  # no traceback, no kernel warning, no progress bar off a terminal
    for step in ("backtest", "screen", "study", "validation", "promotion"):
        assert f"\n== {step}: " in out and f"\n[{step}: " in out, step
    assert "demo finished in " in out.splitlines()[-1]
    # the screen: every grid point the strategy accepts (fast < slow), ranked, and its heatmap
    table = pd.read_csv(root / "screens" / "ema_cross_bars_ETH-USDT_USDT.csv")
    accepted = sum(f < s for f in SCREEN_GRID["fast"] for s in SCREEN_GRID["slow"])
    assert len(table) == accepted and table["sharpe"].is_monotonic_decreasing
    assert (root / "screens" / "ema_cross_bars_ETH-USDT_USDT.svg").read_text().startswith("<?xml")
    # the study: the spec's trials, all run now
    spec = load_spec(SPEC)
    study = optuna.load_study(study_name=spec.name, storage=open_storage(root))
    assert len(study.trials) == spec.trials == 20 and f"{spec.trials} trials run now" in out
    # the gate: every threshold of the spec with its verdict
    gate = out[out.index("gate:"):out.index("verdict:")]
    assert [line.split()[:2] for line in gate.splitlines()[1:]] == [["PASS", name] for name in spec.gate]
    assert "verdict: PASSED" in out
    # the registry: one entry, the best trial of the study, printed as `okxbot registry show` prints it
    (entry,) = json.loads(registry_path(root).read_text())["entries"]
    best = max((t for t in study.trials if t.value is not None), key=lambda t: t.value or 0.0)
    assert (entry["id"], entry["strategy"], entry["status"]) == (f"demo_trend/{best.number}", "ema_cross_bars",
                                                                 "active")
    assert entry["params"] == {**spec.fixed, **best.params} and f"promoted {entry['id']} " in out
    assert printed_entry(out) == (entry["id"], entry)
    shown = subprocess.run([sys.executable, "-m", "engine.cli", "--data-root", str(root), "registry", "show",
                            entry["id"]], capture_output=True, text=True, timeout=60)
    assert json.loads(shown.stdout) == entry


def test_demo_run_again_reuses_the_study_and_leaves_the_registry_as_it_was(
        demo: tuple[Path, Run, bytes, Run]) -> None:
    root, first, registry, second = demo
    out = second.stdout
    assert second.stderr == ""
    assert "reused: the study is complete" in out and "trials run now" not in out
    spec = load_spec(SPEC)
    assert len(optuna.load_study(study_name=spec.name, storage=open_storage(root)).trials) == spec.trials
    assert "verdict: PASSED" in out and "already promoted: " in out
    assert registry_path(root).read_bytes() == registry  # one entry, byte for byte the first run's
    assert printed_entry(out) == printed_entry(first.stdout)


def test_demo_without_a_kernel_stops_at_the_validation_one_line_exit_1(
        demo: tuple[Path, Run, bytes, Run], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _, registry, _ = demo
    monkeypatch.setattr(reports_mod, "KERNEL", "okxbot-no-such-kernel")
    assert research_part(root, Steps()) == 1
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith("okxbot: error: validation of demo_trend trial ")
    assert "no Jupyter kernel named 'okxbot-no-such-kernel'" in line and "ipykernel install" in line
    assert line.endswith("(the demo stopped there; done: screen, study)")
    assert "[study: " in out and "[validation: " not in out and "== promotion" not in out
    assert "demo finished in " in out and registry_path(root).read_bytes() == registry


def test_demo_gate_failure_is_printed_as_a_refusal_and_writes_nothing(
        demo: tuple[Path, Run, bytes, Run], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _, _, _ = demo
    spec = load_spec(SPEC)
    (stored,) = (root / "studies" / spec.name).glob("validation-*.json")
    verdict = json.loads(stored.read_text())
    verdict["checks"][0] |= {"value": 0.25, "passed": False}
    verdict["passed"] = False
    empty = tmp_path / "data"
    promotion_step(spec, empty, verdict["trial"], verdict, tmp_path / "validate.ipynb")
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("not promoted, nothing written: promotion of demo_trend trial ")
    assert f"refused: the gate failed: {verdict['checks'][0]['name']} 1 (measured 0.25)" in out
    assert not registry_path(empty).exists()
