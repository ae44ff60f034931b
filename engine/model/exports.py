"""Lazy exports for a package's `__init__` (PEP 562): names load on first use, not on import.

The CLI imports `engine` and `engine.model.errors` on every start; importing those packages must
not pull in msgspec, numpy or the trading core.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy(package: str, exports: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `exports[name]` (a module path) on first access of `name`."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later accesses skip this function
        return value

    return __getattr__
