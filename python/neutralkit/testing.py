"""Cross-check the fast functions against their NumPy twins on your own data.

:func:`compare_with_reference` runs each fast function of neutralkit and its plain
NumPy/pandas twin in :mod:`neutralkit.reference` on the same inputs, and reports the
largest absolute and relative difference and the time of each side; the command
``neutralkit check`` prints that table for a file (or the built-in synthetic
tournament) and exits with code 1 when a difference exceeds the tolerance. It is the
user-facing form of the package's property tests.

Tolerance: float64 results agree with the reference to ``rtol = 1e-9`` relative to the
scale of the reference result (its largest absolute value), on well-conditioned data
(the package's precision promise; nearly collinear features can legitimately move a
neutralized residual by more: loosen ``rtol`` then). NaN must appear at the same places
on both sides.

:data:`CHECKS` is the registry of (fast, reference) pairs, by function name; add or wrap
an entry to compare more functions (the tests wrap one to make sure a perturbed result
is caught).

The reference uses scipy (``scipy.special.ndtri``): ``pip install scipy`` (or the
``test`` extra).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CHECKS", "DEFAULT_RTOL", "Check", "CheckInputs", "compare_with_reference"]

#: relative tolerance of every comparison (see the module docstring)
DEFAULT_RTOL = 1e-9
#: bags of the bagged MMC comparisons
BAGS = 4
EXIT_MISMATCH = 1


@dataclass(frozen=True)
class CheckInputs:
    """The data every comparison draws from (pandas objects sharing one index)."""

    preds: pd.DataFrame
    target: pd.Series
    features: pd.DataFrame
    eras: pd.Series | None
    metamodel: pd.Series
    stakes: pd.Series
    n_threads: int | None = None


@dataclass(frozen=True)
class Check:
    """One (fast, reference) pair: each takes :class:`CheckInputs` and the module.

    Pass ``n_threads=inputs.n_threads`` on (the reference twins take and ignore it).
    """

    fast: Callable[[CheckInputs, Any], Any]
    reference: Callable[[CheckInputs, Any], Any]


def _exposure_stats(out: pd.DataFrame) -> pd.DataFrame:
    """feature_exposure without its label column (``max_feature``)."""
    return out.drop(columns="max_feature", level=0)


def _pair(call: Callable[[CheckInputs, Any], Any]) -> Check:
    """The same call on neutralkit (with n_threads) and on neutralkit.reference."""
    return Check(fast=call, reference=call)


#: name -> Check. ``fast`` gets ``neutralkit`` as its module, ``reference`` gets
#: ``neutralkit.reference``; both return arrays or pandas objects of the same shape.
CHECKS: dict[str, Check] = {
    "rank": _pair(lambda d, m: m.rank(d.preds, eras=d.eras, n_threads=d.n_threads)),
    "gaussianize": _pair(lambda d, m: m.gaussianize(d.preds, eras=d.eras, n_threads=d.n_threads)),
    "neutralize": _pair(
        lambda d, m: m.neutralize(d.preds, d.features, eras=d.eras, n_threads=d.n_threads)
    ),
    "feature_neutral_target": _pair(
        lambda d, m: m.feature_neutral_target(
            d.target, d.features, eras=d.eras, n_threads=d.n_threads
        )
    ),
    "power": _pair(lambda d, m: m.power(d.preds, 1.5, n_threads=d.n_threads)),
    "pearson": _pair(lambda d, m: m.pearson(d.preds, d.target, eras=d.eras, n_threads=d.n_threads)),
    "covariance": _pair(
        lambda d, m: m.covariance(d.preds, d.target, eras=d.eras, n_threads=d.n_threads)
    ),
    "corr": _pair(lambda d, m: m.corr(d.preds, d.target, eras=d.eras, n_threads=d.n_threads)),
    "numerai_corr": _pair(
        lambda d, m: m.numerai_corr(d.preds, d.target, eras=d.eras, n_threads=d.n_threads)
    ),
    "correlation_contribution": _pair(
        lambda d, m: m.correlation_contribution(
            d.preds, d.metamodel, d.target, eras=d.eras, n_threads=d.n_threads
        )
    ),
    "neutral_contribution": _pair(
        lambda d, m: m.neutral_contribution(
            d.preds, d.metamodel, d.features, d.target, eras=d.eras, n_threads=d.n_threads
        )
    ),
    "stake_weighted_metamodel": _pair(
        lambda d, m: m.stake_weighted_metamodel(
            d.preds, d.stakes, eras=d.eras, n_threads=d.n_threads
        )
    ),
    "mmc": _pair(
        lambda d, m: m.mmc(
            d.preds,
            d.target,
            stakes=d.stakes,
            eras=d.eras,
            n_threads=d.n_threads,
            bags=BAGS,
            seed=0,
        )
    ),
    "mmc_loo": _pair(
        lambda d, m: m.mmc_loo(
            d.preds, d.target, d.stakes, eras=d.eras, n_threads=d.n_threads, bags=BAGS, seed=0
        )
    ),
    "feature_exposure": _pair(
        lambda d, m: _exposure_stats(
            m.feature_exposure(d.preds, d.features, eras=d.eras, n_threads=d.n_threads)
        )
    ),
    "feature_neutral_corr": _pair(
        lambda d, m: m.feature_neutral_corr(
            d.preds, d.features, d.target, eras=d.eras, n_threads=d.n_threads
        )
    ),
    "neutral_correlation": _pair(
        lambda d, m: m.neutral_correlation(
            d.preds, d.features, d.target, eras=d.eras, n_threads=d.n_threads
        )
    ),
}


def _as_array(result: Any) -> np.ndarray:
    if isinstance(result, (list, tuple)):
        return np.stack([_as_array(r) for r in result])
    if isinstance(result, (pd.DataFrame, pd.Series)):
        return result.to_numpy(dtype=np.float64)
    return np.asarray(result, dtype=np.float64)


def differences(fast: Any, reference: Any) -> tuple[float, float]:
    """(max absolute, max relative) difference of two results.

    Relative to the largest absolute finite value of ``reference`` (1 if it is all 0).
    Infinite when the shapes differ or NaN sits at different places.
    """
    a, b = _as_array(fast), _as_array(reference)
    if a.shape != b.shape:
        return np.inf, np.inf
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if not np.array_equal(nan_a, nan_b):
        return np.inf, np.inf
    keep = ~nan_a
    if not keep.any():
        return 0.0, 0.0
    abs_diff = float(np.max(np.abs(a[keep] - b[keep])))
    scale = float(np.max(np.abs(b[keep])))
    return abs_diff, abs_diff / (scale if scale > 0 else 1.0)


def _timed(call: Callable[[], Any]) -> tuple[float, Any, BaseException | None]:
    start = time.perf_counter()
    try:
        out = call()
    except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
        return time.perf_counter() - start, None, exc
    return time.perf_counter() - start, out, None


def _bind(fn: Callable[[CheckInputs, Any], Any], data: CheckInputs, module: Any) -> Any:
    return lambda: fn(data, module)


def _default_inputs(n_threads: int | None) -> CheckInputs:
    from .datasets import synthetic_tournament

    t = synthetic_tournament(n_eras=12, rows_per_era=200, n_features=16, n_users=8)
    return _inputs(t.predictions, t.target, t.data[t.features], t.eras, None, t.stakes, n_threads)


def _inputs(
    preds: Any,
    target: Any,
    features: Any,
    eras: Any,
    metamodel: Any,
    stakes: Any,
    n_threads: int | None,
) -> CheckInputs:
    preds = preds if isinstance(preds, pd.DataFrame) else pd.DataFrame(np.asarray(preds))
    if preds.shape[1] == 0:
        raise ValueError("preds: no prediction columns")
    index = preds.index
    target = target if isinstance(target, pd.Series) else pd.Series(np.asarray(target), index)
    if not isinstance(features, pd.DataFrame):
        features = pd.DataFrame(np.asarray(features), index=index)
    if eras is not None and not isinstance(eras, pd.Series):
        eras = pd.Series(np.asarray(eras), index=index)
    if stakes is None:
        stakes = pd.Series(1.0, index=preds.columns)
    elif not isinstance(stakes, pd.Series):
        stakes = pd.Series(np.asarray(stakes, dtype=np.float64), index=preds.columns)
    if metamodel is None:
        from .metamodel import stake_weighted_metamodel

        metamodel = stake_weighted_metamodel(preds, stakes, eras=eras, n_threads=n_threads)
    elif not isinstance(metamodel, pd.Series):
        metamodel = pd.Series(np.asarray(metamodel), index=index)
    return CheckInputs(preds, target, features, eras, metamodel, stakes, n_threads)


def compare_with_reference(
    preds: Any = None,
    target: Any = None,
    features: Any = None,
    eras: Any = None,
    *,
    metamodel: Any = None,
    stakes: Any = None,
    functions: Sequence[str] | None = None,
    rtol: float = DEFAULT_RTOL,
    n_threads: int | None = None,
) -> pd.DataFrame:
    """Run each fast function and its :mod:`neutralkit.reference` twin; compare.

    Parameters
    ----------
    preds : DataFrame (n, m), optional
        Prediction columns. With ``preds=None`` (and no other data) the built-in
        synthetic tournament is used (12 eras x 200 rows, 16 int8 features, 8 users).
    target : Series (n,), optional
    features : DataFrame (n, k), optional
    eras : Series or array (n,), optional
        One era label per row; ``None``: one era.
    metamodel : Series (n,), optional
        The metamodel for ``correlation_contribution`` (default: the stake-weighted
        metamodel of ``preds``).
    stakes : Series indexed by the prediction columns, optional
        For the metamodel functions (default: equal stakes).
    functions : list of str, optional
        Names from :data:`CHECKS` (default: all of them, in registry order).
    rtol : float
        Largest relative difference that passes (default :data:`DEFAULT_RTOL`).
    n_threads : int, optional
        Threads of the fast side.

    Returns
    -------
    DataFrame indexed by function: ``max_abs_diff``, ``max_rel_diff``, ``fast_s``,
    ``reference_s`` (seconds of one call each), ``ok`` (bool), ``note`` ("" or why it
    failed; when both sides raise the same exception type, ok with a note).
    """
    import neutralkit

    try:
        from . import reference
    except ImportError as exc:  # scipy
        raise ImportError(f"the NumPy reference needs scipy ({exc}); pip install scipy") from None
    if not (isinstance(rtol, (int, float)) and not isinstance(rtol, bool) and rtol >= 0):
        raise ValueError(f"rtol: expected a number >= 0, got {rtol!r}")
    names = list(CHECKS) if functions is None else list(functions)
    unknown = [f for f in names if f not in CHECKS]
    if unknown:
        raise ValueError(f"functions: unknown {unknown!r}; choose from {list(CHECKS)}")
    if preds is None:
        if any(x is not None for x in (target, features, eras, metamodel, stakes)):
            raise ValueError("preds: required when target/features/eras are given")
        data = _default_inputs(n_threads)
    else:
        if target is None or features is None:
            raise ValueError("target and features: required with preds")
        data = _inputs(preds, target, features, eras, metamodel, stakes, n_threads)
    rows = []
    for name in names:
        check = CHECKS[name]
        t_fast, out_fast, err_fast = _timed(_bind(check.fast, data, neutralkit))
        t_ref, out_ref, err_ref = _timed(_bind(check.reference, data, reference))
        note = ""
        if err_fast is None and err_ref is None:
            abs_diff, rel_diff = differences(out_fast, out_ref)
            ok = bool(rel_diff <= rtol)
            if not ok:
                note = "differs" if np.isfinite(rel_diff) else "shape or NaN pattern differs"
        else:
            abs_diff = rel_diff = np.nan
            same = err_fast is not None and err_ref is not None and type(err_fast) is type(err_ref)
            ok = same
            culprit = err_fast if err_fast is not None else err_ref
            side = "both" if same else ("fast" if err_fast is not None else "reference")
            note = f"{side} raised {type(culprit).__name__}: {culprit}"
        rows.append(
            {
                "function": name,
                "max_abs_diff": abs_diff,
                "max_rel_diff": rel_diff,
                "fast_s": t_fast,
                "reference_s": t_ref,
                "ok": ok,
                "note": note,
            }
        )
    table = pd.DataFrame(rows).set_index("function")
    table.attrs["rtol"] = rtol
    return table


def format_table(table: pd.DataFrame) -> str:
    """One line per function, as ``neutralkit check`` prints them."""
    lines = [
        f"{'function':<26} {'max abs diff':>12} {'max rel diff':>12} "
        f"{'fast':>9} {'reference':>10}  status"
    ]
    for name, row in table.iterrows():
        status = "ok" if row["ok"] else "FAIL"
        if row["note"]:
            status += f" ({row['note']})"
        lines.append(
            f"{name!s:<26} {row['max_abs_diff']:>12.2e} {row['max_rel_diff']:>12.2e} "
            f"{row['fast_s'] * 1e3:>7.1f}ms {row['reference_s'] * 1e3:>8.1f}ms  {status}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------- the command


def add_check_command(sub: Any) -> None:
    """Register ``neutralkit check`` on the CLI's subparsers."""
    p = sub.add_parser(
        "check",
        help="compare the fast functions with the NumPy reference on your data",
        description="Run each fast function and its neutralkit.reference twin on the "
        "same data (your files, or the built-in synthetic tournament) and print the "
        "largest differences and times; exit code 1 when a difference exceeds --rtol.",
    )
    p.add_argument(
        "--data",
        nargs="+",
        metavar="FILE",
        help="parquet or CSV file(s), joined on the id index (default: the built-in "
        "synthetic tournament)",
    )
    p.add_argument("--features", default="feature*", help="glob(s) of the feature columns")
    p.add_argument(
        "--preds",
        default=None,
        metavar="COLS",
        help="comma-separated prediction columns or globs (default: every numeric "
        "column that is not a feature, target*, era or metamodel)",
    )
    p.add_argument("--target", default="target", metavar="COL", help="the target column")
    p.add_argument("--era-col", default="era", metavar="COL", help="the era column")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--metamodel", metavar="COL", help="a column holding the metamodel")
    group.add_argument("--stakes", metavar="FILE", help="CSV (model,stake) or JSON {model: stake}")
    p.add_argument(
        "--functions",
        metavar="NAMES",
        help=f"comma-separated subset of: {', '.join(CHECKS)} (default: all)",
    )
    p.add_argument(
        "--rtol",
        type=float,
        default=DEFAULT_RTOL,
        help=f"largest relative difference that passes (default {DEFAULT_RTOL:g})",
    )
    p.add_argument("--threads", type=int, default=None, metavar="N", help="threads (fast side)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only failures")
    p.set_defaults(func=cmd_check)


