"""Backtest runs stored in DuckDB (`<data_root>/okxbot.duckdb`), and their export to files.

DuckDB lets one process at a time open a database file for writing, and a notebook and the CLI
use the store at once. So no connection is ever kept: each call opens the file, does its work in
one transaction, and closes it; while another process holds the file, it retries with backoff
for up to `LOCK_TIMEOUT_S`.

Tables: `runs` (one row per run) and `run_orders`, `run_fills`, `run_ledger`, `run_marks`,
`run_equity`, `run_stats`, `run_allocations`, `run_trades`, `run_skipped`: the records' columns
(engine/results/records.py, stats.py, trips.py) plus `run_id` and `row_idx` (the row's place in
its table, so a loaded run is the saved one).

A data root that cannot be written (a read-only disk, a path through a file) gives a UserError
naming the path: `ensure_writable` checks before a long replay, and `save_run` turns a failed
write into the same error after rolling the whole run back.
"""

from __future__ import annotations

import errno
import json
import os
import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from engine.model.errors import UserError
from engine.results.build import BacktestResult
from engine.results.provenance import config_hash
from engine.results.records import ALLOCATIONS, EQUITY, FILLS, LEDGER, MARKS, ORDERS, SKIPPED
from engine.results.stats import STATS
from engine.results.summary import describe
from engine.results.trips import TRADES

