"""A drop-in for ``numerai_tools.scoring`` (0.7.2), computed with neutralkit's kernels.

Same function names (all 37 public functions), signatures and results (to 1e-12;
~1e-15 in practice) on the same inputs, including the original's behaviour around the
edges, so that ``from neutralkit.compat.numerai_tools import scoring`` can replace
``from numerai_tools import scoring``:

* **dtypes as Numerai ships them**: a float32 target is centred (and powered, and
  multiplied by 4 in the contributions) in float32 before the float64 correlation,
  exactly as the original's pandas steps do; float64 targets in float64. The main API
  (``neutralkit.numerai_corr``...) computes in float64 throughout, the more accurate
  of the two (they differ by ~1e-9 on real Numerai data);
* ``generate_neutralized_weights``, ``alpha`` and ``meta_portfolio_contribution`` run
  through :mod:`neutralkit.contribution` (predictions ranked over all their ids before
  the ids are matched, as the original does); ``one_hot_encode`` needs no
  scikit-learn (categories ordered as its ``OneHotEncoder`` orders them);
* inputs are matched on their index, rows with a NaN dropped, and sorted by index
  (``filter_sort_index``), with the same ``AssertionError`` when too many ids are lost;
* functions that need a sorted index (``rank``, ``gaussian``, ``power``,
  ``pearson_correlation``...) assert it, as the original does;
* ``numerai_corr`` centres the target *before* dropping unmatched ids, and asserts that
  ``p15(target)`` still correlates >= 0.9 with the target (the same assertion on the
  predictions' Gaussian ranks is not repeated: it held, >= 0.95, over every tie
  structure searched);
* ``neutralize`` turns a constant column into NaN; ``top_bottom > n / 2`` fails an
  assertion; ``orthogonalize`` of a 1-D ``v`` broadcasts to an (n, n) array, as the
  NumPy expression it is defined by does.

The one intended difference: an unnamed target Series works here, where the
original raises ``KeyError: None`` in ``numerai_corr`` / ``feature_neutral_corr``.

Where the main API (``neutralkit.numerai_corr``, ``neutralkit.feature_neutral_corr``...)
behaves better, and why:

* **NaN per column**: one NaN in one prediction column makes the original drop that
  row for every column; ``nan_policy="omit"`` scores each column on its own rows.
* **Constant columns**: a constant prediction column gives NaN (with a warning in the
  original) or a failed assertion, here as there; the main API returns NaN for that
  column quietly, and raises a ``ValueError`` naming the argument where a result would
  be meaningless (a constant metamodel in a contribution).
* **No pre-sorted index**: the main API needs no sorted or matching index and keeps the
  input's row order; with ``eras=`` it scores every era in one call instead of one call
  per era.
* **Clear errors**: ``ValueError``/``TypeError`` naming the argument instead of bare
  ``AssertionError``/``KeyError``, and no silent row dropping.
* **Speed and memory**: int8 features are read in place; ranks, Gaussian scores and
  correlations of many columns run in compiled kernels.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from ... import _core
from ... import diagnostics as _diag
from ... import scoring as _scoring
from ...neutralization import neutralize as _neutralize
from ...neutralization import orthogonalize as _orthogonalize


def _ndtri(p: np.ndarray) -> np.ndarray:
    """Inverse normal CDF of any array (the compiled one; no scipy needed)."""
    flat = np.ascontiguousarray(p, dtype=np.float64).reshape(-1)
    return np.asarray(_core.ndtri(flat)).reshape(np.shape(p))


__all__ = [
    "DEFAULT_MAX_FILTERED_INDEX_RATIO",
    "alpha",
    "center",
    "contribution_scores",
    "correlation",
    "correlation_contribution",
    "feature_neutral_corr",
    "filter_sort_index",
    "filter_sort_index_many",
    "filter_sort_top_bottom",
    "filter_sort_top_bottom_concat",
    "gaussian",
    "generate_neutralized_weights",
    "max_feature_correlation",
    "meta_portfolio_contribution",
    "min_max_normalize",
    "neutral_contribution",
    "neutral_correlation",
    "neutralize",
    "numerai_corr",
    "one_hot_encode",
    "orthogonalize",
    "pearson_correlation",
    "power",
    "rank",
    "rank_series",
    "sharpe_ratio",
    "spearman_correlation",
    "stake_weight",
    "standardize",
    "tie_broken_rank",
    "tie_broken_rank_correlation",
    "tie_kept_rank",
    "tie_kept_rank__gaussianize__neutralize__variance_normalize",
    "tie_kept_rank__gaussianize__pow_1_5",
    "validate_indices",
    "variance_normalize",
    "weight_normalize",
]

#: share of ids that may be lost when matching two inputs (as in numerai-tools)
DEFAULT_MAX_FILTERED_INDEX_RATIO = 0.2

#: threads used by the kernels behind this module (the original's signatures have no
#: such argument); ``None`` = every core. Results do not depend on it.
N_THREADS: int | None = None

S1 = TypeVar("S1", pd.DataFrame, pd.Series)
S2 = TypeVar("S2", pd.DataFrame, pd.Series)
RANK_METHOD_TYPE = Literal["average", "min", "max", "first", "dense"]


# ------------------------------------------------------------------ index handling


def _complete_rows(s: pd.DataFrame | pd.Series) -> pd.Index:
    """Index labels of the rows without any NaN."""
    isna = s.isna()
    if isinstance(isna, pd.DataFrame):
        isna = isna.any(axis=1)
    return s.index[~isna.to_numpy()]


def _check_kept(n_kept: int, n_total: int, what: str, other: str, ratio: float) -> None:
    floor = 1 - ratio
    assert n_kept / n_total >= floor, (
        f"{what} does not have enough overlapping ids with {other},"
        f" must have >= {round(floor, 2) * 100}% overlapping ids"
    )


def filter_sort_index(
    s1: S1, s2: S2, max_filtered_ratio: float = DEFAULT_MAX_FILTERED_INDEX_RATIO
) -> tuple[S1, S2]:
    """Keep the ids both inputs have without NaN, sorted; assert few were lost."""
    ids = _complete_rows(s1).intersection(_complete_rows(s2))
    _check_kept(len(ids), len(s1), "s1", "s2", max_filtered_ratio)
    _check_kept(len(ids), len(s2), "s2", "s1", max_filtered_ratio)
    return s1.loc[ids].sort_index(), s2.loc[ids].sort_index()


def filter_sort_index_many(
    inputs: list[Any], max_filtered_ratio: float = DEFAULT_MAX_FILTERED_INDEX_RATIO
) -> list[Any]:
    """:func:`filter_sort_index` for any number of inputs."""
    assert len(inputs) > 0, "List must contain at least one element"
    ids = _complete_rows(inputs[0])
    for other in inputs[1:]:
        ids = ids.intersection(_complete_rows(other))
    out = [x.loc[ids].sort_index() for x in inputs]
    for i, (kept, original) in enumerate(zip(out, inputs, strict=True)):
        _check_kept(len(kept), len(original), f"inputs[{i}]", "the others", max_filtered_ratio)
    return out


def _top_bottom_positions(values: np.ndarray, top_bottom: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(values, kind="stable")
    return order[-top_bottom:], order[:top_bottom]


def filter_sort_top_bottom(s: pd.Series, top_bottom: int) -> tuple[pd.Series, pd.Series]:
    """The ``top_bottom`` highest and lowest values of ``s`` (stable), each sorted."""
    top, bottom = _top_bottom_positions(s.to_numpy(), top_bottom)
    return s.iloc[top].sort_index(), s.iloc[bottom].sort_index()


def filter_sort_top_bottom_concat(s: pd.Series, top_bottom: int) -> pd.Series:
    """Top and bottom values of ``s`` in one Series, sorted by index."""
    top, bottom = filter_sort_top_bottom(s, top_bottom)
    return pd.concat([top, bottom]).sort_index()


def _assert_sorted(index: pd.Index, message: str | None = None) -> None:
    ok = index.is_monotonic_increasing or np.array_equal(index.sort_values(), index)
    if message is None:
        assert ok
    else:
        assert ok, message


def validate_indices(live_targets: pd.Series, predictions: pd.Series) -> None:
    """Assert: same ids, both sorted, no NaN."""
    assert np.array_equal(predictions.index, live_targets.index.sort_values())
    _assert_sorted(live_targets.index)
    _assert_sorted(predictions.index)
    assert not predictions.isna().any()
    assert not live_targets.isna().any()


# ------------------------------------------------------------------------ ranking


def _rank_values(values: np.ndarray, method: str) -> np.ndarray:
    """Uniform ranks (rank - 0.5) / count of each column; NaN stays NaN."""
    if method in ("average", "first"):
        return _scoring.rank(values, method=method, n_threads=N_THREADS, nan_policy="omit")
    frame = pd.DataFrame(values)
    return ((frame.rank(method=method) - 0.5) / frame.count()).to_numpy()


def rank_series(s: pd.Series, method: RANK_METHOD_TYPE = "average") -> pd.Series:
    """``(rank - 0.5) / count`` of a Series with a sorted index."""
    _assert_sorted(s.index, "unsorted index found")
    out = _rank_values(s.to_numpy(dtype=np.float64).reshape(-1, 1), method)
    return pd.Series(out[:, 0], index=s.index, name=s.name)


def rank(s: S1, method: RANK_METHOD_TYPE = "average") -> S1:
    """Uniform rank of a Series or of each column of a DataFrame."""
    if isinstance(s, pd.Series):
        return rank_series(s, method)
    if s.shape[1]:
        _assert_sorted(s.index, "unsorted index found")
    out = _rank_values(s.to_numpy(dtype=np.float64), method)
    return pd.DataFrame(out, index=s.index, columns=s.columns)


def tie_broken_rank(df: pd.DataFrame) -> pd.DataFrame:
    """Rank, ties broken by row order."""
    return rank(df, "first")


def tie_kept_rank(s: S1) -> S1:
    """Rank, ties share their average rank."""
    return rank(s, "average")


# ------------------------------------------------------------------ normalization


def min_max_normalize(s: pd.Series) -> pd.Series:
    """Scale to [0, 1]."""
    lo, hi = s.min(), s.max()
    return (s - lo) / (hi - lo)


def variance_normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Divide each column by its std (ddof=0)."""
    return df / df.std(ddof=0)


