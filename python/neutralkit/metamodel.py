"""Stake-weighted metamodels and metamodel contribution (residual MMC, leave-one-out).

Everything is computed from uniform ranks, so only the order of each user's predictions
within an era matters. The fast path ranks every user once (per era), builds every bag's
metamodel with one matrix product, and scores all users against all bags with the
identity, valid with an intercept::

    cov(r, t) = cov(u, t) - cov(u, m) cov(m, t) / var(m),   r = neutralize(u, m)

Averaged over bags b this is ``uᵀ (t_c - Σ_b β_b m_c,b / B) / (n - 1)`` with
``β_b = cov(m_b, t) / var(m_b)``: one matrix-vector product per era for all users.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._validate import (
    Eras,
    Labeled,
    aligned,
    as_kernel_matrix,
    as_vector,
    check_finite,
    check_no_inf,
    eras_of,
    labeled,
    n_threads_of,
    nan_policy_of,
    stakes_of,
    unit_scaled,
)

__all__ = ["mmc", "mmc_loo", "stake_weighted_metamodel"]

_METHODS = {"average": "average", "first": "first", "ordinal": "first"}
_RANK_CODES = {"average": 0, "first": 1}  # RankMethod in rank.hpp
_UNIFORM_VARIANCE = 1.0 / 12.0
#: bounds of ``bags``: the bag draw loops over bags, the metamodels take rows x bags
#: float64 values and the bag weights users x bags (2**28 values = 2 GiB each)
MAX_BAGS = 100_000
MAX_BAG_VALUES = 2**28


# ------------------------------------------------------------------------------------
# validation helpers


def _method_of(method: Any) -> str:
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method: expected one of {sorted(_METHODS)}, got {method!r}")
    return _METHODS[method]


def _preds_of(preds: Any, allow_nan: bool = False) -> tuple[Labeled, np.ndarray]:
    """The predictions as given (any supported dtype, any strides: never copied)."""
    lab = labeled(preds, "preds")
    if allow_nan:
        check_no_inf(lab.values, "preds")
    else:
        check_finite(lab, "preds")
    return lab, lab.values


def _column_of(x: Any, name: str, preds: Labeled, allow_nan: bool = False) -> np.ndarray:
    """One finite number per row of ``preds``, aligned to it (by label for pandas)."""
    lab = aligned(x, name, preds, "preds")
    if lab.n_cols != 1:
        raise ValueError(f"{name}: expected one column, got {lab.n_cols}")
    values = as_vector(lab.values)
    if allow_nan:
        check_no_inf(values, name)
    else:
        check_finite(lab, name, values.reshape(-1, 1))
    return values


def _label(value: Any) -> Any:
    """An era label as the user wrote it (np.int64(3) -> 3) for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _eras_of(eras: Any, n_rows: int, index: pd.Index | None = None) -> Eras:
    """Eras aligned to the rows of preds (``index``), each of at least 2 rows."""
    er = eras_of(eras, n_rows, index=index)
    er.check_min_size(2, "a covariance")
    return er


def _stakes_of(stakes: Any, users: pd.Index) -> np.ndarray:
    """Stakes as a float64 vector aligned to the users (columns of preds); users a
    named stakes Series leaves out are scored but take no part in the metamodel."""
    pos, values, _ = stakes_of(stakes, users)
    out = np.zeros(len(users))
    out[pos] = values
    return out


def _fraction_of(fraction: Any) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"fraction: expected a number in (0, 1], got {fraction!r}")
    value = float(fraction)
    if not 0.0 < value <= 1.0:  # also refuses NaN
        raise ValueError(f"fraction: must lie in (0, 1], got {fraction!r}")
    return value


def _check_bag_count(n_bags: int, n_rows: int | None, n_users: int) -> None:
    if n_bags > MAX_BAGS:
        raise ValueError(f"bags: at most {MAX_BAGS} bags, got {n_bags}")
    for size, what in ((n_rows, "rows"), (n_users, "users")):
        if size is not None and n_bags * size > MAX_BAG_VALUES:
            raise ValueError(
                f"bags: {n_bags} bags x {size} {what} would need "
                f"{n_bags * size * 8 / 2**30:.1f} GiB (float64); bags x {what} must stay "
                f"below {MAX_BAG_VALUES} (score eras in chunks, or use fewer bags)"
            )