DB_NAME = "okxbot.duckdb"
LOCK_TIMEOUT_S = 30.0
RECORD_TABLES: dict[str, pa.Schema] = {
    "orders": ORDERS,
    "fills": FILLS,
    "ledger": LEDGER,
    "marks": MARKS,
    "equity": EQUITY,
    "stats": STATS,
    "allocations": ALLOCATIONS,
    "trades": TRADES,
    "skipped": SKIPPED,
}
EXPORT_FORMATS = ("parquet", "html")
_DUCK_TYPES = {
    pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.int8(): "TINYINT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN"
}
_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR, created_ns BIGINT, config_json VARCHAR, config_hash VARCHAR,
    code_version VARCHAR, data_fingerprint VARCHAR, fill_model VARCHAR, venue VARCHAR,
    strategies VARCHAR[], strategy_names VARCHAR[], symbols VARCHAR[], start_ns BIGINT, end_ns BIGINT
)"""


LATEST = "latest"  # names the newest run wherever a run id is asked for


def db_path(data_root: str | Path) -> Path:
    """The runs database file under a data root."""
    return Path(data_root) / DB_NAME


def _is_lock_error(exc: Exception) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


@contextmanager
def connect(data_root: str | Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection to the runs database; waits while another process holds it."""
    path = db_path(data_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise UserError(f"runs database {path} stayed locked for {timeout_s:g} s: {exc}") from exc
            time.sleep(delay * random.uniform(0.5, 1.5))  # jitter: waiting processes do not retry in step
            delay = min(delay * 2.0, 0.5)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _has_runs(con: duckdb.DuckDBPyConnection) -> bool:
    # fetchall, not fetchone: DuckDB refuses more work on a connection with an unfinished result
    rows = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'").fetchall()
    return bool(rows[0][0])


def _ensure_table(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
    """Create `run_<name>`, or add the columns a newer schema has (old runs read them as NULL)."""
    table = f"run_{name}"
    cols = [f'"{f.name}" {_DUCK_TYPES[f.type]}' for f in schema]
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} (run_id VARCHAR, row_idx BIGINT, {', '.join(cols)})")
    query = "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
    have = {r[0] for r in con.execute(query, [table]).fetchall()}
    for f in schema:
        if f.name not in have:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{f.name}" {_DUCK_TYPES[f.type]}')


def _run_row(result: BacktestResult) -> list[Any]:
    config = result.config
    strategies = config.get("strategies") or []
    return [
        result.run_id,
        result.created_ns,
        json.dumps(config, sort_keys=True),
        config_hash(config),
        result.code_version,
        result.data_fingerprint,
        describe(config.get("fill_model")),
        describe(config.get("venue")),
        [str(s.get("id")) for s in strategies],
        [str(s.get("name")) for s in strategies],
        [str(s) for s in config.get("symbols") or []],
        config.get("start"),
        config.get("end"),
    ]


def _store_error(path: Path, exc: Exception) -> UserError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return UserError(
        f"cannot store runs in {path}: {reason}; give a writable --data-root, or pass --no-save to skip storing"
    )


def _probe_write(path: Path) -> None:
    """Create the data root, write and remove a scratch file beside the database, check the database."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(prefix=".okxbot-write-check-", dir=path.parent)
    os.close(fd)
    os.unlink(scratch)
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, "the database file is not writable", str(path))


def ensure_writable(data_root: str | Path) -> None:
    """UserError naming the path (and --no-save) unless the runs store under `data_root` can be written."""
    path = db_path(data_root)
    try:
        _probe_write(path)
    except OSError as exc:
        raise _store_error(path, exc) from exc


def _insert(con: duckdb.DuckDBPyConnection, name: str, run_id: str, table: pa.Table) -> None:
    """Append a record table's rows to `run_<name>`, numbered by their place."""
    n = table.num_rows
    rows = table.add_column(0, "run_id", pa.array([run_id] * n, pa.string()))
    rows = rows.add_column(1, "row_idx", pa.array(range(n), pa.int64()))
    con.register("staged_rows", rows)
    try:
        con.execute(f"INSERT INTO run_{name} BY NAME SELECT * FROM staged_rows")
    finally:
        con.unregister("staged_rows")


def save_run(data_root: str | Path, result: BacktestResult) -> None:
    """Store a run (replacing a run saved before under the same id), all or nothing.

    A failed write (OSError, or DuckDB unable to open or write the file) rolls the run back and
    raises a UserError naming the database path.
    """
    try:
        with connect(data_root) as con, _transaction(con):
            con.execute(_RUNS_DDL)
            for name, schema in RECORD_TABLES.items():
                _ensure_table(con, name, schema)
                con.execute(f"DELETE FROM run_{name} WHERE run_id = ?", [result.run_id])
            con.execute("DELETE FROM runs WHERE run_id = ?", [result.run_id])
            con.execute(f"INSERT INTO runs VALUES ({', '.join('?' * 13)})", _run_row(result))
            for name in RECORD_TABLES:
                _insert(con, name, result.run_id, getattr(result, name))
    except (OSError, duckdb.IOException, duckdb.PermissionException) as exc:
        if _is_lock_error(exc):
            raise
        raise _store_error(db_path(data_root), exc) from exc


_LIST_SQL = """
SELECT r.run_id, r.created_ns, r.code_version, r.data_fingerprint, r.fill_model, r.venue,
       r.strategies, r.strategy_names, r.symbols, r.start_ns, r.end_ns, r.config_hash,
       s.pnl, s.total_return, s.sharpe, s.max_drawdown
FROM runs r LEFT JOIN run_stats s ON s.run_id = r.run_id AND s.series = 'portfolio'
ORDER BY r.created_ns DESC, r.run_id DESC
LIMIT ?"""


def list_runs(data_root: str | Path, limit: int = 50) -> list[dict[str, Any]]:
    """The newest `limit` runs, newest first, with the portfolio's pnl, return, sharpe, drawdown."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UserError(f"limit {limit!r}: the number of runs to list must be a whole number >= 1")
    if not db_path(data_root).is_file():
        return []
    with connect(data_root) as con:
        if not _has_runs(con):
            return []
        cursor = con.execute(_LIST_SQL, [int(limit)])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _resolve(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """The one stored id starting with `run_id` (`latest`: the newest run); UserError when none or
    several do."""
    if not run_id:
        raise UserError("run id must not be empty")
    if run_id == LATEST:
        row = con.execute("SELECT run_id FROM runs ORDER BY created_ns DESC, run_id DESC LIMIT 1").fetchone() \
            if _has_runs(con) else None
        if row is None:
            raise UserError("no runs stored yet, so there is no latest run (see `okxbot backtest`)")
        return str(row[0])
    found: list[str] = []
    if _has_runs(con):
        query = "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id"
        found = [r[0] for r in con.execute(query, [run_id]).fetchall()]
    if run_id in found:
        return run_id
    if not found:
        raise UserError(f"unknown run id {run_id!r} (see `okxbot runs list`)")
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise UserError(f"ambiguous run id {run_id!r}: {len(found)} runs match ({shown})")
    return found[0]


def _read_table(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema, run_id: str) -> pa.Table:
    cols = ", ".join(f'"{f}"' for f in schema.names)
    query = f"SELECT {cols} FROM run_{name} WHERE run_id = ? ORDER BY row_idx"
    return con.sql(query, params=[run_id]).to_arrow_table().cast(schema)


def load_run(data_root: str | Path, run_id: str) -> BacktestResult:
    """A stored run by id or unique id prefix; UserError naming the id when unknown or ambiguous."""
    if not db_path(data_root).is_file():
        raise UserError(f"unknown run id {run_id!r}: no runs database at {db_path(data_root)}")
    with connect(data_root) as con:
        rid = _resolve(con, run_id)
        (row,) = con.execute(
            "SELECT config_json, code_version, data_fingerprint, created_ns FROM runs WHERE run_id = ?", [rid]
        ).fetchall()
        try:
            tables = {name: _read_table(con, name, schema, rid) for name, schema in RECORD_TABLES.items()}
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            raise UserError(
                f"run {rid} was stored by an older okxbot and cannot be read here; run it again ({exc})"
            ) from None
    return BacktestResult(
        run_id=rid,
        config=json.loads(row[0]),
        code_version=row[1],
        data_fingerprint=row[2],
        created_ns=int(row[3]),
        **tables,
    )


def export_folder(out_dir: str | Path, run_id: str) -> Path:
    """`<out_dir>/<run_id>`; `out_dir` is created if missing, but its parent must exist."""
    base = Path(out_dir)
    if base.exists() and not base.is_dir():
        raise UserError(f"export folder {base} is a file, not a folder")
    if not base.exists() and not base.parent.is_dir():
        raise UserError(f"export folder {base}: its parent {base.parent} does not exist (create it first)")
    return base / run_id


def export_run(
    result: BacktestResult, out_dir: str | Path, formats: Sequence[str] = EXPORT_FORMATS
) -> list[Path]:
    """Write `<out_dir>/<run_id>/`: one Parquet file per table, config.json and run.json
    ('parquet'), and report.html ('html'). Returns the files written; UserError naming the folder
    when it cannot be written."""
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown or not formats:
        raise UserError(f"export format must be among {EXPORT_FORMATS}, got {list(formats)!r}")
    out = export_folder(out_dir, result.run_id)
    try:
        out.mkdir(parents=True, exist_ok=True)
        return _write_export(result, out, formats)
    except OSError as exc:
        raise UserError(f"cannot write the export to {out}: {exc.strerror or exc}") from exc


def _write_export(result: BacktestResult, out: Path, formats: Sequence[str]) -> list[Path]:
    import pyarrow.parquet as pq

    written: list[Path] = []
    if "parquet" in formats:
        for name in RECORD_TABLES:
            path = out / f"{name}.parquet"
            pq.write_table(getattr(result, name), path)
            written.append(path)
        meta = {
            "run_id": result.run_id,
            "created_ns": result.created_ns,
            "code_version": result.code_version,
            "data_fingerprint": result.data_fingerprint,
            "config_hash": config_hash(result.config),
        }
        for name, doc in (("config.json", result.config), ("run.json", meta)):
            (out / name).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.append(out / name)
    if "html" in formats:
        from engine.results.report import write_html

        written.append(write_html(result, out / "report.html"))
    return written