def weight_normalize(s: S1) -> S1:
    """Divide by the sum of absolute values (per column)."""
    return s / s.abs().sum(axis=0)


def center(s: S1) -> S1:
    """Subtract the (NaN-skipping) mean of each column."""
    return s - s.mean()


def standardize(df: pd.DataFrame) -> pd.DataFrame:
    """Centre, then divide by the std (ddof=0)."""
    return variance_normalize(center(df))


# --------------------------------------------------------------- transforms


def _column_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson of matching columns of two (n x m) arrays, NaN for a constant column."""
    ac = a - a.mean(axis=0)
    bc = b - b.mean(axis=0)
    denom = np.sqrt((ac * ac).sum(axis=0) * (bc * bc).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (ac * bc).sum(axis=0) / denom


def power(df: pd.DataFrame, p: float) -> pd.DataFrame:
    """``sign(x) |x|^p``; asserts no NaN, a sorted index, corr >= 0.9 with the input."""
    assert not df.isna().to_numpy().any(), "Data contains NaNs"
    _assert_sorted(df.index, "Index is not sorted")
    values = df.to_numpy(dtype=np.float64)
    if np.isfinite(values).all() and p > 0:
        out = _scoring.power(values, p, n_threads=N_THREADS)
    else:
        out = np.sign(values) * np.abs(values) ** p
    out2 = out.reshape(len(values), -1)
    # one row: pandas' std and corr are NaN there, so the original's assertion fails
    std_zero = out2.std(axis=0, ddof=1) == 0 if len(values) > 1 else np.zeros(out2.shape[1], bool)
    corr = _column_pearson(out2, values.reshape(len(values), -1))
    assert (std_zero | (corr >= 0.9)).all()
    if isinstance(df, pd.Series):
        return pd.Series(out, index=df.index, name=df.name)
    return pd.DataFrame(out, index=df.index, columns=df.columns)


def gaussian(df: pd.DataFrame) -> pd.DataFrame:
    """Inverse normal CDF of each value (values in [0, 1]); asserts a sorted index."""
    _assert_sorted(df.index)
    out = _ndtri(df.to_numpy(dtype=np.float64))
    if isinstance(df, pd.Series):
        return pd.Series(out, index=df.index, name=df.name)
    return pd.DataFrame(out, index=df.index, columns=df.columns)


def orthogonalize(v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``v - u (vᵀu) / (uᵀu)`` for each column of ``v`` (NumPy broadcasting kept)."""
    v = np.asarray(v)
    u = np.asarray(u)
    if v.ndim == 2 and u.ndim == 1 and v.dtype.kind == "f" and np.isfinite(v).all():
        return _orthogonalize(v, u)
    coefficients = (v.T @ u) / (u.T @ u)
    return v - np.outer(u, coefficients)