def _rng_of(seed: Any) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, its refusals named after ``seed``."""
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"seed: expected a non-negative int, a Generator or None, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"seed: expected a non-negative int, a Generator or None, got {seed!r} ({exc})"
        ) from None


def _bags_of(
    bags: Any, n_users: int, fraction: float, seed: Any, n_rows: int | None = None
) -> np.ndarray:
    """Bags as a boolean mask (n_bags x n_users)."""
    if bags is None:
        return np.ones((1, n_users), dtype=bool)
    if isinstance(bags, numbers.Integral) and not isinstance(bags, (bool, np.bool_)):
        if bags < 1:
            raise ValueError(f"bags: expected a positive number of bags, got {bags}")
        _check_bag_count(int(bags), n_rows, n_users)
        size = round(fraction * n_users)
        if size < 1:
            raise ValueError(
                f"fraction: fraction * users = {fraction} * {n_users} rounds to 0 users per bag"
            )
        rng = _rng_of(seed)
        mask = np.zeros((int(bags), n_users), dtype=bool)
        for b in range(int(bags)):
            mask[b, rng.choice(n_users, size=size, replace=False)] = True
        return mask
    if isinstance(bags, (bool, np.bool_)):
        raise TypeError("bags: expected None, a number of bags or a boolean mask")
    mask = np.asarray(bags.to_numpy() if isinstance(bags, pd.DataFrame) else bags)
    if mask.dtype != np.bool_:
        raise TypeError(
            f"bags: expected None, a number of bags or a boolean mask, got dtype {mask.dtype}"
        )
    if mask.ndim != 2 or mask.shape[1] != n_users or mask.shape[0] < 1:
        raise ValueError(
            f"bags: a mask must have shape (n_bags, {n_users}) (one column per user), "
            f"got {mask.shape}"
        )
    _check_bag_count(mask.shape[0], n_rows, n_users)
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise ValueError(f"bags: bag {int(empty[0])} contains no user")
    return mask.copy()


def _bag_weights(mask: np.ndarray, stakes: np.ndarray) -> np.ndarray:
    """Stake weights, one column per bag (n_users x n_bags), not normalized:
    :meth:`_UserRanks.weighted` divides by each column's sum (exactly for ties)."""
    staked = mask * stakes  # n_bags x n_users
    totals = staked.sum(axis=1)
    zero = np.flatnonzero(totals <= 0)
    if zero.size:
        raise ValueError(
            f"stakes: the users of bag {int(zero[0])} have zero total stake, so its "
            "metamodel is undefined"
        )
    return staked.T


def _scale_of(scale: Any) -> float:
    if isinstance(scale, str):
        if scale != "exact":
            raise ValueError(f"scale: expected a positive number or 'exact', got {scale!r}")
        return _UNIFORM_VARIANCE
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"scale: expected a positive number or 'exact', got {scale!r}")
    value = float(scale)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"scale: expected a positive finite number, got {scale!r}")
    return value


# ------------------------------------------------------------------------------------
# computation


def _uniform_rank(values: np.ndarray, er: Eras, method: str, n_threads: int) -> np.ndarray:
    """Per-era uniform ranks ``(r - 0.5) / n`` of each column of an (n x k) array.

    NaN stays NaN, the others ranked over the non-NaN values (``rank(nan_policy="omit")``).
    """
    return _core.rank_columns(
        as_kernel_matrix(values), er.order, er.offsets, _RANK_CODES[method], False, 1.0, n_threads
    )


