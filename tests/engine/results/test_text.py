"""Text tables that fit a width: columns dropped in order, a text column shortened, lines wrapped."""

from __future__ import annotations

from engine.results.text import drop_columns, fit, render, shorten, table_width, wrap, wrap_parts

HEADERS = ["name", "pnl", "sharpe", "fees"]
ROWS = [["alpha", "12.50", "1.20", "0.10"], ["a_much_longer_name", "-3.00", "-", "0.20"]]


def test_render_aligns_text_left_numbers_right() -> None:
    lines = render(HEADERS, ROWS)
    assert lines[0] == "name                  pnl  sharpe  fees"
    assert lines[1] == "alpha               12.50    1.20  0.10"
    assert table_width(HEADERS, ROWS) == len(lines[0]) == 39


def test_fit_drops_named_columns_in_order_until_it_fits() -> None:
    # 39 wide; without 'sharpe' (6 + 2) 31; without 'fees' too 25
    heads, rows, dropped = fit(HEADERS, ROWS, 31, ["sharpe", "fees"], "name")
    assert (heads, dropped) == (["name", "pnl", "fees"], ["sharpe"])
    assert rows[1] == ["a_much_longer_name", "-3.00", "0.20"]
    heads, _, dropped = fit(HEADERS, ROWS, 25, ["sharpe", "fees"], "name")
    assert (heads, dropped) == (["name", "pnl"], ["sharpe", "fees"])


def test_fit_then_shortens_the_text_column() -> None:
    heads, rows, _ = fit(HEADERS, ROWS, 20, ["sharpe", "fees"], "name")
    assert heads == ["name", "pnl"]
    assert rows[1][0] == "a_much_lon..." and rows[0][0] == "alpha"
    assert table_width(heads, rows) == 20


def test_fit_already_narrow_changes_nothing() -> None:
    assert fit(HEADERS, ROWS, 100, ["sharpe"], "name") == (HEADERS, ROWS, [])


def test_drop_columns_keeps_order() -> None:
    heads, rows = drop_columns(HEADERS, ROWS, {"pnl", "fees"})
    assert (heads, rows) == (["name", "sharpe"], [["alpha", "1.20"], ["a_much_longer_name", "-"]])


def test_shorten_and_wrap() -> None:
    assert shorten("abcdefgh", 8) == "abcdefgh" and shorten("abcdefghi", 8) == "abcde..."
    assert wrap("one two three four", 9, indent="  ") == ["one two", "  three", "  four"]
    assert wrap_parts(["aaaa", "bbbb", "cc"], 11) == ["aaaa | bbbb", "cc"]
    assert all(len(line) <= 10 for line in wrap_parts(["x" * 25, "y"], 10))
    assert wrap_parts(["list: aa", "bb", "cc"], 12, ", ", "  ", ",") == ["list: aa,", "  bb, cc"]
