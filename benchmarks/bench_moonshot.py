"""Benchmark: the Numerai-sized neutralization job, end to end from memory.

600 eras x 5000 rows x 2376 int8 features (0..4), 10 prediction columns, neutralized
with ONE public call, ``neutralkit.neutralize(y, x, eras=eras, n_threads=2)``, on the
whole set (issue 14's goal: <= 120 s on this machine's two cores).

The data are generated era by era into one preallocated int8 array (7.1 GB for 600
eras; no float64 copy is ever made). On a shared machine the full job can take longer
than is polite, so ``--eras N`` runs the first N eras of the same job and projects to
600 by the era count (every era costs the same: same shape, same route). The printout
says which was done.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=python python benchmarks/bench_moonshot.py --eras 60

Correctness: ``--check`` eras (default 1, the first) are recomputed with the NumPy
reference (``neutralkit.reference.neutralize``, one ``lstsq`` per era) and must agree to
1e-9 relative (the documented tolerance), before the time counts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np

import neutralkit as nk
from neutralkit import reference

FULL_ERAS = 600


def make_data(n_eras: int, rows: int, k: int, cols: int, seed: int = 0):
    """int8 features 0..4 and predictions with a little feature signal, era by era."""
    rng = np.random.default_rng(seed)
    n = n_eras * rows
    x = np.empty((n, k), dtype=np.int8)
    y = np.empty((n, cols))
    for e in range(n_eras):
        block = slice(e * rows, (e + 1) * rows)
        x[block] = rng.integers(0, 5, size=(rows, k), dtype=np.int8)
        signal = 0.05 * x[block, : min(k, cols)].sum(axis=1, keepdims=True, dtype=np.int64)
        y[block] = rng.normal(size=(rows, cols)) + signal
    eras = np.repeat(np.arange(n_eras, dtype=np.int64), rows)
    return x, y, eras


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eras", type=int, default=FULL_ERAS)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--features", type=int, default=2376)
    parser.add_argument("--cols", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check", type=int, default=1, help="eras checked against reference")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()

    t0 = time.perf_counter()
    x, y, eras = make_data(args.eras, args.rows, args.features, args.cols)
    t_gen = time.perf_counter() - t0
    print(
        f"data: {args.eras} eras x {args.rows} rows x {args.features} int8 features "
        f"({x.nbytes / 1e9:.2f} GB), {args.cols} prediction columns; generated in {t_gen:.1f} s"
    )

    load_before = os.getloadavg()[0]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    out = nk.neutralize(y, x, eras=eras, n_threads=args.threads)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    load_after = os.getloadavg()[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the check

    worst = 0.0
    for e in range(min(args.check, args.eras)):
        rows = slice(e * args.rows, (e + 1) * args.rows)
        ref = reference.neutralize(y[rows], x[rows])
        worst = max(worst, float(np.max(np.abs(out[rows] - ref)) / np.max(np.abs(ref))))
    assert worst < 1e-9, f"neutralkit and the reference disagree: {worst}"

    per_era = wall / args.eras
    projected = per_era * FULL_ERAS
    full = args.eras == FULL_ERAS
    print(
        f"neutralize ({args.threads} threads): {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"({1e3 * per_era:.0f} ms/era wall, {1e3 * cpu / args.eras:.0f} ms/era CPU); "
        f"load average {load_before:.1f} -> {load_after:.1f}"
    )
    print(
        ("full job: " if full else f"projected to {FULL_ERAS} eras (x{FULL_ERAS / args.eras:g}): ")
        + f"{projected:.1f} s wall (goal <= 120 s); "
        + f"CPU-bound estimate on 2 idle cores {cpu / args.eras * FULL_ERAS / 2:.1f} s"
    )
    print(f"max rel. diff vs reference ({min(args.check, args.eras)} era(s)): {worst:.1e}")
    print(f"peak RSS {peak_mb:.0f} MB (the int8 data: {x.nbytes / 2**20:.0f} MiB)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "eras": args.eras,
                    "full": full,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "projected_600_s": projected,
                    "max_rel_diff": worst,
                    "peak_rss_mb": peak_mb,
                    "load_before": load_before,
                    "load_after": load_after,
                },
                fh,
                indent=2,
            )


if __name__ == "__main__":
    main()
