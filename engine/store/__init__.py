"""The tick store: a Parquet lake partitioned kind/venue=/symbol=/date=, queried with DuckDB."""

from engine.store.bars import bars_from_lake
from engine.store.catalog import connect
from engine.store.lake import Lake, WriteReport
from engine.store.synthetic import SynthConfig, write_synthetic

__all__ = ["Lake", "SynthConfig", "WriteReport", "bars_from_lake", "connect", "write_synthetic"]
