"""Benchmark: neutralkit.dask on a local cluster vs the in-process call, and out of core.

1. Throughput: neutralize 60 eras x 5000 rows x 705 int8 features (10 prediction
   columns) from a parquet dataset written one file per era, on a LocalCluster of 2
   worker processes x 1 thread, writing a parquet dataset (read as ``neutralkit
   neutralize --scheduler`` reads it: ``dd.from_map`` of one pyarrow read per file,
   files grouped up to 16 MiB a partition; ``--reader dask`` for ``dd.read_parquet``);
   against the in-process
   ``nk.neutralize(n_threads=2)`` on the same 2 cores (read the same dataset, neutralize,
   write one parquet file). Both outputs are checked equal (1e-10).
2. Out of core (``--out-of-core``): the same job on a dataset at least 3x the workers'
   total ``memory_limit``; records each worker's peak RSS (``VmHWM``) and the client
   process's, which holds no data (the result goes straight to parquet).
3. A projection of the full 600-era x 2376-feature job on N workers, from the measured
   per-era cost (one era at k = 2376 timed in-process on one thread, plus the per-era
   overhead of Dask measured in part 1).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=python \
        python benchmarks/bench_dask.py --out-of-core --json /tmp/bench_dask.json

``--eras/--rows/--features`` shrink it for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import neutralkit as nk
from neutralkit.bench import best_of, neutralize_data

N_COLS = 10
READER = "neutralkit"  # --reader
COLS = [f"prediction_{j}" for j in range(N_COLS)]


def features_of(k: int) -> list[str]:
    return [f"feature_{i:04d}" for i in range(k)]


def write_dataset(path: Path, n_eras: int, rows: int, k: int, seed: int = 0) -> int:
    """One parquet file per era (era column + id index); one era in memory at a time."""
    path.mkdir(parents=True)
    feats = features_of(k)
    nbytes = 0
    for e in range(n_eras):
        x, y, _ = neutralize_data(1, k, "int8", seed + e, rows_per_era=rows, n_cols=N_COLS)
        frame = pd.DataFrame(x, columns=feats)
        for j, c in enumerate(COLS):
            frame[c] = y[:, j]
        frame.insert(0, "era", np.int32(e))
        frame.index = pd.Index([f"id{e:04d}_{i:05d}" for i in range(rows)], name="id")
        nbytes += int(frame.memory_usage(index=False).sum())
        frame.to_parquet(path / f"era-{e:04d}.parquet")
    return nbytes


def read_parquet_quietly(dd, path: Path, **kw):
    with warnings.catch_warnings():  # dask calls reset_index(inplace=True) (pandas 3.1)
        warnings.simplefilter("ignore", DeprecationWarning)
        return dd.read_parquet(str(path), **kw)


def in_process(data: Path, out: Path, k: int, threads: int) -> tuple[float, float]:
    """(total seconds: read + neutralize + write, seconds of nk.neutralize alone)."""
    start = time.perf_counter()
    frame = pd.read_parquet(data)
    t0 = time.perf_counter()
    result = nk.neutralize(frame[COLS], frame[features_of(k)], eras=frame["era"], n_threads=threads)
    kernel = time.perf_counter() - t0
    result.insert(0, "era", frame["era"])
    result.to_parquet(out)
    return time.perf_counter() - start, kernel


def on_dask(client, dd, data: Path, out: Path, k: int, timeout: float | None = None) -> float:
    """Seconds to read, neutralize and write on the cluster (``inf`` after ``timeout``:
    e.g. workers paused at 80% of their memory_limit never finish)."""
    from distributed import TimeoutError as DaskTimeout

    import neutralkit.dask as nkd

    if out.exists():
        shutil.rmtree(out)
    start = time.perf_counter()
    if READER == "dask":
        ddf = read_parquet_quietly(dd, data, split_row_groups=False)
    else:  # what `neutralkit neutralize --scheduler` reads: one pyarrow read per file
        from neutralkit._cli_dask import read_dataset

        ddf, whole = read_dataset(str(data), "era")
        assert whole, "the era-per-file layout was not recognised"
    result = nkd.neutralize(ddf, COLS, features_of(k), eras_whole=True, keep=["era"])
    future = client.compute(result.to_parquet(str(out), compute=False))  # workers write
    try:
        future.result(timeout=timeout)
    except (DaskTimeout, TimeoutError):
        future.cancel()
        return float("inf")
    return time.perf_counter() - start


def rss_mb(field: str = "VmRSS:") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: reset at exec, unlike ru_maxrss, which a spawned
    worker inherits from the process that forked it)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cluster(dd_workers: int, memory_limit: str | None):
    from distributed import Client, LocalCluster

    kw = {"memory_limit": memory_limit} if memory_limit else {}
    # pyarrow's default allocator keeps freed buffers (mimalloc/jemalloc): with a small
    # memory_limit that cached memory alone pauses the workers; the system allocator
    # gives it back (the nanny already sets MALLOC_TRIM_THRESHOLD_)
    kw["env"] = {"ARROW_DEFAULT_MEMORY_POOL": os.environ.get("BENCH_ARROW_POOL", "system")}
    lc = LocalCluster(
        n_workers=dd_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
        **kw,
    )
    return lc, Client(lc)


def throughput(args, tmp: Path) -> dict:
    import dask.dataframe as dd

    data = tmp / "data"
    nbytes = write_dataset(data, args.eras, args.rows, args.features)
    lc, client = cluster(args.workers, None)
    try:
        # warm-up: worker processes import neutralkit and pyarrow once
        on_dask(client, dd, data, tmp / "warm", args.features)
        t_dask, _ = best_of(
            lambda: on_dask(client, dd, data, tmp / "dask-out", args.features), args.repeat
        )
    finally:
        client.close()
        lc.close()
    t_proc, _ = best_of(
        lambda: in_process(data, tmp / "proc.parquet", args.features, args.workers), args.repeat
    )
    _, kernel = in_process(data, tmp / "proc.parquet", args.features, args.workers)
    t_kernel1 = best_of(lambda: in_process(data, tmp / "p1.parquet", args.features, 1), 1)[1][1]
    got = pd.read_parquet(tmp / "dask-out").loc[:, COLS]
    want = pd.read_parquet(tmp / "proc.parquet").loc[:, COLS]
    diff = float(np.max(np.abs(got.loc[want.index].to_numpy() - want.to_numpy())))
    assert diff < 1e-10, f"dask and in-process results differ by {diff}"
    return {
        "eras": args.eras,
        "rows_per_era": args.rows,
        "features": args.features,
        "dataset_mb_in_memory": nbytes / 2**20,
        "workers": args.workers,
        "dask_s": t_dask,
        "in_process_s": t_proc,
        "in_process_neutralize_only_s": kernel,
        "in_process_neutralize_1_thread_s": t_kernel1,
        "dask_eras_per_s": args.eras / t_dask,
        "in_process_eras_per_s": args.eras / t_proc,
        "ratio_dask_vs_in_process": t_proc / t_dask,
        "ratio_dask_vs_in_process_neutralize_only": kernel / t_dask,
        "max_abs_diff": diff,
    }


def out_of_core(args, tmp: Path) -> dict:
    import dask.dataframe as dd
    from distributed import Client

    limit = args.memory_limit
    limit_bytes = int(pd.Series([limit]).str.extract(r"(\d+)")[0].iloc[0]) * 2**20
    need = args.ooc_factor * args.workers * limit_bytes
    per_era = args.rows * (args.features + 8 * N_COLS + 4)
    n_eras = max(args.eras, int(np.ceil(need / per_era)) + 1)
    data = tmp / "big"
    client_before = peak_rss_mb()
    client_rss_before = rss_mb()
    nbytes = write_dataset(data, n_eras, args.rows, args.features, seed=1000)
    lc, client = cluster(args.workers, limit)
    try:
        assert isinstance(client, Client)
        t = on_dask(client, dd, data, tmp / "big-out", args.features, args.ooc_timeout)
        peaks = client.run(peak_rss_mb)
        restarts = sum(1 for _ in lc.workers) - args.workers
    finally:
        client.close()
        lc.close()
    files = list((tmp / "big-out").glob("*.parquet"))
    rows_out = sum(pd.read_parquet(f, columns=["era"]).shape[0] for f in files)
    assert rows_out == n_eras * args.rows or t == float("inf"), "rows missing from the output"
    shutil.rmtree(data)
    return {
        "eras": n_eras,
        "dataset_mb_in_memory": nbytes / 2**20,
        "memory_limit_per_worker": limit,
        "dataset_over_total_memory_limit": nbytes / (args.workers * limit_bytes),
        "seconds": t,
        "eras_per_s": n_eras / t,
        "worker_peak_rss_mb": sorted(peaks.values()),
        "client_peak_rss_mb_before_run": client_before,
        "client_peak_rss_mb_after_run": peak_rss_mb(),
        "client_rss_mb_before_run": client_rss_before,
        "client_rss_mb_after_run": rss_mb(),
        "rows_written": rows_out,
        "extra_workers_started": restarts,
    }


def per_era_2376(rows: int) -> float:
    """Seconds to neutralize one era of rows x 2376 int8 features, 10 columns, 1 thread."""
    x, y, eras = neutralize_data(2, 2376, "int8", 7, rows_per_era=rows, n_cols=N_COLS)
    t, _ = best_of(lambda: nk.neutralize(y, x, eras=eras, n_threads=1), 2)
    return t / 2


def projection(tp: dict, t2376: float, rows: int) -> dict:
    # Dask's per-era overhead on a worker: worker-seconds per era minus the kernel's
    # one-thread time per era (it includes reading and writing the era's parquet).
    worker_s_per_era = tp["dask_s"] * tp["workers"] / tp["eras"]
    kernel_s_per_era = tp["in_process_neutralize_1_thread_s"] / tp["eras"]
    overhead = max(0.0, worker_s_per_era - kernel_s_per_era)
    io_scale = (2376 + 8 * N_COLS) / (tp["features"] + 8 * N_COLS)  # bytes read per row
    per_era = t2376 + overhead * io_scale
    return {
        "k2376_kernel_s_per_era_1_thread": t2376,
        "dask_overhead_s_per_era_at_k705": overhead,
        "projected_worker_s_per_era_at_k2376": per_era,
        "projected_600_eras_minutes": {n: 600 * per_era / n / 60 for n in (1, 2, 4, 8, 16, 32, 64)},
        "task_memory_mb_per_kernel_thread_at_k2376": (16 * 2376**2 + 2048 * 2376) / 2**20,
        "partition_mb_at_k2376": rows * (2376 + 8 * N_COLS * 2) / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eras", type=int, default=60)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--features", type=int, default=705)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out-of-core", action="store_true")
    parser.add_argument("--memory-limit", default="400MiB", help="per worker (MiB)")
    parser.add_argument(
        "--ooc-factor", type=float, default=3.0, help="dataset / total memory_limit (>= 3)"
    )
    parser.add_argument("--no-projection", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--ooc-timeout", type=float, default=1800, help="seconds (stalled)")
    parser.add_argument("--tmp", default=None, help="where to write the datasets")
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--reader",
        choices=["neutralkit", "dask"],
        default="neutralkit",
        help="neutralkit: the CLI's reader (dd.from_map of one pyarrow read per file); "
        "dask: dd.read_parquet(split_row_groups=False)",
    )
    args = parser.parse_args()
    global READER
    READER = args.reader
    record: dict = {"cpu_count": os.cpu_count(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    tmp = Path(tempfile.mkdtemp(prefix="bench_dask-", dir=args.tmp))
    try:
        tp = record["throughput"] = {} if args.skip_throughput else throughput(args, tmp)
        print(json.dumps(tp, indent=1), flush=True)
        save(record, args.json)
        if args.out_of_core:
            record["out_of_core"] = ooc = out_of_core(args, tmp)
            print(json.dumps(ooc, indent=1), flush=True)
            save(record, args.json)
        if not args.no_projection and tp:
            record["projection"] = pr = projection(tp, per_era_2376(args.rows), args.rows)
            print(json.dumps(pr, indent=1), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    save(record, args.json)


def save(record: dict, path: str | None) -> None:
    if path:
        Path(path).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