class _UserRanks:
    """Per-era uniform ranks of every user column, kept as integer rank codes.

    ``codes`` (users x rows, C order) holds ``2 r - 1`` for the rank ``r`` (an average
    of tied ranks keeps it an integer), so the uniform rank ``(r - 0.5) / n`` is
    ``codes / (2 n)``, bit for bit that of ``scoring.rank`` (tested). Two bytes a value
    (uint16 for eras up to 32768 rows) instead of the eight of the ranks: a quarter of
    the memory, and the products below scale by ``1 / (2 n)`` once per row.
    """

    _BLOCK = 256  # users converted to float64 at a time for a matrix product

    def __init__(self, values: np.ndarray, er: Eras, method: str, n_threads: int) -> None:
        self.er = er
        self.n_threads = n_threads
        self.codes = _core.rank_codes(
            as_kernel_matrix(values), er.order, er.offsets, _RANK_CODES[method], n_threads
        )
        sizes = er.sizes()
        self.two_n = np.empty(values.shape[0])
        self.two_n[er.order] = np.repeat(2.0 * sizes, sizes)

    def weighted(self, stakes: np.ndarray, users: np.ndarray | None = None) -> np.ndarray:
        """Stake-weighted mean ranks, (rows x k): column b is
        ``ranks[users].T @ stakes[:, b] / stakes[:, b].sum()`` (0 for zero stakes).

        ``users`` (default: all) selects the users that ``stakes`` has rows for. The
        codes are converted to float64 a block of users at a time into one buffer, so
        no users x rows float64 matrix is ever made. Exact ties stay ties where the
        stakes allow it (see ``_exact_weights``): rows whose weighted means are equal
        get equal values.
        """
        weights, denominators = _exact_weights(np.asarray(stakes, dtype=np.float64), self.two_n)
        n_users = self.codes.shape[0] if users is None else len(users)
        rows = self.codes.shape[1]
        out = np.zeros((rows, weights.shape[1]))
        part = np.empty_like(out)
        buf = np.empty((min(self._BLOCK, n_users), rows))
        for start in range(0, n_users, self._BLOCK):
            stop = min(start + self._BLOCK, n_users)
            block = buf[: stop - start]
            src = self.codes[start:stop] if users is None else self.codes[users[start:stop]]
            np.copyto(block, src, casting="unsafe")  # integer codes: exact in float64
            np.matmul(block.T, weights[start:stop], out=part)
            out += part
        out /= self.two_n[:, None] * denominators  # one rounding per value
        return out

    def era_dots(self, v: np.ndarray) -> np.ndarray:
        """Per era, ``ranks[:, rows] @ v[rows]`` for every user: (n_eras x users)."""
        scaled = np.ascontiguousarray(v / self.two_n)
        return _core.code_line_dots(
            self.codes, self.er.order, self.er.offsets, scaled, self.n_threads
        )


