"""Scheduled reports (README "Reports and pipelines"): `pipelines/schedule.toml` lists them with cron
expressions; `run_due` runs those that are due and remembers what ran.

- A report is due when its last scheduled time at or before now (cron, UTC) is later than its last
  run, or it never ran.
- `run_due` holds `<data-root>/pipelines/run-due.lock` while it works: a second call that finds it
  held does nothing and says so, so cron may call every minute and two overlapping calls never run
  one report twice.
- What ran is kept in `<data-root>/pipelines/state.json` (written to a temporary file and renamed):
  per report the scheduled time it ran for, when, the outcome, and for a failure its error and cell.
  A failed report is recorded and the others still run.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.model.errors import ConfigError, UserError
from engine.research.files import read_toml, try_lock

SCHEDULE = Path("pipelines") / "schedule.toml"


@dataclass(frozen=True)
class Scheduled:
    name: str
    target: str  # a run id, `latest`, or a study name
    cron: str


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # "ok" | "failed" | "not due"
    detail: str = ""


def load_schedule(path: str | Path) -> list[Scheduled]:
    """The scheduled reports; ConfigError of one line naming the file, the entry and the value."""
    from croniter import croniter

    p = Path(path)
    raw = read_toml(p, "schedule")
    entries = raw.get("report", [])
    if not isinstance(entries, list):
        raise ConfigError(f"schedule {p}: report must be a list of [[report]] tables")
    out: list[Scheduled] = []
    for i, entry in enumerate(entries):
        where = f"schedule {p}: report[{i}]"
        unknown = sorted(set(entry) - {"name", "target", "cron"})
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]} = {entry[unknown[0]]!r} is not name, target or cron")
        for key in ("name", "target", "cron"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ConfigError(f"{where}.{key} = {entry.get(key)!r} must be a non-empty string")
        if not croniter.is_valid(entry["cron"]):
            raise ConfigError(f"{where}.cron = {entry['cron']!r} is not a cron expression like '0 6 * * *'")
        if entry["name"] in {s.name for s in out}:
            raise ConfigError(f"{where}.name = {entry['name']!r} is used twice")
        out.append(Scheduled(entry["name"], entry["target"], entry["cron"]))
    return out


def state_path(data_root: str | Path) -> Path:
    return Path(data_root) / "pipelines" / "state.json"


def read_state(data_root: str | Path) -> dict[str, dict[str, Any]]:
    path = state_path(data_root)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); move it away to start afresh") from None
    return data if isinstance(data, dict) else {}


def _write_state(data_root: str | Path, state: dict[str, dict[str, Any]]) -> None:
    path = state_path(data_root)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def last_scheduled(cron: str, now: datetime) -> datetime:
    """The cron's last time at or before `now` (UTC)."""
    from datetime import timedelta

    from croniter import croniter

    return croniter(cron, now + timedelta(seconds=1)).get_prev(datetime)  # get_prev is strictly before


def _exclusive(data_root: str | Path) -> contextlib.AbstractContextManager[bool]:
    return try_lock(Path(data_root) / "pipelines" / "run-due.lock")


Runner = Callable[[str | Path, str], Any]  # (data_root, target) -> a report with .html


def run_due(data_root: str | Path, schedule: list[Scheduled], now: datetime | None = None,
            runner: Runner | None = None) -> list[Outcome] | None:
    """Run the due reports (None when another run-due holds the lock)."""
    from engine.research.reports import ReportFailed, make_report

    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    run = runner or make_report
    with _exclusive(data_root) as alone:
        if not alone:
            return None
        state = read_state(data_root)
        outcomes = []
        for item in schedule:
            slot = last_scheduled(item.cron, now).isoformat()
            done = state.get(item.name, {})
            if done.get("scheduled") == slot or (done.get("scheduled") or "") > slot:
                outcomes.append(Outcome(item.name, "not due", f"ran for {done.get('scheduled')}"))
                continue
            record: dict[str, Any] = {"scheduled": slot, "ran_at": now.isoformat(), "target": item.target}
            try:
                report = run(data_root, item.target)
            except ReportFailed as exc:
                record.update(status="failed", error=str(exc), cell=exc.cell, notebook=str(exc.notebook))
            except UserError as exc:
                record.update(status="failed", error=str(exc), cell=None)
            else:
                record.update(status="ok", html=str(report.html))
            state[item.name] = record
            _write_state(data_root, state)  # after each report: a crash later keeps what ran
            outcomes.append(Outcome(item.name, record["status"], record.get("error") or record.get("html", "")))
        return outcomes
