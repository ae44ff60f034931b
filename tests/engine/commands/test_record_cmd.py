"""`okxbot record`: bad input is one line and exit 2; a real process records from the simulator,
survives SIGKILL with every completed flush readable, and flushes and exits 0 on SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.store.lake import Lake
from engine.venues.okx.channels import PUBLIC_PATH
from engine.venues.okx.sim_ws import OkxWsSim, SimConfig
from tests.engine.live_factory import run, tape, trade_lake, until

ROOT = Path(__file__).resolve().parents[3]
BTC = "BTC/USDT"
N = 2000  # 10 s of trades at speed 1: the recorder is stopped long before the tape ends


@pytest.mark.parametrize(("extra", "words"), [
    (["--channels", "trades,depth"], "unknown channel 'depth'; choose from trades, bbo"),
    (["--flush-every", "0"], "--flush-every must be above 0 seconds, not 0"),
    (["--flush-every", "-1"], "--flush-every must be above 0 seconds"),
    (["--flush-every", "soon"], "--flush-every 'soon' is not a number"),
    (["--symbol", "BTC-USDT"], "symbol 'BTC-USDT' is not a ccxt symbol"),
    (["--symbol", "BTC/USDT:ETH"], "OKX settles BTC-USDT contracts in USDT"),
])
def test_record_bad_input_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                                          words: str) -> None:
    assert main(["--data-root", str(tmp_path), "record", "--symbol", "ETH/USDT", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("okxbot: error: ") and words in err and err.count("\n") == 1


def _source_ids(tmp_path: Path) -> list[str]:
    ids: list[str] = trade_lake(tmp_path / "again", n=N).read("trades", "okx", BTC)["trade_id"].to_pylist()
    return ids


async def _recording(sim: OkxWsSim, data_root: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OKXBOT_OKX_WS_URL": sim.url(PUBLIC_PATH)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine.cli", "--data-root", str(data_root), "record", "--symbol", BTC,
        "--channels", "trades", "--flush-every", "0.2", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


def _parts(lake: Lake) -> int:
    return len(lake.files("trades", "okx", BTC))


def _stop_after_parts(tmp_path: Path, sig: signal.Signals, parts: int) -> tuple[int, str, str]:
    lake = Lake.at(tmp_path / "rec")

    async def body() -> tuple[int, str, str]:
        async with OkxWsSim(SimConfig(speed=1), tape(tmp_path / "src", n=N)) as sim:
            proc = await _recording(sim, tmp_path / "rec")
            try:
                await until(lambda: _parts(lake) >= parts, timeout=15, what=f"{parts} flushes")
                proc.send_signal(sig)
                out, err = await proc.communicate()
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            assert proc.returncode is not None
            return proc.returncode, out.decode(), err.decode()

    return run(body(), timeout=25)


def test_record_sigkill_keeps_every_completed_flush(tmp_path: Path) -> None:
    code, _out, _err = _stop_after_parts(tmp_path, signal.SIGKILL, 3)
    assert code == -signal.SIGKILL
    lake = Lake.at(tmp_path / "rec")
    assert _parts(lake) >= 3  # every flush that finished is still there
    table = lake.read("trades", "okx", BTC)
    ids = table["trade_id"].to_pylist()
    assert len(ids) >= 2 and ids == _source_ids(tmp_path)[:len(ids)]  # a prefix: nothing doubled or skipped
    recv = table["ts_recv"].to_pylist()
    assert recv == sorted(recv)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_record_sigterm_or_ctrl_c_flushes_exits_0(tmp_path: Path, sig: signal.Signals) -> None:
    code, out, err = _stop_after_parts(tmp_path, sig, 2)
    assert code == 0, err
    ids = Lake.at(tmp_path / "rec").read("trades", "okx", BTC)["trade_id"].to_pylist()
    assert ids == _source_ids(tmp_path)[:len(ids)]
    lines = out.splitlines()
    assert lines[0].startswith("record: ws://127.0.0.1:") and "(trades-all) of 1 symbol(s)" in lines[0]
    assert lines[-1] == f"record: stopped; wrote trades {len(ids)}; gaps 0"  # the last rows flushed too
    status = [line for line in lines if line.startswith("record: written so far: trades ")]
    assert len(status) == 1  # the first flush's; the next would come 5 s later
