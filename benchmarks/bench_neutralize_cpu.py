"""Neutralize, one era of int8 features, neutralkit vs numerai-tools in CPU time and wall.

On a shared, loaded machine wall-clock ratios swing with the load; the process CPU time
of each side (``time.process_time``, BLAS pinned to one thread) is steadier. Prints both
ratios for each k. Used for the issue 14 before/after figures in RESULTS.md:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=python python benchmarks/bench_neutralize_cpu.py 705 2376
"""

from __future__ import annotations

import sys
import time

import numpy as np

import neutralkit as nk
from neutralkit.bench import neutralize_data, numerai_tools_neutralize


def measure(k: int) -> dict[str, float]:
    x, y, eras = neutralize_data(1, k, "int8")
    nk.neutralize(y, x, eras=eras, n_threads=1)  # warm-up
    cpu, wall = [], []
    for _ in range(7 if k <= 1000 else 3):
        c0, w0 = time.process_time(), time.perf_counter()
        ours = nk.neutralize(y, x, eras=eras, n_threads=1)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    numerai_tools_neutralize(x[:200], y[:200], eras[:200])  # warm-up
    c0, w0 = time.process_time(), time.perf_counter()
    theirs = numerai_tools_neutralize(x, y, eras)
    nt_cpu, nt_wall = time.process_time() - c0, time.perf_counter() - w0
    err = float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))
    assert err < 1e-9, f"neutralkit and numerai-tools disagree: {err}"
    return {
        "neutralkit_cpu_ms": 1e3 * min(cpu),
        "neutralkit_wall_ms": 1e3 * min(wall),
        "numerai_tools_cpu_ms": 1e3 * nt_cpu,
        "numerai_tools_wall_ms": 1e3 * nt_wall,
        "cpu_ratio": nt_cpu / min(cpu),
        "wall_ratio": nt_wall / min(wall),
        "max_rel_diff": err,
    }


def main() -> None:
    for k in [int(a) for a in sys.argv[1:]] or [705, 2376]:
        row = measure(k)
        print(f"k={k}: " + ", ".join(f"{name} {value:.4g}" for name, value in row.items()))


if __name__ == "__main__":
    main()
