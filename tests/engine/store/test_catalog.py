"""DuckDB views over the lake, and sharing the lake between processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from engine.store.catalog import connect, refresh
from engine.store.lake import Lake
from engine.store.schema import KINDS
from tests.engine.store.factories import DAY0, bars, seconds, trades

ROOT = Path(__file__).resolve().parents[3]


def test_views_show_partition_columns_and_ccxt_symbols(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "okx", "ETH/USDT:USDT", trades(seconds(1, 2)))
    lake.write("trades", "binance", "ETH/USDT", trades(seconds(3)))
    lake.write("bars", "okx", "ETH/USDT:USDT", bars(seconds(0), [10], [1]))
    con = connect(lake)
    rows = con.sql(
        "SELECT venue, symbol, CAST(date AS VARCHAR), count(*) FROM trades GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert rows == [("binance", "ETH/USDT", "2024-01-01", 1), ("okx", "ETH/USDT:USDT", "2024-01-01", 2)]
    assert con.sql("SELECT close FROM bars WHERE symbol = 'ETH/USDT:USDT'").fetchall() == [(10.0,)]


def test_empty_kinds_have_typed_empty_views(data_root: Path) -> None:
    con = connect(Lake.at(data_root))
    for kind, schema in KINDS.items():
        result = con.sql(f"SELECT * FROM {kind}")
        assert result.fetchall() == []
        assert result.columns == [*schema.names, "venue", "symbol", "date"]
    assert con.sql("SELECT typeof(ts_event), typeof(side) FROM trades").fetchall() == []
    assert [t for _, t, *_ in con.sql("DESCRIBE trades").fetchall()][:6] == [
        "BIGINT",
        "BIGINT",
        "VARCHAR",
        "DOUBLE",
        "DOUBLE",
        "TINYINT",
    ]


def test_views_see_new_files_and_refresh_adds_new_kinds(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "okx", "ETH/USDT", trades(seconds(1)))
    con = connect(lake)
    lake.write("trades", "okx", "ETH/USDT", trades([DAY0 + 86_400 * 10**9], ids=["9"]))
    lake.write("funding", "okx", "ETH/USDT", pa.table({"ts_event": seconds(0), "rate": [1e-4]}))
    assert con.sql("SELECT count(*) FROM trades").fetchall() == [(2,)]
    assert con.sql("SELECT count(*) FROM funding").fetchall() == [(0,)]
    refresh(con, lake)
    assert con.sql("SELECT rate FROM funding").fetchall() == [(1e-4,)]


_HOLDER = """
import sys
from engine.store.catalog import connect
from engine.store.lake import Lake
con = connect(Lake.at(sys.argv[1]))
print(con.sql("SELECT count(*) FROM trades").fetchall()[0][0], flush=True)
sys.stdin.readline()
print(con.sql("SELECT count(*) FROM trades").fetchall()[0][0], flush=True)
"""


@pytest.mark.shared_data
def test_open_catalog_does_not_block_cli_ingest_and_ls(shared_data: Path, data_root: Path) -> None:
    Lake.at(data_root).write("trades", "okx", "ETH/USDT", trades(seconds(1, 2, 3)))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(data_root)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "3"
        cli = [sys.executable, "-m", "engine.cli", "--data-root", str(data_root), "data"]
        recording = str(shared_data / "hftbacktest" / "spot_btcusdt_20240808.gz")
        ingest = subprocess.run([*cli, "ingest", recording], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert ingest.returncode == 0, ingest.stderr
        listing = subprocess.run([*cli, "ls"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert listing.returncode == 0, listing.stderr
        assert "binance" in listing.stdout and "9,757" in listing.stdout
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == str(3 + 9_757)
    finally:
        holder.kill()
        holder.wait()


def test_connect_takes_a_data_root_path_as_well_as_a_lake(data_root: Path) -> None:
    Lake.at(data_root).write("trades", "okx", "ETH/USDT:USDT", trades(seconds(1, 2)))
    for where in (data_root, str(data_root), Lake.at(data_root)):
        assert connect(where).sql("SELECT count(*) FROM trades").fetchall() == [(2,)]
