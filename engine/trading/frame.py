"""A frame of bars as numpy arrays: what a strategy's vectorised form reads (README "Screens").

The frame memoises what is computed from it (`memo`), so an indicator of one window is computed
once however many grid points of a screen ask for it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.model.errors import UserError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BarFrame:
    """Bars in time order: open times (`ts`, ns) and float64 open, high, low, close, volume."""

    ts: npt.NDArray[np.int64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, ts: npt.ArrayLike, open: npt.ArrayLike, high: npt.ArrayLike, low: npt.ArrayLike,
           close: npt.ArrayLike, volume: npt.ArrayLike) -> BarFrame:
        """A frame of contiguous arrays, checked for equal lengths and increasing times."""
        t = np.ascontiguousarray(ts, dtype=np.int64)
        cols = [np.ascontiguousarray(a, dtype=np.float64) for a in (open, high, low, close, volume)]
        if any(c.shape != t.shape for c in cols) or t.ndim != 1:
            raise UserError(f"bar frame: columns differ in length ({t.size} times, {[c.size for c in cols]})")
        if t.size > 1 and not (np.diff(t) > 0).all():
            raise UserError("bar frame: bar times must increase strictly")
        o, h, lo, c, v = cols
        return cls(t, o, h, lo, c, v)

    def __len__(self) -> int:
        return int(self.ts.size)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """`compute()` the first time `key` is asked for, the stored value after that."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @property
    def computed(self) -> list[Hashable]:
        """The keys computed so far, in order."""
        return list(self._memo)
