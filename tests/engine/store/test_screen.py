"""The bad-row rule, for every format and kind: a bad row is counted by reason and skipped, the rest
kept; a file with more than half its rows rejected is refused whole, naming the file, the column
and a value that is in the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.model.errors import UserError
from engine.store.formats import Options
from engine.store.ingest import FileResult, ingest_paths
from engine.store.lake import Lake
from engine.store.screen import describe, judge, screen

T0 = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC in ms
XY = Options("x", "ETH/USDT")


def ingest(tmp_path: Path, name: str, text: str | bytes, options: Options = XY) -> FileResult:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    (result,) = ingest_paths(Lake(tmp_path / "lake"), [path], options)
    return result


def trades_csv(prices: list[str]) -> str:
    rows = "".join(f"{T0 + i},{p},1,buy,{i}\n" for i, p in enumerate(prices))
    return "ts,price,size,side,id\n" + rows


def kept(result: FileResult) -> tuple[int, int, dict[str, int]]:
    assert result.refused is None, result.refused
    (report,) = result.reports
    return report.received, report.new_rows, report.rejected


# --- generic CSV ------------------------------------------------------------------------------


def test_csv_one_unparsable_price_of_ten_keeps_nine(tmp_path: Path) -> None:
    result = ingest(tmp_path, "t.csv", trades_csv(["100"] * 4 + ["abc"] + ["101"] * 5))
    assert kept(result) == (10, 9, {"price_unparsable": 1})
    assert result.reports[0].examples["price_unparsable"] == ("price", "abc")
    ids = Lake(tmp_path / "lake").read("trades", "x", "ETH/USDT")["trade_id"].to_pylist()
    assert ids == ["0", "1", "2", "3", "5", "6", "7", "8", "9"]


def test_csv_six_bad_of_ten_is_refused_naming_file_column_and_value(tmp_path: Path) -> None:
    result = ingest(tmp_path, "t.csv", trades_csv(["abc"] * 6 + ["100"] * 4))
    assert result.refused is not None and result.reports == []
    assert "t.csv: refused, 6 of 10 rows rejected, most as price_unparsable: column 'price' holds 'abc'" in (
        result.refused
    )
    assert Lake(tmp_path / "lake").entries() == []


def test_csv_exactly_half_bad_is_kept(tmp_path: Path) -> None:
    result = ingest(tmp_path, "t.csv", trades_csv(["-1"] * 5 + ["100"] * 5))
    assert kept(result) == (10, 5, {"price_nonpositive": 5})
    assert result.reports[0].examples["price_nonpositive"] == ("price", "-1.0")


def test_csv_bad_time_is_quoted_not_a_good_one(tmp_path: Path) -> None:
    times = [f"2024-01-01T00:00:0{i}Z" for i in range(9)] + ["yesterday"]
    text = "time,price,size,side\n" + "".join(f"{t},100,1,sell\n" for t in times)
    result = ingest(tmp_path, "t.csv", text)
    assert kept(result) == (10, 9, {"ts_unparsable": 1})
    assert result.reports[0].examples["ts_unparsable"] == ("time", "yesterday")


def test_csv_mixed_epoch_and_iso_times_both_read(tmp_path: Path) -> None:
    text = "time,price,size,side\n1704067200000,100,1,buy\n2024-01-01T00:00:01Z,100,1,buy\n"
    assert kept(ingest(tmp_path, "t.csv", text)) == (2, 2, {})
    ts = Lake(tmp_path / "lake").read("trades", "x", "ETH/USDT")["ts_event"].to_pylist()
    assert ts == [T0 * 10**6, (T0 + 1000) * 10**6]


def test_csv_unknown_side_and_short_row_are_counted(tmp_path: Path) -> None:
    text = trades_csv(["100"] * 8).replace(f"{T0 + 2},100,1,buy", f"{T0 + 2},100,1,hold") + f"{T0 + 9},100\n"
    result = ingest(tmp_path, "t.csv", text)
    assert kept(result) == (8, 7, {"side_invalid": 1})
    assert result.reports[0].examples["side_invalid"] == ("side", "hold")
    assert result.skipped == {"malformed": 1}


def test_csv_sizes_mapped_as_prices_refused_with_the_columns_name(tmp_path: Path) -> None:
    text = "ts,price,amount,side\n" + "".join(f"{T0 + i},1,{-i - 1},buy\n" for i in range(4))
    result = ingest(tmp_path, "t.csv", text)
    assert result.refused is not None
    assert "most as size_nonpositive: column 'amount' holds '-1.0'" in result.refused


@pytest.mark.parametrize(
    ("header", "row", "bad", "reason", "column"),
    [
        ("ts,bid,ask", "{t},99,100", "{t},x,100", "bid_unparsable", "bid"),
        ("ts,open,high,low,close,volume", "{t},1,2,0.5,1.5,10", "{t},1,zz,0.5,1.5,10", "high_unparsable", "high"),
        ("ts,funding_rate", "{t},0.0001", "{t},0.01%", "rate_unparsable", "funding_rate"),
    ],
)
def test_csv_every_kind_counts_one_bad_row(
    tmp_path: Path, header: str, row: str, bad: str, reason: str, column: str
) -> None:
    minutes = [T0 + 60_000 * i for i in range(10)]
    lines = [(bad if i == 3 else row).format(t=t) for i, t in enumerate(minutes)]
    result = ingest(tmp_path, "k.csv", header + "\n" + "\n".join(lines) + "\n")
    assert kept(result) == (10, 9, {reason: 1})
    value = bad.split(",")[header.split(",").index(column)]
    assert result.reports[0].examples[reason] == (column, value)


def test_parquet_text_prices_one_bad(tmp_path: Path) -> None:
    table = pa.table(
        {
            "timestamp": pa.array([T0 + i for i in range(4)], pa.int64()),
            "price": ["1.5", "2", "oops", "3"],
            "qty": [1.0] * 4,
            "is_buyer_maker": [True, False, True, False],
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    (result,) = ingest_paths(Lake(tmp_path / "lake"), [tmp_path / "p.parquet"], XY)
    assert kept(result) == (4, 3, {"price_unparsable": 1})
    assert result.reports[0].examples["price_unparsable"] == ("price", "oops")


# --- freqtrade, OKX CSV, recordings ------------------------------------------------------------


def freqtrade_trades(prices: list[object]) -> str:
    return json.dumps([[T0 + i, str(i), None, "buy", p, 1.0, 1.0] for i, p in enumerate(prices)])


def test_freqtrade_one_bad_price_of_ten_keeps_nine(tmp_path: Path) -> None:
    result = ingest(tmp_path, "ETH_USDT-trades.json", freqtrade_trades([100.0] * 9 + ["abc"]), Options("x"))
    assert kept(result) == (10, 9, {"price_unparsable": 1})
    assert result.reports[0].examples["price_unparsable"] == ("field 5 (price)", "abc")


def test_freqtrade_iso_times_refused_quoting_one(tmp_path: Path) -> None:
    rows = [[f"2024-01-01T00:00:0{i}Z", str(i), None, "buy", 100.0, 1.0, 1.0] for i in range(4)]
    result = ingest(tmp_path, "ETH_USDT-trades.json", json.dumps(rows), Options("x"))
    assert result.refused is not None
    assert "most as ts_unparsable: column 'field 1 (time)' holds '2024-01-01T00:00:00Z'" in result.refused


def test_freqtrade_candles_and_short_rows(tmp_path: Path) -> None:
    rows: list[object] = [[T0 + 60_000 * i, 1, 2, 0.5, 1.5, 10] for i in range(8)]
    rows[2] = [T0 + 120_000, 1, 2, 0.5, -1.5, 10]
    rows.append([T0 + 600_000, 1])
    result = ingest(tmp_path, "ETH_USDT-1m.json", json.dumps(rows), Options("x"))
    assert kept(result) == (8, 7, {"close_nonpositive": 1})
    assert result.skipped == {"malformed": 1}


def okx_csv(times: list[str], prices: list[str]) -> str:
    head = "instrument_name,trade_id,side,price,size,created_time\n"
    return head + "".join(f"ETH-USDT,{i},buy,{p},0.5,{t}\n" for i, (t, p) in enumerate(zip(times, prices, strict=True)))


def test_okx_csv_one_bad_price_of_ten_keeps_nine(tmp_path: Path) -> None:
    prices = ["2000"] * 9 + ["abc"]
    result = ingest(tmp_path, "o.csv", okx_csv([str(T0 + i) for i in range(10)], prices), Options())
    assert kept(result) == (10, 9, {"price_unparsable": 1})
    assert result.reports[0].examples["price_unparsable"] == ("price", "abc")


def test_okx_csv_iso_created_time_refused_quoting_an_iso_string_of_the_file(tmp_path: Path) -> None:
    times = [f"2024-01-01T00:00:0{i}.000Z" for i in range(10)]
    result = ingest(tmp_path, "o.csv", okx_csv(times, ["2000"] * 10), Options())
    assert result.refused is not None
    assert "10 of 10 rows rejected, most as ts_unparsable: column 'created_time' holds '2024-01-01T00:00:00.000Z'" in (
        result.refused
    )


def okx_push(trades: list[tuple[str, str]]) -> str:
    data = [{"instId": "ETH-USDT", "tradeId": i, "px": px, "sz": "1", "side": "buy", "ts": str(T0)} for i, px in trades]
    return json.dumps({"arg": {"channel": "trades", "instId": "ETH-USDT"}, "data": data})


def test_okx_ws_one_bad_trade_in_a_message_costs_one_row(tmp_path: Path) -> None:
    lines = [okx_push([("1", "2000"), ("2", "abc"), ("3", "2001")]), okx_push([("4", "2002")])]
    result = ingest(tmp_path, "w.jsonl", "\n".join(lines) + "\n", Options())
    assert kept(result) == (3, 3, {})
    assert result.skipped == {"malformed": 1}


def test_okx_ws_mostly_garbage_refused_quoting_a_line(tmp_path: Path) -> None:
    lines = [okx_push([("1", "2000")]), "garbage {{{", "more garbage", "{not json"]
    result = ingest(tmp_path, "w.jsonl", "\n".join(lines) + "\n", Options())
    assert result.refused is not None
    assert "3 of 4 rows rejected, most as malformed" in result.refused and "garbage {{{" in result.refused


def test_binance_ws_bad_price_line_is_one_malformed_row(tmp_path: Path) -> None:
    def line(i: int, price: str) -> str:
        data = {"e": "trade", "T": T0 + i, "t": i, "p": price, "q": "1", "m": False}
        return f"{T0 * 10**6 + i} " + json.dumps({"stream": "ethusdt@trade", "data": data})

    text = "\n".join(line(i, "abc" if i == 4 else "2000") for i in range(10)) + "\n"
    result = ingest(tmp_path, "b.txt", text, Options())
    assert kept(result) == (9, 9, {})
    assert result.skipped == {"malformed": 1}


# --- the pieces -------------------------------------------------------------------------------


def test_screen_counts_each_row_once_and_quotes_first_values() -> None:
    table = pa.table(
        {
            "ts_event": pa.array([1, 2, None, 4], pa.int64()),
            "price": [1.0, -2.0, 1.0, float("nan")],
            "size": [1.0, 0.0, 1.0, 1.0],
            "side": pa.array([1, 1, 1, 1], pa.int8()),
        }
    )
    screened = screen("trades", table, columns={"size": "qty"})
    assert screened.kept.num_rows == 1 and screened.received == 4
    assert screened.rejected == {"ts_missing": 1, "price_nonpositive": 1, "price_nan": 1}
    assert screened.examples["price_nonpositive"] == ("price", "-2.0")
    assert screened.examples["ts_missing"] == ("ts_event", None)


def test_judge_refuses_only_more_than_half() -> None:
    judge("f", 10, {"a": 5}, {})
    with pytest.raises(UserError, match=r"^f: refused, 6 of 10 rows rejected, most as b: column 'c' holds 'v'"):
        judge("f", 10, {"a": 2, "b": 4}, {"b": ("c", "v")})


def test_describe_largest_first_with_examples() -> None:
    text = describe({"a": 1, "b": 3}, {"a": ("x", None), "b": ("y", "7")})
    assert text == "b 3 (column 'y' holds '7'), a 1 (column 'x' is empty)"


def test_screen_unreadable_rows_take_their_reason_not_nan() -> None:
    from engine.store.formats._values import read_floats

    price, bad = read_floats(pa.array(["1", "x", " 2 ", "1_0"]), "px", "price")
    assert price.to_pylist() == [1.0, None, 2.0, None]
    assert bad is not None and bad.value == "x" and np.flatnonzero(bad.mask).tolist() == [1, 3]
    table = pa.table({"ts_event": pa.array([1, 2, 3, 4], pa.int64()), "price": price, "size": [1.0] * 4,
                      "side": pa.array([1] * 4, pa.int8())})
    screened = screen("trades", table, [bad])
    assert screened.rejected == {"price_unparsable": 2} and screened.examples["price_unparsable"] == ("px", "x")
