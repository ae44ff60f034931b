"""A screen's views: the grid as a heatmap (matplotlib) and one grid point as a vectorbt Portfolio."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine.model.errors import UserError

if TYPE_CHECKING:
    import vectorbt as vbt
    from matplotlib.figure import Figure

    from engine.research.screen import ScreenConfig, ScreenResult
    from engine.trading.frame import BarFrame


def heatmap(table: pd.DataFrame, swept: Sequence[str], x: str | None, y: str | None, metric: str) -> Figure:
    """`metric` over the swept parameters `x` (columns) and `y` (rows), default the first two; with
    more swept parameters each cell shows the best value over the others."""
    from matplotlib.figure import Figure

    from engine.research.screen import METRICS

    x = x or swept[0]
    y = y or (swept[1] if len(swept) > 1 else None)
    for flag, name in (("x", x), ("y", y)):
        if name is not None and name not in swept:
            raise UserError(f"heatmap {flag}={name!r} is not a swept parameter ({', '.join(swept)})")
    if metric not in METRICS:
        raise UserError(f"heatmap metric {metric!r} is not one of {', '.join(METRICS)}")
    keys = [x] if y is None else [y, x]
    grouped = table.groupby(keys)[metric]
    best = grouped.min() if METRICS[metric] else grouped.max()
    grid = best.to_frame().T if y is None else best.unstack(x)
    fig = Figure(figsize=(max(4.0, 0.45 * grid.shape[1] + 2), max(2.0, 0.35 * grid.shape[0] + 1.5)))
    ax = fig.add_subplot()
    image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto",
                      cmap="viridis_r" if METRICS[metric] else "viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns], rotation=90)
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index] if y else [""])
    ax.set_xlabel(x)
    ax.set_ylabel(y or "")
    fig.colorbar(image, ax=ax, label=metric)
    fig.tight_layout()
    return fig


def write_heatmap(fig: Figure, path: Path) -> Path:
    """Save the figure as SVG (or PNG, by the file's suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix.lstrip(".") or "svg")
    return path


def write_screen(result: ScreenResult, folder: Path) -> tuple[Path, Path]:
    """Write the ranked grid (CSV) and its heatmap (SVG) into `folder`, named after the strategy and symbol."""
    cfg = result.config
    stem = f"{cfg.strategy}_{cfg.symbol.replace('/', '-').replace(':', '_')}"
    folder.mkdir(parents=True, exist_ok=True)
    table = folder / f"{stem}.csv"
    result.table.to_csv(table, index=False)
    return table, write_heatmap(result.heatmap(), folder / f"{stem}.svg")


def vbt_portfolio(frame: BarFrame, orders: pd.DataFrame, cfg: ScreenConfig) -> vbt.Portfolio:
    """The screen's orders of one grid point replayed by vectorbt's `Portfolio.from_orders`: the same
    bars, sizes, fill prices and taker fee. vectorbt cannot hold negative cash (the screen can: it has
    no cash check), so its initial cash is the capital raised by the most the orders overdraw it."""
    import vectorbt as vbt

    index = pd.DatetimeIndex(pd.to_datetime(frame.ts, utc=True), name="ts")
    size = np.full(len(frame), np.nan)
    price = frame.open.copy()
    bars = orders["bar"].to_numpy()
    size[bars] = orders["qty"].to_numpy()
    flows = -(orders["qty"] * orders["price"]).to_numpy() - orders["fee"].to_numpy()
    overdraw = max(0.0, -float(np.min(cfg.capital + np.cumsum(flows), initial=cfg.capital)))
    return vbt.Portfolio.from_orders(
        close=pd.Series(frame.close, index=index), size=pd.Series(size, index=index), size_type="amount",
        price=pd.Series(price, index=index), fees=cfg.taker_fee, direction="both",
        init_cash=cfg.capital + overdraw * (1 + 1e-9), freq="1min",
    )
