"""Source formats the lake ingests, one module each, told apart by content (and name where needed).

Each module has `NAME`, `sniff(source) -> bool` and `parse(source, options) -> Parsed`. They are
tried in `FORMATS` order; the first that recognises a file parses it.
"""

from __future__ import annotations

from types import ModuleType

from engine.model.errors import UserError
from engine.store.formats import binance_ws, freqtrade, generic, okx_csv, okx_ws
from engine.store.formats._common import Batch, Options, Parsed, Source

__all__ = ["FORMATS", "Batch", "Options", "Parsed", "Source", "detect"]

FORMATS: tuple[ModuleType, ...] = (okx_ws, binance_ws, okx_csv, freqtrade, generic)


def detect(source: Source) -> ModuleType:
    """The format module that recognises the file; a UserError naming the file if none does."""
    for module in FORMATS:
        if module.sniff(source):
            return module
    names = ", ".join(m.NAME for m in FORMATS)
    raise UserError(f"{source.path}: unrecognised format (known: {names}; see docs/lake.md)")