def _read_user_data(args: argparse.Namespace) -> dict[str, Any]:
    """The columns ``neutralkit report`` would use, read the same way."""
    from . import cli

    files = cli._Files(args.data)
    available = files.columns
    era_col = cli._need_column(args.era_col, available, "era", "--era-col")
    target = cli._need_column(args.target, available, "target", "--target")
    features = cli._match(args.features, available, "feature", "--features")
    metamodel = (
        cli._need_column(args.metamodel, available, "metamodel", "--metamodel")
        if args.metamodel
        else None
    )
    used = {era_col, target, metamodel, *features}
    if args.preds:
        preds = cli._match(args.preds, available, "prediction", "--preds")
    else:
        preds = [c for c in available if c not in used and not c.startswith("target")]
    clash = [p for p in preds if p in used]
    if clash:
        raise cli.InputError(
            f"column {clash[0]!r} is used both as a prediction and as era/target/feature/metamodel"
        )
    frame = files.read([era_col, target, *features, *preds] + ([metamodel] if metamodel else []))
    if not args.preds:
        preds = [
            p
            for p in preds
            if pd.api.types.is_numeric_dtype(frame[p].dtype)
            and not pd.api.types.is_bool_dtype(frame[p].dtype)
        ]
    if not preds:
        raise cli.InputError("no numeric prediction columns found; name them with --preds")
    cli._numeric(frame, features, "feature")
    cli._numeric(frame, preds, "prediction")
    cli._numeric(frame, [target], "target")
    if metamodel:
        cli._numeric(frame, [metamodel], "metamodel")
    cli._check_eras(frame[era_col])
    return {
        "preds": frame[preds],
        "target": frame[target],
        "features": frame[features],
        "eras": frame[era_col],
        "metamodel": frame[metamodel] if metamodel else None,
        "stakes": cli._read_stakes(args.stakes, preds) if args.stakes else None,
    }


def cmd_check(args: argparse.Namespace) -> int:
    """``neutralkit check``: 0 when every function agrees, 1 otherwise (2: bad input)."""
    from .cli import InputError

    functions = (
        [f.strip() for f in args.functions.split(",") if f.strip()] if args.functions else None
    )
    data = _read_user_data(args) if args.data else {}
    source = ", ".join(args.data) if args.data else "the built-in synthetic tournament"
    try:
        table = compare_with_reference(
            **data, functions=functions, rtol=args.rtol, n_threads=args.threads
        )
    except ImportError as exc:
        raise InputError(str(exc)) from None
    failed = table[~table["ok"]]
    if not args.quiet:
        print(f"neutralkit vs neutralkit.reference on {source} (rtol {args.rtol:g})")
        print(format_table(table))
    elif len(failed):
        print(format_table(failed))
    if len(failed):
        print(f"{len(failed)} of {len(table)} function(s) differ beyond rtol {args.rtol:g}")
        return EXIT_MISMATCH
    if not args.quiet:
        print(f"all {len(table)} functions agree")
    return 0
