"""Ingest through the API and through `okxbot data ingest`."""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from engine.cli import main
from engine.model.errors import UserError
from engine.store.formats import Options, Source, binance_ws
from engine.store.ingest import ingest_files, ingest_paths, merge_reports
from engine.store.lake import Lake, WriteReport

ROOT = Path(__file__).resolve().parents[3]
RECORDING = Path("hftbacktest") / "spot_btcusdt_20240808.gz"


def test_merge_reports_sums_per_series() -> None:
    a = WriteReport("trades", "x", "ETH/USDT", 3, 2, 1, {"price_nan": 1})
    b = WriteReport("trades", "x", "ETH/USDT", 5, 1, 4, {"price_nan": 2, "side_invalid": 1})
    c = WriteReport("bars", "x", "ETH/USDT", 1, 1, 0, {})
    assert merge_reports([a, c, b]) == [
        WriteReport("trades", "x", "ETH/USDT", 8, 3, 5, {"price_nan": 3, "side_invalid": 1}),
        c,
    ]


def _overlapping_files(shared_data: Path, tmp_path: Path) -> list[Path]:
    """The recording plus two CSVs repeating some of its trades with other (or no) receive times."""
    (trades,) = [
        b.table for b in binance_ws.parse(Source(shared_data / RECORDING), Options()).batches if b.kind == "trades"
    ]
    early = trades.slice(0, 3000).drop_columns(["ts_recv"])
    late = trades.slice(2000, 4000)
    late = late.set_column(1, "ts_recv", pa.array([t - 1 for t in late["ts_recv"].to_pylist()], pa.int64()))
    paths = [shared_data / RECORDING, tmp_path / "early.csv", tmp_path / "late.csv"]
    pcsv.write_csv(early, paths[1])
    pcsv.write_csv(late, paths[2])
    return paths


@pytest.mark.shared_data
def test_ingest_order_does_not_change_the_lake(shared_data: Path, tmp_path: Path) -> None:
    paths = _overlapping_files(shared_data, tmp_path)
    forward, backward = Lake(tmp_path / "f"), Lake(tmp_path / "b")
    reports = ingest_files(forward, paths, venue="binance", symbol="BTC/USDT")
    ingest_files(backward, paths[::-1], venue="binance", symbol="BTC/USDT")
    assert [(r.kind, r.received, r.new_rows) for r in reports] == [
        ("trades", 9757 + 3000 + 4000, 9757),
        ("quotes", 28040, 28040),
    ]
    files = sorted(p.relative_to(forward.root) for p in forward.root.rglob("*.parquet"))
    assert files == sorted(p.relative_to(backward.root) for p in backward.root.rglob("*.parquet"))
    for relative in files:
        assert (forward.root / relative).read_bytes() == (backward.root / relative).read_bytes()


def test_ingest_missing_file_writes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "t.csv"
    good.write_text("ts,price,size,side\n1700000000000,1,1,buy\n")
    lake = Lake(tmp_path / "lake")
    with pytest.raises(UserError, match=r"missing\.csv: no such file"):
        ingest_files(lake, [good, tmp_path / "missing.csv"], venue="x", symbol="ETH/USDT")
    assert lake.entries() == []


def _big_gz(path: Path) -> Path:
    body = "".join(
        f"{1_700_000_000_000 + i},{100 + i % 7},1,{'buy' if i % 2 else 'sell'},{i}\n" for i in range(400_000)
    )
    path.write_bytes(gzip.compress(("ts,price,size,side,id\n" + body).encode(), compresslevel=0))
    return path


def test_ingest_progress_bar_on_a_terminal_stderr(tmp_path: Path) -> None:
    path = _big_gz(tmp_path / "big.csv.gz")
    command = [sys.executable, "-m", "engine.cli", "--data-root", str(tmp_path / "d"), "data", "ingest",
               str(path), "--venue", "x", "--symbol", "ETH/USDT"]
    main_fd, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # tqdm needs a width
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=child)
    os.close(child)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once the child has closed its end
        while chunk := os.read(main_fd, 4096):
            shown += chunk
    os.close(main_fd)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert "ingest:" in shown.decode() and "%|" in shown.decode()
    assert b"new 400,000" in out and b"%|" not in out


def test_ingest_progress_bar_off_when_stderr_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _big_gz(tmp_path / "big.csv.gz")
    results = ingest_paths(Lake(tmp_path / "lake"), [path], Options("x", "ETH/USDT"), progress=True)
    assert results[0].reports[0].new_rows == 400_000
    assert capsys.readouterr().err == ""


@pytest.mark.shared_data
def test_cli_ingest_prints_counts_and_skipped_lines(
    shared_data: Path, data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data-root", str(data_root), "data", "ingest", str(shared_data / RECORDING), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "trades binance BTC/USDT: received 9,757, new 9,757, duplicates 0, rejected 0"
    assert out[1] == "quotes binance BTC/USDT: received 28,040, new 28,040, duplicates 0, rejected 0"
    assert out[2].endswith("skipped 3,452 lines (btcusdt@depth@100ms 3,451, snapshot 1)")
    assert main(argv) == 0
    assert "new 0, duplicates 9,757" in capsys.readouterr().out


def test_cli_ingest_reports_rejected_reasons_on_stderr(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "ts,price,size,side\n1700000000000,1,1,buy\n1700000000001,-1,1,buy\n1700000000002,1,0,sell\n"
        "1700000000003,2,1,buy\n1700000000004,3,1,sell\n"
    )
    argv = ["--data-root", str(data_root), "data", "ingest", str(path), "--venue", "x", "--symbol", "ETH/USDT"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "trades x ETH/USDT: received 5, new 3, duplicates 0, rejected 2"
    assert captured.err.strip() == (
        f"{path}: trades x ETH/USDT: rejected 2 of 5 rows: price_nonpositive 1 (column 'price' holds '-1.0'), "
        "size_nonpositive 1 (column 'size' holds '0.0')"
    )


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, [], "nope.csv: no such file"),
        ("hello\n", [], "nope.csv: unrecognised format"),
        (
            "ts,price,size,side\n1,1,1,buy\n",
            [],
            "nope.csv: the file does not say its venue and symbol; pass --venue and --symbol",
        ),
    ],
)
def test_cli_ingest_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, extra: list[str], message: str
) -> None:
    path = tmp_path / "nope.csv"
    if content is not None:
        path.write_text(content)
    assert main(["--data-root", str(tmp_path), "data", "ingest", str(path), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_command_modules_import_nothing_heavy() -> None:
    code = (
        "import sys, engine.commands.data_ingest, engine.commands.data_ls\n"
        "print(sorted(m for m in ('duckdb', 'pyarrow', 'numpy', 'numba', 'polars') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_malformed_lines_are_counted_and_the_rest_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = (
        '{"arg": {"channel": "trades", "instId": "ETH-USDT"}, "data": [{"instId": "ETH-USDT", "tradeId": "%s", '
        '"px": "2000.5", "sz": "0.1", "side": "buy", "ts": "1700000000000"}]}'
    )
    lines = [good % "1", "garbage {{{", '{"arg": {"channel": "trades", "instId": "ETH-USDT"}, "data": [{"px": "1"}]}',
             good % "2"]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = ingest_paths(Lake(tmp_path / "lake"), [path], Options())[0]
    assert result.skipped == {"malformed": 2}
    assert [r.new_rows for r in result.reports] == [2]
    assert Lake(tmp_path / "lake").read("trades", "okx", "ETH/USDT").column("trade_id").to_pylist() == ["1", "2"]
    assert "bad.jsonl: skipping a malformed message" in caplog.text