def _categories(values: np.ndarray) -> tuple[list[Any], bool]:
    """Sorted distinct non-missing values (as scikit-learn's OneHotEncoder orders
    them: numbers ascending, strings lexically) and whether any value is missing."""
    missing = pd.isna(values)
    present = values[~missing]
    if present.dtype.kind in "biuf":
        return list(np.unique(present)), bool(missing.any())
    return sorted(set(present.tolist())), bool(missing.any())


def one_hot_encode(df: pd.DataFrame, columns: list[str], dtype: type = np.float64) -> pd.DataFrame:
    """Replace each of ``columns`` by one 0/1 column per distinct value, named
    ``<column>_<value>`` (``<column>_nan`` for missing values, last), appended after
    the other columns; values sorted as scikit-learn's ``OneHotEncoder`` sorts them,
    which the original uses (not needed here)."""
    for col in columns:
        values = df[col].to_numpy()
        categories, any_missing = _categories(values)
        missing = pd.isna(values)
        indicators = [(values == c) & ~missing for c in categories]
        names = [f"{col}_{c}" for c in categories]
        if any_missing:
            indicators.append(missing)
            names.append(f"{col}_nan")
        block = np.column_stack(indicators) if indicators else np.empty((len(df), 0))
        encoded = pd.DataFrame(block.astype(dtype), columns=names, index=df.index)
        df = df.join(encoded).drop(columns=col)
    return df


