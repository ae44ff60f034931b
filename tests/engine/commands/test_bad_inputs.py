"""Bad input to `backtest`, `runs`, `strategies` and `demo`, as a new user types it (the data
commands have their own table in test_data_errors.py): the exit code, one line on stderr (no
progress bar), never a traceback, and for exit 2 the lake and the runs store exactly as they were.

The table runs the real CLI in a subprocess, so stderr is a real pipe; a read-only disk is
simulated in process by making the runs store's and the lake's own write steps fail with EROFS
(CI runs as root, so file permissions would prove nothing).
"""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.results import runs as runs_module
from engine.store import lake as lake_module
from engine.store.lake import Lake
from engine.store.synthetic import SynthConfig, write_synthetic

ROOT = Path(__file__).resolve().parents[3]
SYMBOL = "ETH/USDT:USDT"
PERIOD = ["--start", "2024-01-01T01:00Z", "--end", "2024-01-01T02:00Z"]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with two hours of synthetic ticks and one stored run."""
    data = tmp_path_factory.mktemp("bad") / "data"
    write_synthetic(Lake.at(data), SynthConfig(symbol=SYMBOL, start="2024-01-01T00:00Z", hours=2.0, seed=3))
    done = _okxbot(data, "backtest", "--symbol", SYMBOL, *PERIOD, "--strategy", "rsi_mr")
    assert done.returncode == 0, done.stderr
    return data


def _okxbot(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", "--data-root", str(root), *args], cwd=root.parent,
                          capture_output=True, text=True, timeout=180)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under the data root with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


BT = ["backtest", "--symbol", SYMBOL, *PERIOD]
CASES = [
    # (arguments, exit code, words the one stderr line must hold)
    ([*BT], 2, ["the following arguments are required: --strategy"]),
    ([*BT, "--strategy", "rsi_mr", "--param", "n=abc"], 2, ["'n'", "'abc' is not an integer"]),
    ([*BT, "--strategy", "rsi_mr", "--param", "size=0"], 2, ["'size'", "(0, inf]"]),
    ([*BT, "--strategy", "rsi_mr", "--param", "size_unit=lots"], 2, ["'size_unit'", "'lots'"]),
    ([*BT, "--strategy", "rsi_mr", "--param", "bar_interval=7x"], 2, ["'bar_interval'", "'7x'"]),
    ([*BT, "--strategy", "rsi_mr", "--latency-ms", "-3"], 2, ["--latency-ms -3"]),
    ([*BT, "--strategy", "rsi_mr", "--quote-staleness-ms", "0"], 2, ["--quote-staleness-ms 0"]),
    ([*BT, "--strategy", "rsi_mr", "--fill-model", "magic"], 2, ["--fill-model", "'magic'"]),
    ([*BT, "--strategy", "rsi_mr", "--taker-fee", "0.5"], 2, ["taker_fee 0.5"]),
    ([*BT, "--strategy", "rsi_mr", "--venue", "binance"], 2, ["no trades", "'binance'"]),
    ([*BT, "--strategy", "rsi_mr", "--symbol", "ETHUSDT"], 2, ["'ETHUSDT'", "ccxt symbol"]),
    ([*BT, "--strategy", "rsi_mr", "--end", "2024-13-01"], 2, ["--end", "'2024-13-01'"]),
    ([*BT, "--strategy", "rsi_mr", "--capital", "0"], 2, ["--capital '0' must be a positive amount"]),
    ([*BT, "--strategy", "rsi_mr", "--warn-leverage", "-1"], 2, ["warn_leverage -1.0"]),
    ([*BT, "--strategy", "nope:Thing"], 2, ["'nope:Thing'"]),
    ([*BT, "--strategy", "rsi_mr", "--report", "missing/dir/r.html", "--no-save"], 2, ["missing/dir"]),
    (["runs", "show", "20990101T000000"], 2, ["unknown run id"]),
    (["runs", "list", "--limit", "-1"], 2, ["--limit", "-1"]),
    (["runs", "export", "latest", "--out", "missing/dir"], 2, ["missing"]),
    (["runs", "export", "latest", "--format", "pdf"], 2, ["'pdf'"]),
    (["strategies", "nope"], 2, ["unknown strategy 'nope'"]),
    (["nope"], 2, ["invalid choice: 'nope'"]),
]


@pytest.mark.parametrize(("args", "code", "words"), CASES, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in CASES])
def test_bad_input_one_line_exit_code_nothing_changed(root: Path, args: list[str], code: int, words: list[str]) -> None:
    before = _snapshot(root)
    done = _okxbot(root, *args)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("okxbot: error: ")
    for word in words:
        assert word in lines[0], lines[0]
    if code == 2:
        assert _snapshot(root) == before
        assert not (root.parent / "missing").exists()


def _erofs(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.EROFS, "Read-only file system")


def test_backtest_runs_store_read_only_refused_before_the_replay(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(root)
    monkeypatch.setattr(runs_module, "_probe_write", _erofs)
    assert main(["--data-root", str(root), *BT, "--strategy", "rsi_mr"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no summary printed before the refusal
    assert len(err.splitlines()) == 1 and "okxbot.duckdb" in err and "--no-save" in err
    assert _snapshot(root) == before
    # --no-save does not need the store
    assert main(["--data-root", str(root), *BT, "--strategy", "rsi_mr", "--no-save"]) == 0


def test_demo_read_only_lake_refused_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(lake_module, "_write_atomic", _erofs)
    assert main(["--data-root", str(tmp_path / "data"), "demo"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "Read-only" in err[0]
    assert not (tmp_path / "data" / "okxbot.duckdb").exists()


def test_demo_data_root_that_is_a_file_one_line_exit_2(tmp_path: Path) -> None:
    afile = tmp_path / "data"
    afile.write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "engine.cli", "--data-root", str(afile), "demo"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert str(afile) in done.stderr and afile.read_text() == "not a folder"


def test_unexpected_error_is_one_line_with_the_details_in_a_file(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import engine.commands.strategies as strategies_cmd

    def boom(_args: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(strategies_cmd, "run", boom)
    assert main(["strategies"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("okxbot: error: internal error ZeroDivisionError: a bug (details in ")
    details = Path(line.split("details in ")[1].split(";")[0])
    assert "ZeroDivisionError" in details.read_text()
    details.unlink()
