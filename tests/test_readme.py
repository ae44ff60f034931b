"""The README works as printed: its shell lines run in order on a fresh data root, and its Python
strategy is the one shipped in research/.

`make demo` and `make test` (the README's first block) are left out: CI runs them itself. The
network command, `okxbot data download`, talks to a local fake of OKX's REST API through the
documented `$OKXBOT_OKX_REST_URL` override. `../shared/data` is the recorded data next to the
checkout; the commands run in a temporary folder, so the path is made absolute.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.venues.okx.fake_rest import FakeOkxRest, FakeTrade, OkxDataset, swap_instrument

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
OKXBOT = Path(sys.executable).with_name("okxbot")
DAY_MS = 1_704_067_200_000  # 2024-01-01T00:00Z


def sh_lines(text: str) -> list[str]:
    """Every command of the ```sh blocks, continuation lines joined, comments and `make` lines dropped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] != "make":
                commands.append(line)
    return commands


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.fixture(scope="module")
def fake_okx() -> Iterator[FakeOkxRest]:
    # One ETH-USDT-SWAP trade a minute over 2024-01-01: fifteen pages of history.
    trades = [FakeTrade(5_000_000 + k, DAY_MS + k * 60_000 + 17, f"{2300 + (k % 40) * 0.5:.2f}", "1.5",
                        "buy" if k % 3 else "sell") for k in range(1440)]
    server = FakeOkxRest(OkxDataset(instruments=(swap_instrument("ETH-USDT-SWAP", "0.1"),),
                                    trades={"ETH-USDT-SWAP": trades}))
    server.start()
    yield server
    server.stop()


def test_readme_shell_lines_run_in_order_on_a_fresh_data_root(tmp_path: Path, shared_data: Path,
                                                               fake_okx: FakeOkxRest) -> None:
    lines = sh_lines(README)
    assert any("data download" in line for line in lines) and len(lines) >= 10
    env = {**os.environ, "OKXBOT_DATA": str(tmp_path / "data"), "OKXBOT_OKX_REST_URL": fake_okx.url,
           "COLUMNS": "100"}
    for line in lines:
        words = shlex.split(line.replace("../shared/data", str(shared_data)), comments=True)
        assert words[0] == "okxbot", line
        done = subprocess.run([str(OKXBOT), *words[1:]], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        assert "Traceback" not in done.stderr and done.stdout.strip(), line
    assert (tmp_path / "out.html").stat().st_size > 10_000  # --report out.html
    assert any((tmp_path / "data" / "exports").iterdir())  # runs export latest
    # docs/lake.md's Python, on the lake those lines made (its data root is ./data)
    (snippet,) = python_blocks((ROOT / "docs" / "lake.md").read_text())
    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "XRP/ETH" in done.stdout and "12477" in done.stdout.replace(",", "")


def test_readme_python_strategy_is_the_shipped_research_example() -> None:
    (snippet,) = [b for b in python_blocks(README) if "class SmaTrend" in b]
    shipped = (ROOT / "research" / "sma_trend.py").read_text()
    assert snippet[snippet.index("class SmaTrend"):] in shipped
    assert "from engine import Bar, Param, Strategy, Warmup" in snippet and "from engine import" in shipped