def tie_kept_rank__gaussianize__pow_1_5(df: pd.DataFrame) -> pd.DataFrame:
    """``power(gaussian(tie_kept_rank(df)), 1.5)``."""
    return power(gaussian(tie_kept_rank(df)), 1.5)


def tie_kept_rank__gaussianize__neutralize__variance_normalize(
    df: pd.DataFrame, neutralizers: pd.DataFrame
) -> pd.DataFrame:
    """Rank, gaussianize, neutralize to ``neutralizers``, divide by the std."""
    return variance_normalize(neutralize(gaussian(tie_kept_rank(df)), neutralizers))


def neutralize(
    df: pd.DataFrame, neutralizers: pd.DataFrame, proportion: float = 1.0
) -> pd.DataFrame:
    """Residual of each column on ``[neutralizers, 1]`` (least squares).

    A constant column of ``df`` comes back as NaN (as in numerai-tools).
    """
    assert not df.isna().to_numpy().any(), "Data contains NaNs"
    assert not neutralizers.isna().to_numpy().any(), "Neutralizers contain NaNs"
    assert len(df.index) == len(neutralizers.index), "Indices don't match"
    assert (df.index == neutralizers.index).all(), "Indices don't match"
    values = df.to_numpy(dtype=np.float64)
    out = _neutralize(values, neutralizers.to_numpy(), proportion=proportion, n_threads=N_THREADS)
    constant = df.std().to_numpy() == 0
    if constant.any():
        out = out.copy()
        out[:, constant] = np.nan
    return pd.DataFrame(out, index=df.index, columns=df.columns)


# ------------------------------------------------------------------ correlations


def _pearson_1d(a: np.ndarray, b: np.ndarray) -> float:
    ac = a - a.mean()
    bc = b - b.mean()
    denom = np.sqrt(float(ac @ ac) * float(bc @ bc))
    return float(ac @ bc) / denom if denom > 0 else np.nan


def correlation(live_targets: pd.Series, predictions: pd.Series) -> float:
    """``numpy.corrcoef`` of the two, after :func:`validate_indices`."""
    validate_indices(live_targets, predictions)
    return _pearson_1d(live_targets.to_numpy(np.float64), predictions.to_numpy(np.float64))


def tie_broken_rank_correlation(target: pd.Series, predictions: pd.Series) -> float:
    """Pearson of the tie-broken rank of ``predictions`` with the target."""
    ranked = tie_broken_rank(predictions.to_frame())[predictions.name]
    return correlation(target, ranked)


def spearman_correlation(target: pd.Series, predictions: pd.Series) -> float:
    """Spearman correlation, after :func:`validate_indices`."""
    validate_indices(target, predictions)
    a = _scoring.rank(target.to_numpy(np.float64), n_threads=N_THREADS, nan_policy="omit")
    b = _scoring.rank(predictions.to_numpy(np.float64), n_threads=N_THREADS, nan_policy="omit")
    return _pearson_1d(a, b)


def pearson_correlation(
    target: pd.Series, predictions: pd.Series, top_bottom: int | None = None
) -> float:
    """Pearson correlation; with ``top_bottom``, on the extreme predictions only."""
    if top_bottom is not None and top_bottom > 0:
        predictions = filter_sort_top_bottom_concat(predictions, top_bottom)
        target, predictions = filter_sort_index(target, predictions, (1 - top_bottom / len(target)))
    validate_indices(target, predictions)
    return _pearson_1d(target.to_numpy(np.float64), predictions.to_numpy(np.float64))


