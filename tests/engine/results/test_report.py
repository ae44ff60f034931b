"""The HTML report: self-contained, one curve per series, the stats table shows the stats."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from engine.backtest.config import BacktestConfig, StrategySpec
from engine.backtest.run import run_backtest
from engine.results.build import build_result, records_table
from engine.results.records import FILLS, LEDGER, MARKS, ORDERS
from engine.results.report import MAX_FILLS, MAX_MARKERS, MAX_POINTS, write_html
from engine.store.lake import Lake
from engine.store.synthetic import VENUE, SynthConfig, write_synthetic
from tests.engine.results_factory import T0, M, config, fill_row, ledger_row, mark_row, scenario_result


class Page(HTMLParser):
    """Collects polylines, tables (by id) and every tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, str | None]] = []
        self.marks: list[dict[str, str | None]] = []
        self.notes: list[dict[str, str | None]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "polyline":
            self.lines.append(a)
        elif tag == "path" and a.get("class") == "fill":
            self.marks.append(a)
        elif tag == "p" and a.get("data-fills") is not None:
            self.notes.append(a)
        elif tag == "table":
            self._table = a.get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_report_one_equity_curve_per_series_and_a_drawdown(tmp_path: Path) -> None:
    page = parse(write_html(scenario_result(), tmp_path / "r.html"))
    curves = [line["data-series"] for line in page.lines if line["class"] == "curve"]
    assert curves == ["a", "b", "portfolio", "buy_and_hold"]
    assert [line["data-series"] for line in page.lines if line["class"] == "drawdown"] == ["a", "b", "portfolio"]
    # 5 minutes -> 5 points per curve; the price: the 4 minute marks
    assert all(len((line["points"] or "").split()) == 5 for line in page.lines if line["class"] != "price")
    assert [len((line["points"] or "").split()) for line in page.lines if line["class"] == "price"] == [4]
    # buy and hold 1500, 1530, 1530, 1485, 1515: SVG y grows downwards, so the ranks invert
    hold = next(line for line in page.lines if line["data-series"] == "buy_and_hold")
    ys = [float(p.split(",")[1]) for p in (hold["points"] or "").split()]
    assert ys[1] == ys[2] < ys[4] < ys[0] < ys[3]


def test_report_stats_table_shows_the_stats_values(tmp_path: Path) -> None:
    result = scenario_result()
    table = parse(write_html(result, tmp_path / "r.html")).tables["stats"]
    header, rows = table[0], {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert header[0] == "series" and list(rows) == ["a", "b", "portfolio", "buy_and_hold"]
    for stat in result.stats.to_pylist():
        shown = rows[stat["series"]]
        assert shown["pnl"] == f"{stat['pnl']:.2f}"
        assert shown["return %"] == f"{stat['total_return'] * 100:.2f}"
        assert shown["sharpe"] == f"{stat['sharpe']:.2f}"
        assert shown["sortino"] == f"{stat['sortino']:.2f}"
        assert shown["turnover"] == f"{stat['turnover']:.2f}"
        assert shown["exposure %"] == f"{stat['exposure'] * 100:.2f}"
        assert shown["fills"] == str(stat["fills"])
        assert shown["trips"] == str(stat["round_trips"])
        assert shown["funding paid"] == f"{stat['funding_paid']:.2f}"
        assert shown["cagr %"] == "-"  # five minutes
    # hand checks: a's pnl 1000 -> 1001.4245; its one trip lasted 190 s; b paid 0.1 in funding
    assert rows["a"]["pnl"] == "1.42"
    assert (rows["a"]["avg trip"], rows["a"]["expectancy"], rows["b"]["funding paid"]) == ("3m10s", "1.42", "0.10")


def test_report_is_self_contained(tmp_path: Path) -> None:
    path = write_html(scenario_result(venue="synthetic"), tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    page = parse(path)
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "img")]
    assert "http://" not in text and "https://" not in text
    assert "SYNTHETIC DATA" in text


def test_report_shows_provenance_config_and_fills(tmp_path: Path) -> None:
    page = parse(write_html(scenario_result(), tmp_path / "r.html"))
    facts = dict(row for row in page.tables["facts"][1:])
    assert facts["code version"] == "0.1.0+test" and facts["data fingerprint"] == "fp-scenario"
    assert facts["fill model"] == "taker"
    fills = page.tables["fills"]
    assert [row[0] for row in fills[1:]] == ["0", "1"]  # seq of the two venue fills
    assert fills[1][3:7] == ["buy", "100", "1.5", "0.075"]
    # the netted fill's split: a got 1 of the 1.5 and b 0.5, fees pro rata
    assert fills[1][-1] == "a +1 (fee 0.05), b +0.5 (fee 0.025)"
    assert fills[2][-1] == "a -0.5"


def test_report_trades_table_lists_every_round_trip(tmp_path: Path) -> None:
    trades = parse(write_html(scenario_result(), tmp_path / "r.html")).tables["trades"]
    rows = [dict(zip(trades[0], row, strict=True)) for row in trades[1:]]
    # a: one closed long trip 100 -> 101.5; b: still open, valued at the last mark 101
    assert [(r["strategy"], r["entry"], r["exit"], r["pnl"], r["status"]) for r in rows] == [
        ("a", "100", "101.5", "1.42", "closed"), ("b", "100.5", "101", "0.38", "open")]


def test_report_price_chart_marks_every_fill_at_its_price(tmp_path: Path) -> None:
    page = parse(write_html(scenario_result(), tmp_path / "r.html"))
    assert [m["data-seq"] for m in page.marks] == ["0", "1"]
    assert [(n["data-fills"], n["data-marked"]) for n in page.notes] == [("2", "2")]
    # the buy (100) points up from lower on the chart than the sell (102), which points down
    buy, sell = (m["d"] or "" for m in page.marks)
    y_buy, y_sell = float(buy.split(",")[1].split("l")[0]), float(sell.split(",")[1].split("l")[0])
    assert y_sell < y_buy and "l-5,9" in buy and "l-5,-9" in sell
    assert "every one marked" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_report_long_run_downsampled_fills_capped_and_markers_sampled(tmp_path: Path) -> None:
    n, n_fills = 5000, MAX_MARKERS + 1000
    prices = 100.0 + np.sin(np.arange(n) / 50.0)
    marks = records_table(MARKS, [mark_row(T0 + (k + 1) * M, float(p)) for k, p in enumerate(prices)])
    rows = [ledger_row(k, T0 + k * M + 1, "a", "fill", 0.01, 100.0, 0.0, -1.0, fill_seq=k) for k in range(n_fills)]
    fills = records_table(FILLS, [fill_row(k, T0 + k * M + 1, 1, 100.0, 0.01, 0.0) for k in range(n_fills)])
    result = build_result("long", config(), "v", "f", records_table(ORDERS), fills, records_table(LEDGER, rows), marks)
    path = write_html(result, tmp_path / "r.html")
    page = parse(path)
    assert all(0 < len((line["points"] or "").split()) <= MAX_POINTS for line in page.lines)
    assert len(page.tables["fills"]) == 1 + MAX_FILLS
    # a stated sample: MAX_MARKERS of the 4,000 fills, the first and the last among them
    seqs = [int(m["data-seq"] or -1) for m in page.marks]
    assert len(seqs) == MAX_MARKERS and (seqs[0], seqs[-1]) == (0, n_fills - 1)
    assert [(x["data-fills"], x["data-marked"]) for x in page.notes] == [(str(n_fills), str(MAX_MARKERS))]
    assert f"{n_fills:,} fills on ETH/USDT; {MAX_MARKERS:,} of them marked" in path.read_text(encoding="utf-8")


def test_report_day_of_ticks_under_5_mb_with_every_fill_marked(tmp_path: Path) -> None:
    # a day of synthetic ticks at ~3 trades a second, a grid and a bar strategy trading it
    synth = SynthConfig(symbol="ETH/USDT:USDT", start="2024-01-01T00:00Z", hours=24.0, seed=3)
    write_synthetic(Lake.at(tmp_path), synth)
    specs = (
        StrategySpec("grid", {"levels": 3, "step": 0.0003, "size": 0.1, "max_position": 0.5}, "grid"),
        StrategySpec("rsi_mr", {"n": 3, "lower": 40.0, "upper": 60.0, "exit": 50.0, "size": 0.1}, "rsi"),
    )
    cfg = BacktestConfig(strategies=specs, symbols=(synth.symbol,), start=synth.start_ns, end=synth.end_ns,
                         venue=VENUE, warmup=False)
    result = run_backtest(cfg, tmp_path)
    path = write_html(result, tmp_path / "day.html")
    assert result.config["events"] > 200_000 and result.fills.num_rows > 100
    assert path.stat().st_size < 5_000_000
    page = parse(path)
    assert sorted(int(m["data-seq"] or -1) for m in page.marks) == list(range(result.fills.num_rows))
    assert len(page.tables["trades"]) == 1 + min(result.trades.num_rows, 500)
