"""Reference neutralization: one ``numpy.linalg.lstsq(..., rcond=1e-6)`` per era."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Neutralizer", "neutralize", "neutralize_series", "orthogonalize"]


def _unwrap(x: Any) -> tuple[np.ndarray, Any]:
    """2-D float64 copy of x, and a function giving a 2-D result back in x's kind."""
    if isinstance(x, pd.DataFrame):
        return x.to_numpy(dtype=np.float64), lambda a: pd.DataFrame(
            a, index=x.index, columns=x.columns
        )
    if isinstance(x, pd.Series):
        return x.to_numpy(dtype=np.float64).reshape(-1, 1), lambda a: pd.Series(
            a[:, 0], index=x.index, name=x.name
        )
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        return arr.reshape(-1, 1), lambda a: a[:, 0]
    return arr.copy(), lambda a: a


def _era_rows(eras: Any, n: int) -> list[np.ndarray]:
    if eras is None:
        return [np.arange(n)]
    labels = np.asarray(eras.to_numpy() if hasattr(eras, "to_numpy") else eras)
    return [np.flatnonzero(labels == e) for e in pd.unique(labels)]


#: a residual column with norm <= this x the norm of the centred y column is zero
NO_SPREAD = 1e-10


def _unit_scaled(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a with each column times 2^e, e): largest |value| in [1, 2) (e = 0 for zeros).
    Exact, subnormal values included."""
    big = np.abs(a).max(axis=0) if len(a) else np.zeros(a.shape[1])
    _, exponent = np.frexp(np.where(big > 0, big, 1.0))
    return np.ldexp(a, 1 - exponent), 1 - exponent


def _neutralize_block(
    y: np.ndarray, x: np.ndarray, proportion: float, intercept: bool, standardize: bool
) -> np.ndarray:
    """One era. Scale-robust: lstsq sees each exposure column centred (with an intercept)
    and scaled to a largest |value| of 1, so rcond=1e-6 is relative to each column's own
    scale, not to the largest column's; y is scaled by a power of two (exact) and
    scaled back. Columns that are constant (with an intercept) or zero carry nothing
    and are dropped. Conventions shared with the fast path: a residual whose norm is at
    most NO_SPREAD x the norm of the centred y column is exactly 0; with standardize, a
    column with no spread left (zero residual at proportion 1, or constant y) is 0."""
    ys, y_exponent = _unit_scaled(y)
    constant = (y == y[:1]).all(axis=0)
    keep = (x != x[:1]).any(axis=0) if intercept else (x != 0).any(axis=0)
    xs = x[:, keep]
    if intercept:
        # centre after an exact power-of-two scaling (no overflow for 1e300 columns)
        xs = _unit_scaled(xs)[0]
        xs = xs - xs.mean(axis=0)
    xs = _unit_scaled(xs)[0]
    d = np.hstack([xs, np.ones((len(x), 1))]) if intercept else xs
    centred = np.where(constant, 0.0, ys - ys.mean(axis=0)) if intercept else ys
    fitted = d @ np.linalg.lstsq(d, ys, rcond=1e-6)[0] if d.shape[1] else ys - centred
    resid = ys - fitted
    resid[:, constant & intercept] = 0.0
    zero = np.linalg.norm(resid, axis=0) <= NO_SPREAD * np.linalg.norm(centred, axis=0)
    resid[:, zero] = 0.0
    out = (1.0 - proportion) * ys + proportion * resid
    if standardize:
        flat = constant & intercept  # a constant y is in the intercept's span
        no_spread = (flat | zero) if proportion == 1.0 else flat
        sd = out.std(axis=0, ddof=1) if len(out) > 1 else np.zeros(out.shape[1])
        ok = ~no_spread & (sd > 0)
        return np.where(ok, out / np.where(ok, sd, 1.0), 0.0)
    return np.ldexp(out, -y_exponent)


def neutralize(
    y: Any,
    exposures: Any,
    *,
    eras: Any = None,
    proportion: float | list[float] = 1.0,
    intercept: bool = True,
    standardize: bool = False,
    n_threads: int | None = None,
    method: str = "auto",
    nan_policy: str = "raise",
) -> Any:
    """Residual of ``y`` on ``[exposures, 1]`` per era (see neutralkit.neutralize).

    ``nan_policy="omit"``: each column on its own non-NaN rows of the era; NaN stays NaN.
    """
    y2, wrap = _unwrap(y)
    x2 = np.asarray(exposures, dtype=np.float64)
    if x2.ndim == 1:
        x2 = x2.reshape(-1, 1)
    props = list(proportion) if isinstance(proportion, (list, tuple)) else [proportion]
    results = []
    for p in props:
        out = np.empty_like(y2)
        for rows in _era_rows(eras, len(y2)):
            if nan_policy != "omit":
                out[rows] = _neutralize_block(y2[rows], x2[rows], p, intercept, standardize)
                continue
            for j in range(y2.shape[1]):  # omit: each column on its own rows
                out[rows, j] = np.nan
                ok = rows[~np.isnan(y2[rows, j])]
                if ok.size:
                    block = _neutralize_block(y2[ok, j : j + 1], x2[ok], p, intercept, standardize)
                    out[ok, j] = block[:, 0]
        results.append(wrap(out))
    return results if isinstance(proportion, (list, tuple)) else results[0]


class Neutralizer:
    """Reference twin of neutralkit.Neutralizer: stores the exposures, no factorization."""

    def __init__(
        self,
        exposures: Any = None,
        *,
        eras: Any = None,
        intercept: bool = True,
        proportion: float | list[float] = 1.0,
        standardize: bool = False,
        method: str = "auto",
        n_threads: int | None = None,
    ) -> None:
        self.eras, self.intercept = eras, intercept
        self.proportion, self.standardize = proportion, standardize
        if exposures is not None:
            self.fit(exposures)

    def fit(self, exposures: Any, y: Any = None) -> Neutralizer:
        self.exposures_ = exposures
        return self

    def transform(self, y: Any, *, proportion: Any = None, standardize: Any = None) -> Any:
        return neutralize(
            y,
            self.exposures_,
            eras=self.eras,
            proportion=self.proportion if proportion is None else proportion,
            intercept=self.intercept,
            standardize=self.standardize if standardize is None else standardize,
        )


def orthogonalize(v: Any, u: Any, *, eras: Any = None) -> Any:
    """``v - u (uᵀv)/(uᵀu)`` per era (u and v at unit scale first: exact powers of two,
    so that 1e-200 or 1e200 vectors neither underflow nor overflow)."""
    v2, wrap = _unwrap(v)
    u1 = np.asarray(u, dtype=np.float64).reshape(-1)
    out = np.empty_like(v2)
    for rows in _era_rows(eras, len(v2)):
        ue = _unit_scaled(u1[rows].reshape(-1, 1))[0][:, 0]  # the projection ignores |u|
        ve, v_exponent = _unit_scaled(v2[rows])
        out[rows] = np.ldexp(ve - np.outer(ue, (ue @ ve) / (ue @ ue)), -v_exponent)
    return wrap(out)


def neutralize_series(series: Any, by: Any, proportion: float = 1.0) -> pd.Series:
    """The source document's function, with ``exposures @ coefficients`` subtracted.

    Scale-robust: the series and each column of the design ``[by, mean(series)]`` at
    unit scale (exact powers of two), so rcond is relative to each column's scale."""
    series = series if isinstance(series, pd.Series) else pd.Series(np.asarray(series))
    scores, score_exponent = _unit_scaled(series.to_numpy(dtype=np.float64).reshape(-1, 1))
    mean = np.ldexp(np.mean(scores), -score_exponent[0])
    exposures = np.asarray(by, dtype=np.float64).reshape(-1, 1)
    exposures = np.hstack([exposures, np.full((len(exposures), 1), mean)])
    exposures = _unit_scaled(exposures)[0]
    coefficients = np.linalg.lstsq(exposures, scores, rcond=1e-6)[0]
    corrected = np.ldexp(scores - proportion * (exposures @ coefficients), -score_exponent)
    return pd.Series(corrected.ravel(), index=series.index, name=series.name)