def sharpe_ratio(s: pd.Series) -> float:
    """``mean / std`` (ddof=0; NaN skipped for a Series)."""
    values = s.dropna().to_numpy(np.float64) if isinstance(s, pd.Series) else np.asarray(s)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(values) / np.std(values)


def _scores_of_columns(
    transformed: np.ndarray,
    target: np.ndarray,
    index: pd.Index,
    columns: pd.Index,
    top_bottom: int | None,
) -> pd.Series:
    """Pearson of each transformed column with the (already aligned) target."""
    n = len(target)
    # the original's validate_indices: no NaN may reach the correlation
    assert not np.isnan(transformed).any()
    assert not np.isnan(target).any()
    if top_bottom is not None and top_bottom > 0:
        # the original concatenates top and bottom rows; overlapping halves duplicate
        # ids and fail its index check
        assert 2 * top_bottom <= n
        out = np.empty(transformed.shape[1])
        for j in range(transformed.shape[1]):
            top, bottom = _top_bottom_positions(transformed[:, j], top_bottom)
            rows = np.concatenate([top, bottom])
            out[j] = _pearson_1d(target[rows], transformed[rows, j])
        return pd.Series(out, index=columns)
    if n < 2:
        return pd.Series(np.nan, index=columns)
    return pd.Series(
        np.asarray(_scoring.pearson(transformed, target, n_threads=N_THREADS)),
        index=columns,
    )


def _float_dtype(s: pd.Series) -> np.dtype:
    """The float type pandas computes a centred target in: its own for a float16/32
    target (Numerai ships float32 targets; nullable ``Float32`` too), float64 otherwise."""
    dtype = getattr(s.dtype, "numpy_dtype", s.dtype)
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize <= 8:
        return dtype
    return np.dtype(np.float64)


def _signed_power(t: np.ndarray, p: float) -> np.ndarray:
    """``sign(t) |t|^p`` in ``t``'s own dtype, as the original's ``power`` computes a
    float32 target in float32 (the exact elementwise NumPy expression; one vector)."""
    return np.sign(t) * np.abs(t) ** p


