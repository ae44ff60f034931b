"""Results: the records of a run, its equity and statistics, the runs store, the HTML report."""

from engine.results.build import BacktestResult, strategy_capital
from engine.results.report import write_html
from engine.results.runs import ensure_writable, export_run, list_runs, load_run, save_run
from engine.results.summary import summary_table

__all__ = [
    "BacktestResult",
    "ensure_writable",
    "export_run",
    "list_runs",
    "load_run",
    "save_run",
    "strategy_capital",
    "summary_table",
    "write_html",
]
