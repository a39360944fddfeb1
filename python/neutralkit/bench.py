"""The headline benchmarks, shared by ``neutralkit bench`` and ``benchmarks/bench_*.py``.

Each workload times neutralkit, its NumPy twin in :mod:`neutralkit.reference` and, when
installed, numerai-tools on the same synthetic data, in the same run, and checks that the
results agree (to 1e-9 relative) before a ratio counts. Shapes (``--scale full``, the
shapes of ``benchmarks/RESULTS.md``):

* ``neutralize k=705`` / ``k=2376``: one era of 5000 rows, 705 / 2376 int8 features in
  0..4, 10 prediction columns (numerai-tools: ``scoring.neutralize`` on DataFrames);
* ``numerai_corr`` and ``correlation_contribution``: one era, 5000 rows x 1000 columns;
* ``bagged mmc``: the seed's residual MMC, one era of 5000 rows, 200 users, 20 bags of
  half the users (numerai-tools: rank, stake_weight, rank, neutralize per bag);
* ``feature exposure``: 1 prediction vs 2376 int8 features (numerai-tools:
  ``max_feature_correlation``).

``--quick`` (``--scale quick``) runs smaller shapes (3000 rows, 200 columns, 100 users x
10 bags) in under a minute on 2 cores; ``tiny`` is for tests only.

BLAS threads are pinned to one with ``threadpoolctl`` when it is installed (it comes
with scikit-learn); otherwise set ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
MKL_NUM_THREADS=1`` before starting Python (environment variables cannot change a BLAS
that is already loaded). The JSON says which was the case. neutralkit itself uses
``--threads`` (default 1).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "SCALES",
    "Scale",
    "Workload",
    "best_of",
    "exposure_data",
    "mmc_data",
    "neutralize_data",
    "numerai_tools_mmc",
    "numerai_tools_neutralize",
    "run",
    "scoring_data",
    "workloads",
]

#: results must agree to this (relative to the baseline's largest value) to count
AGREE_RTOL = 1e-9
EXIT_DISAGREE = 1


# ---------------------------------------------------------------------- timing, data


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """(best wall time over ``repeat`` calls, the last result)."""
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def neutralize_data(
    n_eras: int,
    k: int,
    dtype: str = "int8",
    seed: int = 0,
    rows_per_era: int = 5000,
    n_cols: int = 10,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, predictions, eras): int8 features 0..4 (or as ``dtype``), eras of
    ``rows_per_era`` rows, ``n_cols`` prediction columns with a little feature signal.

    ``dtype``: ``"int8"``, a float dtype (the int8 values as floats), or
    ``"float64-continuous"`` (plus N(0, 0.1) noise: no integer route applies).
    """
    rng = np.random.default_rng(seed)
    n = n_eras * rows_per_era
    x: np.ndarray = rng.integers(0, 5, size=(n, k), dtype=np.int8)
    if dtype == "float64-continuous":
        x = x + rng.normal(scale=0.1, size=(n, k))
    elif dtype != "int8":
        x = x.astype(dtype)
    y = rng.normal(size=(n, n_cols)) + 0.05 * x[:, : min(k, n_cols)].astype(float).sum(
        axis=1, keepdims=True
    )
    eras = np.repeat(np.arange(n_eras), rows_per_era)
    return x, y, eras


