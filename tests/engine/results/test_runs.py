"""The runs database: save, list, load, export, and two processes using it at once."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.model.errors import UserError
from engine.results import runs
from engine.results.runs import connect, db_path, ensure_writable, export_run, list_runs, load_run, save_run
from tests.engine.results_factory import T0, M, scenario_result

ROOT = Path(__file__).resolve().parents[3]
TABLES = ("orders", "fills", "ledger", "marks", "equity", "stats", "allocations", "trades", "skipped")


def assert_same_table(got: pa.Table, want: pa.Table) -> None:
    """Equal schema and values, NaN equal to NaN (Arrow's equals says NaN != NaN)."""
    assert got.schema == want.schema
    assert got.num_rows == want.num_rows
    for name in want.column_names:
        g, w = got[name].to_pylist(), want[name].to_pylist()
        assert [("nan" if x != x else x) for x in g] == [("nan" if x != x else x) for x in w], name


def test_save_then_load_returns_the_same_run(data_root: Path) -> None:
    result = scenario_result()
    save_run(data_root, result)
    loaded = load_run(data_root, result.run_id)
    assert (loaded.run_id, loaded.config, loaded.code_version) == (result.run_id, result.config, "0.1.0+test")
    assert (loaded.data_fingerprint, loaded.created_ns) == ("fp-scenario", result.created_ns)
    for name in TABLES:
        assert_same_table(getattr(loaded, name), getattr(result, name))


def test_load_unique_prefix_resolves(data_root: Path) -> None:
    save_run(data_root, scenario_result(run_id="20240101T000000-abc00001"))
    save_run(data_root, scenario_result(run_id="20240101T000000-abd00002"))
    assert load_run(data_root, "20240101T000000-abd").run_id == "20240101T000000-abd00002"


def test_load_ambiguous_prefix_names_the_id(data_root: Path) -> None:
    save_run(data_root, scenario_result(run_id="20240101T000000-abc00001"))
    save_run(data_root, scenario_result(run_id="20240101T000000-abd00002"))
    with pytest.raises(UserError, match=r"ambiguous run id '20240101T000000-ab'.*2 runs"):
        load_run(data_root, "20240101T000000-ab")


def test_load_unknown_id_names_it(data_root: Path) -> None:
    with pytest.raises(UserError, match="unknown run id 'nope'"):
        load_run(data_root, "nope")  # no database yet
    save_run(data_root, scenario_result())
    with pytest.raises(UserError, match="unknown run id 'nope'"):
        load_run(data_root, "nope")


def test_save_same_id_twice_replaces_the_run(data_root: Path) -> None:
    save_run(data_root, scenario_result(venue="okx"))
    save_run(data_root, scenario_result(venue="synthetic"))
    runs = list_runs(data_root)
    assert len(runs) == 1 and runs[0]["venue"] == "synthetic"
    assert load_run(data_root, runs[0]["run_id"]).fills.num_rows == 2  # not doubled


def test_list_runs_newest_first_with_limit_and_portfolio_stats(data_root: Path) -> None:
    assert list_runs(data_root) == []
    for i in range(3):
        save_run(data_root, scenario_result(run_id=f"20240101T00000{i}-0000000{i}", created_ns=T0 + i * M))
    runs = list_runs(data_root, limit=2)
    assert [r["run_id"] for r in runs] == ["20240101T000002-00000002", "20240101T000001-00000001"]
    first = runs[0]
    assert first["strategies"] == ["a", "b"] and first["symbols"] == ["ETH/USDT"]
    assert first["fill_model"] == "taker" and first["start_ns"] == T0
    # portfolio pnl of the scenario: a 1.4245 + b 0.375
    assert first["pnl"] == pytest.approx(1.7995)


@pytest.mark.parametrize("limit", [0, -1, True, 2.5])
def test_list_runs_bad_limit_names_it(data_root: Path, limit: object) -> None:
    save_run(data_root, scenario_result())
    with pytest.raises(UserError, match=f"limit {limit!r}"):
        list_runs(data_root, limit=limit)  # type: ignore[arg-type]


def test_load_run_stored_by_older_code_is_a_user_error(data_root: Path) -> None:
    save_run(data_root, scenario_result())
    with connect(data_root) as con:  # an older store had no trades table
        con.execute("DROP TABLE run_trades")
    assert [r["run_id"] for r in list_runs(data_root)] == [scenario_result().run_id]
    with pytest.raises(UserError, match="older okxbot"):
        load_run(data_root, scenario_result().run_id)


def test_list_runs_db_without_runs_tables_is_empty(data_root: Path) -> None:
    with connect(data_root) as con:  # another module's tables in the same file
        con.execute("CREATE TABLE catalog (x INTEGER)")
    assert list_runs(data_root) == []


def test_export_run_writes_parquet_config_and_html(tmp_path: Path) -> None:
    result = scenario_result()
    paths = export_run(result, tmp_path / "out")
    names = sorted(p.name for p in paths)
    assert names == sorted([f"{t}.parquet" for t in TABLES] + ["config.json", "run.json", "report.html"])
    folder = tmp_path / "out" / result.run_id
    assert all(p.parent == folder and p.is_file() for p in paths)
    assert_same_table(pq.read_table(folder / "ledger.parquet"), result.ledger)
    assert json.loads((folder / "config.json").read_text()) == result.config
    assert json.loads((folder / "run.json").read_text())["code_version"] == "0.1.0+test"


def test_export_run_writes_allocations_trades_and_skipped(tmp_path: Path) -> None:
    result = scenario_result()
    export_run(result, tmp_path, formats=("parquet",))
    folder = tmp_path / result.run_id
    allocations = pq.read_table(folder / "allocations.parquet").to_pylist()
    assert [(a["fill_seq"], a["strategy_id"], a["qty"]) for a in allocations] == [(0, "a", 1.0), (0, "b", 0.5),
                                                                                 (1, "a", -0.5)]
    trades = pq.read_table(folder / "trades.parquet")
    assert trades.column("strategy_id").to_pylist() == ["a", "b"]
    assert pq.read_table(folder / "fills.parquet").column("strategy_id").to_pylist() == ["a,b", "a"]
    skipped = pq.read_table(folder / "skipped.parquet").to_pylist()
    assert [(r["strategy_id"], r["kind"], r["asked"], r["kept"]) for r in skipped] == [("b", "target", 0.0004, 0.0)]


def test_export_run_missing_parent_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"its parent .*nowhere does not exist"):
        export_run(scenario_result(), tmp_path / "nowhere" / "dir")
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        export_run(scenario_result(), tmp_path / "file")
    # the folder itself is created when its parent exists
    assert export_run(scenario_result(), tmp_path / "new", formats=("html",))[0].is_file()


