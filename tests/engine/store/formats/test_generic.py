"""Generic CSV, Parquet and Arrow tables."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from engine.model.errors import UserError
from engine.store import formats
from engine.store.formats import Options, Source, generic


@pytest.mark.shared_data
def test_parquet_trades_with_buyer_maker_strings(shared_data: Path) -> None:
    path = shared_data / "nautilus" / "binance_btcusdt-trades.parquet"
    source = Source(path)
    assert formats.detect(source) is generic
    (batch,) = generic.parse(source, Options(venue="binance", symbol="BTC/USDT")).batches
    raw = pq.read_table(path)
    assert batch.kind == "trades" and batch.table.num_rows == 2_001
    sells = pc.sum(pc.equal(raw["buyer_maker"], "True")).as_py()
    assert batch.table["side"].to_pylist().count(-1) == sells
    assert batch.table["ts_event"][0].as_py() == raw["timestamp"][0].value * 1_000_000
    assert batch.table["size"].to_pylist() == raw["quantity"].to_pylist()


@pytest.mark.shared_data
def test_csv_bars_with_naive_times_infer_one_minute(shared_data: Path) -> None:
    source = Source(shared_data / "nautilus" / "btc-perp-20211231-20220201_1m.csv")
    (batch,) = generic.parse(source, Options(venue="ftx", symbol="BTC/USD:USD")).batches
    assert batch.kind == "bars" and batch.table.num_rows == 45_031
    assert batch.table["interval"].unique().to_pylist() == ["1m"]
    assert batch.table["ts_event"][0].as_py() == 1_640_991_660_000_000_000  # 2021-12-31T23:01:00Z


@pytest.mark.shared_data
def test_tardis_quotes_microseconds_and_local_time(shared_data: Path) -> None:
    path = shared_data / "nautilus" / "tardis_huobi-dm-swap_quotes_BTC-USD.csv"
    (batch,) = generic.parse(Source(path), Options(symbol="BTC/USD:BTC")).batches
    assert (batch.kind, batch.venue) == ("quotes", "huobi-dm-swap")
    assert batch.table["ts_event"][0].as_py() == 1588291201099000 * 1000
    assert batch.table["ts_recv"][0].as_py() == 1588291201234268 * 1000


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        (["2024-01-01T00:00:01Z", "2024-01-01T00:00:02.5+01:00"], [1704067201000000000, 1704063602500000000]),
        (["1704067201000", "1704067202000"], [1704067201000000000, 1704067202000000000]),
        (["1704067201.5", "1704067202"], [1704067201500000000, 1704067202000000000]),
    ],
)
def test_csv_trade_times_in_iso_ms_or_seconds(tmp_path: Path, times: list[str], expected: list[int]) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Time,Price,Qty,Side,Symbol\n"
        + "".join(f"{t},10,1,{s},ETH/USDT\n" for t, s in zip(times, ["BUY", "-1"], strict=True))
    )
    (batch,) = generic.parse(Source(path), Options(venue="x")).batches
    assert batch.symbol == "ETH/USDT"
    assert batch.table["ts_event"].to_pylist() == expected
    assert batch.table["side"].to_pylist() == [1, -1]


def test_interval_option_overrides_spacing(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("timestamp;open;high;low;close\n0;1;2;1;2\n60000;2;3;2;3\n")
    (batch,) = generic.parse(Source(path), Options("x", "ETH/USDT", interval="1h")).batches
    assert batch.table["interval"].to_pylist() == ["1h", "1h"] and batch.table["volume"].to_pylist() == [0.0, 0.0]
    with pytest.raises(UserError, match="--venue"):
        generic.parse(Source(path), Options(symbol="ETH/USDT"))


def test_feather_funding_rates(tmp_path: Path) -> None:
    path = tmp_path / "f.feather"
    feather.write_feather(
        pa.table({"date": pa.array([0, 28_800_000], pa.timestamp("ms", "UTC")), "funding_rate": [1e-4, 2e-4]}), path
    )
    (batch,) = generic.parse(Source(path), Options("okx", "ETH/USDT:USDT")).batches
    assert batch.kind == "funding" and batch.table["ts_event"].to_pylist() == [0, 28_800_000_000_000]


def test_table_without_a_time_column_is_unrecognised(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("price,size\n1,2\n")
    with pytest.raises(UserError, match="unrecognised format"):
        formats.detect(Source(path))