def _exact_weights(stakes: np.ndarray, two_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weights, denominators): ``stakes[:, b] / sum = weights[:, b] / denominators[b]``.

    Where a column's positive stakes are all equal (weights 1), or all multiples of one
    power of two 2^-q (integers, 2.5, 1000.125, ...; weights ``stakes * 2^q``), and the
    integer weights are small enough that every sum of rank codes (< 2 n) times them
    stays below 2^53, the weights are those integers and the denominator their sum:
    the products with the integer rank codes are then exact in float64 whatever the
    order of the sums, so equal weighted means come out equal after the one division.
    Other columns (distinct stakes like 0.1 and 0.3, or a huge range): the normalized
    stakes and denominator 1, right up to rounding (an exact tie may then split by one
    ulp). A zero column stays 0.
    """
    weights = np.zeros_like(stakes)
    denominators = np.ones(stakes.shape[1])
    largest_code = float(two_n.max()) if two_n.size else 1.0
    for b in range(stakes.shape[1]):
        col = stakes[:, b]
        total = col.sum()
        if not total > 0:
            continue
        positive = col[col > 0]
        ints: np.ndarray | None
        if positive.min() == positive.max():  # equal stakes: integer weights 1
            ints = (col > 0).astype(np.float64)
        else:
            mantissa, exponent = np.frexp(positive)
            digits = (mantissa * 2.0**53).astype(np.int64)  # exact: 53-bit integers
            trailing = np.log2((digits & -digits).astype(np.float64)).astype(np.int64)
            q = int(np.max(53 - exponent - trailing))  # col * 2^q is integer-valued
            ints = np.ldexp(col, q) if -1000 < q < 1000 else None
        if ints is not None:
            int_total = float(ints.sum())
            if int_total * largest_code < 2.0**53:
                weights[:, b], denominators[b] = ints, int_total
                continue
        weights[:, b] = col / total
    return weights, denominators


def _era_rows(er: Eras, e: int) -> slice | np.ndarray:
    if er.n_eras == 1:
        return slice(None)
    return er.order[er.offsets[e] : er.offsets[e + 1]]


def _centred(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=0)


def _per_era_result(out: np.ndarray, er: Eras, users: pd.Index, eras: Any) -> Any:
    if eras is None:
        return pd.Series(out[0], index=users)
    return pd.DataFrame(out, index=er.labels, columns=users)


def stake_weighted_metamodel(
    preds: Any,
    stakes: Any,
    *,
    eras: Any = None,
    method: str = "average",
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""The seed's stake-weighted metamodel, era by era.

    Per era, with :math:`u_i` the uniform rank of user i's predictions
    (``(rank - 0.5) / n``) and :math:`w = s / \sum s` the normalized stakes::

        M = rank( Σ_i w_i u_i )

    Parameters
    ----------
    preds : array-like or DataFrame, shape (n, U)
        One column of predictions per user (finite numbers).
    stakes : Series, dict or array-like
        Non-negative stakes, not all 0. A Series (or dict) is matched to the columns of
        ``preds`` by name; columns without a stake get 0. An array needs one value per
        column. Their sum must be finite.
    eras : array-like or Series, optional
        One era label per row (any hashable type, any order); ``None``: one era. A
        Series meets a pandas ``preds`` by index label (the same labels in another
        order are aligned; different or duplicated labels raise ValueError naming
        both); an array, list or ``pd.Index`` meets by position; a dict is refused.
    method : {"average", "first", "ordinal"}
        Tie handling of both rankings ("ordinal" = "first": ties by row order).
    n_threads : int, optional
        Threads of the ranking kernel, 1 to 1024 (default: all cores); the result does
        not depend on it.
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN or infinite predictions raise ``ValueError``. ``"omit"``: NaN
        marks a missing prediction (infinity is still refused): each user is ranked over
        its own rows, each row averages the ranks of the users present there (stakes
        renormalized over them), and the result is ranked over the rows where it is
        defined (NaN where no user of positive stake has a value), as :func:`mmc` builds
        its metamodels under "omit".

    Returns
    -------
    Series (indexed like ``preds``) or 1-D array, in row order: uniform ranks in (0, 1).
    """
    omit = nan_policy_of(nan_policy) == "omit"
    method = _method_of(method)
    lab, values = _preds_of(preds, omit)
    users = lab.column_labels()
    stake_values = _stakes_of(stakes, users)
    weights = _bag_weights(np.ones((1, len(users)), dtype=bool), stake_values)
    er = _eras_of(eras, lab.n_rows, lab.index)
    threads = n_threads_of(n_threads)
    if omit and values.dtype.kind == "f" and np.isnan(values).any():
        out = np.full(lab.n_rows, np.nan)
        for e in range(er.n_eras):
            rows = er.order[er.offsets[e] : er.offsets[e + 1]]
            meta = _PresentRanks(np.asarray(values[rows], dtype=np.float64), method)
            out[rows] = _rank_present(meta.metamodel(stake_values), method)
    else:
        ranks = _UserRanks(values, er, method, threads)
        out = _uniform_rank(ranks.weighted(weights), er, method, threads)[:, 0]
    if lab.index is not None:
        return pd.Series(out, index=lab.index, name="metamodel")
    return out


