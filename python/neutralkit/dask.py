"""neutralkit on a Dask cluster: the same per-era work, the same numbers, Dask's scheduling.

Every function here takes a :class:`dask.dataframe.DataFrame` with an era column (or an
era index) and column names, and builds a lazy computation: nothing is read and no task
is submitted until ``.compute()`` (or ``.to_parquet()``). Bad arguments (not a dask
frame, a missing or non-numeric column, no era column, an invalid option) raise at once,
on the client, naming the argument. Checks that need the data (NaN, an era of one row)
run in the tasks and raise the in-process function's error on ``.compute()``.

How the work is laid out
------------------------
The kernels need every era whole inside one partition. When the eras already are (an
era index with known divisions, or ``eras_whole=True`` declared for, e.g., a parquet
dataset written one file per era and read with ``split_row_groups=False``), nothing
moves. Otherwise the rows are grouped by era with Dask's own shuffle
(``DataFrame.shuffle(on=era)``: hash partitioning, spilled to disk by Dask when memory is
short). Each partition then calls the compiled kernels once for all of its eras.

* :func:`neutralize` gives a lazy dask DataFrame (same row labels, the neutralized
  columns), ready for ``.to_parquet()``. After a shuffle its partitions hold whole eras,
  not the input's row order.
* :func:`numerai_corr`, :func:`correlation_contribution`, :func:`mmc`,
  :func:`feature_exposure`, :func:`feature_neutral_corr`, :func:`alpha` and
  :func:`meta_portfolio_contribution` give a :class:`Lazy` whose
  ``.compute()`` equals the in-process function called with ``eras=`` on the whole frame
  (a DataFrame indexed by the sorted era labels). :func:`compute` computes several of
  them in one pass: one read and at most one shuffle for all scores of the same frame.
* :func:`map_eras` runs any per-era function of a pandas partition the same way.

Threads and memory of a task
----------------------------
Inside a ``distributed`` worker a task's kernels use the worker's threads that other
running tasks are not using (``nthreads // tasks executing``, at least 1), never every
core of the machine: two workers of one thread on two cores run two kernel threads, not
four. Outside a worker (Dask's local threaded scheduler, which already runs one task per
core) a task uses one kernel thread. ``n_threads=`` overrides either.

A task holds its partition (as read: int8 features stay int8, ``rows x k`` bytes), the
float64 columns it neutralizes or scores, and, per kernel thread, one era's working set
of the neutralization: the ``k x k`` Gram matrix and its Cholesky factor plus a
256-row float64 chunk of the era block, about ``16 k² + 2048 k`` bytes, i.e. ~9 MB at
k = 705 and ~90 MB at k = 2376 per kernel thread. Size ``memory_limit`` for partition +
output + that, per worker thread.

Rows in the order they were given matter only for ties broken by row order
(``method="first"``, the legacy presets): after a shuffle the order of rows within an
era is the shuffle's, so with such ties the numbers can differ from the in-process call
on the original order. The default, tie-kept ranks, never depends on row order.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

try:
    import dask
    import dask.dataframe as dd
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'neutralkit.dask needs dask and distributed: pip install "neutralkit[dask]"'
    ) from exc

from . import contribution as _contribution
from . import diagnostics, scoring
from . import metamodel as _metamodel
from . import neutralization as _neutralization
from ._validate import (
    as_float64,
    as_kernel_matrix,
    check_finite,
    eras_of,
    labeled,
    n_threads_of,
    nan_policy_of,
    proportions_of,
)

__all__ = [
    "Lazy",
    "alpha",
    "compute",
    "correlation_contribution",
    "feature_exposure",
    "feature_neutral_corr",
    "map_eras",
    "meta_portfolio_contribution",
    "mmc",
    "neutralize",
    "numerai_corr",
    "to_delayed",
]


# ------------------------------------------------------------------ client-side checks


@dataclass(frozen=True, eq=False)
class _Source:
    """A dask frame, where its era labels are, and whether its eras are whole already."""

    ddf: Any
    era: Hashable
    era_is_index: bool
    whole: bool

    def key(self) -> tuple[Any, ...]:
        return (self.ddf._name, self.era, self.era_is_index, self.whole)


def _interior_increasing(divisions: Sequence[Any]) -> bool:
    # Known divisions put a label in exactly one partition, provided no two partitions
    # share a boundary label (a repeated division would allow an era in both).
    try:
        return all(a < b for a, b in itertools.pairwise(divisions[:-1]))
    except TypeError:
        return False


def _source(ddf: Any, era: Any, eras_whole: Any) -> _Source:
    if not isinstance(ddf, dd.DataFrame):
        hint = (
            "; wrap it with dask.dataframe.from_pandas(frame, npartitions=...)"
            if isinstance(ddf, pd.DataFrame)
            else ""
        )
        raise TypeError(
            f"ddf: expected a dask.dataframe.DataFrame, got {type(ddf).__module__}."
            f"{type(ddf).__name__}{hint}"
        )
    if eras_whole is not None and not isinstance(eras_whole, (bool, np.bool_)):
        raise TypeError(f"eras_whole: expected None, True or False, got {eras_whole!r}")
    if not isinstance(era, Hashable) or isinstance(era, (list, tuple)):
        raise TypeError(f"era: expected the name of a column or of the index, got {era!r}")
    if era in ddf.columns:
        era_is_index = False
    elif ddf.index.name is not None and ddf.index.name == era:
        era_is_index = True
    else:
        raise ValueError(
            f"era: {era!r} is neither a column of ddf nor the name of its index "
            f"(index: {ddf.index.name!r}; columns: {list(ddf.columns)[:8]!r}"
            f"{' ...' if len(ddf.columns) > 8 else ''})"
        )
    if eras_whole is None:
        whole = era_is_index and ddf.known_divisions and _interior_increasing(ddf.divisions)
    else:
        whole = bool(eras_whole)
    return _Source(ddf, era, era_is_index, whole)


def _columns(ddf: Any, value: Any, name: str, *, allow_str: bool = True) -> list[Any]:
    """Column names (a label or a list of them) of numeric columns of ddf."""
    single = isinstance(value, (str, int)) and not isinstance(value, bool)
    if single and allow_str:
        names = [value]
    elif isinstance(value, (list, tuple, pd.Index)):
        names = list(value)
    else:
        what = "a column name or a list of column names" if allow_str else "a list of column names"
        raise TypeError(f"{name}: expected {what}, got {value!r}")
    if not names:
        raise ValueError(f"{name}: no columns given")
    missing = [c for c in names if c not in ddf.columns]
    if missing:
        raise ValueError(f"{name}: column(s) {missing[:5]!r} not in ddf")
    dtypes = ddf.dtypes
    for c in names:
        t = dtypes[c]
        if not pd.api.types.is_numeric_dtype(t):  # as in-process: bool, nullable, pyarrow ok
            raise TypeError(f"{name}: column {c!r} is not numeric (dtype {t})")
    return names


def _column(ddf: Any, value: Any, name: str) -> Any:
    if isinstance(value, (list, tuple, pd.Index)):
        raise TypeError(f"{name}: expected one column name, got {value!r}")
    return _columns(ddf, value, name)[0]


def _threads_arg(n_threads: Any) -> int | None:
    return None if n_threads is None else n_threads_of(n_threads)


def _prepared(src: _Source, needed: Sequence[Any]) -> Any:
    """The columns the work reads (plus the era), with every era inside one partition."""
    cols = list(dict.fromkeys([*needed, *([] if src.era_is_index else [src.era])]))
    # The tasks select their columns by name: reading every column needs no projection
    # (a getitem task that would copy each partition only to reorder its columns).
    frame = src.ddf if set(cols) == set(src.ddf.columns) else src.ddf[cols]
    if src.whole:
        return frame
    if src.era_is_index:
        return frame.shuffle(on_index=True)
    return frame.shuffle(on=src.era)


# ------------------------------------------------------------------ inside a task


def _kernel_threads(n_threads: int | None) -> int:
    """Kernel threads for this task: the worker's threads not used by its other tasks."""
    if n_threads is not None:
        return n_threads
    try:
        from distributed import get_worker

        state = get_worker().state
    except (ImportError, ValueError):  # not inside a distributed worker
        return 1
    busy = max(1, int(state.executing_count))
    return max(1, int(state.nthreads) // busy)


def _era_labels(part: pd.DataFrame, era: Hashable, era_is_index: bool) -> Any:
    return part.index if era_is_index else part[era]


# ------------------------------------------------------------------ neutralize


def _neutralize_partition(
    part: pd.DataFrame,
    *,
    columns: list[Any],
    features: list[Any],
    era: Hashable,
    era_is_index: bool,
    props: list[float],
    intercept: bool,
    standardize: bool,
    method: int,
    keep: list[Any],
    out_columns: list[Any],
    nan_policy: str,
    n_threads: int | None,
) -> pd.DataFrame:
    values = np.empty((len(part), len(out_columns)))
    if len(part):
        # The options were validated on the client; what runs here are the checks that
        # need the data (NaN/inf, dtypes as read, era labels), then one kernel call for
        # every era of the partition.
        y_lab = labeled(part[columns], "columns")
        y_values = as_float64(y_lab.values)
        if nan_policy == "raise":
            check_finite(y_lab, "columns", y_values)
        x_lab = _neutralization._exposures(part[features], y_lab.n_rows, "features")
        er = eras_of(_era_labels(part, era, era_is_index).to_numpy(), y_lab.n_rows, "era")
        options: dict[str, Any] = {
            "intercept": intercept,
            "standardize": standardize,
            "method": method,
            "n_threads": _kernel_threads(n_threads),
        }
        x = as_kernel_matrix(x_lab.values)
        if nan_policy == "omit" and np.isnan(y_values).any():
            res = _neutralization._neutralize_omit(x, y_values, er, props, **options)
        else:
            res = _neutralization._neutralize_eras(x, y_values, er, props, **options)
        values = np.hstack(list(res))  # (rows, proportions x columns)
    out = pd.DataFrame(values, index=part.index, columns=out_columns)
    for c in reversed(keep):
        out.insert(0, c, part[c])
    return out


def neutralize(
    ddf: Any,
    columns: Any,
    features: Any,
    *,
    era: Hashable = "era",
    proportion: float | list[float] = 1.0,
    intercept: bool = True,
    standardize: bool = False,
    method: str = "auto",
    keep: Sequence[Any] = (),
    nan_policy: str = "raise",
    eras_whole: bool | None = None,
    n_threads: int | None = None,
) -> Any:
    """Neutralize columns of a dask DataFrame against feature columns, era by era.

    The per-era computation is :func:`neutralkit.neutralize` (same formula, same
    kernels, same numbers); see it for ``proportion``, ``intercept``, ``standardize``
    and ``method``.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    columns : column name or list of names
        The columns to neutralize (numeric).
    features : list of column names
        The exposures (int8 ... float64; int8 stays int8 in the partition).
    era : column name or index name
        Where the era labels are (default ``"era"``).
    proportion : float in [0, 1] or list of floats
        A list gives one output column per (column, proportion), named
        ``f"{column}_{proportion:g}"``, from one factorization per era.
    keep : list of column names
        Columns copied to the output unchanged, first (e.g. the era column, so that the
        written dataset keeps it).
    nan_policy : {"raise", "omit"}
        As in :func:`neutralkit.neutralize`: NaN in ``columns`` raises (on ``.compute()``,
        from the task that meets it), or each column is neutralized on its own rows.
    eras_whole : bool, optional
        ``None`` (default): eras are whole per partition when ``era`` is the index with
        known divisions; otherwise the rows are shuffled by era. ``True`` declares every
        era to lie inside one partition (no shuffle; a wrong declaration gives wrong
        numbers). ``False`` always shuffles.
    n_threads : int, optional
        Kernel threads per task (default: see the module notes).

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy; the input's row labels (index), the ``keep`` columns then the neutralized
        columns (float64). Its partitions hold whole eras; without a shuffle they are the
        input's partitions, in the input's row order.
    """
    src = _source(ddf, era, eras_whole)
    cols = _columns(ddf, columns, "columns")
    feats = _columns(ddf, features, "features", allow_str=False)
    keep_cols = list(keep)
    missing = [c for c in keep_cols if c not in ddf.columns]
    if missing:
        raise ValueError(f"keep: column(s) {missing[:5]!r} not in ddf")
    props, scalar = proportions_of(proportion)
    intercept = _neutralization._check_bool(intercept, "intercept")
    standardize = _neutralization._check_bool(standardize, "standardize")
    method_code = _neutralization._method_code(method)
    threads = _threads_arg(n_threads)
    out_columns = cols if scalar else [f"{c}_{p:g}" for p in props for c in cols]
    if len(set(out_columns) | set(keep_cols)) != len(out_columns) + len(keep_cols):
        raise ValueError("keep: a kept column has the name of a neutralized column")
    frame = _prepared(src, [*keep_cols, *cols, *feats])
    meta = ddf._meta[keep_cols].copy() if keep_cols else ddf._meta.iloc[:, :0].copy()
    for c in out_columns:
        meta[c] = pd.Series(dtype=np.float64)
    run = functools.partial(
        _neutralize_partition,
        columns=cols,
        features=feats,
        era=src.era,
        era_is_index=src.era_is_index,
        props=props,
        intercept=intercept,
        standardize=standardize,
        method=method_code,
        keep=keep_cols,
        out_columns=out_columns,
        nan_policy=nan_policy_of(nan_policy),
        n_threads=threads,
    )
    return frame.map_partitions(run, meta=meta)


# ------------------------------------------------------------------ per-era scores

#: func(partition, era labels, kernel threads) -> per-era DataFrame (or None if empty)
_EraFunc = Callable[[pd.DataFrame, Any, int], Any]


@dataclass(frozen=True)
class _Task:
    func: _EraFunc
    columns: tuple[Any, ...]
    n_threads: int | None = None


@dataclass(frozen=True, eq=False)
class Lazy:
    """A per-era result not yet computed (one table indexed by era label).

    ``.compute()`` runs it (on the default scheduler: the active ``distributed.Client``
    if there is one) and gives what the in-process function gives with ``eras=``.
    Several :class:`Lazy` of the same frame computed together with :func:`compute`
    share one read and one shuffle.
    """

    source: _Source
    task: _Task
    name: str = field(default="result")

    def compute(self, **kwargs: Any) -> Any:
        """The result (``kwargs`` go to :func:`dask.compute`)."""
        return compute(self, **kwargs)[0]

    def to_delayed(self) -> Any:
        """A :class:`dask.delayed.Delayed` of the result (for ``client.compute``)."""
        return to_delayed(self)[0]

    def __repr__(self) -> str:
        return f"neutralkit.dask.Lazy({self.name}, era={self.source.era!r})"


def _run_partition(
    part: pd.DataFrame, tasks: list[_Task], era: Hashable, era_is_index: bool
) -> list[Any]:
    if len(part) == 0:
        return [None] * len(tasks)
    labels = _era_labels(part, era, era_is_index)
    return [t.func(part, labels, _kernel_threads(t.n_threads)) for t in tasks]


def _concat_eras(frames: list[Any], era: Hashable) -> Any:
    """Per-partition per-era tables -> one table in the in-process era order."""
    present = [f for f in frames if f is not None]
    if not present:
        raise ValueError("ddf: has no rows")
    table = pd.concat(present) if len(present) > 1 else present[0]
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()][0]
        raise ValueError(
            f"era: era {dup!r} has rows in more than one partition, but eras_whole=True "
            "declared every era whole in one partition; pass eras_whole=None to shuffle"
        )
    try:
        return table.sort_index(kind="stable")
    except TypeError:  # unorderable labels: first-seen order, as in-process
        return table


