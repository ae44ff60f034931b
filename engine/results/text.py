"""Fixed-width text tables and lines that fit a terminal (100 columns unless asked for more).

Used by the summary, `okxbot runs list` and `okxbot runs show`. A table too wide for the width
drops the columns named in its drop order, first named first, then shortens the cells of one
text column (ending them in '...'); the caller says which columns it dropped.
"""

from __future__ import annotations

import textwrap
from collections.abc import Collection, Sequence

WIDTH = 100
GAP = "  "
ELLIPSIS = "..."

Rows = list[list[str]]


def column_widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    """The widest cell of each column, header included."""
    return [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]


def table_width(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """Characters of the table's widest line."""
    widths = column_widths(headers, rows)
    return sum(widths) + len(GAP) * (len(widths) - 1)


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], left: Collection[str] = ()) -> list[str]:
    """Lines of the table: columns named in `left` (and the first) left-aligned, others right-aligned."""
    widths = column_widths(headers, rows)
    at_left = [i == 0 or h in left for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = (c.ljust(w) if lft else c.rjust(w) for c, w, lft in zip(cells, widths, at_left, strict=True))
        return GAP.join(parts).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def shorten(text: str, width: int) -> str:
    """`text`, cut to `width` characters ending in '...' when longer."""
    if len(text) <= width:
        return text
    return text[: max(width - len(ELLIPSIS), 0)] + ELLIPSIS if width > len(ELLIPSIS) else text[:width]


def drop_columns(
    headers: Sequence[str], rows: Sequence[Sequence[str]], names: Collection[str]
) -> tuple[list[str], Rows]:
    """The table without the columns named in `names`."""
    keep = [i for i, h in enumerate(headers) if h not in names]
    return [headers[i] for i in keep], [[row[i] for i in keep] for row in rows]


def fit(
    headers: Sequence[str], rows: Sequence[Sequence[str]], width: int, drop: Sequence[str], shrink: str
) -> tuple[list[str], Rows, list[str]]:
    """(headers, rows, dropped headers): the table made to fit `width` characters.

    Drops the columns named in `drop`, in that order, while the table is too wide; then cuts the
    cells of the column `shrink` (never below its header's width).
    """
    heads, body = list(headers), [list(r) for r in rows]
    dropped: list[str] = []
    for name in drop:
        if table_width(heads, body) <= width:
            break
        if name in heads:
            heads, body = drop_columns(heads, body, (name,))
            dropped.append(name)
    excess = table_width(heads, body) - width
    if excess > 0 and shrink in heads:
        i = heads.index(shrink)
        room = max(column_widths(heads, body)[i] - excess, len(heads[i]))
        for row in body:
            row[i] = shorten(row[i], room)
    return heads, body, dropped


def wrap(text: str, width: int = WIDTH, indent: str = "") -> list[str]:
    """`text` wrapped at spaces to `width` (long words are cut), later lines indented."""
    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]


def wrap_parts(
    parts: Sequence[str], width: int = WIDTH, sep: str = " | ", indent: str = "", end: str = ""
) -> list[str]:
    """`parts` joined by `sep` on lines of at most `width`, each part whole where it fits.

    A line broken before a part ends with `end` (',' for a list) and the next starts with `indent`.
    """
    lines: list[str] = []
    current = ""
    for part in parts:
        joined = f"{current}{sep}{part}" if current else part
        if len(joined) + len(end) <= width:
            current = joined
            continue
        if current:
            lines.append(current + end)
        pieces = wrap(indent + part, width, indent)
        lines.extend(pieces[:-1])
        current = pieces[-1]
    return [*lines, current] if current else lines
