"""Bars from trades: the numpy kernel, forward fill, the DuckDB path, and freqtrade's golden bars."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.model.errors import UserError
from engine.model.time import NS_PER_MIN, NS_PER_S, interval_ns
from engine.store.bars import bars_from_arrays, bars_from_lake, bars_table, ffill_bars
from engine.store.lake import Lake
from engine.store.schema import BARS
from tests.engine.store.factories import DAY0, trades

FREQTRADE = Path("freqtrade")


def _reference(ts: list[int], price: list[float], size: list[float], step: int) -> dict[int, tuple]:
    """Bars by a plain loop: bucket open time -> (open, high, low, close, volume)."""
    out: dict[int, list] = {}
    for t, p, s in zip(ts, price, size, strict=True):
        key = (t // step) * step
        if key not in out:
            out[key] = [p, p, p, p, 0.0]
        bar = out[key]
        bar[1], bar[2], bar[3] = max(bar[1], p), min(bar[2], p), p
        bar[4] += s
    return {k: tuple(v) for k, v in sorted(out.items())}


def _as_dict(bars: dict[str, np.ndarray]) -> dict[int, tuple]:
    keys = ("open", "high", "low", "close", "volume")
    return {int(t): tuple(float(bars[k][i]) for k in keys) for i, t in enumerate(bars["ts_event"])}


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-200, 400), st.integers(1, 50), st.integers(1, 9)), max_size=60),
    st.sampled_from([1, 7, 60]),
    st.booleans(),
)
def test_bars_from_arrays_match_a_plain_loop(found: list[tuple[int, int, int]], step_s: int, in_order: bool) -> None:
    if in_order:
        found = sorted(found, key=lambda r: r[0])
    ts = [r[0] * NS_PER_S for r in found]
    price, size = [float(r[1]) for r in found], [float(r[2]) for r in found]
    step = step_s * NS_PER_S
    got = bars_from_arrays(np.array(ts, dtype=np.int64), np.array(price), np.array(size), step)
    # out of order input: trades are taken in order of their bucket, ties in the given order
    order = sorted(range(len(ts)), key=lambda i: ts[i] // step)
    expected = _reference([ts[i] for i in order], [price[i] for i in order], [size[i] for i in order], step)
    assert _as_dict(got) == expected
    assert list(got["ts_event"]) == sorted(expected)


def test_bars_from_arrays_empty_input_gives_empty_bars() -> None:
    bars = bars_from_arrays(np.array([], dtype=np.int64), np.array([]), np.array([]), NS_PER_MIN)
    assert set(bars) == {"ts_event", "open", "high", "low", "close", "volume"}
    assert all(len(v) == 0 for v in bars.values()) and bars["ts_event"].dtype == np.int64


def test_ffill_bars_fills_empty_intervals_with_previous_close() -> None:
    bars = {
        "ts_event": np.array([0, 3 * NS_PER_MIN]),
        "open": np.array([1.0, 5.0]),
        "high": np.array([4.0, 6.0]),
        "low": np.array([0.5, 4.5]),
        "close": np.array([2.0, 5.5]),
        "volume": np.array([10.0, 3.0]),
    }
    filled = ffill_bars(bars, NS_PER_MIN)
    assert filled["ts_event"].tolist() == [0, NS_PER_MIN, 2 * NS_PER_MIN, 3 * NS_PER_MIN]
    assert filled["open"].tolist() == [1.0, 2.0, 2.0, 5.0]
    assert filled["high"].tolist() == [4.0, 2.0, 2.0, 6.0]
    assert filled["low"].tolist() == [0.5, 2.0, 2.0, 4.5]
    assert filled["close"].tolist() == [2.0, 2.0, 2.0, 5.5]
    assert filled["volume"].tolist() == [10.0, 0.0, 0.0, 3.0]


def test_bars_table_has_the_lake_schema() -> None:
    bars = bars_from_arrays(np.array([0, 1]), np.array([1.0, 2.0]), np.array([1.0, 1.0]), NS_PER_MIN)
    table = bars_table(bars, "1m")
    assert table.schema == BARS and table["interval"].to_pylist() == ["1m"]


@pytest.mark.shared_data
@pytest.mark.parametrize("interval", ["1s", "1m", "7m", "1h"])
def test_bars_from_lake_agree_with_numpy(shared_data: Path, data_root: Path, interval: str) -> None:
    # the recording crosses midnight: 7m bars straddle two date partitions
    main(
        ["--data-root", str(data_root), "data", "ingest", str(shared_data / "hftbacktest" / "spot_btcusdt_20240808.gz")]
    )
    lake = Lake.at(data_root)
    table = lake.read("trades", "binance", "BTC/USDT")
    step = interval_ns(interval)
    expected = bars_from_arrays(table["ts_event"].to_numpy(), table["price"].to_numpy(), table["size"].to_numpy(), step)
    got = bars_from_lake(lake, "binance", "BTC/USDT", interval)
    assert got.schema == BARS
    for key in ("ts_event", "open", "high", "low", "close"):
        assert got[key].to_pylist() == expected[key].tolist()
    np.testing.assert_allclose(got["volume"].to_numpy(), expected["volume"], rtol=1e-12)


def test_bars_from_lake_same_millisecond_trades_keep_lake_order(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.write("trades", "x", "ETH/USDT", trades([DAY0, DAY0, DAY0], ids=["3", "1", "2"], price=[30.0, 10.0, 20.0]))
    bars = bars_from_lake(lake, "x", "ETH/USDT", "1m")
    assert (bars["open"][0].as_py(), bars["close"][0].as_py()) == (10.0, 30.0)


def test_bars_from_lake_range_fill_and_errors(data_root: Path) -> None:
    lake = Lake.at(data_root)
    ts = [DAY0, DAY0 + 1, DAY0 + 3 * NS_PER_MIN, DAY0 + 5 * NS_PER_MIN]
    lake.write("trades", "x", "ETH/USDT", trades(ts))
    ranged = bars_from_lake(lake, "x", "ETH/USDT", "1m", start=DAY0 + 1, end=DAY0 + 5 * NS_PER_MIN)
    assert ranged["ts_event"].to_pylist() == [DAY0, DAY0 + 3 * NS_PER_MIN]
    assert ranged["open"].to_pylist() == [101.0, 102.0]
    filled = bars_from_lake(lake, "x", "ETH/USDT", "1m", fill="ffill")
    assert filled.num_rows == 6 and filled["volume"].to_pylist() == [2.0, 0.0, 0.0, 1.0, 0.0, 1.0]
    assert bars_from_lake(lake, "x", "BTC/USDT", "1m") == pa.Table.from_pylist([], schema=BARS)
    with pytest.raises(UserError, match="fill 'bfill'"):
        bars_from_lake(lake, "x", "ETH/USDT", "1m", fill="bfill")
    with pytest.raises(UserError, match="interval '1w'"):
        bars_from_lake(lake, "x", "ETH/USDT", "1w")


def _golden(shared_data: Path, name: str, non_empty: bool) -> np.ndarray:
    rows = np.array(json.loads((shared_data / FREQTRADE / name).read_text()), dtype=float)
    return rows[rows[:, 5] > 0] if non_empty else rows


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("interval", "name", "fill", "rows"),
    [
        ("1m", "XRP_ETH-1m.json", None, 2_469),
        ("1m", "XRP_ETH-1m.json", "ffill", 3_560),
        ("5m", "XRP_ETH-5m.json", None, 706),
        ("5m", "XRP_ETH-5m.json", "ffill", 712),
    ],
)
def test_golden_freqtrade_bars_from_ingested_trades(
    shared_data: Path, data_root: Path, interval: str, name: str, fill: str | None, rows: int
) -> None:
    trades_file = str(shared_data / FREQTRADE / "XRP_ETH-trades.json.gz")
    assert main(["--data-root", str(data_root), "data", "ingest", trades_file, "--venue", "binance"]) == 0
    bars = bars_from_lake(Lake.at(data_root), "binance", "XRP/ETH", interval, fill=fill)
    expected = _golden(shared_data, name, non_empty=fill is None)
    assert bars.num_rows == len(expected) == rows
    got = np.column_stack(
        [bars["ts_event"].to_numpy() // 1_000_000]
        + [bars[k].to_numpy() for k in ("open", "high", "low", "close", "volume")]
    )
    assert np.array_equal(got, expected)
