"""`okxbot data download` against a real local HTTP fake of OKX: paging, resume, errors, candles."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.commands.download import (
    DownloadConfig,
    DownloadRequest,
    download,
    missing_spans,
    settled_end,
    state_path,
)
from engine.model.errors import UserError
from engine.model.time import NS_PER_MIN, NS_PER_MS, NS_PER_S
from engine.store.lake import Lake
from engine.venues.okx.fake_rest import (
    CANDLES_PATH,
    TRADES_PATH,
    FakeCandle,
    FakeOkxRest,
    FakeTrade,
    OkxDataset,
    generate_candles,
    generate_trades,
    spot_instrument,
    swap_instrument,
)
from engine.venues.okx.rest import RetryPolicy

ROOT = Path(__file__).resolve().parents[3]
SWAP = "ETH/USDT:USDT"
CT_VAL = 0.1
T0 = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC, ms
START, END = "2024-01-01T00:00:00", "2024-01-01T00:01:00"  # T0 .. T0 + 60 s
# Seed 2 puts 450 trades in [T0, T0 + 60 s): five pages, with page boundaries inside a millisecond.
SWAP_TRADES = generate_trades(T0 - 20_000, T0 + 90_000, seed=2)
SPOT_TRADES = generate_trades(T0 - 5_000, T0 + 15_000, seed=5, first_id=50_000, lot="0.0001")
CANDLES = generate_candles(T0 - 120 * 60_000, T0 + 240 * 60_000, seed=4, ct_val=str(CT_VAL))
DATASET = OkxDataset(
    instruments=(swap_instrument("ETH-USDT-SWAP", str(CT_VAL)), spot_instrument("ETH-USDT")),
    trades={"ETH-USDT-SWAP": SWAP_TRADES, "ETH-USDT": SPOT_TRADES},
    candles={("ETH-USDT-SWAP", "1m"): CANDLES},
)


@pytest.fixture
def fake() -> Iterator[FakeOkxRest]:
    server = FakeOkxRest(DATASET)
    server.start()
    yield server
    server.stop()


def fast(fake: FakeOkxRest, **overrides: Any) -> DownloadConfig:
    """In-process config: no request spacing, quick retries, no progress bar."""
    settings: dict[str, Any] = {
        "rest_url": fake.url,
        "rate_limit_ms": 0,
        "progress": False,
        "retry": RetryPolicy(attempts=3, backoff_s=0.01, max_backoff_s=0.05),
    }
    return DownloadConfig(**(settings | overrides))


def ms_request(start_ms: int, end_ms: int, symbol: str = SWAP, **kw: Any) -> DownloadRequest:
    return DownloadRequest(symbol, start_ms * NS_PER_MS, end_ms * NS_PER_MS, **kw)


def cli(data_root: Path, *args: str, url: str | None = None) -> list[str]:
    command = [sys.executable, "-m", "engine.cli", "--data-root", str(data_root), "data", "download", *args]
    return command + (["--rest-url", url] if url else [])


def run_cli(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "OKXBOT_OKX_REST_URL"}
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=base | (env or {})
    )


def newest_first(trades: list[FakeTrade], end_ms: int) -> list[FakeTrade]:
    """What OKX pages through from `end_ms` back: trades before it, newest first."""
    return sorted((t for t in trades if t.ts_ms < end_ms), key=lambda t: t.trade_id, reverse=True)


def expected_pages(trades: list[FakeTrade], start_ms: int, end_ms: int) -> int:
    """Pages of 100 walked from `end_ms` until one reaches below `start_ms`."""
    walk = newest_first(trades, end_ms)
    return next(i for i, t in enumerate(walk) if t.ts_ms < start_ms) // 100 + 1


def lake_trades(data_root: Path, symbol: str = SWAP) -> dict[str, dict[str, Any]]:
    table = Lake.at(data_root).read("trades", "okx", symbol)
    rows = table.to_pylist()
    assert len({r["trade_id"] for r in rows}) == len(rows), "duplicate trade ids in the lake"
    return {r["trade_id"]: r for r in rows}


def assert_trades_equal(
    data_root: Path,
    trades: list[FakeTrade],
    start_ms: int,
    end_ms: int,
    ct_val: float = CT_VAL,
    symbol: str = SWAP,
) -> None:
    got = lake_trades(data_root, symbol)
    want = {str(t.trade_id): t for t in trades if start_ms <= t.ts_ms < end_ms}
    assert sorted(got) == sorted(want)
    for trade_id, t in want.items():
        row = got[trade_id]
        assert row["ts_event"] == t.ts_ms * NS_PER_MS and row["ts_recv"] is None
        assert row["price"] == float(t.px)
        assert row["size"] == pytest.approx(float(t.sz) * ct_val, rel=1e-12)
        assert row["side"] == (1 if t.side == "buy" else -1)


def trade_requests(fake: FakeOkxRest, first: int = 0) -> list[dict[str, str]]:
    return [r.params for r in fake.served[first:] if r.path == TRADES_PATH and r.status == 200]


# -- through the CLI ------------------------------------------------------------------------------
def test_cli_trades_across_pages_split_inside_a_millisecond_equal_server_trades(
    fake: FakeOkxRest, data_root: Path
) -> None:
    walk = newest_first(SWAP_TRADES, T0 + 60_000)
    pages = expected_pages(SWAP_TRADES, T0, T0 + 60_000)
    assert pages >= 3
    assert any(walk[100 * k - 1].ts_ms == walk[100 * k].ts_ms for k in range(1, pages))
    done = run_cli(cli(data_root, "--symbol", SWAP, "--start", START, "--end", END, url=fake.url))
    assert done.returncode == 0, done.stderr
    assert_trades_equal(data_root, SWAP_TRADES, T0, T0 + 60_000)
    requests = trade_requests(fake)
    assert len(requests) == pages
    assert requests[0]["type"] == "2" and requests[0]["after"] == str(T0 + 60_000)
    assert all(r["type"] == "1" for r in requests[1:])
    in_range = sum(T0 <= t.ts_ms < T0 + 60_000 for t in SWAP_TRADES)
    assert f"{in_range} rows written" in done.stdout.strip().splitlines()[-1]


def test_cli_killed_mid_download_resumes_without_gap_duplicate_or_refetch(
    fake: FakeOkxRest, data_root: Path
) -> None:
    walk = newest_first(SWAP_TRADES, T0 + 60_000)
    fake.pause_after(3)  # pages 1-2 are written (flushed every 2), page 3 only fetched, 4 held
    args = ["--symbol", SWAP, "--start", START, "--end", END, "--flush-pages", "2"]
    proc = subprocess.Popen(
        cli(data_root, *args, url=fake.url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.paused.wait(60), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert sorted(lake_trades(data_root)) == sorted(str(t.trade_id) for t in walk[:200])
    first_run = trade_requests(fake)[:2]
    fake.resume()
    mark = len(fake.served)

    done = run_cli(cli(data_root, *args, url=fake.url))
    assert done.returncode == 0, done.stderr
    assert_trades_equal(data_root, SWAP_TRADES, T0, T0 + 60_000)
    resumed = trade_requests(fake, mark)
    assert resumed[0]["type"] == "1" and resumed[0]["after"] == str(walk[199].trade_id)
    assert len(resumed) == expected_pages(SWAP_TRADES, T0, T0 + 60_000) - 2
    assert not {r["after"] for r in resumed} & {r["after"] for r in first_run}


def test_cli_unknown_symbol_one_error_line_exit_2(fake: FakeOkxRest, data_root: Path) -> None:
    done = run_cli(cli(data_root, "--symbol", "DOGE/USDT:USDT", "--start", START, "--end", END, url=fake.url))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "DOGE/USDT:USDT" in lines[0] and "unknown symbol" in lines[0]
    assert done.stdout == ""
    assert trade_requests(fake) == []


def test_cli_candles_via_env_url_equal_server_candles(fake: FakeOkxRest, data_root: Path) -> None:
    args = [
        "--symbol",
        SWAP,
        "--kind",
        "bars",
        "--interval",
        "1m",
        "--start",
        START,
        "--end",
        "2024-01-01T03:00",
    ]
    done = run_cli(cli(data_root, *args), env={"OKXBOT_OKX_REST_URL": fake.url})
    assert done.returncode == 0, done.stderr
    bars = Lake.at(data_root).read("bars", "okx", SWAP).to_pylist()
    want = [c for c in CANDLES if T0 <= c.ts_ms < T0 + 180 * 60_000]
    assert len(bars) == len(want) == 180
    for bar, candle in zip(bars, want, strict=True):
        assert bar["ts_event"] == candle.ts_ms * NS_PER_MS and bar["interval"] == "1m"
        assert [bar["open"], bar["high"], bar["low"], bar["close"]] == [
            float(candle.o),
            float(candle.h),
            float(candle.l),
            float(candle.c),
        ]
        assert bar["volume"] == pytest.approx(float(candle.vol) * CT_VAL, rel=1e-9)  # contracts -> ETH
    assert fake.count(CANDLES_PATH) == 2
    assert "180 rows written" in done.stdout


def test_cli_progress_bar_on_a_terminal_stderr(fake: FakeOkxRest, data_root: Path) -> None:
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # tqdm needs a width
    command = cli(data_root, "--symbol", SWAP, "--start", START, "--end", "2024-01-01T00:00:30", url=fake.url)
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=child)
    os.close(child)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once the child has closed its end
        while chunk := os.read(main, 4096):
            shown += chunk
    os.close(main)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    # What the bar shows after its first frame depends on timing (tqdm's refresh interval): only
    # check that a bar was drawn on the terminal and kept off stdout.
    assert f"okx {SWAP} trades:" in shown.decode() and "%|" in shown.decode()
    assert b"rows written" in out and b"%|" not in out


# -- in process -----------------------------------------------------------------------------------
def test_download_500_and_429_then_recovery_completes(fake: FakeOkxRest, data_root: Path) -> None:
    fake.fail_next(2, 500, path=TRADES_PATH)
    fake.fail_next(4, 429, path=TRADES_PATH)  # more than `attempts`: rate limits wait, not fail
    report = download(data_root, ms_request(T0, T0 + 60_000), fast(fake))
    assert_trades_equal(data_root, SWAP_TRADES, T0, T0 + 60_000)
    statuses = [r.status for r in fake.served if r.path == TRADES_PATH]
    assert statuses[:7] == [500, 500, 429, 429, 429, 429, 200]
    assert report.new_rows == sum(T0 <= t.ts_ms < T0 + 60_000 for t in SWAP_TRADES)


def test_download_network_failures_exhausted_error_names_symbol_and_keeps_pages(
    fake: FakeOkxRest, data_root: Path
) -> None:
    walk = newest_first(SWAP_TRADES, T0 + 60_000)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            download(data_root, ms_request(T0, T0 + 60_000), fast(fake))  # flushes every 20 pages
        except UserError as exc:
            errors.append(exc)

    fake.pause_after(3)
    worker = threading.Thread(target=run)
    worker.start()
    assert fake.paused.wait(30)
    fake.fail_next(3, 500, path=TRADES_PATH)  # the held 4th page passes; the 5th fails 3 times
    fake.resume()
    worker.join(30)
    assert len(errors) == 1
    message = str(errors[0])
    assert SWAP in message and "fetching trades" in message and "3 attempts" in message
    assert sorted(lake_trades(data_root)) == sorted(str(t.trade_id) for t in walk[:400])

    mark = len(fake.served)
    download(data_root, ms_request(T0, T0 + 60_000), fast(fake))
    assert trade_requests(fake, mark)[0]["after"] == str(walk[399].trade_id)
    assert_trades_equal(data_root, SWAP_TRADES, T0, T0 + 60_000)


def test_download_rerun_fetches_only_the_missing_part(fake: FakeOkxRest, data_root: Path) -> None:
    download(data_root, ms_request(T0, T0 + 30_000), fast(fake))
    mark = len(fake.served)
    report = download(data_root, ms_request(T0, T0 + 60_000), fast(fake))
    extended = trade_requests(fake, mark)
    assert extended[0]["after"] == str(T0 + 60_000)
    assert len(extended) == expected_pages(SWAP_TRADES, T0 + 30_000, T0 + 60_000)
    assert report.duplicates == 0  # rows below the missing span are not written again
    assert_trades_equal(data_root, SWAP_TRADES, T0, T0 + 60_000)

    mark = len(fake.served)
    again = download(data_root, ms_request(T0, T0 + 60_000), fast(fake))
    assert len(fake.served) == mark and again.pages == 0 and again.new_rows == 0


def test_download_refetch_fetches_a_finished_range_again(fake: FakeOkxRest, data_root: Path) -> None:
    download(data_root, ms_request(T0, T0 + 20_000), fast(fake))
    report = download(data_root, ms_request(T0, T0 + 20_000, refetch=True), fast(fake))
    assert report.pages == expected_pages(SWAP_TRADES, T0, T0 + 20_000)
    assert report.new_rows == 0 and report.duplicates == sum(T0 <= t.ts_ms < T0 + 20_000 for t in SWAP_TRADES)


def test_download_spot_sizes_are_base_as_sent(fake: FakeOkxRest, data_root: Path) -> None:
    download(data_root, ms_request(T0, T0 + 10_000, "ETH/USDT"), fast(fake))
    assert_trades_equal(data_root, SPOT_TRADES, T0, T0 + 10_000, ct_val=1.0, symbol="ETH/USDT")
    assert all(r.params["instId"] == "ETH-USDT" for r in fake.served if r.path == TRADES_PATH)


def test_download_state_file_records_the_finished_span(fake: FakeOkxRest, data_root: Path) -> None:
    request = ms_request(T0, T0 + 20_000)
    download(data_root, request, fast(fake))
    state = json.loads(state_path(data_root, request).read_text())
    assert state == {"covered": [[T0 * NS_PER_MS, (T0 + 20_000) * NS_PER_MS]], "cursors": {}}


def test_download_while_another_runs_is_refused(fake: FakeOkxRest, data_root: Path) -> None:
    request = ms_request(T0, T0 + 20_000)
    lock = state_path(data_root, request).with_suffix(".lock")
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(UserError, match="another download"):
            download(data_root, request, fast(fake))
    assert fake.served == []


def test_download_candles_drop_unconfirmed_and_stop_at_settled_end(data_root: Path) -> None:
    open_bar = FakeCandle(T0 + 60_000, "1", "2", "0.5", "1.5", "10", "1", "1.5", confirm="0")
    dataset = OkxDataset(DATASET.instruments, candles={("ETH-USDT-SWAP", "1m"): [*CANDLES[:121], open_bar]})
    now = (T0 + 60_000) * NS_PER_MS + 30 * NS_PER_S  # the 00:01 bar is still forming
    with FakeOkxRest(dataset) as url:
        report = download(
            data_root,
            ms_request(T0 - 3_600_000, T0 + 600_000, kind="bars"),
            DownloadConfig(rest_url=url, rate_limit_ms=0, progress=False),
            now_ns=now,
        )
    bars = Lake.at(data_root).read("bars", "okx", SWAP)
    assert report.end == (T0 + 60_000) * NS_PER_MS
    assert bars["ts_event"].to_pylist()[-1] == T0 * NS_PER_MS
    assert bars.num_rows == 61


def test_download_range_not_yet_settled_is_refused_without_requests(
    fake: FakeOkxRest, data_root: Path
) -> None:
    now = (T0 + 30_000) * NS_PER_MS
    with pytest.raises(UserError, match="nothing to download yet: start 2024-01-01T00:00:00"):
        download(data_root, ms_request(T0, T0 + 60_000), fast(fake), now_ns=now)
    assert fake.served == []


# -- pure parts -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("covered", "expected"),
    [
        ([], [(0, 100)]),
        ([(20, 30), (50, 60)], [(0, 20), (30, 50), (60, 100)]),
        ([(-10, 40), (90, 200)], [(40, 90)]),
        ([(0, 100)], []),
    ],
)
def test_missing_spans_complement_of_covered(
    covered: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    assert missing_spans(0, 100, covered) == expected


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"kind": "quotes"}, "quotes"),
        ({"kind": "bars", "interval": "7m"}, "7m"),
        ({"kind": "bars", "interval": "1x"}, "1x"),
        ({"symbol": "BTC/USD:BTC-240329-50000-C"}, "option"),
        ({"symbol": "ETHUSDT"}, "ETHUSDT"),
        ({"end": 0}, "start"),
    ],
)
def test_download_request_bad_field_error_names_it(kwargs: dict[str, Any], named: str) -> None:
    fields: dict[str, Any] = {"symbol": SWAP, "start": 1, "end": 2} | kwargs
    with pytest.raises(UserError, match=named):
        DownloadRequest(**fields)


def test_settled_end_excludes_the_last_minute_of_trades_and_open_bars() -> None:
    now = 10 * NS_PER_MIN + 30 * NS_PER_S
    assert settled_end(DownloadRequest(SWAP, 0, 20 * NS_PER_MIN), now) == now - 60 * NS_PER_S
    bars = DownloadRequest(SWAP, 0, 20 * NS_PER_MIN, kind="bars", interval="5m")
    assert settled_end(bars, now) == 10 * NS_PER_MIN
    assert settled_end(DownloadRequest(SWAP, 0, 5 * NS_PER_MIN), now) == 5 * NS_PER_MIN


def test_cli_retries_giving_up_after_written_pages_exit_1_says_what_was_kept(
    fake: FakeOkxRest, data_root: Path
) -> None:
    walk = newest_first(SWAP_TRADES, T0 + 60_000)
    fake.pause_after(3)
    command = cli(data_root, "--symbol", SWAP, "--start", START, "--end", END, "--flush-pages", "1", url=fake.url)
    base = {k: v for k, v in os.environ.items() if k != "OKXBOT_OKX_REST_URL"}
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=base)
    assert fake.paused.wait(60)
    fake.fail_next(5, 500, path=TRADES_PATH)  # the held 4th page passes; the 5th fails 5 times
    fake.resume()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    kept = sorted(lake_trades(data_root))
    assert kept == sorted(str(t.trade_id) for t in walk[:400])
    oldest_kept_ms = min(t.ts_ms for t in walk[:400])
    lines = out.splitlines()
    assert "400 rows written" in lines[0] and "4 pages fetched" in lines[0]
    # the oldest millisecond may continue on the next page, so the span complete starts 1 ms above it
    complete = datetime.fromtimestamp((oldest_kept_ms + 1) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert lines[1].startswith(f"kept: {complete}..2024-01-01T00:01:00 is complete in the lake")
    assert err.count("\n") == 1 and "fetching trades failed after 5 attempts" in err and "Traceback" not in err
    assert "%|" not in err and "\r" not in err  # stderr is a pipe: no progress bar
    done = run_cli(cli(data_root, "--symbol", SWAP, "--start", START, "--end", END, url=fake.url))
    assert done.returncode == 0, done.stderr
    assert_trades_equal(data_root, SWAP_TRADES, T0, T0 + 60_000)
