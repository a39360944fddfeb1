"""Hypothesis strategies shared by the property tests.

Era-structured data: eras of mixed sizes in shuffled row order, every supported dtype,
C order, F order and strided views, and exposures made rank-deficient on purpose
(columns constant within an era, duplicated columns, more columns than rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

DTYPES = ["int8", "int16", "int32", "int64", "float32", "float64"]
LAYOUTS = ["C", "F", "strided"]


@dataclass
class EraData:
    x: np.ndarray  # exposures, n x k, in the drawn dtype and layout
    y: np.ndarray  # predictions, n x m float64
    eras: np.ndarray  # one label per row, shuffled
    description: str

    def __repr__(self) -> str:  # hypothesis prints this on failure
        return (
            f"EraData({self.description}, x.shape={self.x.shape}, "
            f"x.dtype={self.x.dtype}, eras={np.unique(self.eras).size})"
        )


def layout(arr: np.ndarray, kind: str) -> np.ndarray:
    """The same values as a C-order, F-order or strided (non-contiguous) array."""
    if kind == "C":
        return np.ascontiguousarray(arr)
    if kind == "F":
        return np.asfortranarray(arr)
    wide = np.zeros((arr.shape[0], 2 * arr.shape[1]), dtype=arr.dtype)
    wide[:, ::2] = arr
    return wide[:, ::2]


@st.composite
def era_data(draw, max_rows: int = 120, max_k: int = 24, max_m: int = 3) -> EraData:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_eras = draw(st.integers(1, 4))
    sizes = [draw(st.integers(2, max(2, max_rows // n_eras))) for _ in range(n_eras)]
    n = sum(sizes)
    k = draw(st.integers(1, max_k))
    m = draw(st.integers(1, max_m))
    dtype = draw(st.sampled_from(DTYPES))
    kind = draw(st.sampled_from(LAYOUTS))
    values = draw(st.sampled_from(["grid", "continuous"]))
    scale = 1.0
    if dtype.startswith("int"):
        x = rng.integers(0, 5, size=(n, k)).astype(np.float64)
    elif values == "grid":  # integer or quarter values stored as floats, maybe negative
        step = draw(st.sampled_from([1.0, 0.25]))
        x = step * rng.integers(-2, 3, size=(n, k)) + draw(st.sampled_from([0.0, 3.0]))
    else:
        # Scales and offsets vary, but the offset stays a few standard deviations: a
        # column 10^4 sd away from 0 is near-collinear with the intercept, where the
        # rcond=1e-6 cut of lstsq makes the residual itself ill-defined.
        # Moderate scales only: lstsq's rcond cut is relative to the largest singular
        # value of the unscaled [X, 1], so with features 10^3 smaller or larger than the
        # ones column it drops real directions of near-square eras (neutralkit decides
        # rank on unit-scaled columns; documented). Offsets only with unit scale.
        scale = draw(st.sampled_from([0.5, 1.0, 20.0]))
        offset = draw(st.sampled_from([0.0, 3.0])) if scale == 1.0 else 0.0
        x = scale * rng.normal(size=(n, k)) + offset
    if dtype == "float32":
        x = x.astype(np.float32).astype(np.float64)  # values exactly representable
    eras = np.repeat(np.arange(n_eras), sizes)
    deficiency = draw(st.sampled_from(["none", "constant", "duplicate", "combination"]))
    if deficiency == "constant" and k >= 1:
        j = int(rng.integers(k))
        for e in range(n_eras):  # constant within each era, different across eras
            # at the data's scale: a column 10^3 times larger than the others puts
            # their singular values near lstsq's relative 1e-6 cut
            x[eras == e, j] = scale * float(rng.integers(0, 5))
    elif deficiency == "duplicate" and k >= 2:
        x[:, -1] = x[:, 0]
    elif deficiency == "combination" and k >= 3:
        # exact in float32 too (a sum of two float32 values may round)
        x[:, -1] = x[:, 0] + x[:, 1] if dtype != "float32" else 2.0 * x[:, 0]

    y = rng.normal(size=(n, m))
    if draw(st.booleans()):
        y[:, 0] += x[:, 0]  # real exposure to remove
    perm = rng.permutation(n)
    x, y, eras = x[perm], y[perm], eras[perm]
    x = layout(x.astype(dtype), kind)
    return EraData(x, y, eras, f"{deficiency}, {values}, {kind}, sizes={sizes}")


def rank_is_clear(data: EraData, intercept: bool = True) -> bool:
    """False if some era's design [X, 1] (or X) is nearly but not exactly singular.

    lstsq (the reference) drops singular values below 1e-6 of the largest; neutralkit
    decides rank by pivoted QR of unit-scaled columns. Both agree when every singular
    value is clearly above the cut or clearly zero (exact deficiency: rounding level);
    in between, the two may drop different directions, and the residual itself is
    ill-defined there. Property tests against the reference skip such draws.
    """
    x = np.asarray(data.x, dtype=np.float64)
    for e in np.unique(data.eras):
        rows = data.eras == e
        design = np.hstack([x[rows], np.ones((rows.sum(), 1))]) if intercept else x[rows]
        sv = np.linalg.svd(design, compute_uv=False)
        if sv[0] == 0:
            continue
        ratio = sv / sv[0]
        if np.any((ratio > 1e-11) & (ratio < 1e-4)):
            return False
    return True