def _combine(outs: list[list[Any]], n_tasks: int, era: Hashable) -> list[Any]:
    return [_concat_eras([o[i] for o in outs], era) for i in range(n_tasks)]


def to_delayed(*results: Lazy) -> list[Any]:
    """One :class:`dask.delayed.Delayed` per result; results of the same frame share a pass."""
    from dask import delayed

    for r in results:
        if not isinstance(r, Lazy):
            raise TypeError(f"results: expected neutralkit.dask.Lazy objects, got {type(r)!r}")
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(results):
        groups.setdefault(r.source.key(), []).append(i)
    out: list[Any] = [None] * len(results)
    for members in groups.values():
        src = results[members[0]].source
        tasks = [results[i].task for i in members]
        needed = [c for t in tasks for c in t.columns]
        frame = _prepared(src, needed)
        parts = frame.to_delayed(optimize_graph=True)
        run = delayed(_run_partition, pure=True)
        outs = [run(p, tasks, src.era, src.era_is_index) for p in parts]
        combined = delayed(_combine, pure=True)(outs, len(tasks), src.era)
        for j, i in enumerate(members):
            out[i] = delayed(operator.getitem, pure=True)(combined, j)
    return out


def compute(*results: Lazy, **kwargs: Any) -> tuple[Any, ...]:
    """Compute several :class:`Lazy` results in one pass per frame.

    Results built on the same dask frame (and era) read it once and shuffle it at most
    once; every partition runs all of their per-era functions in one task. ``kwargs``
    go to :func:`dask.compute` (e.g. ``scheduler=``).
    """
    return tuple(dask.compute(*to_delayed(*results), **kwargs))


