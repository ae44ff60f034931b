"""Lake summaries and gaps, and `okxbot data ls`."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from engine.cli import main
from engine.model.errors import UserError
from engine.model.time import NS_PER_DAY, NS_PER_MIN, NS_PER_S
from engine.store.inspect import Gap, parse_duration, summarize
from engine.store.lake import Lake
from tests.engine.store.factories import DAY0, bars, book_rows, gap_rows, instrument_row, trades

HOUR = 60 * NS_PER_MIN


@pytest.mark.parametrize(
    ("text", "ns"), [("90s", 90 * NS_PER_S), ("30m", 30 * NS_PER_MIN), ("1h", HOUR), ("2d", 2 * NS_PER_DAY)]
)
def test_parse_duration(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["1w", "0h", "h", "1.5h"])
def test_parse_duration_rejects_other_text(text: str) -> None:
    with pytest.raises(UserError, match=repr(text)):
        parse_duration(text)


def test_trade_gaps_longer_than_threshold_across_days(data_root: Path) -> None:
    lake = Lake.at(data_root)
    ts = [DAY0, DAY0 + HOUR // 2, DAY0 + 3 * HOUR, DAY0 + NS_PER_DAY + 2 * HOUR, DAY0 + NS_PER_DAY + 2 * HOUR + 1]
    lake.write("trades", "okx", "ETH/USDT", trades(ts))
    (info,) = summarize(lake, HOUR)
    assert (info.kind, info.venue, info.symbol, info.interval, info.rows) == ("trades", "okx", "ETH/USDT", "", 5)
    assert (info.first, info.last, info.gap_count) == (ts[0], ts[-1], 2)
    assert info.largest_gaps == (Gap(ts[2], ts[3]), Gap(ts[1], ts[2]))
    assert summarize(lake, HOUR, largest=1)[0].largest_gaps == (Gap(ts[2], ts[3]),)
    assert summarize(lake, NS_PER_DAY)[0].gap_count == 0


def test_bar_gaps_count_missing_time_beyond_the_interval(data_root: Path) -> None:
    lake = Lake.at(data_root)
    minutes = [*range(0, 10), *range(100, 105)]
    lake.write("bars", "okx", "ETH/USDT", bars([DAY0 + m * NS_PER_MIN for m in minutes], [10.0] * 15, [1.0] * 15))
    lake.write("bars", "okx", "ETH/USDT", bars([DAY0 + h * HOUR for h in range(3)], [10.0] * 3, [1.0] * 3, "1h"))
    hourly, one_minute = sorted(summarize(lake, HOUR), key=lambda i: i.interval)
    assert (one_minute.interval, one_minute.rows, one_minute.gap_count) == ("1m", 15, 1)
    assert one_minute.largest_gaps == (Gap(DAY0 + 10 * NS_PER_MIN, DAY0 + 100 * NS_PER_MIN),)
    assert (hourly.interval, hourly.gap_count) == ("1h", 0)


def test_funding_gaps_beyond_the_usual_spacing(data_root: Path) -> None:
    lake = Lake.at(data_root)
    hours = [0, 8, 16, 24, 40, 48]
    lake.write(
        "funding", "okx", "ETH/USDT:USDT", pa.table({"ts_event": [DAY0 + h * HOUR for h in hours], "rate": [1e-4] * 6})
    )
    (info,) = summarize(lake, HOUR, kinds=["funding"])
    assert info.gap_count == 1 and info.largest_gaps == (Gap(DAY0 + 32 * HOUR, DAY0 + 40 * HOUR),)
    assert summarize(lake, HOUR, kinds=["trades"]) == []


def test_cli_ls_prints_series_and_gaps(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-root", str(data_root), "data", "ls"]) == 0
    assert "no data in" in capsys.readouterr().out
    lake = Lake.at(data_root)
    lake.write("trades", "okx", "ETH/USDT", trades([DAY0 + 1_500_000, DAY0 + 3 * HOUR, DAY0 + 3 * HOUR + 5]))
    lake.write("bars", "okx", "ETH/USDT", bars([DAY0], [10.0], [1.0]))
    assert main(["--data-root", str(data_root), "data", "ls", "--gap", "2h", "--kind", "trades"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "KIND",
        "VENUE",
        "SYMBOL",
        "INTERVAL",
        "ROWS",
        "FIRST",
        "(UTC)",
        "LAST",
        "(UTC)",
        "GAPS>2h",
    ]
    assert lines[1].split() == [
        "trades",
        "okx",
        "ETH/USDT",
        "-",
        "3",
        "2024-01-01T00:00:00.001Z",
        "2024-01-01T03:00:00.000Z",
        "1",
    ]
    assert lines[2].strip() == "gap 2h59m: 2024-01-01T00:00:00.001Z -> 2024-01-01T03:00:00.000Z"
    assert len(lines) == 3


def test_cli_ls_bad_gap_is_a_one_line_error(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-root", str(data_root), "data", "ls", "--gap", "soon"]) == 2
    assert "duration 'soon'" in capsys.readouterr().err


def test_cli_ls_gap_count_and_listing_agree(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Six trades 2h, 3h, 4h, 5h and 6h apart: five gaps over 1h. The count says 5, the listing
    # says it shows the 3 largest, and shows them.
    ts, at = [DAY0], DAY0
    for hours in (2, 3, 4, 5, 6):
        at += hours * HOUR
        ts.append(at)
    Lake.at(data_root).write("trades", "okx", "ETH/USDT", trades(ts))
    assert main(["--data-root", str(data_root), "data", "ls", "--gap", "1h"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-1] == "5"
    assert lines[2].strip() == "5 gaps, the 3 largest:"
    assert [line.split(":")[0].strip() for line in lines[3:]] == ["gap 6h00m", "gap 5h00m", "gap 4h00m"]
    assert len(lines) == 6
    assert main(["--data-root", str(data_root), "data", "ls", "--gap", "4h"]) == 0  # longer than 4h: 5h, 6h
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-1] == "2"
    assert [line.split(":")[0].strip() for line in lines[2:]] == ["gap 6h00m", "gap 5h00m"]


def test_cli_ls_data_root_that_is_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("x")
    assert main(["--data-root", str(tmp_path / "f"), "data", "ls"]) == 2
    assert capsys.readouterr().err == f"okxbot: error: data root {tmp_path / 'f'} is a file, not a folder\n"


def test_cli_ls_shows_books_instruments_and_recorded_gaps(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake, sym = Lake.at(data_root), "ETH/USDT:USDT"
    recv = [DAY0 + 1_000_000, DAY0 + 1_000_000, DAY0 + 3 * HOUR]
    lake.append("books", "okx", sym, book_rows(recv, [0, 0, 0], [1, -1, 1], [100.0, 101.0, 100.5], [1.0, 1.0, 2.0]))
    lake.append("instruments", "okx", sym, instrument_row(DAY0))
    lake.append("instruments", "okx", sym, instrument_row(DAY0 + 5 * HOUR))
    lake.append("gaps", "okx", sym, gap_rows([DAY0 + HOUR], [DAY0 + HOUR + 90 * NS_PER_S]))
    lake.append("gaps", "okx", sym, gap_rows([DAY0 + 2 * HOUR], [DAY0 + 3 * HOUR], "trades", "sequence_break"))
    assert main(["--data-root", str(data_root), "data", "ls", "--gap", "2h"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:5] for line in lines[1:] if not line.startswith(" ")] == [
        ["books", "okx", sym, "-", "3"], ["gaps", "okx", sym, "-", "2"], ["instruments", "okx", sym, "-", "2"]
    ]
    books, gap_lines, instruments = lines[1:3], lines[3:6], lines[6:]
    assert books[0].split()[-1] == "1"
    assert books[1].strip() == "gap 2h59m: 2024-01-01T00:00:00.000Z -> 2024-01-01T02:59:59.999Z"  # ts_event
    assert gap_lines[0].split()[-3:] == ["2024-01-01T01:00:00.000Z", "2024-01-01T03:00:00.000Z", "2"]
    assert [line.strip() for line in gap_lines[1:]] == [
        "gap 1h00m: 2024-01-01T02:00:00.000Z -> 2024-01-01T03:00:00.000Z (trades sequence_break)",
        "gap 1m30s: 2024-01-01T01:00:00.000Z -> 2024-01-01T01:01:30.000Z (books disconnect)",
    ]
    assert instruments[0].split()[-1] == "0" and len(instruments) == 1  # fetches 5h apart are no gap
