"""Benchmark: numerai_corr and correlation_contribution, neutralkit vs numerai-tools.

One era of 5000 rows and 1000 prediction columns (as in the issue). Run with pinned BLAS
threads, e.g.::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        PYTHONPATH=python python benchmarks/bench_scoring.py --threads 1
"""

from __future__ import annotations

import argparse
import resource

import numerai_tools.scoring as nt
import numpy as np

import neutralkit as nk
from neutralkit.bench import best_of, scoring_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--cols", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-repeat", type=int, default=1)
    args = ap.parse_args()

    preds, target, metamodel = scoring_data(args.rows, args.cols, seed=0)  # neutralkit.bench

    cases = [
        (
            "numerai_corr",
            lambda: nk.numerai_corr(preds, target, n_threads=args.threads),
            lambda: nt.numerai_corr(preds, target),
        ),
        (
            "correlation_contribution",
            lambda: nk.correlation_contribution(preds, metamodel, target, n_threads=args.threads),
            lambda: nt.correlation_contribution(preds, metamodel, target),
        ),
    ]
    print(f"one era, {args.rows} rows x {args.cols} columns, threads={args.threads}")
    print(f"{'function':28s} {'neutralkit':>12s} {'numerai-tools':>14s} {'ratio':>8s}")
    for name, ours, theirs in cases:
        t_ours, r_ours = best_of(ours, args.repeat)
        t_theirs, r_theirs = best_of(theirs, args.baseline_repeat)
        err = float(np.max(np.abs(r_ours.to_numpy() - r_theirs.to_numpy())))
        assert err < 1e-9, f"{name}: results differ by {err}"
        print(
            f"{name:28s} {t_ours * 1e3:10.1f}ms {t_theirs * 1e3:12.1f}ms "
            f"{t_theirs / t_ours:7.1f}x   (max |diff| {err:.1e})"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