def map_eras(
    ddf: Any,
    func: _EraFunc,
    columns: Sequence[Any],
    *,
    era: Hashable = "era",
    eras_whole: bool | None = None,
    n_threads: int | None = None,
    name: str = "map_eras",
) -> Lazy:
    """Run ``func(partition, era_labels, n_threads)`` on partitions of whole eras.

    ``func`` gets a pandas DataFrame of the ``columns`` (and the era column), the era
    labels of its rows, and the kernel threads to use; it returns a table indexed by era
    label (e.g. an in-process neutralkit score called with ``eras=era_labels``). The
    tables of all partitions are concatenated and sorted by era. ``func`` must be
    picklable (a module-level function or a ``functools.partial`` of one).
    """
    src = _source(ddf, era, eras_whole)
    cols = list(columns)
    missing = [c for c in cols if c not in ddf.columns]
    if missing:
        raise ValueError(f"columns: column(s) {missing[:5]!r} not in ddf")
    if not callable(func):
        raise TypeError(f"func: expected a callable, got {func!r}")
    return Lazy(src, _Task(func, tuple(cols), _threads_arg(n_threads)), name)


@dataclass(frozen=True)
class _Rows:
    """An argument taken from the partition: the column(s) ``names`` of its rows."""

    names: Any


def _in_process(
    part: pd.DataFrame,
    eras: Any,
    threads: int,
    *,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """``func(*args, eras=eras, n_threads=threads, **kwargs)`` on one partition, each
    :class:`_Rows` argument replaced by those columns of the partition."""

    def take(a: Any) -> Any:
        return part[a.names] if isinstance(a, _Rows) else a

    return func(
        *(take(a) for a in args),
        eras=eras,
        n_threads=threads,
        **{k: take(v) for k, v in kwargs.items()},
    )


def _per_partition(func: Callable[..., Any], *args: Any, **kwargs: Any) -> _EraFunc:
    return functools.partial(_in_process, func=func, args=args, kwargs=kwargs)


# Each partition calls the in-process function on its whole eras: its data checks
# (NaN, era sizes, constant metamodel) are about rows the client never saw, so they run
# there; the options were validated once on the client, before anything was submitted.


def numerai_corr(
    ddf: Any,
    columns: Any,
    target: Hashable,
    *,
    era: Hashable = "era",
    top_bottom: int | None = None,
    target_pow15: bool = True,
    nan_policy: str = "raise",
    eras_whole: bool | None = None,
    n_threads: int | None = None,
) -> Lazy:
    """Lazy :func:`neutralkit.numerai_corr` of ``columns`` against ``target``, per era.

    ``.compute()`` equals ``neutralkit.numerai_corr(df[columns], df[target],
    eras=df[era], ...)`` on the whole frame ``df``. ``era``, ``eras_whole`` and
    ``n_threads`` as in :func:`neutralize`.
    """
    src = _source(ddf, era, eras_whole)
    names = _columns(ddf, columns, "columns")
    tcol = _column(ddf, target, "target")
    options = {
        "top_bottom": top_bottom if top_bottom is None else scoring._top_bottom(top_bottom),
        "target_pow15": _neutralization._check_bool(target_pow15, "target_pow15"),
        "nan_policy": nan_policy_of(nan_policy),
    }
    func = _per_partition(
        scoring.numerai_corr, _Rows(_selector(columns, names)), _Rows(tcol), **options
    )
    return Lazy(src, _Task(func, (*names, tcol), _threads_arg(n_threads)), "numerai_corr")


def _selector(columns: Any, names: list[Any]) -> Any:
    """A single name selects a Series (1-D, as in-process); a list selects a frame."""
    return names if isinstance(columns, (list, tuple, pd.Index)) else names[0]


def correlation_contribution(
    ddf: Any,
    columns: Any,
    metamodel: Hashable,
    target: Hashable,
    *,
    era: Hashable = "era",
    top_bottom: int | None = None,
    nan_policy: str = "raise",
    eras_whole: bool | None = None,
    n_threads: int | None = None,
) -> Lazy:
    """Lazy :func:`neutralkit.correlation_contribution` (official MMC), per era."""
    src = _source(ddf, era, eras_whole)
    names = _columns(ddf, columns, "columns")
    mcol = _column(ddf, metamodel, "metamodel")
    tcol = _column(ddf, target, "target")
    options = {
        "top_bottom": top_bottom if top_bottom is None else scoring._top_bottom(top_bottom),
        "nan_policy": nan_policy_of(nan_policy),
    }
    func = _per_partition(
        scoring.correlation_contribution,
        _Rows(_selector(columns, names)),
        _Rows(mcol),
        _Rows(tcol),
        **options,
    )
    task = _Task(func, (*names, mcol, tcol), _threads_arg(n_threads))
    return Lazy(src, task, "correlation_contribution")


def mmc(
    ddf: Any,
    columns: Sequence[Any],
    target: Hashable,
    *,
    metamodel: Hashable | None = None,
    stakes: Any = None,
    bags: Any = None,
    fraction: float = 0.5,
    seed: Any = 0,
    method: str = "average",
    scale: float | str = 0.29**2,
    preset: str | None = None,
    nan_policy: str = "raise",
    era: Hashable = "era",
    eras_whole: bool | None = None,
    n_threads: int | None = None,
) -> Lazy:
    """Lazy :func:`neutralkit.mmc` (the seed's residual MMC2, bagged), per era.

    ``columns`` are the users (one prediction column each); ``metamodel`` a column name,
    or ``stakes`` (Series by column name, dict or array) for the stake-weighted
    metamodel of each bag. The bags are drawn once, here on the client, with
    ``numpy.random.default_rng(seed)`` exactly as the in-process function draws them,
    and the same mask is shipped to every partition: ``.compute()`` equals
    ``neutralkit.mmc(df[columns], df[target], stakes=..., eras=df[era], bags=...,
    seed=...)``.
    """
    src = _source(ddf, era, eras_whole)
    names = _columns(ddf, columns, "columns", allow_str=False)
    tcol = _column(ddf, target, "target")
    if (metamodel is None) == (stakes is None):
        raise TypeError("mmc: pass exactly one of metamodel= and stakes=")
    options: dict[str, Any] = {
        "method": _metamodel._method_of(method),
        "scale": _metamodel._scale_of(scale),
        "nan_policy": nan_policy_of(nan_policy),
    }
    if preset not in (None, "legacy"):
        raise ValueError(f"preset: expected None or 'legacy', got {preset!r}")
    options["preset"] = preset
    fraction_value = _metamodel._fraction_of(fraction)
    read = [*names, tcol]
    mcol = None
    if metamodel is not None:
        if bags is not None:
            raise ValueError("bags: bagging needs stakes=, not a given metamodel")
        mcol = _column(ddf, metamodel, "metamodel")
        read.append(mcol)
    else:
        users = pd.Index(names)
        stake_values = _metamodel._stakes_of(stakes, users)
        mask = _metamodel._bags_of(bags, len(users), fraction_value, seed)
        _metamodel._bag_weights(mask, stake_values)  # zero-stake bags fail here, not later
        options["stakes"] = stake_values
        options["bags"] = None if bags is None else mask
    func = _per_partition(
        _metamodel.mmc,
        _Rows(names),
        _Rows(tcol),
        metamodel=None if mcol is None else _Rows(mcol),
        **options,
    )
    return Lazy(src, _Task(func, tuple(read), _threads_arg(n_threads)), "mmc")


def feature_exposure(
    ddf: Any,
    columns: Any,
    features: Sequence[Any],
    *,
    era: Hashable = "era",
    nan_policy: str = "raise",
    eras_whole: bool | None = None,
    n_threads: int | None = None,
) -> Lazy:
    """Lazy :func:`neutralkit.feature_exposure` (std, rms, max, max_feature), per era."""
    src = _source(ddf, era, eras_whole)
    names = _columns(ddf, columns, "columns")
    feats = _columns(ddf, features, "features", allow_str=False)
    func = _per_partition(
        diagnostics.feature_exposure,
        _Rows(_selector(columns, names)),
        _Rows(feats),
        nan_policy=nan_policy_of(nan_policy),
    )
    return Lazy(src, _Task(func, (*names, *feats), _threads_arg(n_threads)), "feature_exposure")


def feature_neutral_corr(
    ddf: Any,
    columns: Any,
    features: Sequence[Any],
    target: Hashable,
    *,
    era: Hashable = "era",
    preset: str = "official",
    nan_policy: str = "raise",
    eras_whole: bool | None = None,
    n_threads: int | None = None,
) -> Lazy:
    """Lazy :func:`neutralkit.feature_neutral_corr` (FNC), per era."""
    src = _source(ddf, era, eras_whole)
    names = _columns(ddf, columns, "columns")
    feats = _columns(ddf, features, "features", allow_str=False)
    tcol = _column(ddf, target, "target")
    func = _per_partition(
        diagnostics.feature_neutral_corr,
        _Rows(_selector(columns, names)),
        _Rows(feats),
        _Rows(tcol),
        preset=diagnostics._check_preset(preset),
        nan_policy=nan_policy_of(nan_policy),
    )
    task = _Task(func, (*names, *feats, tcol), _threads_arg(n_threads))
    return Lazy(src, task, "feature_neutral_corr")


def alpha(
    ddf: Any,
    columns: Any,
    neutralizers: Sequence[Any],
    sample_weights: Hashable,
    target: Hashable,
    *,
    era: Hashable = "era",
    nan_policy: str = "raise",
    eras_whole: bool | None = None,
    n_threads: int | None = None,
) -> Lazy:
    """Lazy :func:`neutralkit.contribution.alpha` (official "alpha"), per era.

    ``neutralizers`` are column names, ``sample_weights`` and ``target`` one column each.
    """
    src = _source(ddf, era, eras_whole)
    names = _columns(ddf, columns, "columns")
    neut = _columns(ddf, neutralizers, "neutralizers", allow_str=False)
    wcol = _column(ddf, sample_weights, "sample_weights")
    tcol = _column(ddf, target, "target")
    func = _per_partition(
        _contribution.alpha,
        _Rows(_selector(columns, names)),
        _Rows(neut),
        _Rows(wcol),
        _Rows(tcol),
        nan_policy=nan_policy_of(nan_policy),
    )
    task = _Task(func, (*names, *neut, wcol, tcol), _threads_arg(n_threads))
    return Lazy(src, task, "alpha")


def meta_portfolio_contribution(
    ddf: Any,
    columns: Sequence[Any],
    stakes: Any,
    neutralizers: Sequence[Any],
    sample_weights: Hashable,
    target: Hashable,
    *,
    era: Hashable = "era",
    nan_policy: str = "raise",
    eras_whole: bool | None = None,
    n_threads: int | None = None,
) -> Lazy:
    """Lazy :func:`neutralkit.contribution.meta_portfolio_contribution` (MPC), per era.

    ``stakes`` as in-process (a Series by column name, a dict, or one per column); they
    are checked here, on the client, and shipped as given.
    """
    src = _source(ddf, era, eras_whole)
    names = _columns(ddf, columns, "columns", allow_str=False)
    neut = _columns(ddf, neutralizers, "neutralizers", allow_str=False)
    wcol = _column(ddf, sample_weights, "sample_weights")
    tcol = _column(ddf, target, "target")
    _contribution._stakes_of(stakes, pd.Index(names))
    func = _per_partition(
        _contribution.meta_portfolio_contribution,
        _Rows(names),
        stakes,
        _Rows(neut),
        _Rows(wcol),
        _Rows(tcol),
        nan_policy=nan_policy_of(nan_policy),
    )
    task = _Task(func, (*names, *neut, wcol, tcol), _threads_arg(n_threads))
    return Lazy(src, task, "meta_portfolio_contribution")
