"""The HTML report: self-contained, one curve per series, the stats table shows the stats."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from engine.results.build import build_result, records_table
from engine.results.records import FILLS, LEDGER, MARKS, ORDERS
from engine.results.report import MAX_POINTS, downsample, write_html
from tests.engine.results_factory import T0, M, config, fill_row, ledger_row, mark_row, scenario_result


class Page(HTMLParser):
    """Collects polylines, tables (by id) and every tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, str | None]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "polyline":
            self.lines.append(a)
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
    assert [line["data-series"] for line in page.lines if line["class"] == "drawdown"] == ["portfolio"]
    # 5 minutes -> 5 points per curve
    assert all(len((line["points"] or "").split()) == 5 for line in page.lines)
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
        assert shown["round trips"] == str(stat["round_trips"])
    # hand check of one cell: a's pnl 1000 -> 1001.4245
    assert rows["a"]["pnl"] == "1.42"


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
    assert fills[1][4:7] == ["buy", "100", "1.5"]


def test_report_long_run_downsampled_and_fills_capped(tmp_path: Path) -> None:
    n = 5000
    prices = 100.0 + np.sin(np.arange(n) / 50.0)
    marks = records_table(MARKS, [mark_row(T0 + (k + 1) * M, float(p)) for k, p in enumerate(prices)])
    rows = [ledger_row(k, T0 + k * M + 1, "a", "fill", 0.01, 100.0, 0.0, -1.0) for k in range(300)]
    fills = records_table(FILLS, [fill_row(k, T0 + k * M + 1, 1, 100.0, 0.01, 0.0) for k in range(300)])
    result = build_result("long", config(), "v", "fp", records_table(ORDERS), fills, records_table(LEDGER, rows), marks)
    page = parse(write_html(result, tmp_path / "r.html"))
    assert all(0 < len((line["points"] or "").split()) <= MAX_POINTS for line in page.lines)
    assert len(page.tables["fills"]) == 1 + 200


def test_downsample_keeps_ends_and_limit() -> None:
    idx = downsample(10_001, 2000)
    assert idx[0] == 0 and idx[-1] == 10_000 and len(idx) <= 2000
    assert np.all(np.diff(idx) > 0)
    assert downsample(5, 2000).tolist() == [0, 1, 2, 3, 4]
