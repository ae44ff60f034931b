"""notebooks/01_tick_backtest.ipynb: the stored file, and papermill runs with other parameters.

nbval (`make test`) already runs the notebook with its defaults and compares the summary cell with
the stored output. These tests cover what nbval cannot: that the stored file stays small and free of
run-specific text, and that papermill's parameters really drive the run (the summary a papermill run
prints equals the engine's own summary for the same configuration, computed here without the
notebook).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.results.summary import summary_table
from engine.store.lake import Lake
from engine.store.synthetic import VENUE, SynthConfig, write_synthetic
from engine.model.time import to_ns
from engine.venues.sim import SimConfig

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01_tick_backtest.ipynb"
CHECK = "# NBVAL_CHECK_OUTPUT"
SYMBOL = "ETH/USDT:USDT"
# Different strategies and parameters from the notebook's defaults, so a run that ignored the
# injected parameters would print another table.
STRATEGIES: list[dict[str, Any]] = [
    {"name": "macd_trend", "id": "macd", "params": {"fast": 8, "slow": 21, "signal": 5, "bar_interval": "1m"}},
    {"name": "rsi_mr", "id": "rsi21", "params": {"n": 21, "lower": 25.0, "upper": 75.0, "bar_interval": "1m"}},
]
RUN_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}")


def stored() -> Any:
    return nbformat.read(NOTEBOOK, as_version=4)


def code_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code"]


def stdout(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def summary_cell(nb: Any) -> Any:
    (cell,) = [c for c in code_cells(nb) if c.source.startswith(CHECK)]
    return cell


def papermill_run(out: Path, kernel: str, **parameters: Any) -> Any:
    """Execute the notebook with papermill in `out`'s folder and return the executed notebook."""
    import papermill

    papermill.execute_notebook(
        str(NOTEBOOK), str(out), parameters=parameters, kernel_name=kernel, cwd=str(out.parent),
        progress_bar=False, log_output=False,
    )
    return nbformat.read(out, as_version=4)


def engine_summary(data_root: Path, seed: int, hours: float, start: str, latency_ms: float) -> str:
    """The summary of the same backtest run directly through the engine."""
    synth = SynthConfig(symbol=SYMBOL, start="2024-01-01T00:00Z", hours=hours, seed=seed)
    cfg = BacktestConfig(
        strategies=tuple(StrategySpec(s["name"], s["params"], s["id"]) for s in STRATEGIES),
        symbols=(SYMBOL,), start=to_ns(start), end=synth.end_ns, venue=VENUE,
        sim=SimConfig(latency_ns=round(latency_ms * 1e6)),
    )
    return summary_table(run_backtest(cfg, data_root))


@pytest.fixture
def kernel(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec running this interpreter (papermill's twin of nbval's --nbval-current-env)."""
    home = tmp_path_factory.mktemp("jupyter")
    spec = home / "kernels" / "okxbot-current"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "okxbot", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(home))
    return "okxbot-current"


# --- the stored notebook -----------------------------------------------------------------------


def test_stored_notebook_size_below_hook_limit() -> None:
    assert NOTEBOOK.stat().st_size < 1_000_000


def test_stored_notebook_first_cell_is_the_only_parameters_cell() -> None:
    nb = stored()
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [0]
    assert nb.cells[0].cell_type == "code"
    assert "data_root" in nb.cells[0].source and "seed" in nb.cells[0].source


def test_stored_notebook_summary_cell_holds_a_synthetic_summary() -> None:
    text = stdout(summary_cell(stored()))
    assert text.startswith("SYNTHETIC DATA | symbols ETH/USDT:USDT")
    rows = [line.split()[0] for line in text.splitlines()]
    for series in ("trend", "meanrev", "portfolio", "buy_and_hold"):
        assert series in rows


def test_stored_notebook_outputs_run_free_text_absent() -> None:
    nb = stored()
    for cell in code_cells(nb):
        assert "execution" not in cell.metadata and "papermill" not in cell.metadata, cell.id
        for output in cell.outputs:
            assert output.output_type != "error", cell.id
            text = json.dumps({k: v for k, v in output.items() if k != "data"} | {
                "plain": output.get("data", {}).get("text/plain", "")})
            for pattern in ("/tmp", "okxbot-nb-", str(ROOT)):
                assert pattern not in text, (cell.id, pattern)
            assert not RUN_ID.search(text), cell.id


def test_stored_notebook_cell_ids_unique() -> None:
    ids = [c.id for c in stored().cells]
    assert len(set(ids)) == len(ids)
    nbformat.validate(stored())


# --- papermill -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_papermill_parameters_drive_the_run(tmp_path: Path, kernel: str) -> None:
    root = tmp_path / "root"
    params: dict[str, Any] = {"seed": 3, "hours": 4.0, "start": "2024-01-01T02:00Z", "latency_ms": 50.0}
    nb = papermill_run(tmp_path / "out.ipynb", kernel, data_root="root", strategies=STRATEGIES, **params)
    # a relative data_root is taken from the kernel's cwd, and the lake stays there
    assert Lake.at(root).files("trades", VENUE, SYMBOL)
    assert "WARNING" not in "".join(stdout(c) for c in code_cells(nb))
    printed = stdout(summary_cell(nb))
    assert printed == engine_summary(root, **params)
    assert printed != stdout(summary_cell(stored()))


@pytest.mark.slow
def test_papermill_data_root_with_another_seed_warns(tmp_path: Path, kernel: str) -> None:
    other = write_synthetic(Lake.at(tmp_path), SynthConfig(symbol=SYMBOL, hours=3.0, seed=11))
    extra = next(r for r in other if r.kind == "trades").new_rows
    nb = papermill_run(tmp_path / "out.ipynb", kernel, data_root=str(tmp_path), seed=3, hours=3.0,
                       strategies=STRATEGIES)
    text = "".join(stdout(c) for c in code_cells(nb))
    assert f"WARNING: the lake holds {extra:+,} trades besides seed 3's" in text


@pytest.mark.slow
def test_papermill_default_data_root_removed_at_end(
    tmp_path: Path, kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    nb = papermill_run(tmp_path / "out.ipynb", kernel, hours=3.0, strategies=STRATEGIES)
    assert stdout(summary_cell(nb)).startswith("SYNTHETIC DATA")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ipynb"]