def mmc(
    preds: Any,
    target: Any,
    *,
    metamodel: Any = None,
    stakes: Any = None,
    eras: Any = None,
    bags: Any = None,
    fraction: float = 0.5,
    seed: Any = 0,
    method: str = "average",
    scale: float | str = 0.29**2,
    preset: str | None = None,
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Residual metamodel contribution (MMC2, the seed), per era.

    Per era, for user i and metamodel M (both uniform-ranked, :math:`u = rank(p_i)`,
    :math:`m = rank(M)`)::

        r   = neutralize(u, m, proportion=1, intercept=True)
        mmc = cov(r, target) / scale          (cov with ddof=1)
            = [cov(u, t) - cov(u, m) cov(m, t) / var(m)] / scale

    With ``bags``, each bag has its own stake-weighted metamodel; every user is scored
    against every bag's metamodel (whether or not the user is in the bag) and the score
    is the mean over bags.

    Parameters
    ----------
    preds : array-like or DataFrame, shape (n, U)
        One column of predictions per user. The first row input: the others are
        aligned to it.
    target : array-like or Series, shape (n,)
        The target (used raw). A Series meets a pandas ``preds`` by index label (the
        same labels in another order are aligned to ``preds``; different or duplicated
        labels raise ValueError naming both); NumPy input meets by position.
    metamodel : array-like or Series, shape (n,), optional
        A given metamodel. Exactly one of ``metamodel`` and ``stakes``. Aligned to
        ``preds`` like ``target``.
    stakes : Series, dict or array-like, optional
        Stakes of the columns of ``preds`` (see :func:`stake_weighted_metamodel`); the
        metamodel is built from them per era (and per bag).
    eras : array-like or Series, optional
        One era label per row (any order); ``None``: one era. Aligned to ``preds`` like
        ``target`` when a Series; by position otherwise.
    bags : None, int or boolean array (n_bags, U)
        ``None``: one metamodel of all users. An int: that many bags of
        ``round(fraction * U)`` users each, drawn without replacement with
        ``numpy.random.default_rng(seed)``. A mask: explicit bags. The same bags serve
        every era. Needs ``stakes``. At most 100 000 bags, and bags x rows and
        bags x users each at most 2**28 (float64 metamodels and bag weights: 2 GiB
        each); ValueError beyond.
    fraction : float in (0, 1]
        Share of users in each drawn bag.
    seed : int or numpy Generator seed
        Seed of the bag draw.
    method : {"average", "first", "ordinal"}
        Tie handling of every ranking.
    scale : float or "exact"
        Divisor of the covariance: ``0.29**2`` (the seed) by default; ``"exact"``
        uses 1/12, the variance of a uniform.
    preset : {None, "legacy"}
        ``"legacy"``: the seed-era example code: ``method="first"`` and the metamodel
        used raw (not re-ranked). It overrides ``method``.
    n_threads : int, optional
        Threads of the ranking kernel, 1 to 1024 (default: all cores); the result does
        not depend on it.
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN or infinite values raise ``ValueError``. ``"omit"``: NaN marks
        a missing value (infinity is still refused). Each user is scored on the rows
        where it, the metamodel and the target have values, with ranks over those rows;
        a bag's stake-weighted metamodel in a row averages the ranks of the bag's users
        present there (each ranked over its own rows), weights renormalized. NaN where
        fewer than 2 rows are left or the metamodel is constant on them. With no NaN
        present, the same as ``"raise"``; with NaN, a slower per-user path runs.

    Returns
    -------
    ``eras=None``: a Series indexed by user (the columns of ``preds``; 0..U-1 for NumPy
    input). Otherwise a DataFrame indexed by era label (sorted), one column per user.
    """
    omit = nan_policy_of(nan_policy) == "omit"
    method = _method_of(method)
    if preset not in (None, "legacy"):
        raise ValueError(f"preset: expected None or 'legacy', got {preset!r}")
    rerank = preset != "legacy"
    if preset == "legacy":  # overrides method
        method = "first"
    scale_value = _scale_of(scale)
    fraction_value = _fraction_of(fraction)
    threads = n_threads_of(n_threads)
    if (metamodel is None) == (stakes is None):
        raise TypeError("mmc: pass exactly one of metamodel= and stakes=")
    if metamodel is not None and bags is not None:
        raise ValueError("bags: bagging needs stakes=, not a given metamodel")
    lab, values = _preds_of(preds, omit)
    users = lab.column_labels()
    # mmc is linear in the target: scored at unit scale (a power of two), scaled back
    target_values, t_scale = unit_scaled(_column_of(target, "target", lab, omit))
    er = _eras_of(eras, lab.n_rows, lab.index)
    given = None if metamodel is None else _column_of(metamodel, "metamodel", lab, omit)
    mask = stake_values = weights = None
    if given is None:
        mask = _bags_of(bags, len(users), fraction_value, seed, lab.n_rows)
        stake_values = _stakes_of(stakes, users)
        weights = _bag_weights(mask, stake_values)
    if omit and _any_nan(values, target_values, given):
        out = _mmc_omit(
            values, target_values, given, mask, stake_values, er, method, rerank, scale_value
        )
    else:
        out = _mmc_fast(
            values, target_values, given, weights, er, method, rerank, scale_value, threads
        )
    with np.errstate(over="ignore"):  # beyond float64: inf, the true magnitude
        out = out * t_scale
    return _per_era_result(out, er, users, eras)


def _any_nan(values: np.ndarray, *vectors: np.ndarray | None) -> bool:
    if values.dtype.kind == "f" and np.isnan(values).any():
        return True
    return any(v is not None and np.isnan(v).any() for v in vectors)


def _mmc_fast(
    values: np.ndarray,
    target: np.ndarray,
    given: np.ndarray | None,
    weights: np.ndarray | None,
    er: Eras,
    method: str,
    rerank: bool,
    scale: float,
    threads: int,
) -> np.ndarray:
    """Per-era covariance of every user's residual with the target (over ``scale``),
    averaged over bags.

    One metamodel column per bag (``weights``: users x bags) or the ``given`` one.
    """
    ranks = _UserRanks(values, er, method, threads)
    if given is not None:
        meta, meta_name, argument = given[:, None], "metamodel", "metamodel"
    else:
        assert weights is not None
        meta = ranks.weighted(weights)
        meta_name, argument = "the stake-weighted metamodel", "stakes"
    if rerank:
        meta = _uniform_rank(meta, er, method, threads)
    n_bags = meta.shape[1]
    v_all = np.empty(values.shape[0])
    denominators = np.empty(er.n_eras)
    for e in range(er.n_eras):
        rows = _era_rows(er, e)
        m_c = _centred(meta[rows])
        t_c = target[rows] - target[rows].mean()
        var_m = np.einsum("ij,ij->j", m_c, m_c)
        flat = np.flatnonzero(var_m <= 0)
        if flat.size:
            where = f" of bag {int(flat[0])}" if n_bags > 1 else ""
            raise ValueError(
                f"{argument}: {meta_name}{where} takes a single value in era "
                f"{_label(er.labels[e])!r}"
            )
        beta = (m_c.T @ t_c) / var_m
        v_all[rows] = t_c - m_c @ beta / n_bags
        denominators[e] = (m_c.shape[0] - 1) * scale
    return ranks.era_dots(v_all) / denominators[:, None]


def _rank_present(x: np.ndarray, method: str) -> np.ndarray:
    """Uniform ranks of the values present in a 1-D array (NaN stays NaN)."""
    out = np.full(len(x), np.nan)
    ok = ~np.isnan(x)
    if ok.any():
        present = np.ascontiguousarray(x[ok], dtype=np.float64).reshape(-1, 1)
        out[ok] = _uniform_rank(present, eras_of(None, len(present)), method, 1)[:, 0]
    return out


class _PresentRanks:
    """Each user's ranks over its own rows of one era, for metamodels under "omit"."""

    def __init__(self, p: np.ndarray, method: str) -> None:
        ranks = np.column_stack([_rank_present(p[:, j], method) for j in range(p.shape[1])])
        self.present = (~np.isnan(ranks)).astype(np.float64)
        self.filled = np.where(np.isnan(ranks), 0.0, ranks)

    def metamodel(self, w: np.ndarray) -> np.ndarray:
        """Per row, the w-weighted mean rank of the users present (NaN if none is)."""
        den = self.present @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, (self.filled @ w) / den, np.nan)


