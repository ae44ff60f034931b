"""The text summary: default figures within 100 columns, every figure with `wide`, '-' when undefined."""

from __future__ import annotations

import math

import pytest

from engine.model.time import NS_PER_S
from engine.results.build import BacktestResult, build_result, records_table
from engine.results.records import FILLS, LEDGER, MARKS, ORDERS
from engine.results.summary import SUMMARY_COLUMNS, format_duration, readable_config, summary_table
from tests.engine.results_factory import T0, M, config, ledger_row, mark_row, scenario_result

DEFAULT_HEADER = ["series", "pnl", "return", "%", "sharpe", "sortino", "max", "dd", "%", "fees", "exposure", "%",
                  "fills", "trips", "win", "%"]


def table_rows(text: str) -> dict[str, list[str]]:
    """Cells of the series rows, by series name."""
    names = ("a", "b", "portfolio", "buy_and_hold")
    return {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.split()[:1] in [[n] for n in names]}


def test_summary_default_columns_and_values_two_decimals() -> None:
    text = summary_table(scenario_result())
    assert DEFAULT_HEADER in [line.split() for line in text.splitlines()]
    rows = table_rows(text)
    # a: pnl 1.4245, return 0.14245 %, max dd 0 (never below capital), fees 0.0755, exposure 60 %,
    # 2 fills, 1 round trip, won
    a = rows["a"]
    assert (a[0], a[1], a[4], a[5], a[6], a[7], a[8], a[9]) == (
        "1.42", "0.14", "0.00", "0.08", "60.00", "2", "1", "100.00")
    # b: max dd 1 - 498.475/501.475 = 0.598 % (the funding at exactly T0+4m counts from T0+5m);
    # no closed round trip: no win rate
    assert (rows["b"][4], rows["b"][-1]) == ("0.60", "-")
    assert list(rows) == ["a", "b", "portfolio", "buy_and_hold"]


def test_summary_default_every_line_fits_100_columns() -> None:
    for venue in ("okx", "synthetic"):
        lines = summary_table(scenario_result(venue=venue)).splitlines()
        assert max(len(line) for line in lines) <= 100


def long_result() -> BacktestResult:
    """One strategy with a 44-character id, three symbols and nine-digit PnLs."""
    sid = "mean_reversion_on_the_order_book_imbalance_x"
    symbols = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    cfg = config(strategies=[{"id": sid, "name": "x", "params": {}, "capital": 1e9}], symbols=symbols,
                 venue="synthetic")
    rows = [ledger_row(0, T0 + 1, sid, "fill", 10_000.0, 50_000.0, 250.0, -500_000_250.0, symbol=symbols[0])]
    marks = [mark_row(T0 + k * M, 50_000.0 - 7_000.0 * k, symbols[0]) for k in (1, 2, 3)]
    marks += [mark_row(T0 + M, 100.0, s) for s in symbols[1:]]
    return build_result("r", cfg, "v", "f", records_table(ORDERS), records_table(FILLS),
                        records_table(LEDGER, rows), records_table(MARKS, marks))


def test_summary_long_names_and_numbers_still_fit_and_say_what_is_hidden() -> None:
    text = summary_table(long_result())
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    # the PnL (10,000 * -21,000 - 250 = -210,000,250) is still shown, the wide-only figures are named
    assert "-210000250.00" in text
    note = " ".join(lines[lines.index(next(x for x in lines if x.startswith("--wide adds:"))):])
    for header in ("cagr %", "calmar", "profit factor", "avg trip", "longest trip"):
        assert header in note


def test_summary_wide_shows_every_column() -> None:
    text = summary_table(scenario_result(), wide=True)
    header = next(line for line in text.splitlines() if line.startswith("series"))
    for column in SUMMARY_COLUMNS:
        assert column.header in header
    assert "--wide adds" not in text
    assert max(len(line) for line in text.splitlines()) > 100  # wide means wide
    cells = dict(zip(["series", *(c.header for c in SUMMARY_COLUMNS)],
                     next(line for line in text.splitlines() if line.startswith("a ")).split(), strict=True))
    # a: turnover 201.5 / 1000, 2 fills, one trip of 190 s earning 1.4245, no losing trip
    assert (cells["turnover"], cells["fills"], cells["expectancy"]) == ("0.20", "2", "1.42")
    assert (cells["avg trip"], cells["longest trip"], cells["profit factor"]) == ("3m10s", "3m10s", "-")
    assert cells["cagr %"] == "-"  # five minutes are under 30 days


