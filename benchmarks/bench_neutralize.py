"""Benchmark: per-era neutralization, neutralkit vs numerai-tools vs the reference.

Synthetic data shaped like Numerai's: int8 features 0..4, eras of 5000 rows, 10
prediction columns. Each case times every contender in the same run, checks that they
agree, and prints time per era, ratios and peak RSS.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_neutralize.py

(``--quick`` runs smaller sizes; ``--memory`` runs only the 40-era peak-RSS case in
a fresh process.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

import neutralkit as nk
from neutralkit import reference
from neutralkit.bench import best_of, neutralize_data
from neutralkit.bench import numerai_tools_neutralize as numerai_tools_per_era

ROWS_PER_ERA = 5000
N_COLS = 10


def make_data(n_eras: int, k: int, dtype: str, seed: int = 0):
    """The shared workload data (neutralkit.bench, also behind `neutralkit bench`)."""
    return neutralize_data(n_eras, k, dtype, seed, rows_per_era=ROWS_PER_ERA, n_cols=N_COLS)


def run_case(n_eras: int, k: int, dtype: str, threads: int, repeat: int, with_ref: bool):
    x, y, eras = make_data(n_eras, k, dtype)
    t_nk, r_nk = best_of(lambda: nk.neutralize(y, x, eras=eras, n_threads=threads), repeat)
    t_nt, r_nt = best_of(lambda: numerai_tools_per_era(x, y, eras), 1)
    err = float(np.max(np.abs(r_nk - r_nt)) / np.max(np.abs(r_nt)))
    row = {
        "case": f"{n_eras} era(s), k={k}, {dtype}, {threads} thread(s)",
        "neutralkit_ms_per_era": 1e3 * t_nk / n_eras,
        "numerai_tools_ms_per_era": 1e3 * t_nt / n_eras,
        "speedup_vs_numerai_tools": t_nt / t_nk,
        "max_rel_diff_vs_numerai_tools": err,
    }
    if with_ref:
        t_ref, r_ref = best_of(lambda: reference.neutralize(y, x, eras=eras), 1)
        row["reference_ms_per_era"] = 1e3 * t_ref / n_eras
        row["speedup_vs_reference"] = t_ref / t_nk
        row["max_rel_diff_vs_reference"] = float(
            np.max(np.abs(r_nk - r_ref)) / np.max(np.abs(r_ref))
        )
    assert err < 1e-9, f"neutralkit and numerai-tools disagree: {err}"
    return row


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_rss_case(n_eras: int, k: int) -> dict:
    """Peak RSS added by neutralizing n_eras x 5000 x k int8 features (fresh process).

    The kernel's peak is isolated from the data generation's by resetting the kernel's
    high-water mark (VmHWM) just before the call (Linux: ``echo 5 > clear_refs``).
    """
    x, y, eras = make_data(n_eras, k, "int8")
    nk.neutralize(y[:10], x[:10])  # load everything once
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = _rss_mb("VmRSS")
    t0 = time.perf_counter()
    nk.neutralize(y, x, eras=eras)
    elapsed = time.perf_counter() - t0
    return {
        "case": f"peak RSS: {n_eras} eras x {ROWS_PER_ERA} rows x {k} int8, all threads",
        "input_mb": x.nbytes / 2**20,
        "float64_copy_would_be_mb": x.nbytes * 8 / 2**20,
        "peak_rss_added_mb": _rss_mb("VmHWM") - before,
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--memory", action="store_true", help="only the peak-RSS case")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()

    if args.memory:
        print(json.dumps(peak_rss_case(40, 705)))
        return

    cases = (
        [(1, 200, "int8", 1, 3, True), (4, 200, "int8", 2, 3, False)]
        if args.quick
        else [
            (1, 705, "int8", 1, 5, True),
            (1, 2376, "int8", 1, 3, False),
            (20, 705, "int8", 2, 2, False),
            (1, 705, "float64", 1, 5, False),
            (1, 2376, "float64", 1, 3, False),
            (1, 705, "float64-continuous", 1, 5, False),
            (1, 2376, "float64-continuous", 1, 3, False),
        ]
    )
    warm_x, warm_y, warm_eras = make_data(1, 20, "int8")
    numerai_tools_per_era(warm_x[:200], warm_y[:200], warm_eras[:200])  # imports, caches
    rows = [run_case(*c) for c in cases]
    if not args.quick:
        mem = subprocess.run(
            [sys.executable, __file__, "--memory"],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        )
        rows.append(json.loads(mem.stdout.strip().splitlines()[-1]))
    table = pd.DataFrame(rows).set_index("case")
    with pd.option_context(
        "display.width",
        250,
        "display.max_columns",
        20,
        "display.float_format",
        "{:.4g}".format,
    ):
        print(table.T.to_string())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