def scoring_data(rows: int, cols: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """(preds, target, metamodel) of one era: normal predictions, targets in
    {0, .25, .5, .75, 1}, a normal metamodel; string ids as index."""
    rng = np.random.default_rng(seed)
    idx = pd.Index([f"id{i:06d}" for i in range(rows)])
    preds = pd.DataFrame(
        rng.normal(size=(rows, cols)), index=idx, columns=[f"model{j:04d}" for j in range(cols)]
    )
    target = pd.Series(rng.integers(0, 5, rows) / 4, index=idx, name="target")
    metamodel = pd.Series(rng.normal(size=rows), index=idx, name="mm")
    return preds, target, metamodel


def mmc_data(
    rows: int, n_users: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.Series, pd.Series, np.ndarray]:
    """(preds, target, stakes, signal): users = a shared signal plus noise of varied
    strength, target a binned noisy signal in [0, 1], log-normal stakes."""
    index = pd.RangeIndex(rows)
    signal = rng.normal(size=rows)
    preds = pd.DataFrame(
        signal[:, None] + rng.normal(size=(rows, n_users)) * rng.uniform(0.5, 3, n_users),
        index=index,
        columns=[f"u{i}" for i in range(n_users)],
    )
    target = pd.Series(
        np.clip(np.round((signal + rng.normal(size=rows) * 3) / 2 + 2) / 4, 0, 1), index=index
    )
    stakes = pd.Series(rng.lognormal(size=n_users), index=preds.columns)
    return preds, target, stakes, signal


def exposure_data(rows: int, k: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series]:
    """(features, prediction): int8 features 0..4, a normal prediction leaning on one."""
    index = pd.Index(np.arange(rows), name="id")
    feats = pd.DataFrame(
        rng.integers(0, 5, (rows, k)).astype(np.int8),
        index=index,
        columns=[f"feature_{j}" for j in range(k)],
    )
    pred = pd.Series(
        rng.normal(size=rows) + 0.05 * feats.iloc[:, min(7, k - 1)].to_numpy(),
        index=index,
        name="prediction",
    )
    return feats, pred


def bag_masks(n_bags: int, n_users: int, fraction: float, seed: int) -> np.ndarray:
    """The bags neutralkit.mmc draws for ``bags=n_bags, seed=seed`` (same generator)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((n_bags, n_users), dtype=bool)
    for b in range(n_bags):
        mask[b, rng.choice(n_users, size=round(fraction * n_users), replace=False)] = True
    return mask


# --------------------------------------------------------- the numerai-tools baselines


def numerai_tools_neutralize(x: np.ndarray, y: np.ndarray, eras: np.ndarray) -> np.ndarray:
    """How numerai-tools users neutralize: DataFrames, one call per era."""
    from numerai_tools.scoring import neutralize

    features = pd.DataFrame(x)
    preds = pd.DataFrame(y)
    out = np.empty_like(y)
    for e in np.unique(eras):
        rows = np.flatnonzero(eras == e)
        out[rows] = neutralize(preds.iloc[rows], features.iloc[rows]).to_numpy()
    return out


MMC_SCALE = 0.29**2


def numerai_tools_mmc(
    preds: pd.DataFrame, target: pd.Series, stakes: pd.Series, mask: np.ndarray, per_user: bool
) -> pd.Series:
    """The seed's bagged MMC from numerai-tools pieces: per bag, the metamodel by
    rank -> stake_weight -> rank, then neutralize the ranked users to it and take the
    covariance with the target (all users in one call, or one call per user)."""
    import numerai_tools.scoring as nt

    ranked = nt.rank(preds)
    t_c = target - target.mean()
    total = pd.Series(0.0, index=preds.columns)
    for bag in mask:
        users = preds.columns[bag]
        meta = nt.rank(nt.stake_weight(nt.rank(preds[users]), stakes[users]).to_frame())
        if per_user:
            residual = pd.concat([nt.neutralize(ranked[[c]], meta) for c in preds.columns], axis=1)
        else:
            residual = nt.neutralize(ranked, meta)
        total += (residual.T @ t_c) / (len(target) - 1) / MMC_SCALE
    return total / len(mask)


# --------------------------------------------------------------------- the workloads


@dataclass(frozen=True)
class Scale:
    """Sizes of one run of the workloads."""

    rows: int  # rows of the (single) era
    k_small: int  # neutralize: 705
    k_large: int  # neutralize: 2376
    n_cols: int  # neutralize: prediction columns
    wide: int  # numerai_corr / correlation_contribution columns
    users: int  # bagged mmc
    bags: int
    exposure_k: int  # feature exposure features
    repeat: int  # best of, neutralkit side


SCALES = {
    "full": Scale(5000, 705, 2376, 10, 1000, 200, 20, 2376, 3),
    "quick": Scale(3000, 705, 2376, 10, 200, 100, 10, 2376, 2),
    "tiny": Scale(300, 20, 60, 3, 8, 10, 3, 30, 1),
}


@dataclass(frozen=True)
class Workload:
    """One timed case: ``make()`` builds the data; each side maps it to a result."""

    name: str
    shape: str
    make: Callable[[], Any]
    fast: Callable[[Any, int], Any]
    reference: Callable[[Any], Any] | None
    numerai_tools: Callable[[Any], Any] | None
    # (fast result, numerai-tools result) -> comparable arrays; default: as they are
    nt_compare: Callable[[Any, Any], tuple[Any, Any]] | None = None


def _as_they_are(fast: Any, other: Any) -> tuple[Any, Any]:
    return fast, other


def _exposure_vs_max(fast: Any, nt_result: Any) -> tuple[Any, Any]:
    """numerai-tools gives (feature, max |corr|): compare the max, and the feature."""
    same_feature = fast["max_feature"] == nt_result[0]
    return np.array([float(fast["max"])]), np.array(
        [float(nt_result[1]) if same_feature else np.nan]
    )


def workloads(scale: Scale) -> list[Workload]:
    """The headline workloads at ``scale``."""
    import neutralkit as nk

    def reference() -> Any:
        from . import reference as ref

        return ref

    out = []
    for k in (scale.k_small, scale.k_large):
        out.append(
            Workload(
                name=f"neutralize k={k}",
                shape=f"1 era x {scale.rows} rows, {k} int8 features, {scale.n_cols} columns",
                make=functools.partial(
                    neutralize_data, 1, k, rows_per_era=scale.rows, n_cols=scale.n_cols
                ),
                fast=lambda d, th: nk.neutralize(d[1], d[0], eras=d[2], n_threads=th),
                reference=lambda d: reference().neutralize(d[1], d[0], eras=d[2]),
                numerai_tools=lambda d: numerai_tools_neutralize(*d),
            )
        )

    def nt_scoring() -> Any:
        import numerai_tools.scoring as nt

        return nt

    wide = f"1 era x {scale.rows} rows x {scale.wide} columns"
    out.append(
        Workload(
            name="numerai_corr",
            shape=wide,
            make=lambda: scoring_data(scale.rows, scale.wide),
            fast=lambda d, th: nk.numerai_corr(d[0], d[1], n_threads=th),
            reference=lambda d: reference().numerai_corr(d[0], d[1]),
            numerai_tools=lambda d: nt_scoring().numerai_corr(d[0], d[1]),
        )
    )
    out.append(
        Workload(
            name="correlation_contribution",
            shape=wide,
            make=lambda: scoring_data(scale.rows, scale.wide),
            fast=lambda d, th: nk.correlation_contribution(d[0], d[2], d[1], n_threads=th),
            reference=lambda d: reference().correlation_contribution(d[0], d[2], d[1]),
            numerai_tools=lambda d: nt_scoring().correlation_contribution(d[0], d[2], d[1]),
        )
    )
    out.append(
        Workload(
            name="bagged mmc",
            shape=f"1 era x {scale.rows} rows, {scale.users} users, {scale.bags} bags of half",
            make=lambda: mmc_data(scale.rows, scale.users, np.random.default_rng(0))[:3],
            fast=lambda d, th: nk.mmc(
                d[0], d[1], stakes=d[2], bags=scale.bags, seed=0, n_threads=th
            ),
            reference=lambda d: reference().mmc(d[0], d[1], stakes=d[2], bags=scale.bags, seed=0),
            numerai_tools=lambda d: numerai_tools_mmc(
                d[0], d[1], d[2], bag_masks(scale.bags, scale.users, 0.5, seed=0), False
            ),
        )
    )
    out.append(
        Workload(
            name="feature exposure",
            shape=f"1 prediction x {scale.rows} rows, {scale.exposure_k} int8 features",
            make=lambda: exposure_data(scale.rows, scale.exposure_k, np.random.default_rng(42)),
            fast=lambda d, th: nk.feature_exposure(d[1], d[0], n_threads=th),
            reference=lambda d: reference().feature_exposure(d[1], d[0]),
            numerai_tools=lambda d: nt_scoring().max_feature_correlation(d[1], d[0]),
            nt_compare=_exposure_vs_max,
        )
    )
    return out


# ------------------------------------------------------------------------------ run


def _numeric(result: Any) -> Any:
    """Drop label columns (feature exposure's ``max_feature``) before comparing."""
    if isinstance(result, pd.Series) and result.dtype == object:
        return pd.to_numeric(result.drop(labels=["max_feature"], errors="ignore"))
    if isinstance(result, pd.DataFrame) and "max_feature" in result.columns:
        return result.drop(columns="max_feature")
    return result


def _rel_diff(fast: Any, other: Any) -> float:
    from .testing import differences

    return differences(_numeric(fast), _numeric(other))[1]


@contextlib.contextmanager
def pinned_blas(n: int = 1) -> Iterator[str]:
    """Limit BLAS/OpenMP threads to ``n``; yields how ("threadpoolctl", ...)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        env = {v: os.environ.get(v) for v in names}
        pinned = all(env[v] == str(n) for v in names[:2])
        yield (
            "environment" if pinned else "not pinned (install threadpoolctl or set OMP_NUM_THREADS)"
        )
        return
    with threadpool_limits(limits=n):
        yield "threadpoolctl"


def _available(module: str) -> str | None:
    """The installed version of ``module``'s distribution, or None."""
    from importlib import metadata

    try:
        __import__(module)
    except ImportError:
        return None
    try:
        return metadata.version(module.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return "unknown"


def run(
    scale: str = "quick",
    *,
    threads: int = 1,
    with_reference: bool = True,
    with_numerai_tools: bool = True,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the workloads at ``scale`` ("full", "quick" or "tiny"); return the record.

    The record (also what ``--json`` writes): versions, scale, threads, how BLAS was
    pinned, the machine, and one entry per workload with the seconds of each side
    (``null`` when not run), the ratios baseline / neutralkit, the largest relative
    differences from neutralkit and ``agree`` (every difference <= 1e-9).
    """
    import neutralkit

    if scale not in SCALES:
        raise ValueError(f"scale: expected one of {list(SCALES)}, got {scale!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads: expected a positive int, got {threads!r}")
    cases = workloads(SCALES[scale])
    if only is not None:
        unknown = [n for n in only if n not in {w.name for w in cases}]
        if unknown:
            raise ValueError(
                f"only: unknown workload(s) {unknown!r}; choose from {[w.name for w in cases]}"
            )
        cases = [w for w in cases if w.name in only]
    notes = []
    nt_version = _available("numerai_tools") if with_numerai_tools else None
    if with_numerai_tools and nt_version is None:
        notes.append("numerai-tools is not installed: no numerai-tools column")
    if with_reference and _available("scipy") is None:
        with_reference = False  # the reference needs scipy; recorded as not run
        notes.append("scipy is not installed: no reference column (the reference needs it)")
    rows = []
    with pinned_blas(1) as how:
        if nt_version is not None:  # imports and first-call caches out of the timings
            numerai_tools_neutralize(*neutralize_data(1, 5, rows_per_era=50, n_cols=2))
        for w in cases:
            if progress:
                progress(w.name)
            data = w.make()
            t_fast, fast = best_of(functools.partial(w.fast, data, threads), SCALES[scale].repeat)
            row: dict[str, Any] = {
                "name": w.name,
                "shape": w.shape,
                "neutralkit_s": t_fast,
                "reference_s": None,
                "numerai_tools_s": None,
                "ratio_vs_reference": None,
                "ratio_vs_numerai_tools": None,
                "max_rel_diff_vs_reference": None,
                "max_rel_diff_vs_numerai_tools": None,
            }
            if with_reference and w.reference is not None:
                t_ref, ref = best_of(functools.partial(w.reference, data), 1)
                row.update(
                    reference_s=t_ref,
                    ratio_vs_reference=t_ref / t_fast,
                    max_rel_diff_vs_reference=_rel_diff(fast, ref),
                )
            if nt_version is not None and w.numerai_tools is not None:
                t_nt, theirs = best_of(functools.partial(w.numerai_tools, data), 1)
                a, b = (w.nt_compare or _as_they_are)(fast, theirs)
                row.update(
                    numerai_tools_s=t_nt,
                    ratio_vs_numerai_tools=t_nt / t_fast,
                    max_rel_diff_vs_numerai_tools=_rel_diff(a, b),
                )
            diffs = [
                row[k]
                for k in ("max_rel_diff_vs_reference", "max_rel_diff_vs_numerai_tools")
                if row[k] is not None
            ]
            row["agree"] = bool(all(d <= AGREE_RTOL for d in diffs))
            rows.append(row)
    return {
        "neutralkit": neutralkit.__version__,
        "numpy": np.__version__,
        "numerai_tools": nt_version,
        "scale": scale,
        "shapes": vars(SCALES[scale]),
        "threads": threads,
        "blas_threads": 1,
        "blas_pinning": how,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "notes": notes,
        "workloads": rows,
    }


def format_table(record: dict[str, Any]) -> str:
    """The record as a table: seconds of each side and ratios baseline / neutralkit."""

    def sec(v: Any) -> str:
        return "-" if v is None else f"{v * 1e3:.1f}ms"

    def ratio(v: Any) -> str:
        return "-" if v is None else f"{v:.1f}x"

    lines = [
        f"neutralkit {record['neutralkit']}, scale {record['scale']}, threads "
        f"{record['threads']}, BLAS threads {record['blas_threads']} "
        f"({record['blas_pinning']}), numerai-tools {record['numerai_tools'] or 'not run'}",
        f"{'workload':<26} {'neutralkit':>11} {'reference':>11} {'ratio':>7} "
        f"{'numerai-tools':>13} {'ratio':>7}  agree  shape",
    ]
    lines[1:1] = [f"({note})" for note in record["notes"]]
    for r in record["workloads"]:
        lines.append(
            f"{r['name']:<26} {sec(r['neutralkit_s']):>11} {sec(r['reference_s']):>11} "
            f"{ratio(r['ratio_vs_reference']):>7} {sec(r['numerai_tools_s']):>13} "
            f"{ratio(r['ratio_vs_numerai_tools']):>7}  {'yes' if r['agree'] else 'NO':<5}  "
            f"{r['shape']}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------- the command


def add_bench_command(sub: Any) -> None:
    """Register ``neutralkit bench`` on the CLI's subparsers."""
    p = sub.add_parser(
        "bench",
        help="time the headline workloads against the reference and numerai-tools",
        description="Time neutralkit's headline workloads on synthetic data against the "
        "NumPy reference and (when installed) numerai-tools, in the same run, with BLAS "
        "pinned to one thread; results are checked to agree before a ratio counts.",
    )
    p.add_argument("--quick", action="store_true", help="smaller shapes: under a minute on 2 cores")
    p.add_argument(
        "--scale",
        choices=list(SCALES),
        default=None,
        help="full (the documented shapes, the default), quick (= --quick) or tiny (tests)",
    )
    p.add_argument("--threads", type=int, default=1, metavar="N", help="neutralkit threads")
    p.add_argument("--json", metavar="PATH", help="also write the record as JSON here")
    p.add_argument("--only", metavar="NAMES", help="comma-separated workload names")
    p.add_argument("--no-reference", action="store_true", help="skip the NumPy reference")
    p.add_argument("--no-numerai-tools", action="store_true", help="skip numerai-tools")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    """``neutralkit bench``: 0, or 1 when a baseline disagrees with neutralkit."""
    scale = args.scale or ("quick" if args.quick else "full")
    if args.quick and args.scale not in (None, "quick"):
        raise ValueError(f"--quick and --scale {args.scale} contradict each other")
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None

    def progress(what: str) -> None:
        if not args.quiet and sys.stderr.isatty():
            sys.stderr.write(f"\r{what:<40}")
            sys.stderr.flush()

    record = run(
        scale,
        threads=args.threads,
        with_reference=not args.no_reference,
        with_numerai_tools=not args.no_numerai_tools,
        only=only,
        progress=progress,
    )
    if not args.quiet:
        if sys.stderr.isatty():
            sys.stderr.write("\r" + " " * 40 + "\r")
        print(format_table(record))
    if args.json:
        record["arguments"] = {k: v for k, v in vars(args).items() if k != "func"}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=2)
    disagree = [r["name"] for r in record["workloads"] if not r["agree"]]
    if disagree:
        print(f"results differ beyond {AGREE_RTOL:g} for: {', '.join(disagree)}")
        return EXIT_DISAGREE
    return 0
