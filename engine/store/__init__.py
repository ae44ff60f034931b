"""The tick store: a Parquet lake partitioned kind/venue=/symbol=/date=, queried with DuckDB."""