def test_summary_series_without_trades_prints_dashes() -> None:
    cfg = config(strategies=[{"id": "a", "name": "x", "params": {}, "capital": 100.0},
                             {"id": "b", "name": "y", "params": {}, "capital": 100.0}])
    rows = [ledger_row(0, T0 + 1, "a", "fill", 1.0, 10.0, 0.0, -10.0), ledger_row(1, T0 + M + 1, "a", "fill", -1.0,
                                                                                  11.0, 0.0, 11.0)]
    marks = [mark_row(T0 + k * M, 10.0 + k) for k in (1, 2, 3)]
    result = build_result("r", cfg, "v", "f", records_table(ORDERS), records_table(FILLS),
                          records_table(LEDGER, rows), records_table(MARKS, marks))
    b = table_rows(summary_table(result))["b"]
    # pnl 0, return 0, sharpe -, sortino -, max dd 0, fees 0, exposure 0, fills 0, trips 0, win -
    assert b == ["0.00", "0.00", "-", "-", "0.00", "0.00", "0.00", "0", "0", "-"]


def test_summary_header_names_run_setup_and_synthetic() -> None:
    text = summary_table(scenario_result())
    head = " | ".join(text.splitlines()[:2])
    for part in ("ETH/USDT", "2024-01-01T00:00:00Z", "2024-01-01T00:05:00Z", "taker", "25 ms"):
        assert part in head
    assert "SYNTHETIC" not in text
    assert summary_table(scenario_result(venue="synthetic")).startswith("SYNTHETIC DATA | ")
    assert "no fees" in text  # the buy-and-hold note


def test_summary_independent_of_run_id_and_creation() -> None:
    one = summary_table(scenario_result(run_id="20240101T000000-aaaaaaaa", created_ns=T0))
    two = summary_table(scenario_result(run_id="20250101T000000-bbbbbbbb", created_ns=T0 + 10**15))
    assert one == two
    assert "aaaaaaaa" not in one


def test_format_duration_units() -> None:
    assert [format_duration(s) for s in (0, 45, 190, 3600 + 7 * 60 + 20, 2 * 86400 + 4 * 3600)] == [
        "0s", "45s", "3m10s", "1h07m", "2d04h"]
    assert format_duration(math.nan) == "-"


def test_readable_config_times_iso_latency_ms() -> None:
    shown = readable_config(config())
    assert (shown["start"], shown["end"]) == ("2024-01-01T00:00:00Z", "2024-01-01T00:05:00Z")
    assert shown["latency"] == "25 ms" and "latency_ns" not in shown
    assert readable_config(config())["strategies"] == config()["strategies"]
    assert T0 == 1_704_067_200 * NS_PER_S  # the times above are T0 and T0 + 5 minutes


@pytest.mark.parametrize("wide", [False, True])
def test_summary_every_row_has_every_shown_column(wide: bool) -> None:
    lines = summary_table(scenario_result(), wide=wide).splitlines()
    header = next(line for line in lines if line.startswith("series"))
    widths = {len(line) for line in lines if line.split()[:1] in (["a"], ["b"], ["portfolio"], ["buy_and_hold"])}
    assert widths == {len(header)}


def test_amounts_in_a_coin_show_six_decimals_and_usd_like_ones_cents() -> None:
    from engine.results.summary import format_cell, money_decimals

    assert (money_decimals("USDT"), money_decimals("BTC"), money_decimals(None)) == (2, 6, 2)
    assert format_cell(-0.0012594, "money", money_decimals("BTC")) == "-0.001259"
    assert format_cell(1234.567, "money", money_decimals("USDT")) == "1234.57"
    assert format_cell(-0.0000001, "money", 6) == "0.000000"  # no negative zero
    assert format_cell(0.1234, "%", 6) == "12.34"  # percentages keep 2 decimals