def _mmc_omit(
    values: np.ndarray,
    target: np.ndarray,
    given: np.ndarray | None,
    mask: np.ndarray | None,
    stakes: np.ndarray | None,
    er: Eras,
    method: str,
    rerank: bool,
    scale: float,
) -> np.ndarray:
    """mmc under nan_policy="omit" when NaN are present: one user and bag at a time.

    A bag's metamodel in a row is the stake-weighted mean of the ranks of the bag's users
    who have a value there (each user ranked over its own rows); user i is scored on the
    rows where it, the metamodel and the target all have values.
    """
    n_users = values.shape[1]
    out = np.full((er.n_eras, n_users), np.nan)
    for e in range(er.n_eras):
        rows = er.order[er.offsets[e] : er.offsets[e + 1]]
        p = np.asarray(values[rows], dtype=np.float64)
        t = target[rows]
        if given is not None:
            metas = [given[rows]]
        else:
            assert mask is not None and stakes is not None
            ranks = _PresentRanks(p, method)
            metas = [ranks.metamodel(np.where(bag, stakes, 0.0)) for bag in mask]
        for j in range(n_users):
            scores = []
            for meta in metas:
                ok = ~np.isnan(p[:, j]) & ~np.isnan(meta) & ~np.isnan(t)
                if ok.sum() < 2:
                    scores.append(np.nan)
                    continue
                u = _centred(_rank_present(p[ok, j], method)[:, None])[:, 0]
                m_raw = meta[ok]
                m = _centred((_rank_present(m_raw, method) if rerank else m_raw)[:, None])[:, 0]
                tc = t[ok] - t[ok].mean()
                var_m = float(m @ m)
                if var_m <= 0 or np.ptp(m_raw) == 0:
                    scores.append(np.nan)
                    continue
                cov = (u @ tc - (u @ m) * (m @ tc) / var_m) / (ok.sum() - 1)
                scores.append(cov / scale)
            out[e, j] = np.mean(scores)
    return out


