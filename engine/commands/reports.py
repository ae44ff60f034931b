"""`okxbot report RUN_OR_STUDY` and `okxbot pipelines run-due | status` (README "Reports and pipelines").

Only the parser is built at import time; papermill and the engine are imported when a command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.commands import help_when_bare


def add_parser(sub: Any) -> None:
    """Register `report` and `pipelines`."""
    p = sub.add_parser("report", help="execute the report notebook of a run or a study (papermill)",
                       description="Execute the report notebook of a stored run (id, unique prefix or `latest`) "
                                   "or of a study, and write it with an HTML copy under <data-root>/reports/.")
    p.add_argument("target", metavar="RUN_OR_STUDY", help="a run id, a unique prefix of one, `latest`, or a study")
    p.add_argument("--storage", default=None, metavar="URL", help="the studies' database URL (default: the journal)")
    p.set_defaults(func=run_report)

    s = sub.add_parser("pipelines", help="scheduled reports: run-due (for cron), status")
    inner = s.add_subparsers(dest="pipelines_command", metavar="SUBCOMMAND")
    due = inner.add_parser("run-due", help="run the scheduled reports that are due (safe to call every minute)")
    due.add_argument("--schedule", default="pipelines/schedule.toml", metavar="PATH",
                     help="the schedule (default pipelines/schedule.toml)")
    due.add_argument("--now", default=None, metavar="TIME", help="pretend it is this UTC time (default: now)")
    due.set_defaults(func=run_due)
    status = inner.add_parser("status", help="what each scheduled report last did")
    status.set_defaults(func=run_status)

    help_when_bare(s)


def run_report(args: argparse.Namespace) -> int:
    from engine.research.reports import make_report

    report = make_report(args.data_root, args.target, args.storage)
    print(f"report of {report.kind} {report.name}: {report.notebook}")
    print(f"html: {report.html}")
    return 0


def run_due(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from engine.model.time import to_ns
    from engine.research.pipelines import load_schedule
    from engine.research.pipelines import run_due as due

    schedule = load_schedule(args.schedule)
    now = datetime.fromtimestamp(to_ns(args.now, "--now") / 1e9, UTC) if args.now else None
    outcomes = due(args.data_root, schedule, now)
    if outcomes is None:
        print("another `okxbot pipelines run-due` is running: nothing done")
        return 0
    for o in outcomes:
        print(f"{o.name}: {o.status}" + (f" ({o.detail})" if o.detail else ""))
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def run_status(args: argparse.Namespace) -> int:
    from engine.research.pipelines import read_state

    state = read_state(args.data_root)
    if not state:
        print("no scheduled report has run yet")
        return 0
    for name, rec in sorted(state.items()):
        tail = rec.get("html") or rec.get("error") or ""
        print(f"{name}: {rec.get('status')} for {rec.get('scheduled')} (ran {rec.get('ran_at')}) {tail}")
    return 0
