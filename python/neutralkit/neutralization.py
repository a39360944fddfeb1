"""Per-era neutralization of predictions against features or a metamodel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._validate import (
    Eras,
    Labeled,
    align,
    aligned,
    as_float64,
    as_kernel_matrix,
    check_bool,
    check_finite,
    check_rows,
    eras_of,
    float_values_checked,
    labeled,
    n_threads_of,
    nan_policy_of,
    proportions_of,
    row_positions,
    unit_scaled,
)

__all__ = ["Neutralizer", "neutralize", "neutralize_series", "orthogonalize"]

#: method name -> kernel code. "auto" is the Gram/Cholesky route (see `neutralize`).
_METHODS = {"auto": 0, "cholesky": 0, "householder": 1, "pivoted": 2}
#: kernel path code -> name, as reported in Neutralizer.era_paths_
_PATHS = {0: "cholesky", 1: "householder", 2: "pivoted", 3: "no-exposure"}
_RCOND = 1e-6
_MIN_PIVOT = 1e-9


def _method_code(method: Any) -> int:
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method: expected one of {sorted(_METHODS)}, got {method!r}")
    return _METHODS[method]


_check_bool = check_bool  # kept for callers of the old private name


def _exposures(exposures: Any, n_rows: int | None, name: str = "exposures") -> Labeled:
    lab = labeled(exposures, name)
    if n_rows is not None and lab.n_rows != n_rows:
        raise ValueError(f"length mismatch: {name} has {lab.n_rows} rows but y has {n_rows}")
    check_finite(lab, name)
    return lab


def _targets(y: Any, name: str = "y") -> tuple[Labeled, np.ndarray]:
    lab = labeled(y, name)
    values = as_float64(lab.values)
    check_finite(lab, name, values)
    return lab, values


def _results(lab: Labeled, out: np.ndarray, props: list[float], scalar: bool) -> Any:
    wrapped = [lab.wrap_rows(out[i]) for i in range(len(props))]
    return wrapped[0] if scalar else wrapped


def _neutralize_eras(
    x: np.ndarray,
    y: np.ndarray,
    er: Eras,
    props: list[float],
    *,
    intercept: bool = True,
    standardize: bool = False,
    method: int = 0,
    n_threads: int = 1,
) -> np.ndarray:
    """Residuals (P x n x m) of already validated inputs: x kernel-readable, y float64.

    The internal entry point for every caller inside the package (validated once).
    """
    if er.n_eras and np.any(er.sizes() == 0):  # eras emptied by a row subset
        keep = np.flatnonzero(er.sizes() > 0)
        er = Eras.from_codes(np.searchsorted(keep, er.codes), er.labels[keep])
    out, _paths = _core.neutralize(
        as_kernel_matrix(x),
        y,
        er.order,
        er.offsets,
        props,
        intercept,
        standardize,
        method,
        _RCOND,
        _MIN_PIVOT,
        n_threads,
    )
    return out


def _neutralize_omit(
    x: np.ndarray, y: np.ndarray, er: Eras, props: list[float], **options: Any
) -> np.ndarray:
    """nan_policy="omit": each column of y on its own non-NaN rows (NaN stays NaN).

    Columns with the same NaN rows share one factorization per era.
    """
    out = np.full((len(props), *y.shape), np.nan)
    missing = np.isnan(y)
    clean = np.flatnonzero(~missing.any(axis=0))
    if clean.size:
        out[:, :, clean] = _neutralize_eras(x, y[:, clean], er, props, **options)
    patterns: dict[bytes, list[int]] = {}
    for j in np.flatnonzero(missing.any(axis=0)):
        patterns.setdefault(missing[:, j].tobytes(), []).append(int(j))
    for cols in patterns.values():
        rows = np.flatnonzero(~missing[:, cols[0]])
        if not rows.size:
            continue
        sub = er.subset(~missing[:, cols[0]])
        res = _neutralize_eras(x[rows], y[np.ix_(rows, np.asarray(cols))], sub, props, **options)
        out[:, rows[:, None], np.asarray(cols)] = res
    return out


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
    r"""Neutralize prediction columns against exposures, era by era.

    Per era, with :math:`D = [X, 1]` (the ones column only when ``intercept``)::

        beta     = argmin || Y - D beta ||        (minimal norm if D is rank-deficient)
        residual = Y - proportion * D beta
        if standardize: residual /= std(residual, ddof=1)   (per column, per era)

    At the numeric edges: a residual column whose norm is at most 1e-10 times the norm
    of the centred ``y`` column (``y`` in the span of the exposures, e.g. ``k + 1 >= n``)
    is returned as exactly 0, not rounding noise; with ``standardize`` a column with no
    spread left (such a zero residual at proportion 1, or ``y`` constant in the era) is
    0, not 0/0. Exposure and ``y`` columns are scaled by exact powers of two where their
    magnitude is far from 1 (1e200, 1e-200, subnormal), and int64 exposures are summed
    and centred in exact integer arithmetic (nanosecond timestamps), so the result does
    not depend on the units.

    Parameters
    ----------
    y : array-like, Series or DataFrame, shape (n,) or (n, m)
        Predictions (any real dtype, bool, nullable or pyarrow-backed; used as float64).
        The first row input: the others are aligned to it.
    exposures : array-like or DataFrame, shape (n, k)
        Features or metamodel columns: bool, int8..int64, float32 or float64 (also
        nullable/pyarrow without NA), C or F order or a strided view. Never copied whole
        (unless its rows must be reordered, see below): the kernel converts one era
        block at a time, so int8 features cost no float64 copy of the matrix. Must be
        finite whatever ``nan_policy`` is. Rows meet ``y``'s rows by index label when
        both are pandas objects (the same labels in another order are aligned to
        ``y``'s order; different or duplicated labels raise ValueError), by position
        otherwise.
    eras : array-like or Series, optional
        One era label per row (any hashable type, tuples too, any row order). A Series
        is aligned to ``y`` by index label like ``exposures``; an array, list or
        ``pd.Index`` by position. ``None``: one era.
    proportion : float in [0, 1] or list of floats
        How much of the fitted part to remove. A list returns a list of results, one per
        proportion in the same order, from one factorization per era.
    intercept : bool
        Add the ones column (the default). With it, a column of ``y`` that is constant
        within an era becomes exactly 0 at proportion 1 (``y - proportion * y`` in
        general); with ``standardize`` it stays 0 instead of 0/0.
    standardize : bool
        Divide each residual column by its per-era standard deviation (ddof=1); a
        column with no spread left becomes 0 (see above).
    n_threads : int, optional
        Threads over eras, 1 to 1024 (default: all cores). The result does not depend
        on it.
    method : {"auto", "cholesky", "householder", "pivoted"}
        ``"auto"`` = ``"cholesky"``: Cholesky factor of the Gram matrix of the centred,
        unit-scaled era block (that factor is the block's QR R-factor, "CholeskyQR"),
        with one step of iterative refinement; for small-integer features the Gram matrix
        is exact (float32 product of integers). ``"householder"``: Householder QR of the
        same block. ``"pivoted"``: column-pivoted QR, rank-revealing. Whatever is asked,
        an era that is rank-deficient (constant columns aside, which are dropped as they
        lie in the intercept's span; duplicated columns; ``k + 1 >= n``) is detected and
        solved by pivoted QR, for that era only.
    nan_policy : {"raise", "omit"}
        ``"raise"`` (default): NaN in ``y`` raises ValueError (count, first column).
        ``"omit"``: each column of ``y`` is neutralized on its own non-NaN rows of each
        era (as if neutralized alone on those rows) and NaN stays NaN; infinity is still
        refused. NaN in ``exposures`` is refused either way (a missing feature value
        has no residual; drop or fill those rows first).

    Returns
    -------
    The same kind and shape as ``y`` (index and columns kept), in the input's row
    order; a list of those when ``proportion`` is a list.

    Raises
    ------
    ValueError
        NaN/inf in ``y`` or ``exposures`` (with the count and first column), length
        mismatch, index labels of pandas inputs that differ, empty input,
        ``proportion`` outside [0, 1].
    TypeError
        Non-numeric inputs, ``proportion`` not a number, ``eras`` a scalar or a dict.
    """
    policy = nan_policy_of(nan_policy)
    y_lab = labeled(y, "y")
    y_values = float_values_checked(y_lab, "y", policy)
    x_lab = aligned(exposures, "exposures", y_lab, "y")
    # "exposures (features)": users pass their features here, by position
    try:
        check_finite(x_lab, "exposures (features)")
    except ValueError as exc:
        raise ValueError(
            f"{exc}; the exposures must be finite whatever nan_policy is (drop or fill those rows)"
        ) from None
    props, scalar = proportions_of(proportion)
    options: dict[str, Any] = dict(
        intercept=check_bool(intercept, "intercept"),
        standardize=check_bool(standardize, "standardize"),
        method=_method_code(method),
        n_threads=n_threads_of(n_threads),
    )
    era_index = eras_of(eras, y_lab.n_rows, index=y_lab.index, index_name="y")
    if policy == "omit" and np.isnan(y_values).any():
        out = _neutralize_omit(x_lab.values, y_values, era_index, props, **options)
    else:
        out = _neutralize_eras(x_lab.values, y_values, era_index, props, **options)
    return _results(y_lab, out, props, scalar)


@dataclass(frozen=True)
class _Fitted:
    """One fit of a Neutralizer, replaced as a whole (never modified)."""

    x: np.ndarray  # the exposures as the kernel reads them (a view where possible)
    eras: Eras
    index: pd.Index | None  # the exposures' row labels (pandas input)
    factorization: Any  # _core.Factorization, immutable


class Neutralizer:
    """Factorize each era of the exposures once; neutralize any number of predictions.

    Follows the scikit-learn transformer protocol (``fit``/``transform``/
    ``fit_transform``/``get_params``/``set_params``) without depending on scikit-learn:
    in a Pipeline, ``fit(X)`` receives the exposures and ``transform(y)`` the columns
    to neutralize.

    Parameters
    ----------
    exposures : array-like or DataFrame, optional
        If given, fitted at once (``Neutralizer(X, eras=e).transform(y)``).
    eras, intercept, method, n_threads
        As in :func:`neutralize`.
    proportion, standardize
        Defaults for :meth:`transform`.

    Notes
    -----
    The fitted object keeps a reference to ``exposures`` (not a copy): the Cholesky path
    re-reads an era's block at each transform. Do not modify the exposures in place
    after fitting. Pivoted-QR eras keep their float64 factor (n x k per era).

    Thread safety: a fitted state (the exposures, the eras and the factorization) is
    immutable and replaced as one reference. ``fit`` validates every argument and
    parameter and factorizes before it replaces anything, so a ``fit`` that raises
    leaves the previous fit in place, and ``transform`` calls running on other threads
    while one thread refits each use one whole fit, the old or the new, never a mix.
    Any number of threads may call ``transform`` on one fitted object at once. (Calling
    ``set_params`` while other threads ``fit`` is a race on the parameters, as in any
    Python object.)
    """

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
        self.eras = eras
        self.intercept = intercept
        self.proportion = proportion
        self.standardize = standardize
        self.method = method
        self.n_threads = n_threads
        if exposures is not None:
            self.fit(exposures)

    _PARAMS = ("eras", "intercept", "proportion", "standardize", "method", "n_threads")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> Neutralizer:
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"set_params: unknown parameter {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "eras")
        return f"Neutralizer({args})"

    def fit(self, exposures: Any, y: Any = None) -> Neutralizer:
        """Factorize every era of ``exposures`` (``y`` is ignored).

        Everything is validated, and the factorization made, before the previous fit
        is replaced (in one step): a ``fit`` that raises changes nothing.
        """
        x_lab = _exposures(exposures, None)
        intercept = _check_bool(self.intercept, "intercept")
        method = _method_code(self.method)
        threads = n_threads_of(self.n_threads)
        eras = eras_of(self.eras, x_lab.n_rows, index=x_lab.index, index_name="exposures")
        x = as_kernel_matrix(x_lab.values)
        factorization = _core.factorize(
            x, eras.order, eras.offsets, intercept, method, _RCOND, _MIN_PIVOT, threads
        )
        names = None if x_lab.columns is None else np.asarray(x_lab.columns, dtype=object)
        # y meets the fitted rows by label in transform, hence the index
        self._state = _Fitted(x, eras, x_lab.index, factorization)
        self.n_features_in_ = x_lab.n_cols
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    @property
    def era_paths_(self) -> pd.Series:
        """Which solver each era used ("cholesky", "householder", "pivoted", ...)."""
        state = self._fitted_state()
        codes = np.asarray(state.factorization.paths)
        return pd.Series([_PATHS[int(c)] for c in codes], index=state.eras.labels)

    def _fitted_state(self) -> _Fitted:
        state: _Fitted | None = getattr(self, "_state", None)
        if state is None:
            raise RuntimeError("Neutralizer: call fit(exposures) first")
        return state

    def transform(
        self,
        y: Any,
        *,
        proportion: float | list[float] | None = None,
        standardize: bool | None = None,
    ) -> Any:
        """Neutralize ``y`` against the fitted exposures.

        ``y`` meets the fitted exposures' rows by index label when both are pandas
        objects (the same labels in another order are aligned, and the result keeps
        ``y``'s order and index; different or duplicated labels raise ValueError), by
        position otherwise.
        """
        state = self._fitted_state()  # one whole fit, whatever other threads do
        y_lab, y_values = _targets(y)
        fitted_index = state.index
        positions = None
        if y_lab.index is not None and fitted_index is not None:  # pandas: by label
            positions = row_positions(y_lab.index, "y", fitted_index, "the fitted exposures")
        if positions is None:
            check_rows("y", y_lab.n_rows, state.x.shape[0], "the fitted exposures")
        else:
            y_values = y_values[positions]
        props, scalar = proportions_of(self.proportion if proportion is None else proportion)
        std = _check_bool(self.standardize if standardize is None else standardize, "standardize")
        out = state.factorization.transform(
            state.x,
            y_values,
            state.eras.order,
            state.eras.offsets,
            props,
            std,
            n_threads_of(self.n_threads),
        )
        if positions is not None:  # back to y's own row order
            restored = np.empty_like(out)
            restored[:, positions] = out
            out = restored
        return _results(y_lab, out, props, scalar)

    def fit_transform(self, exposures: Any, y: Any = None, **kwargs: Any) -> Any:
        """Fit on ``exposures``; transform ``y`` (the exposures themselves if None)."""
        self.fit(exposures)
        return self.transform(exposures if y is None else y, **kwargs)


def orthogonalize(v: Any, u: Any, *, eras: Any = None) -> Any:
    """Remove from each column of ``v`` its projection on the vector ``u``, per era.

    ``v - u (uᵀv) / (uᵀu)``: one vector, no intercept (official numerai-tools
    ``orthogonalize``, used on centred Gaussianized vectors).

    Parameters
    ----------
    v : array-like, Series or DataFrame, shape (n,) or (n, m)
        The first row input: ``u`` and ``eras`` are aligned to it.
    u : array-like or Series, shape (n,) (or (n, 1))
        Rows meet ``v``'s by index label when both are pandas objects (same labels in
        another order are aligned; different or duplicated labels raise ValueError), by
        position otherwise.
    eras : array-like or Series, optional
        One label per row; a Series is aligned to ``v`` by index label, an array by
        position.

    Returns
    -------
    The same kind and shape as ``v``.
    """
    v_lab, v_values = _targets(v, "v")
    u_lab = aligned(u, "u", v_lab, "v")
    if u_lab.n_cols != 1:
        raise ValueError(f"u: expected one column, got {u_lab.n_cols}")
    u_values = as_float64(u_lab.values)
    check_finite(u_lab, "u", u_values)
    # exact power-of-two scaling: u's scale cancels, v's is put back at the end, so
    # values near 1e200 or 1e-200 neither overflow nor underflow in the dot products
    u_values = unit_scaled(u_values)[0]
    v_values, v_scale = unit_scaled(v_values)
    era_index = eras_of(eras, v_lab.n_rows, index=v_lab.index, index_name="v")
    out = np.empty_like(v_values)
    for e in range(era_index.n_eras):
        rows = era_index.rows(e)
        ue = u_values[rows, 0]
        uu = float(ue @ ue)
        if uu == 0.0:
            raise ValueError(f"u: is all zeros in era {era_index.labels[e]!r}")
        ve = v_values[rows]
        out[rows] = ve - np.outer(ue, (ue @ ve) / uu)
    return v_lab.wrap_rows(out * v_scale if v_scale != 1.0 else out)


def neutralize_series(series: Any, by: Any, proportion: float = 1.0) -> pd.Series:
    """The source document's ``neutralize_series``, with its erratum fixed.

    Neutralizes one Series against one other: appends a constant column equal to
    ``mean(series)`` to ``by`` and removes ``proportion`` times the least-squares fit
    (``lstsq(..., rcond=1e-6)``); the document's code subtracted the coefficients instead
    of ``exposures @ coefficients``. Equal to ``neutralize(series, by)`` (with intercept)
    whenever ``mean(series)`` is not 0; when it is exactly 0 the appended column carries
    nothing and, as in the document, no intercept is fitted. Each design column is
    brought to unit scale (an exact power of two) before ``lstsq``, so that rcond is
    relative to each column's own scale: ``by`` at 1e-12 or 1e12 next to a mean of 3 is
    not cut. A two-column problem: solved directly, no per-era machinery.

    Parameters
    ----------
    series : Series or 1-D array
    by : Series or 1-D array, same length
        A Series meets ``series`` by index label (same labels in another order are
        aligned; different or duplicated labels raise ValueError); an array by position.
    proportion : float in [0, 1]

    Returns
    -------
    Series with ``series``' index and name.
    """
    s_lab, s_values = _targets(series, "series")
    if s_lab.n_cols != 1:
        raise ValueError(f"series: expected one column, got {s_lab.n_cols}")
    if not isinstance(series, pd.Series):
        series = pd.Series(s_values[:, 0])
    b_lab = align(_exposures(by, None, "by"), "by", s_lab, "series")
    if b_lab.n_cols != 1:
        raise ValueError(f"by: expected one column, got {b_lab.n_cols}")
    props, scalar = proportions_of(proportion)
    if not scalar:
        raise TypeError(f"proportion: expected a number in [0, 1], got {proportion!r}")
    # Scale-robust: the series and each design column at unit scale (exact powers of
    # two: no overflow or underflow at 1e+-200, and rcond relative to each column).
    scores, s_exp = _unit_scaled(s_values)
    mean = np.ldexp(np.mean(scores), -int(s_exp[0]))
    exposures = np.hstack([as_float64(b_lab.values), np.full((s_lab.n_rows, 1), mean)])
    exposures = _unit_scaled(exposures)[0]
    coefficients = np.linalg.lstsq(exposures, scores, rcond=_RCOND)[0]
    corrected = np.ldexp(scores - props[0] * (exposures @ coefficients), -s_exp)
    return pd.Series(corrected[:, 0], index=series.index, name=series.name)


def _unit_scaled(a: np.ndarray, common: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(a times 2^e per column, e): largest |value| in [1, 2), e = 0 for zero columns;
    with ``common``, one e for the whole array. Exact, subnormals included."""
    big = np.abs(a).max(axis=None if common else 0, keepdims=not common)
    big = np.atleast_1d(big).reshape(-1)
    ok = (big > 0) & np.isfinite(big)
    e = np.where(ok, 1 - np.frexp(np.where(ok, big, 1.0))[1], 0)
    return np.ldexp(a, e if not common else e[0]), e
