"""DuckDB views over the lake, for notebooks and queries.

`connect` opens an in-memory database, never a database file, so any number of notebooks,
CLI commands and writers can use the lake at once: views read the Parquet files in place, and
writers replace files atomically. Views read every part file as stored: rows appended twice since
the last compaction show twice here (`Lake.read` de-duplicates them). Each view has the kind's
columns plus `venue`, `symbol` (ccxt form) and `date` from the partition path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from engine.store.lake import Lake
from engine.store.schema import KINDS

_PARTS = "part-*.parquet"  # the merged file and parts appended since; temporary files start with "."
_SQL_TYPES = {pa.int64(): "BIGINT", pa.int8(): "TINYINT", pa.float64(): "DOUBLE", pa.string(): "VARCHAR"}


def connect(lake: Lake | str | Path) -> Any:
    """An in-memory DuckDB connection with views `trades`, `quotes`, `bars`, `mark`, `funding` over
    a `Lake` or the lake under a data root given as a path (`connect("data")`)."""
    import duckdb

    con = duckdb.connect(":memory:")
    refresh(con, lake if isinstance(lake, Lake) else Lake.at(lake))
    return con


def refresh(con: Any, lake: Lake) -> None:
    """(Re)create the views, e.g. after a kind that was empty received its first files."""
    for kind in KINDS:
        con.execute(f"CREATE OR REPLACE VIEW {kind} AS {view_sql(lake, kind)}")


def view_sql(lake: Lake, kind: str) -> str:
    """The SELECT behind a kind's view (an empty, typed one when the kind has no files yet)."""
    columns = ", ".join(KINDS[kind].names)
    if not any((lake.root / kind).glob(f"venue=*/symbol=*/date=*/{_PARTS}")):
        typed = ", ".join(f"CAST(NULL AS {_SQL_TYPES[f.type]}) AS {f.name}" for f in KINDS[kind])
        partition = "CAST(NULL AS VARCHAR) AS venue, CAST(NULL AS VARCHAR) AS symbol, CAST(NULL AS DATE) AS date"
        return f"SELECT {typed}, {partition} WHERE false"
    pattern = str(lake.root / kind / "*" / "*" / "*" / _PARTS).replace("'", "''")
    # the partition path spells ETH/USDT:USDT as ETH-USDT.USDT; views show the ccxt form
    symbol = "replace(regexp_replace(symbol, '-', '/'), '.', ':')"
    return (
        f"SELECT {columns}, venue, {symbol} AS symbol, date FROM read_parquet('{pattern}', "
        "hive_partitioning = true, hive_types = {'venue': VARCHAR, 'symbol': VARCHAR, 'date': DATE})"
    )
