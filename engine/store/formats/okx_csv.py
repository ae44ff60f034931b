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
from engine.store.formats._common import Batch, Options, Parsed, Source, resolve, to_side
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
    with source.open() as stream:
        table = pcsv.read_csv(
            stream,
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pcsv.ConvertOptions(column_types={n: t for n, t in okx.CSV_TYPES.items() if n in names}),
        )
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
    return Parsed(NAME, batches)


def _batch(source: Source, options: Options, inst: str | None, table: pa.Table) -> Batch:
    symbol = okx.symbol_of(inst) if inst else None
    venue, symbol = resolve(source, options, okx.VENUE, symbol)
    prices = np.asarray(pc.cast(table["price"], pa.float64()).to_numpy(), dtype=float)
    sizes = np.asarray(pc.cast(table["size"], pa.float64()).to_numpy(), dtype=float)
    sizes = okx.base_sizes(inst or okx.inst_id(symbol), sizes, prices, options.contract_value, str(source.path))
    out = pa.table(
        {
            "ts_event": pc.multiply(table["created_time"], NS_PER_MS),
            "trade_id": table["trade_id"],
            "price": prices,
            "size": sizes,
            "side": to_side(table["side"]),
        }
    )
    return Batch("trades", venue, symbol, out)
