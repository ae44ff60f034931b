"""OKX specifics shared by the OKX formats: instruments and contract sizes."""

from __future__ import annotations

import numpy as np

from engine.errors import UserError
from engine.store.formats._common import Options

VENUE = "okx"

# ctVal of OKX swaps, from the public instruments endpoint (recorded in shared/data/okx): linear
# swaps count base currency per contract, inverse (coin-margined, -USD-) swaps count USD.
CONTRACT_VALUES = {"BTC-USDT-SWAP": 0.01, "ETH-USDT-SWAP": 0.1, "BTC-USD-SWAP": 100.0}


def is_swap(inst_id: str) -> bool:
    return inst_id.endswith("-SWAP")


def base_sizes(inst_id: str, sizes: np.ndarray, prices: np.ndarray, options: Options, where: str) -> np.ndarray:
    """Sizes in base currency: OKX counts swap sizes in contracts."""
    if not is_swap(inst_id):
        return sizes
    value = options.contract_value or CONTRACT_VALUES.get(inst_id)
    if value is None:
        raise UserError(
            f"{where}: {inst_id} sizes are in contracts; pass --contract-value (its ctVal from OKX's "
            "instruments endpoint) to convert them to base currency"
        )
    if inst_id.split("-")[1] == "USD":  # inverse: a contract is worth `value` USD
        with np.errstate(divide="ignore", invalid="ignore"):
            return sizes * value / prices
    return sizes * value