def _aligned_values(
    s1: pd.Series, s2: pd.DataFrame, max_filtered_ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """The values of :func:`filter_sort_index` (s1, s2), without copying in the common
    case of equal, sorted, complete indexes. ``s1`` keeps its float dtype (float32
    stays float32); ``s2`` comes back as float64."""
    dtype = _float_dtype(s1)
    v1 = s1.to_numpy(dtype)
    v2 = s2.to_numpy(np.float64)
    same = s1.index.equals(s2.index) and s1.index.is_monotonic_increasing
    if same and s1.index.is_unique and not np.isnan(v1).any() and not np.isnan(v2).any():
        return v1, v2
    a, b = filter_sort_index(s1, s2, max_filtered_ratio)
    return a.to_numpy(dtype), b.to_numpy(np.float64)


def numerai_corr(
    predictions: pd.DataFrame,
    targets: pd.Series,
    max_filtered_index_ratio: float = DEFAULT_MAX_FILTERED_INDEX_RATIO,
    top_bottom: int | None = None,
    target_pow15: bool = True,
) -> pd.Series:
    """Official Numerai corr of each column (see ``neutralkit.numerai_corr``).

    The original asserts that p15 of the Gaussian ranks correlates >= 0.9 with them;
    that holds for any Gaussian ranks (>= 0.95 over every tie structure we searched),
    so only the target's assertion is repeated here. Rank, Gaussian, p15 and Pearson
    run fused in one kernel pass over each column.
    """
    centred = center(targets)  # in the target's dtype: float32 stays float32
    t, p = _aligned_values(centred, predictions, max_filtered_index_ratio)
    if target_pow15:
        t15 = _signed_power(t, 1.5)
        std_zero = len(t) > 1 and t15.std(ddof=1) == 0
        t64 = t.astype(np.float64).reshape(-1, 1)
        assert std_zero or _column_pearson(t15.astype(np.float64).reshape(-1, 1), t64)[0] >= 0.9
        t = t15
    t = t.astype(np.float64)  # the original's Pearson runs in float64
    n = len(t)
    tb = top_bottom if top_bottom is not None and top_bottom > 0 else None
    if tb is not None:
        # the original concatenates top and bottom rows; overlapping halves duplicate
        # ids and fail its index check
        assert 2 * tb <= n
    if n < 2:
        return pd.Series(np.nan, index=predictions.columns)
    # the target is already centred (on every id) and powered: Pearson re-centres on
    # the rows it uses, so target_pow15=False here changes nothing else
    out = _scoring.numerai_corr(p, t, top_bottom=tb, target_pow15=False, n_threads=N_THREADS)
    return pd.Series(np.asarray(out, dtype=np.float64), index=predictions.columns)


def neutral_correlation(
    predictions: pd.DataFrame,
    neutralizers: pd.DataFrame,
    targets: pd.Series,
    max_filtered_index_ratio: float = DEFAULT_MAX_FILTERED_INDEX_RATIO,
    top_bottom: int | None = None,
) -> pd.Series:
    """Pearson of the neutralized Gaussian ranks with the centred target."""
    targets = center(targets)
    targets, predictions, neutralizers = filter_sort_index_many(
        [targets, predictions, neutralizers], max_filtered_index_ratio
    )
    neutral = neutralize(gaussian(tie_kept_rank(predictions)), neutralizers)
    return _scores_of_columns(
        neutral.to_numpy(np.float64),
        targets.to_numpy(np.float64),
        neutral.index,
        neutral.columns,
        top_bottom,
    )


def feature_neutral_corr(
    predictions: pd.DataFrame,
    features: pd.DataFrame,
    targets: pd.Series,
    top_bottom: int | None = None,
) -> pd.Series:
    """numerai_corr of the predictions neutralized to the features."""
    neutral = tie_kept_rank__gaussianize__neutralize__variance_normalize(predictions, features)
    return numerai_corr(neutral, targets, top_bottom=top_bottom)


def max_feature_correlation(
    s: pd.Series, features: pd.DataFrame, top_bottom: int | None = None
) -> tuple[str, float]:
    """The feature most correlated (in absolute value) with ``s``, and that |corr|."""
    if top_bottom is not None and top_bottom > 0:
        kept = filter_sort_top_bottom_concat(s, top_bottom)
        rows = features.index.get_indexer(kept.index)
        assert (rows >= 0).all() and len(np.unique(rows)) == len(rows)
        s, features = kept, features.iloc[rows]
    validate_indices(s, s)
    _assert_sorted(features.index)
    assert np.array_equal(features.index, s.index)
    assert not s.isna().any()
    assert not features.isna().to_numpy().any()
    corr = _diag.feature_correlations(s.to_numpy(np.float64), features, n_threads=N_THREADS)
    absolute = corr.abs()
    name = absolute.idxmax()
    return str(name), absolute[name]


# -------------------------------------------------------------- contributions


def stake_weight(predictions: pd.DataFrame, stakes: pd.Series) -> pd.Series:
    """``sum_j stakes_j * predictions[j] / sum(stakes)`` (NaN skipped in both sums)."""
    used = predictions[stakes.index]
    p = used.to_numpy(np.float64)
    w = stakes.to_numpy(np.float64)
    if np.isfinite(p).all() and np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0:
        return pd.Series(_scoring.stake_weight(p, w), index=predictions.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.nansum(p * w, axis=1) / np.nansum(w)
    return pd.Series(out, index=predictions.index)


def _contribution_target(live_targets: pd.Series) -> pd.Series:
    """Targets in [0, 1] times 4 (buckets -2..2), then centred, in the target's own
    float dtype as the original computes them (float32 stays float32)."""
    if ((live_targets >= 0) & (live_targets <= 1)).all():
        live_targets = live_targets * 4
    return center(live_targets)


def _top_bottom_contribution(
    neutral: pd.DataFrame, targets: pd.Series, top_bottom: int
) -> np.ndarray:
    """Per column: the mean of target x neutral prediction over the column's
    ``top_bottom`` highest and lowest rows, targets matched to those rows by id."""
    t_rows = targets.index.get_indexer(neutral.index)
    values = neutral.to_numpy(np.float64)
    t = targets.to_numpy(np.float64)
    fast = (
        targets.index.is_unique
        and (t_rows >= 0).all()
        and not np.isnan(values).any()
        and not np.isnan(t).any()
    )
    if not fast:
        return _top_bottom_contribution_pandas(neutral, targets, top_bottom)
    # the original concatenates top and bottom rows; overlapping halves duplicate
    # ids and fail its index check
    assert 2 * top_bottom <= len(values)
    out = np.empty(values.shape[1])
    for j in range(values.shape[1]):
        top, bottom = _top_bottom_positions(values[:, j], top_bottom)
        rows = np.concatenate([top, bottom])
        out[j] = float(t[t_rows[rows]] @ values[rows, j]) / (2 * top_bottom)
    return out


def _top_bottom_contribution_pandas(
    neutral: pd.DataFrame, targets: pd.Series, top_bottom: int
) -> np.ndarray:
    """The top/bottom contribution through the original's pandas steps (missing
    values, ids the target lacks), column by column: keep the extremes, match the
    targets by id (with its overlap assertion), missing products count as 0."""
    extremes = neutral.apply(lambda col: filter_sort_top_bottom_concat(col, top_bottom))
    ratio = 1 - top_bottom / len(targets)
    matched = extremes.apply(lambda col: filter_sort_index(col, targets, ratio)[1])
    products = matched.fillna(0).T.to_numpy(np.float64) @ extremes.fillna(0).to_numpy(np.float64)
    return np.diag(products) / (top_bottom * 2)


def contribution_scores(
    neutral_preds: np.ndarray,
    live_targets: pd.Series,
    predictions: pd.DataFrame,
    top_bottom: int | None = None,
) -> pd.Series:
    """Contribution of each column of ``neutral_preds`` (predictions already
    orthogonalized to the metamodel): ``t_cᵀ p / n`` with ``t_c`` the target (times 4
    when it lies in [0, 1]) centred; with ``top_bottom``, the mean of ``t_c p`` over
    each column's top and bottom rows. ``predictions`` gives the index and columns.
    """
    targets = _contribution_target(live_targets)
    if top_bottom is not None and top_bottom > 0:
        neutral = pd.DataFrame(neutral_preds, index=predictions.index, columns=predictions.columns)
        return pd.Series(
            _top_bottom_contribution(neutral, targets, top_bottom), index=predictions.columns
        )
    t = targets.to_numpy(_float_dtype(targets)).astype(np.float64)
    return pd.Series((t @ neutral_preds) / len(t), index=predictions.columns)


def _contribution(
    p: np.ndarray,
    m: np.ndarray,
    live_targets: pd.Series,
    predictions: pd.DataFrame,
    top_bottom: int | None,
) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        neutral = orthogonalize(p, m) if np.any(m) else np.full_like(p, np.nan)
    return contribution_scores(neutral, live_targets, predictions, top_bottom)


def correlation_contribution(
    predictions: pd.DataFrame,
    meta_model: pd.Series,
    live_targets: pd.Series,
    top_bottom: int | None = None,
) -> pd.Series:
    """Official MMC of each column against ``meta_model``."""
    meta_model, predictions = filter_sort_index(meta_model, predictions)
    live_targets, predictions = filter_sort_index(live_targets, predictions)
    live_targets, meta_model = filter_sort_index(live_targets, meta_model)
    p = gaussian(tie_kept_rank(predictions)).to_numpy(np.float64)
    m = gaussian(tie_kept_rank(meta_model.to_frame())).to_numpy(np.float64)[:, 0]
    return _contribution(p, m, live_targets, predictions, top_bottom)


def neutral_contribution(
    predictions: pd.DataFrame,
    meta_model: pd.Series,
    neutralizers: pd.DataFrame,
    live_targets: pd.Series,
    top_bottom: int | None = None,
) -> pd.Series:
    """correlation_contribution after neutralizing predictions and metamodel."""
    live_targets, predictions, meta_model, neutralizers = filter_sort_index_many(
        [live_targets, predictions, meta_model, neutralizers]
    )
    p = neutralize(gaussian(tie_kept_rank(predictions)), neutralizers).to_numpy(np.float64)
    m = neutralize(gaussian(tie_kept_rank(meta_model.to_frame())), neutralizers)
    return _contribution(p, m.to_numpy(np.float64)[:, 0], live_targets, predictions, top_bottom)


# ------------------------------------------------------- Signals / Crypto weights


def _contribution_module() -> Any:
    # imported on first use: neutralkit.contribution is the native implementation
    from ... import contribution

    return contribution


def _neutral_weights_of_transformed(
    transformed: pd.DataFrame, neutralizers: pd.DataFrame, sample_weights: pd.Series
) -> pd.DataFrame:
    """``(s - N (Nᵀ (v s))) v`` per column, for already transformed ``s`` on the
    (aligned, sorted) rows of ``neutralizers`` and ``sample_weights``."""
    s = transformed.to_numpy(np.float64)
    n = neutralizers.to_numpy(np.float64)
    v = sample_weights.to_numpy(np.float64)[:, None]
    out = (s - n @ (n.T @ (v * s))) * v
    return pd.DataFrame(out, index=transformed.index, columns=transformed.columns)


def generate_neutralized_weights(
    predictions: pd.DataFrame,
    neutralizers: pd.DataFrame,
    sample_weights: pd.Series,
    center_and_normalize: bool = False,
) -> pd.DataFrame:
    """Neutralized portfolio weights of each column (``neutralkit.neutralized_weights``):
    ``s = p15(gaussian(tie_kept_rank(p)))``, ``w = (s - N (Nᵀ (v ∘ s))) ∘ v`` on the ids
    the three inputs share; optionally centred and divided by ``sum |w|``.

    The neutralizers are used as given (the original expects orthonormal columns).
    Predictions are ranked on all their rows before the ids are matched, as in the
    original: when every prediction id has neutralizers and weights (the usual case)
    the whole computation runs in neutralkit's kernel; otherwise the ranks come from
    the kernel and the projection is one matrix product here.
    """
    assert not predictions.isna().to_numpy().any(), "Predictions contain NaNs"
    assert not neutralizers.isna().to_numpy().any(), "Normalization factors contain NaNs"
    assert not sample_weights.isna().any(), "Weights contain NaNs"
    if predictions.shape[1]:
        _assert_sorted(predictions.index, "unsorted index found")
    p, n, v = filter_sort_index_many([predictions, neutralizers, sample_weights])
    if len(p) == len(predictions) and len(p) >= 2:
        weights = _contribution_module().neutralized_weights(
            p, n, v, center_and_normalize=center_and_normalize, n_threads=N_THREADS
        )
        return pd.DataFrame(weights, index=p.index, columns=p.columns)
    transformed = tie_kept_rank__gaussianize__pow_1_5(predictions).loc[p.index]
    weights = _neutral_weights_of_transformed(transformed, n, v)
    if center_and_normalize:
        weights = weight_normalize(center(weights))
    return weights


def alpha(
    predictions: pd.DataFrame,
    neutralizers: pd.DataFrame,
    sample_weights: pd.Series,
    targets: pd.Series,
) -> pd.Series:
    """The "alpha" score of each column: ``wᵀ t_c / n``, ``w`` the neutralized weights
    and ``t_c`` the target centred on all its ids (in its own dtype, float32 kept)."""
    targets = center(targets)
    predictions, targets = filter_sort_index(predictions, targets)
    weights = generate_neutralized_weights(predictions, neutralizers, sample_weights)
    if not weights.index.equals(targets.index):
        # pandas' Series @ Series refuses unequal ids with this message
        raise ValueError("matrices are not aligned")
    t = targets.to_numpy(_float_dtype(targets)).astype(np.float64)
    scores = weights.to_numpy(np.float64).T @ t / len(t)
    return pd.Series(scores, index=weights.columns)


def meta_portfolio_contribution(
    predictions: pd.DataFrame,
    stakes: pd.Series,
    neutralizers: pd.DataFrame,
    sample_weights: pd.Series,
    targets: pd.Series,
) -> pd.Series:
    """Meta-portfolio contribution (MPC) of each staked column
    (``neutralkit.meta_portfolio_contribution``): the gradient of the stake-weighted
    portfolio's alpha with respect to the stakes, ``Rᵀ t_c / ||v|| / 50`` with ``W_c``
    the centred neutralized weights, ``v = W_c s`` and ``R = W_c - v (vᵀ W_c) / (vᵀ v)``.

    Missing stakes count as 0; stakes are divided by the sum of their absolute values.
    The target is centred on the matched ids in its own dtype (float32 kept).
    """
    predictions, targets = filter_sort_index(predictions, targets)
    targets = center(targets)
    stake_weights = weight_normalize(stakes.fillna(0))
    assert np.isclose(stake_weights.sum(), 1), "Stakes must sum to 1"
    staked = predictions[stakes.index]
    assert not staked.isna().to_numpy().any(), "Predictions contain NaNs"
    assert not neutralizers.isna().to_numpy().any(), "Normalization factors contain NaNs"
    assert not sample_weights.isna().any(), "Weights contain NaNs"
    _assert_sorted(staked.index, "unsorted index found")
    p, n, v = filter_sort_index_many([staked, neutralizers, sample_weights])
    if len(p) != len(targets):
        # the original multiplies the weights by the targets by position
        raise ValueError(f"matmul: the weights have {len(p)} rows and the targets {len(targets)}")
    t = targets.to_numpy(_float_dtype(targets)).astype(np.float64)
    if len(t) < 2:
        # one id: the portfolio is 0 and the original's 0 / 0 gives NaN
        return pd.Series(np.nan, index=stakes.index)
    mpc = _contribution_module().meta_portfolio_contribution(
        p, stake_weights, n, v, t, n_threads=N_THREADS
    )
    return pd.Series(np.asarray(mpc, dtype=np.float64), index=stakes.index)
