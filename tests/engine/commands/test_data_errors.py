"""Bad input to the `okxbot data` commands, as a new user types it: the exit code, one line on stderr
(no progress bar), never a traceback, and for exit 2 a lake left exactly as it was.

The table runs the real CLI in a subprocess, so stderr is a real pipe (not a terminal); the
read-only lake is simulated in process by making the lake's own write or lock function fail.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from engine.cli import main
from engine.store import lake as lake_module
from engine.store.lake import Lake
from engine.venues.okx.fake_rest import FakeOkxRest, OkxDataset, generate_trades, swap_instrument

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC, ms
BAR_MARKS = ("%|", "it/s", "B/s", "\r")


def trades_csv(prices: list[str]) -> str:
    return "ts,price,size,side\n" + "".join(f"{T0 + i},{p},1,buy\n" for i, p in enumerate(prices))


def okx_zip(rows: int) -> bytes:
    header = "instrument_name,trade_id,side,price,size,created_time\n"
    body = "".join(f"BTC-USDT,{i},buy,40000.5,0.01,{T0 + 7 * i}\n" for i in range(rows))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTC-USDT-trades-2024-01-01.csv", header + body)
    return buffer.getvalue()


def freqtrade_gz(rows: int) -> bytes:
    data = [[T0 + i, str(i), None, "buy", 0.5 + i % 7 / 100, 1.0, 0.5] for i in range(rows)]
    return gzip.compress(json.dumps(data).encode())


# Files a case may name, written into the case's folder.
FILES: dict[str, Callable[[], bytes]] = {
    "good.csv": lambda: trades_csv(["100"] * 10).encode(),
    "one_bad.csv": lambda: trades_csv(["100"] * 9 + ["abc"]).encode(),
    "six_bad.csv": lambda: trades_csv(["abc"] * 6 + ["100"] * 4).encode(),
    "empty.csv": lambda: b"",
    "notes.txt": lambda: b"hello, this is not market data\n",
    "nameless.csv": lambda: b"ts,price,size,side\n1700000000000,1,1,buy\n",
    "torn.csv.gz": lambda: gzip.compress(trades_csv(["100"] * 20_000).encode(), compresslevel=1)[:20_000],
    "XRP_ETH-trades.json.gz": lambda: freqtrade_gz(5_000)[:4_000],
    "BTC-USDT-trades-2024-01-01.zip": lambda: okx_zip(20_000)[:20],
    "big.csv.gz": lambda: gzip.compress(trades_csv(["100"] * 400_000).encode(), compresslevel=0),
}


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: str  # a piece of the one stderr line
    root: str = "data"  # the data root, relative to the case's folder


def c(code: int, says: str, *args: str, root: str = "data") -> Case:
    return Case(args, code, says, root)


CASES: dict[str, Case] = {
    # nothing done: exit 2, one line, the lake unchanged
    "missing file": c(2, "missing.csv: no such file", "ingest", "missing.csv"),
    "folder for a file": c(2, "sub: is a folder, not a file", "ingest", "sub"),
    "empty file": c(2, "empty.csv: the file is empty", "ingest", "empty.csv"),
    "unknown format": c(2, "notes.txt: unrecognised format", "ingest", "notes.txt"),
    "file says no venue": c(2, "pass --venue and --symbol", "ingest", "nameless.csv"),
    "symbol not ccxt": c(2, "--symbol 'BTCUSDT' is not a ccxt symbol", "ingest", "good.csv", "--venue", "x",
                         "--symbol", "BTCUSDT"),
    "venue with a slash": c(2, "--venue 'okx/spot' must be", "ingest", "good.csv", "--venue", "okx/spot",
                            "--symbol", "A/B"),
    "contract value -1": c(2, "--contract-value -1.0 must be a positive number", "ingest", "good.csv",
                           "--venue", "x", "--symbol", "A/B", "--contract-value", "-1"),
    "contract value text": c(2, "argument --contract-value: invalid float value: 'abc'", "ingest", "good.csv",
                             "--contract-value", "abc"),
    "interval 7x": c(2, "--interval '7x' is not like", "ingest", "good.csv", "--venue", "x", "--symbol", "A/B",
                     "--interval", "7x"),
    "six bad of ten": c(2, "six_bad.csv: refused, 6 of 10 rows rejected, most as price_unparsable: column "
                           "'price' holds 'abc'", "ingest", "six_bad.csv", "--venue", "x", "--symbol", "A/B"),
    "torn json document": c(2, "XRP_ETH-trades.json.gz: the gzip data ends early, before the end of its first "
                               "line", "ingest", "XRP_ETH-trades.json.gz", "--venue", "binance"),
    "zip torn in its header": c(2, "a zip archive torn before its first member", "ingest",
                                "BTC-USDT-trades-2024-01-01.zip"),
    "data root is a file": c(2, "is a file, not a folder", "ingest", "good.csv", "--venue", "x", "--symbol",
                             "A/B", root="good.csv"),
    "data root parent missing": c(2, "and neither does its parent", "ingest", "good.csv", "--venue", "x",
                                  "--symbol", "A/B", root="nowhere/deeper/data"),
    "ls gap 10x": c(2, "duration '10x' is not like", "ls", "--gap", "10x"),
    "ls unknown kind": c(2, "argument --kind: invalid choice: 'book'", "ls", "--kind", "book"),
    "ls data root is a file": c(2, "is a file, not a folder", "ls", root="good.csv"),
    "synth hours -1": c(2, "synthetic hours must be a number in (0, 100000], got -1.0", "synth", "--hours", "-1"),
    "synth symbol nonsense": c(2, "symbol 'nonsense' is not a ccxt symbol", "synth", "--symbol", "nonsense"),
    "synth data root is a file": c(2, "is a file, not a folder", "synth", "--hours", "1", root="good.csv"),
    "download an option": c(2, "is an option", "download", "--symbol", "BTC/USD:BTC-250328-50000-C", "--start",
                            "2024-01-01"),
    "download start after end": c(2, "--end '2024-01-01' is not after --start '2024-01-02'", "download",
                                  "--symbol", "ETH/USDT", "--start", "2024-01-02", "--end", "2024-01-01"),
    "download start not a date": c(2, "--start 'yesterday' is not a date", "download", "--symbol", "ETH/USDT",
                                   "--start", "yesterday"),
    "download no symbol": c(2, "the following arguments are required: --symbol", "download", "--start",
                            "2024-01-01"),
    # partly done: exit 1
    "a good and a refused file": c(1, "six_bad.csv: refused, 6 of 10", "ingest", "good.csv", "six_bad.csv",
                                   "--venue", "x", "--symbol", "A/B"),
    "torn gzip": c(1, "torn.csv.gz: torn, the gzip data ends early; kept the", "ingest", "torn.csv.gz", "--venue",
                   "x", "--symbol", "A/B"),
    # done: exit 0, the rejected row on stderr
    "one bad of ten": c(0, "one_bad.csv: trades x A/B: rejected 1 of 10 rows: price_unparsable 1 (column "
                           "'price' holds 'abc')", "ingest", "one_bad.csv", "--venue", "x", "--symbol", "A/B"),
}


def snapshot(folder: Path) -> list[tuple[str, int, int]]:
    """Every file under `folder` with its size and mtime."""
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    )


def seeded(folder: Path) -> Path:
    """A data root whose lake holds one series (and has been probed for writing)."""
    root = folder / "data"
    lake = Lake.at(root)
    lake.check_writable()
    table = pa.table({"ts_event": pa.array([T0 * 10**6], pa.int64()), "price": [1.0], "size": [1.0],
                      "side": pa.array([1], pa.int8())})
    lake.write("trades", "x", "A/B", table)
    return root


def run_cli(folder: Path, root: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "engine.cli", "--data-root", root, "data", *args]
    base = {k: v for k, v in os.environ.items() if k not in ("OKXBOT_DATA", "OKXBOT_OKX_REST_URL")}
    return subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env=base | {"PYTHONPATH": str(ROOT)} | (env or {}),
    )


def assert_one_line(done: subprocess.CompletedProcess[str], code: int, says: str) -> None:
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == code, done.stderr
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert not any(mark in done.stderr for mark in BAR_MARKS)


@pytest.mark.parametrize("name", list(CASES))
def test_cli_bad_input_exit_code_one_line_lake_unchanged(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    root = seeded(tmp_path)
    (tmp_path / "sub").mkdir()
    for file in (FILES.keys() & set(case.args)) | ({"good.csv"} & {case.root}):
        (tmp_path / file).write_bytes(FILES[file]())
    before = snapshot(root / "lake")
    done = run_cli(tmp_path, case.root, *case.args)
    assert_one_line(done, case.code, case.says)
    if case.code == 2:
        assert snapshot(root / "lake") == before
        assert done.stdout == ""
        assert not (tmp_path / "nowhere").exists()
    else:
        assert done.stdout.startswith("trades x A/B: received") or done.stdout.startswith("trades x A/B")


def test_cli_ingest_large_file_draws_no_bar_on_a_pipe(tmp_path: Path) -> None:
    (tmp_path / "big.csv.gz").write_bytes(FILES["big.csv.gz"]())
    assert (tmp_path / "big.csv.gz").stat().st_size > 8 << 20  # over the bar's threshold
    done = run_cli(tmp_path, "data", "ingest", "big.csv.gz", "--venue", "x", "--symbol", "A/B")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == "trades x A/B: received 400,000, new 400,000, duplicates 0, rejected 0\n"


def test_cli_synth_draws_nothing_on_stderr(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "data", "synth", "--hours", "0.2")
    assert done.returncode == 0 and done.stderr == "" and "SYNTHETIC" in done.stdout


# --- the network ---------------------------------------------------------------------------------


@pytest.fixture
def refused_url() -> str:
    """The URL of a local fake OKX that has stopped: connections to it are refused."""
    server = FakeOkxRest(OkxDataset(instruments=(swap_instrument("ETH-USDT-SWAP", "0.1"),)))
    url = server.start()
    server.stop()
    return url


def test_cli_download_refused_connection_is_one_line_and_writes_nothing(tmp_path: Path, refused_url: str) -> None:
    root = seeded(tmp_path)
    before = snapshot(root / "lake")
    done = run_cli(tmp_path, "data", "download", "--symbol", "ETH/USDT:USDT", "--start", "2024-01-01",
                   "--end", "2024-01-01T00:01", "--rest-url", refused_url)
    assert_one_line(done, 2, "okx ETH/USDT:USDT: loading instruments failed after 5 attempts")
    assert snapshot(root / "lake") == before and done.stdout == ""


# --- a lake that cannot be written ----------------------------------------------------------------


def read_only(*args: Any) -> Any:
    raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(args[-1]))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return seeded(tmp_path)


@pytest.fixture(params=["_write_atomic", "_locked"])
def unwritable(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, root: Path) -> Iterator[Path]:
    """The lake's own write or lock function fails as on a read-only disk (as root, chmod proves
    nothing); the data root `root` was seeded before."""
    monkeypatch.setattr(lake_module, request.param, read_only)
    yield root


def in_process(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--data-root", str(root), "data", *args])
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def test_ingest_into_read_only_lake_one_line_exit_2_unchanged(
    tmp_path: Path, unwritable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = unwritable
    (tmp_path / "good.csv").write_text(trades_csv(["100"] * 10))
    before = snapshot(root)
    code, err = in_process(root, capsys, "ingest", str(tmp_path / "good.csv"), "--venue", "x", "--symbol", "C/D")
    assert (code, err) == (2, f"okxbot: error: cannot write to the lake at {root / 'lake'}: Read-only file system\n")
    assert snapshot(root) == before


def test_synth_into_read_only_lake_one_line_exit_2_unchanged(
    unwritable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = unwritable
    before = snapshot(root)
    code, err = in_process(root, capsys, "synth", "--hours", "1")
    assert code == 2 and err.count("\n") == 1 and "Read-only file system" in err
    assert snapshot(root) == before


def test_download_into_read_only_lake_one_line_exit_2_no_request(
    unwritable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = unwritable
    before = snapshot(root)
    trades = generate_trades(T0, T0 + 60_000, seed=1)
    dataset = OkxDataset(instruments=(swap_instrument("ETH-USDT-SWAP", "0.1"),), trades={"ETH-USDT-SWAP": trades})
    server = FakeOkxRest(dataset)
    with server as url:
        code, err = in_process(root, capsys, "download", "--symbol", "ETH/USDT:USDT", "--start", "2024-01-01",
                               "--end", "2024-01-01T00:01", "--rest-url", url, "--no-progress")
        assert server.served == []
    assert code == 2 and err.count("\n") == 1 and "Read-only file system" in err
    assert snapshot(root) == before  # not even the download's state folder


def test_synth_failing_after_some_writes_keeps_them_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = seeded(tmp_path)
    real = lake_module._write_atomic
    written: list[Path] = []

    def fill_up(table: pa.Table, path: Path) -> None:  # the disk fills after three partitions
        if len(written) == 3 and path.name != ".write-probe.parquet":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(table, path)
        if path.name != ".write-probe.parquet":
            written.append(path)

    monkeypatch.setattr(lake_module, "_write_atomic", fill_up)
    code = main(["--data-root", str(root), "data", "synth", "--hours", "48"])
    captured = capsys.readouterr()
    assert code == 1
    assert "(written before the failure)" in captured.out.splitlines()[0]
    assert captured.err.count("\n") == 1 and "No space left on device" in captured.err
    assert len(written) == 3 and all(p.is_file() for p in written)


def test_ingest_disk_full_after_one_series_of_a_file_keeps_it_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = seeded(tmp_path)
    lines = []
    for i in range(5):  # one trade and one quote per line pair: two series, quotes written second
        trade = {"e": "trade", "T": T0 + i, "t": i, "p": "100", "q": "1", "m": False}
        quote = {"u": i, "E": T0 + i, "b": "99", "B": "1", "a": "101", "A": "1"}
        lines.append(f"{(T0 + i) * 10**6} " + json.dumps({"stream": "ethusdt@trade", "data": trade}))
        lines.append(f"{(T0 + i) * 10**6} " + json.dumps({"stream": "ethusdt@bookTicker", "data": quote}))
    (tmp_path / "rec.txt").write_text("\n".join(lines) + "\n")
    real = lake_module._write_atomic

    def full_for_quotes(table: pa.Table, path: Path) -> None:
        if "quotes" in path.parts:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(table, path)

    monkeypatch.setattr(lake_module, "_write_atomic", full_for_quotes)
    assert main(["--data-root", str(root), "data", "ingest", str(tmp_path / "rec.txt")]) == 1
    captured = capsys.readouterr()
    assert captured.out == "trades binance ETH/USDT: received 5, new 5, duplicates 0, rejected 0\n"
    assert captured.err.count("\n") == 1 and "No space left on device" in captured.err
    assert Lake.at(root).read("trades", "binance", "ETH/USDT").num_rows == 5
    assert Lake.at(root).read("quotes", "binance", "ETH/USDT").num_rows == 0
