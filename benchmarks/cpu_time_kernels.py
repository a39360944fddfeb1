"""CPU time (not wall time) of a few kernel calls, for before/after comparisons on a
loaded machine: ``time.process_time`` counts every thread of the process, so other
processes' load moves it far less than wall-clock time. Best of several calls each.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=python python benchmarks/cpu_time_kernels.py

Run it alternately in the two trees being compared (several processes each) and take
the minimum per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

import neutralkit as nk
from neutralkit import _core


def best(f: Callable[[], object], k: int = 7) -> float:
    """Smallest CPU time of k calls, in ms."""
    times = []
    for _ in range(k):
        start = time.process_time()
        f()
        times.append(time.process_time() - start)
    return min(times) * 1e3


def main() -> None:
    rng = np.random.default_rng(0)
    p = rng.standard_normal((5000, 1000))
    t = rng.standard_normal(5000)
    x8 = rng.integers(0, 5, (5000, 705)).astype(np.int8)
    y = rng.standard_normal((5000, 10))
    xc = x8 + rng.normal(0, 0.1, x8.shape)
    users = rng.standard_normal((5000, 2000))
    order = np.arange(5000, dtype=np.int64)
    offsets = np.array([0, 5000], dtype=np.int64)
    stakes = np.ones(200)
    results = {
        "numerai_corr 5000x1000": best(lambda: nk.numerai_corr(p, t, n_threads=1)),
        "pearson 5000x1000": best(lambda: nk.pearson(p, t, n_threads=1)),
        "rank_codes 5000x2000": best(lambda: _core.rank_codes(users, order, offsets, 0, 1)),
        "neutralize int8 k=705": best(lambda: nk.neutralize(y, x8, n_threads=1), 5),
        "neutralize float64 cont k=705": best(lambda: nk.neutralize(y, xc, n_threads=1), 5),
        "mmc 5000x200, 20 bags": best(
            lambda: nk.mmc(users[:, :200], t, stakes=stakes, bags=20, n_threads=1)
        ),
    }
    for name, ms in results.items():
        print(f"{name:32s} {ms:8.1f} ms CPU")


if __name__ == "__main__":
    main()