def test_export_run_write_error_is_one_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(runs, "_write_export", read_only)
    with pytest.raises(UserError, match=r"cannot write the export to .*: Read-only file system"):
        export_run(scenario_result(), tmp_path)


def test_export_run_html_only_and_bad_format(tmp_path: Path) -> None:
    assert [p.name for p in export_run(scenario_result(), tmp_path, formats=("html",))] == ["report.html"]
    with pytest.raises(UserError, match="csv"):
        export_run(scenario_result(), tmp_path, formats=("csv",))


def erofs(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.EROFS, "Read-only file system")


def test_ensure_writable_creates_the_data_root(tmp_path: Path) -> None:
    ensure_writable(tmp_path / "new" / "root")
    assert (tmp_path / "new" / "root").is_dir()
    assert list((tmp_path / "new" / "root").iterdir()) == []  # the scratch file is gone


def test_ensure_writable_path_through_a_file_names_it(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    root = tmp_path / "afile" / "data"
    with pytest.raises(UserError, match=rf"cannot store runs in {root / 'okxbot.duckdb'}.*--no-save"):
        ensure_writable(root)


def test_ensure_writable_read_only_disk_names_path_and_no_save(data_root: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs.tempfile, "mkstemp", erofs)
    with pytest.raises(UserError) as caught:
        ensure_writable(data_root)
    message = str(caught.value)
    assert str(db_path(data_root)) in message and "Read-only file system" in message and "--no-save" in message


def test_save_run_write_error_leaves_no_half_written_run(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = scenario_result(run_id="20240101T000000-00000001")
    save_run(data_root, first)
    real_insert = runs._insert
    written: list[str] = []

    def insert_then_fail(con: duckdb.DuckDBPyConnection, name: str, run_id: str, table: pa.Table) -> None:
        if len(written) == 3:  # orders, fills and ledger went in; the disk turns read-only
            erofs()
        written.append(name)
        real_insert(con, name, run_id, table)

    monkeypatch.setattr(runs, "_insert", insert_then_fail)
    with pytest.raises(UserError, match=rf"cannot store runs in {db_path(data_root)}: Read-only.*--no-save"):
        save_run(data_root, scenario_result(run_id="20240101T000000-00000002"))
    assert written == ["orders", "fills", "ledger"]
    monkeypatch.undo()
    assert [r["run_id"] for r in list_runs(data_root)] == [first.run_id]
    with connect(data_root) as con:
        for name in TABLES:
            (count,) = con.execute(f"SELECT count(*) FROM run_{name} WHERE run_id LIKE '%00000002'").fetchall()[0]
            assert count == 0, name
    assert load_run(data_root, first.run_id).fills.num_rows == 2


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def hold_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the database file open for `seconds`."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_save_waits_while_another_process_holds_the_file(data_root: Path) -> None:
    save_run(data_root, scenario_result(run_id="20240101T000000-00000001"))
    holder = hold_lock(db_path(data_root), 1.0)
    try:
        with pytest.raises(duckdb.IOException):  # the file really is locked right now
            duckdb.connect(str(db_path(data_root))).close()
        save_run(data_root, scenario_result(run_id="20240101T000000-00000002"))
    finally:
        holder.wait(timeout=30)
    assert {r["run_id"] for r in list_runs(data_root)} == {"20240101T000000-00000001", "20240101T000000-00000002"}


def test_connect_gives_up_after_timeout_with_user_error(data_root: Path) -> None:
    holder = hold_lock(db_path(data_root), 20.0)
    try:
        with pytest.raises(UserError, match="locked"), connect(data_root, timeout_s=0.3):
            pass
    finally:
        holder.terminate()
        holder.wait(timeout=30)


WORKER = """
import sys
from engine.results.runs import list_runs, save_run
from tests.engine.results_factory import scenario_result
root, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    save_run(root, scenario_result(run_id=f"20240101T000000-{tag}{i:06d}", created_ns=i))
    assert any(r["run_id"] == f"20240101T000000-{tag}{i:06d}" for r in list_runs(root, limit=1000))
"""


def test_two_processes_save_and_list_at_once_lose_nothing(data_root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    n = 6
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(data_root), tag, str(n)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("aa", "bb")
    ]
    deadline = time.monotonic() + 120
    for proc in procs:
        _, err = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
        assert proc.returncode == 0, err
    ids = {r["run_id"] for r in list_runs(data_root, limit=1000)}
    assert ids == {f"20240101T000000-{tag}{i:06d}" for tag in ("aa", "bb") for i in range(n)}
    assert load_run(data_root, "20240101T000000-bb000005").ledger.num_rows == 6
