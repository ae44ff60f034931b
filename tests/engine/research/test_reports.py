"""Reports executed by papermill and the scheduled pipelines (README "Reports and pipelines")."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest

from engine.backtest.run import run_backtest
from engine.model.errors import ConfigError, UserError
from engine.research import reports as reports_mod
from engine.research.pipelines import Scheduled, load_schedule, read_state, run_due
from engine.research.reports import ReportFailed, make_report
from engine.results.runs import save_run
from tests.engine.backtest_factory import ACTIVE, SYMBOL, config, shared_lake, spec


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with the shared synthetic lake and one stored run."""
    folder = tmp_path_factory.mktemp("reports")
    (folder / "lake").symlink_to(shared_lake(tmp_path_factory) / "lake")
    result = run_backtest(config(spec("ema_cross", **ACTIVE["ema_cross"])), folder)
    save_run(folder, result)
    (folder / "run_id").write_text(result.run_id)
    return folder


def test_a_run_report_is_executed_and_written_with_its_html(root: Path) -> None:
    report = make_report(root, "latest", stamp="T1")
    run_id = (root / "run_id").read_text()
    assert (report.kind, report.name) == ("run", run_id)
    assert report.notebook == root / "reports" / f"run-{run_id}-T1.ipynb" and report.html.is_file()
    book = nbformat.read(report.notebook, as_version=4)
    outputs = "".join(o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "portfolio" in outputs and SYMBOL in outputs  # the summary table was printed by the notebook
    html = report.html.read_text(encoding="utf-8")
    assert "round trips" in html and "<img" in html  # the trades count and the equity plot


def test_an_unknown_target_names_both_places(root: Path) -> None:
    with pytest.raises(UserError, match=r"no stored run .* or study .* of that name"):
        make_report(root, "no-such-thing")


def test_a_failing_cell_is_named_and_its_notebook_kept(root: Path, tmp_path: Path, monkeypatch: Any) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(reports_mod.TEMPLATES, templates)
    book = nbformat.read(templates / "run_report.ipynb", as_version=4)
    book.cells[2].source = "raise RuntimeError('the data is gone')"
    nbformat.write(book, templates / "run_report.ipynb")
    monkeypatch.setattr(reports_mod, "TEMPLATES", templates)
    with pytest.raises(ReportFailed) as err:
        make_report(root, "latest", stamp="T2")
    # the executed notebook's cell [3]: papermill injects the parameters as cell [2]
    assert err.value.cell == 3 and err.value.notebook.is_file()
    assert "cell 3 failed: RuntimeError: the data is gone" in str(err.value)


def test_a_missing_kernel_says_how_to_install_it(root: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(reports_mod, "KERNEL", "okxbot-no-such-kernel")
    with pytest.raises(UserError, match=r"no Jupyter kernel named 'okxbot-no-such-kernel' is installed; install "
                                        r"it with `.*python.* -m ipykernel install --sys-prefix "
                                        r"--name okxbot-no-such-kernel`") as err:
        make_report(root, "latest", stamp="T3")
    assert not isinstance(err.value, ReportFailed)  # nothing ran: no notebook to point at


def test_the_kernel_warning_about_tcp_stays_off_stderr(root: Path, capfd: pytest.CaptureFixture[str]) -> None:
    make_report(root, "latest", stamp="T4")
    assert "without encryption" not in capfd.readouterr().err


class Fake:
    """A report runner for the scheduling rules: records its calls; the target 'broken' fails."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, data_root: Any, target: str) -> Any:
        self.calls.append(target)
        if target == "broken":
            raise ReportFailed("report broken: cell 3 failed: KeyError: 'x'", 3, Path("/tmp/broken.ipynb"))
        return type("R", (), {"html": Path(f"/tmp/{target}.html")})()


SCHEDULE = [Scheduled("daily", "latest", "0 6 * * *"), Scheduled("hourly", "broken", "0 * * * *")]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_due_reports_run_once_per_slot_and_a_failure_is_recorded(tmp_path: Path) -> None:
    fake = Fake()
    first = run_due(tmp_path, SCHEDULE, at("2024-01-02T06:30"), fake)
    assert first is not None and [(o.name, o.status) for o in first] == [("daily", "ok"), ("hourly", "failed")]
    state = read_state(tmp_path)
    assert state["daily"]["scheduled"] == "2024-01-02T06:00:00+00:00" and state["daily"]["status"] == "ok"
    assert (state["hourly"]["status"], state["hourly"]["cell"]) == ("failed", 3)
    # the same minute again, and later in the same hour: nothing is due
    again = run_due(tmp_path, SCHEDULE, at("2024-01-02T06:59"), fake)
    assert again is not None and [o.status for o in again] == ["not due", "not due"]
    # 07:00: the hourly report is due again, the daily one is not
    later = run_due(tmp_path, SCHEDULE, at("2024-01-02T07:00"), fake)
    assert later is not None and [o.status for o in later] == ["not due", "failed"]
    assert fake.calls == ["latest", "broken", "broken"]
    assert json.loads((tmp_path / "pipelines" / "state.json").read_text())["hourly"]["ran_at"].startswith(
        "2024-01-02T07:00")


def test_an_overlapping_call_runs_nothing(tmp_path: Path) -> None:
    from engine.research.pipelines import _exclusive

    fake = Fake()
    with _exclusive(tmp_path) as alone:
        assert alone
        assert run_due(tmp_path, SCHEDULE, at("2024-01-02T06:30"), fake) is None
    assert fake.calls == []


@pytest.mark.parametrize(("text", "message"), [
    ('[[report]]\nname = "a"\ntarget = "latest"\ncron = "every day"\n', "report[0].cron = 'every day' is not a cron"),
    ('[[report]]\nname = "a"\ntarget = "latest"\n', "report[0].cron = None must be a non-empty string"),
    ('[[report]]\nname = "a"\ntarget = "x"\ncron = "* * * * *"\nwhen = 1\n', "report[0].when = 1 is not name"),
    ('[[report]]\nname = "a"\ntarget = "x"\ncron = "* * * * *"\n[[report]]\nname = "a"\ntarget = "y"\n'
     'cron = "* * * * *"\n', "report[1].name = 'a' is used twice"),
])
def test_a_bad_schedule_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "schedule.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_schedule(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_shipped_schedule_reads() -> None:
    (entry,) = load_schedule(Path(__file__).parents[3] / "pipelines" / "schedule.toml")
    assert (entry.name, entry.target, entry.cron) == ("latest-run-daily", "latest", "0 6 * * *")
