"""Benchmark: alpha and meta_portfolio_contribution, neutralkit vs numerai-tools.

One era of 5000 rows x 1000 prediction columns x 20 orthonormal neutralizers (the
issue's shape), one thread. Run with pinned BLAS threads, e.g.::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 \
        OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        PYTHONPATH=python python benchmarks/bench_contribution.py --threads 1

Both wall time (best of ``--repeat``) and the process's CPU time are reported: on a
shared, loaded machine the CPU-time ratio is the steadier of the two.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from typing import Any

import numerai_tools.scoring as nt
import numpy as np
import pandas as pd

import neutralkit as nk


def data(rows: int, cols: int, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"T{i:06d}" for i in range(rows)])  # sorted, as numerai-tools needs
    preds = pd.DataFrame(
        rng.normal(size=(rows, cols)), index=ids, columns=[f"model_{j}" for j in range(cols)]
    )
    neut = pd.DataFrame(np.linalg.qr(rng.normal(size=(rows, k)))[0], index=ids)
    weights = pd.Series(rng.uniform(0.2, 2.0, size=rows), index=ids)
    target = pd.Series(rng.integers(0, 5, size=rows) / 4, index=ids)
    stakes = pd.Series(rng.uniform(0.0, 1.0, size=cols), index=preds.columns)
    return preds, neut, weights, target, stakes


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(best wall time, best CPU time of this process, last result) over repeat calls."""
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--cols", type=int, default=1000)
    ap.add_argument("--neutralizers", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-repeat", type=int, default=1)
    args = ap.parse_args()

    preds, neut, weights, target, stakes = data(args.rows, args.cols, args.neutralizers)
    th = args.threads
    cases = [
        (
            "alpha",
            lambda: nk.alpha(preds, neut, weights, target, n_threads=th),
            lambda: nt.alpha(preds, neut, weights, target),
        ),
        (
            "meta_portfolio_contribution",
            lambda: nk.meta_portfolio_contribution(
                preds, stakes, neut, weights, target, n_threads=th
            ),
            lambda: nt.meta_portfolio_contribution(preds, stakes, neut, weights, target),
        ),
    ]
    print(
        f"one era, {args.rows} rows x {args.cols} columns x {args.neutralizers} "
        f"neutralizers, threads={th}"
    )
    print(
        f"{'function':28s} {'neutralkit':>11s} {'numerai-tools':>14s} {'ratio':>7s}"
        f" {'cpu ratio':>10s}"
    )
    for name, ours, theirs in cases:
        w_ours, c_ours, r_ours = timed(ours, args.repeat)
        w_theirs, c_theirs, r_theirs = timed(theirs, args.baseline_repeat)
        a, b = r_ours.to_numpy(), r_theirs.to_numpy()
        err = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
        assert err < 1e-9, f"{name}: results differ by {err:.1e} (relative)"
        print(
            f"{name:28s} {w_ours * 1e3:9.1f}ms {w_theirs * 1e3:12.1f}ms "
            f"{w_theirs / w_ours:6.1f}x {c_theirs / c_ours:9.1f}x   (max rel diff {err:.1e})"
        )
        print(f"{'':28s} {c_ours * 1e3:9.1f}ms {c_theirs * 1e3:12.1f}ms   (CPU time)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