def _mmc_loo_omit(
    values: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray,
    stakes: np.ndarray,
    er: Eras,
    method: str,
) -> np.ndarray:
    """mmc_loo under nan_policy="omit" when NaN are present: one bag and user at a time."""

    def pearson_present(m: np.ndarray, t: np.ndarray) -> float:
        mc, tc = m - m.mean(), t - t.mean()
        denom = float(np.sqrt((mc @ mc) * (tc @ tc)))
        return float(mc @ tc) / denom if denom > 0 else np.nan

    n_users = values.shape[1]
    out = np.full((er.n_eras, n_users), np.nan)
    for e in range(er.n_eras):
        rows = er.order[er.offsets[e] : er.offsets[e + 1]]
        p = np.asarray(values[rows], dtype=np.float64)
        t = target[rows]
        ranks = _PresentRanks(p, method)
        diffs: list[list[float]] = [[] for _ in range(n_users)]
        for bag in mask:
            w = np.where(bag, stakes, 0.0)
            with_all = ranks.metamodel(w)
            for i in np.flatnonzero(bag):
                w_out = w.copy()
                w_out[i] = 0.0
                if w_out.sum() <= 0:
                    diffs[i].append(np.nan)
                    continue
                without = ranks.metamodel(w_out)
                ok = ~np.isnan(with_all) & ~np.isnan(without) & ~np.isnan(t)
                if ok.sum() < 2:
                    diffs[i].append(np.nan)
                    continue
                full = pearson_present(_rank_present(with_all[ok], method), t[ok])
                rest = pearson_present(_rank_present(without[ok], method), t[ok])
                diffs[i].append(full - rest)
        for user, user_diffs in enumerate(diffs):
            if user_diffs:
                out[e, user] = np.mean(user_diffs)
    return out


