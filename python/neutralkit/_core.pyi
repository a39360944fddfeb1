"""Type stubs for the compiled extension (internal; use the neutralkit package)."""

from typing import Any

import numpy as np

# contribution (register_contribution.cpp)
def contribution_weights(
    preds: np.ndarray,
    cols: np.ndarray,
    neutralizers: np.ndarray,
    weights: np.ndarray,
    order: np.ndarray,
    offsets: np.ndarray,
    post: int,
    n_threads: int,
) -> tuple[np.ndarray, bool]: ...
def contribution_alpha(
    preds: np.ndarray,
    cols: np.ndarray,
    neutralizers: np.ndarray,
    weights: np.ndarray,
    target: np.ndarray,
    order: np.ndarray,
    offsets: np.ndarray,
    n_threads: int,
) -> tuple[np.ndarray, bool]: ...
def contribution_mpc(
    preds: np.ndarray,
    cols: np.ndarray,
    stakes: np.ndarray,
    neutralizers: np.ndarray,
    weights: np.ndarray,
    target: np.ndarray,
    order: np.ndarray,
    offsets: np.ndarray,
    n_threads: int,
) -> tuple[np.ndarray, bool]: ...
def __getattr__(name: str) -> Any: ...
