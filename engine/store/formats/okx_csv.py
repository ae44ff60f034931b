"""OKX's downloadable trade history (okx.com/data-download), CSV or the zip it comes in.

The headers and file names are OKX's (`engine.venues.okx.formats`). `created_time` is epoch
ms, `side` the taker's; derivative sizes are contracts and are converted to base currency.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from engine.model.errors import UserError
from engine.model.time import NS_PER_MS
from engine.store.formats._common import (
    Batch,
    Options,
    Parsed,
    Source,
    marks,
    read_floats,
    read_side,
    resolve,
    row_skipper,
)
from engine.store.formats._values import Unreadable, unreadable
from engine.venues.okx import formats as okx

NAME = "okx-csv"


def _header(source: Source) -> list[str]:
    return okx.csv_header(source.first_line())


def sniff(source: Source) -> bool:
    """A header naming trade_id and created_time."""
    names = _header(source)
    return "trade_id" in names and "created_time" in names


def parse(source: Source, options: Options) -> Parsed:
    """One batch per instrument in the file."""
    names = _header(source)
    missing = okx.CSV_REQUIRED - set(names)
    if missing:
        raise UserError(f"{source.path}: OKX trade CSV without column(s) {sorted(missing)}")
    malformed: list[str] = []
    table = _read(source, names, malformed, {n: t for n, t in okx.CSV_TYPES.items() if n in names})
    if table is None:  # a value that is not of its column's type: read all as text, then row by row
        malformed.clear()
        table = _read(source, names, malformed, {n: pa.string() for n in names})
    assert table is not None
    if "instrument_name" in names:
        instruments = pc.unique(table["instrument_name"]).to_pylist()
    else:
        instruments = [okx.csv_instrument(source.name)]
    batches = []
    for inst in instruments:
        part = table
        if len(instruments) > 1:
            part = table.filter(pc.equal(table["instrument_name"], inst))
        batches.append(_batch(source, options, inst, part))
    skipped = {"malformed": len(malformed)} if malformed else {}
    return Parsed(NAME, batches, skipped, malformed[0] if malformed else None)


def _read(source: Source, names: list[str], malformed: list[str], types: dict[str, pa.DataType]) -> pa.Table | None:
    with source.open() as stream:
        try:
            return pcsv.read_csv(
                stream,
                read_options=pcsv.ReadOptions(column_names=names, skip_rows=1),
                parse_options=pcsv.ParseOptions(invalid_row_handler=row_skipper(malformed)),
                convert_options=pcsv.ConvertOptions(column_types=types),
            )
        except pa.ArrowInvalid:
            return None


def _batch(source: Source, options: Options, inst: str | None, table: pa.Table) -> Batch:
    symbol = okx.symbol_of(inst) if inst else None
    venue, symbol = resolve(source, options, okx.VENUE, symbol)
    price, bad_price = read_floats(table["price"], "price", "price")
    size, bad_size = read_floats(table["size"], "size", "size")
    ts, bad_ts = _epoch_ms(table["created_time"])
    side, bad_side = read_side(table["side"], "side")
    prices = np.asarray(pc.fill_null(price, np.nan).to_numpy(), dtype=float)
    sizes = np.asarray(pc.fill_null(size, np.nan).to_numpy(), dtype=float)
    sizes = okx.base_sizes(inst or okx.inst_id(symbol), sizes, prices, options.contract_value, str(source.path))
    out = pa.table({"ts_event": ts, "trade_id": table["trade_id"], "price": prices, "size": sizes, "side": side})
    return Batch("trades", venue, symbol, out, marks(bad_ts, bad_price, bad_size, bad_side))


def _epoch_ms(column: pa.ChunkedArray) -> tuple[pa.Array, Unreadable | None]:
    """ns of OKX's epoch-millisecond `created_time`; anything else is `ts_unparsable`."""
    array = column.combine_chunks()
    if pa.types.is_integer(array.type):
        return pc.multiply(array, NS_PER_MS), None
    text = pc.utf8_trim_whitespace(array)
    integer = pc.fill_null(pc.match_substring_regex(text, r"^[+-]?\d+$"), False)
    ms = pc.cast(pc.if_else(integer, text, None), pa.int64())
    bad = np.asarray(pc.and_(pc.is_valid(array), pc.invert(integer)).to_numpy(zero_copy_only=False), dtype=bool)
    return pc.multiply(ms, NS_PER_MS), unreadable("ts_unparsable", "created_time", array, bad)