def _pearson_columns(x: np.ndarray, t_c: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of x with the centred t (NaN if x is flat)."""
    x_c = _centred(x)
    ss = np.einsum("ij,ij->j", x_c, x_c)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (x_c.T @ t_c) / np.sqrt(ss * (t_c @ t_c))
    corr[ss <= 0] = np.nan
    return corr


def mmc_loo(
    preds: Any,
    target: Any,
    stakes: Any,
    *,
    eras: Any = None,
    bags: Any = None,
    fraction: float = 0.5,
    seed: Any = 0,
    method: str = "average",
    n_threads: int | None = None,
    nan_policy: str = "raise",
) -> Any:
    r"""Leave-one-out MMC (MMC1, the original metamodel contribution), per era.

    For user i and each bag b that contains i::

        mmc_b,i = Pearson(rank(M_b), t) - Pearson(rank(M_b without i), t)

    where ``M_b`` is the stake-weighted metamodel of the bag's users (see
    :func:`stake_weighted_metamodel`) and ``M_b without i`` that of the bag's other
    users. A user's score is the mean over the bags that contain it: NaN if none does,
    or if for one of them the other users have no stake (the metamodel without i is
    undefined) or their metamodel is constant in the era. A user of stake 0 leaves the
    metamodel unchanged and scores exactly 0 in its bags.

    Parameters
    ----------
    preds, target, stakes, eras, bags, fraction, seed, method, n_threads
        As in :func:`mmc`. The target must not be constant in an era.
    nan_policy : {"raise", "omit"}
        As in :func:`mmc`: under ``"omit"`` the metamodels (with and without i) average
        the users present in each row, and both correlations use the rows where the
        two metamodels and the target have values (NaN where fewer than 2, or where
        either side is constant).

    Returns
    -------
    As :func:`mmc`.
    """
    omit = nan_policy_of(nan_policy) == "omit"
    method = _method_of(method)
    fraction_value = _fraction_of(fraction)
    threads = n_threads_of(n_threads)
    lab, values = _preds_of(preds, omit)
    users = lab.column_labels()
    # Pearson does not change with the target's scale: scored at unit scale
    target_values = unit_scaled(_column_of(target, "target", lab, omit))[0]
    stake_values = _stakes_of(stakes, users)
    er = _eras_of(eras, lab.n_rows, lab.index)
    mask = _bags_of(bags, len(users), fraction_value, seed, lab.n_rows)
    weights = _bag_weights(mask, stake_values)
    if omit and (
        np.isnan(target_values).any() or (values.dtype.kind == "f" and np.isnan(values).any())
    ):
        out = _mmc_loo_omit(values, target_values, mask, stake_values, er, method)
        return _per_era_result(out, er, users, eras)
    ranks = _UserRanks(values, er, method, threads)
    t_c_eras = []
    for e in range(er.n_eras):
        t = target_values[_era_rows(er, e)]
        t_c = t - t.mean()
        if not (t_c @ t_c) > 0:
            raise ValueError(
                f"target: constant in era {_label(er.labels[e])!r}, so its Pearson "
                "correlation is undefined"
            )
        t_c_eras.append(t_c)
    total = np.zeros((er.n_eras, len(users)))
    count = np.zeros(len(users))
    for b in range(mask.shape[0]):
        members = np.flatnonzero(mask[b])
        count[members] += 1
        s = stake_values[members]
        movers = members[s > 0]  # zero-stake members leave M_b unchanged: exactly 0
        if movers.size == 0:
            continue
        s_movers = stake_values[movers]
        rest = s.sum() - s_movers
        # column c: stakes of the bag without movers[c] (normalized by weighted())
        loo = np.repeat(s[:, None], movers.size, axis=1)
        loo[np.searchsorted(members, movers), np.arange(movers.size)] = 0.0
        defined = rest > 0
        meta = np.column_stack(
            [ranks.weighted(weights[:, [b]]), ranks.weighted(loo, users=members)]
        )
        meta = _uniform_rank(meta, er, method, threads)
        for e in range(er.n_eras):
            corr = _pearson_columns(meta[_era_rows(er, e)], t_c_eras[e])
            diff = corr[0] - corr[1:]
            diff[~defined] = np.nan
            total[e, movers] += diff
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / np.where(count > 0, count, np.nan)
    return _per_era_result(out, er, users, eras)
