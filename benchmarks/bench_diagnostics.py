"""Benchmark neutralkit.diagnostics and neutralkit.compat against numerai-tools 0.7.2.

One era of 5000 rows (synthetic data shaped like Numerai's: int8 features in 0..4,
targets in {0, .25, .5, .75, 1}). Each case times ours and the original in the same run,
checks the results agree, and prints the ratio:

1. feature exposure of 1 prediction vs 2376 int8 features
   (``neutralkit.feature_exposure`` vs numerai-tools ``max_feature_correlation``);
2. FNC of 10 columns vs 705 features
   (``neutralkit.feature_neutral_corr`` vs numerai-tools ``feature_neutral_corr``);
3. ``numerai_corr`` of 1000 columns
   (``neutralkit.compat.numerai_tools.numerai_corr`` vs the original).

Run pinned to one thread::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        PYTHONPATH=python python benchmarks/bench_diagnostics.py --threads 1
"""

from __future__ import annotations

import argparse
import resource
import warnings

import numerai_tools.scoring as original
import numpy as np
import pandas as pd

import neutralkit as nk
from neutralkit.bench import best_of, exposure_data
from neutralkit.compat import numerai_tools as compat


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    n = args.rows
    index = pd.Index(np.arange(n), name="id")
    warnings.simplefilter("ignore")
    compat.N_THREADS = args.threads
    rows = []

    # 1. feature exposure: 1 prediction vs 2376 int8 features
    feats, pred = exposure_data(n, 2376, rng)  # neutralkit.bench
    t_ours, ours = best_of(
        lambda: nk.feature_exposure(pred, feats, n_threads=args.threads), args.repeat
    )
    t_orig, orig = best_of(lambda: original.max_feature_correlation(pred, feats), 1)
    assert ours["max_feature"] == orig[0] and abs(ours["max"] - orig[1]) < 1e-9
    rows.append(("feature exposure, 1 x 2376 int8", t_orig, t_ours))

    # 2. FNC: 10 columns vs 705 features
    f705 = feats.iloc[:, :705]
    preds = pd.DataFrame(
        rng.normal(size=(n, 10)), index=index, columns=[f"model_{j}" for j in range(10)]
    )
    target = pd.Series(rng.integers(0, 5, n) / 4, index=index, name="target")
    t_ours, ours = best_of(
        lambda: nk.feature_neutral_corr(preds, f705, target, n_threads=args.threads),
        args.repeat,
    )
    t_orig, orig = best_of(lambda: original.feature_neutral_corr(preds, f705, target), 1)
    np.testing.assert_allclose(ours.to_numpy(), orig.to_numpy(), atol=1e-9)
    rows.append(("FNC, 10 cols x 705 features", t_orig, t_ours))

    # 3. compat numerai_corr on 1000 columns
    wide = pd.DataFrame(
        rng.normal(size=(n, 1000)),
        index=index,
        columns=[f"model_{j}" for j in range(1000)],
    )
    t_ours, ours = best_of(lambda: compat.numerai_corr(wide, target), args.repeat)
    t_orig, orig = best_of(lambda: original.numerai_corr(wide, target), 1)
    np.testing.assert_allclose(ours.to_numpy(), orig.to_numpy(), atol=1e-9)
    rows.append(("compat numerai_corr, 1000 cols", t_orig, t_ours))

    print(f"rows={n} threads={args.threads} (results checked equal to 1e-9)")
    print(f"{'case':34s} {'numerai-tools':>14s} {'neutralkit':>11s} {'speed-up':>9s}")
    for name, t_o, t_n in rows:
        print(f"{name:34s} {t_o:13.4f}s {t_n:10.4f}s {t_o / t_n:8.1f}x")
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
