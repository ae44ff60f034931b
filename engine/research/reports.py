"""Reports are notebooks executed by papermill (README "Reports and pipelines").

`make_report(data_root, target)` finds what `target` names (a stored run: an id, a unique prefix or
`latest`; else a study), executes the matching template of `pipelines/templates/` with its
parameters, and writes the executed notebook and an HTML copy under `<data-root>/reports/`. A
failing cell is a `ReportFailed` naming the cell, the error and the notebook kept with it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.model.errors import UserError

TEMPLATES = Path(__file__).resolve().parents[2] / "pipelines" / "templates"
KERNEL = "python3"  # the Makefile installs it into .venv (`ipykernel install --sys-prefix`)
# The kernel's own log on stderr is noise for a report's user: a warning that its local TCP sockets are
# not encrypted at every start, and "KeyboardInterrupt caught" when the shutdown (which interrupts the
# kernel first) meets it busy. A cell's error comes back through papermill, not through that log.
QUIET_KERNEL = ["--IPKernelApp.log_level=CRITICAL"]


class ReportFailed(UserError):
    """A report's notebook stopped on an error; `cell` is its execution count, `notebook` the output."""

    def __init__(self, message: str, cell: int | None, notebook: Path) -> None:
        super().__init__(message)
        self.cell = cell
        self.notebook = notebook


@dataclass(frozen=True)
class Report:
    kind: str  # "run" | "study"
    name: str  # the run id or the study name
    notebook: Path
    html: Path


def resolve(data_root: str | Path, target: str, storage_url: str | None = None) -> tuple[str, str]:
    """("run", run id) or ("study", name) for `target`; UserError naming both places when neither."""
    from engine.results.runs import db_path, load_run

    if db_path(data_root).is_file():
        try:
            return "run", load_run(data_root, target).run_id
        except UserError:
            pass
    import optuna

    from engine.research.study import open_storage, studies_dir

    if storage_url or (studies_dir(data_root) / "journal.log").is_file():
        names = [s.study_name for s in optuna.get_all_study_summaries(open_storage(data_root, storage_url))]
        if target in names:
            return "study", target
    raise UserError(f"report {target!r}: no stored run (okxbot runs list) or study (okxbot studies list) "
                    f"of that name in {data_root}")


def make_report(data_root: str | Path, target: str, storage_url: str | None = None,
                stamp: str | None = None) -> Report:
    """Execute the report of `target`; ReportFailed (with the notebook kept) when a cell fails."""
    kind, name = resolve(data_root, target, storage_url)
    root = Path(data_root).resolve()
    params: dict[str, Any] = {"data_root": str(root)}
    if kind == "run":
        params["run_id"] = name
    else:
        params.update(study_name=name, storage_url=storage_url)
    out_dir = root / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    notebook = out_dir / f"{kind}-{_safe(name)}-{stamp}.ipynb"
    execute(f"{kind}_report.ipynb", notebook, params, root, f"report {name}")
    html = notebook.with_suffix(".html")
    html.write_text(to_html(notebook), encoding="utf-8")
    return Report(kind, name, notebook, html)


def execute(template: str, notebook: Path, params: dict[str, Any], cwd: Path, what: str) -> None:
    """Execute the template into `notebook` in `cwd`; a missing kernel, a dead kernel or a failing cell
    is a UserError that says which (`what` names the job in it)."""
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import DeadKernelError

    try:
        papermill.execute_notebook(str(TEMPLATES / template), str(notebook), parameters=params, kernel_name=KERNEL,
                                   progress_bar=False, cwd=str(cwd), extra_arguments=QUIET_KERNEL)
    except NoSuchKernel:
        raise UserError(f"{what}: no Jupyter kernel named {KERNEL!r} is installed; install it with "
                        f"`{sys.executable} -m ipykernel install --sys-prefix --name {KERNEL}` "
                        "(the Makefile's setup does)") from None
    except DeadKernelError as exc:
        raise ReportFailed(f"{what}: the notebook's kernel died ({exc}; executed notebook: {notebook})", None,
                           notebook) from None
    except papermill.PapermillExecutionError as exc:
        raise ReportFailed(f"{what}: cell {exc.exec_count} failed: {exc.ename}: {exc.evalue} "
                           f"(executed notebook: {notebook})", exc.exec_count, notebook) from None


def to_html(notebook: Path) -> str:
    """The executed notebook as one HTML page (code hidden)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    return str(body)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
