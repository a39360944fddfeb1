"""``neutralkit neutralize|report --scheduler``: the same commands on a Dask cluster.

``--scheduler ADDRESS`` connects to a running ``distributed`` scheduler;
``--scheduler local[:N]`` starts a ``LocalCluster`` of N worker processes for the run.
The data is a parquet dataset (a directory or a glob), read lazily; the neutralized
columns are written as a partitioned parquet dataset (one file per partition). Progress
is Dask's progress bar. Eras are kept whole without a shuffle when the parquet footers say so (see
:func:`_layout`); otherwise Dask shuffles the rows by era.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import itertools
import logging
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["add_scheduler_option", "run_neutralize", "run_report"]

SCHEDULER_HELP = (
    "run on Dask: ADDRESS of a running distributed scheduler (tcp://host:8786), or "
    "local[:N] to start a local cluster of N worker processes; --data is then a parquet "
    "dataset (directory or glob)"
)


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS|local[:N]", help=SCHEDULER_HELP
    )


def _input_error(message: str) -> Exception:
    from .cli import InputError

    return InputError(message)


@contextlib.contextmanager
def _client(spec: str) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise _input_error(
            '--scheduler needs dask and distributed: pip install "neutralkit[dask]"'
        ) from None
    if spec == "local" or spec.startswith("local:"):
        count = spec[len("local:") :] if spec.startswith("local:") else ""
        if count and not (count.isdigit() and int(count) >= 1):
            raise _input_error(f"--scheduler: expected local or local:N with N >= 1, got {spec!r}")
        n_workers = int(count) if count else None
        cores = os.cpu_count() or 1
        threads = max(1, cores // n_workers) if n_workers else None
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(spec, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise _input_error(f"--scheduler: cannot connect to {spec!r} ({exc})") from None
    with client:
        yield client


def _files(path: str) -> tuple[list[str], str | None]:
    """(parquet files, hive root or None) of a directory or a glob."""
    if os.path.isdir(path):
        files = sorted(
            f
            for f in glob.glob(os.path.join(path, "**", "*"), recursive=True)
            if f.endswith((".parquet", ".pq", ".parq")) and os.path.isfile(f)
        )
        hive = path if any("=" in os.path.basename(os.path.dirname(f)) for f in files) else None
    else:
        files = sorted(f for f in glob.glob(path) if os.path.isfile(f))
        hive = None
    if not files:
        raise _input_error(f"no parquet files found at {path}")
    return files, hive


def _disjoint(ranges: list[tuple[Any, Any]]) -> bool:
    try:
        ranges = sorted(ranges)
        return all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
    except TypeError:  # labels of mixed types
        return False


def _layout(
    files: list[str], hive: str | None, era_col: str, sizes: list[int] | None = None
) -> str | None:
    """How the dataset keeps eras whole, read from the footers (no data is read).

    ``"row-groups"``: no era spans two row groups (the era column's statistics give
    every row group a range of eras that no other row group's range overlaps), so one
    partition per row group keeps eras whole; ``"files"``: the same for files (one
    file per era, or files written in era order; a hive ``era=<label>/`` layout with
    one file per directory); ``None``: eras span files, so Dask shuffles the rows.
    ``sizes``, if given, receives each file's uncompressed bytes (from its footer).
    """
    if hive is not None:
        dirs = [os.path.basename(os.path.dirname(f)) for f in files]
        one_each = len(set(dirs)) == len(dirs)
        return "files" if one_each and all(d.startswith(f"{era_col}=") for d in dirs) else None
    import pyarrow.parquet as pq

    groups, per_file = [], []
    for f in files:
        meta = pq.ParquetFile(f).metadata
        if sizes is not None:
            sizes.append(sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups)))
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        if era_col not in names:
            return None
        col = names.index(era_col)
        mine = []
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(col).statistics
            if stats is None or not stats.has_min_max:
                return None
            mine.append((stats.min, stats.max))
        if mine:
            groups += mine
            per_file.append((min(lo for lo, _ in mine), max(hi for _, hi in mine)))
    if len(groups) > len(per_file) and _disjoint(groups):
        return "row-groups"
    return "files" if _disjoint(per_file) else None


def read_parquet_file(path: str, columns: list[str] | None = None) -> pd.DataFrame:
    """One parquet file as a pandas frame: only ``columns`` (in that order), the index
    stored by pandas, one block per dtype (the int8 features arrive as one matrix).

    A partition of :func:`read_dataset` when eras are whole per file: pyarrow reads the
    file straight into pandas, without dask's per-column bookkeeping of
    ``read_parquet`` (which cost as much as the read itself for 716 columns).
    """
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=columns, use_pandas_metadata=True)
    return table.to_pandas()


#: uncompressed bytes of the files read by one task (several whole-era files a
#: partition: fewer, larger tasks; ~4 eras of 5000 rows x 716 columns)
PARTITION_BYTES = 16 * 2**20


def read_parquet_files(paths: list[str], columns: list[str] | None = None) -> pd.DataFrame:
    """Consecutive whole-era files as one partition (:func:`read_parquet_file` each)."""
    frames = [read_parquet_file(p, columns) for p in paths]
    return pd.concat(frames) if len(frames) > 1 else frames[0]


def _groups(files: list[str], sizes: list[int]) -> list[list[str]]:
    """Consecutive files up to PARTITION_BYTES a group (at least one file each)."""
    out: list[list[str]] = []
    total = 0
    for f, n in zip(files, sizes, strict=True):
        if out and total + n <= PARTITION_BYTES:
            out[-1].append(f)
            total += n
        else:
            out.append([f])
            total = n
    return out


def read_dataset(path: str, era_col: str) -> tuple[Any, bool]:
    """A lazy dask DataFrame of a parquet dataset, and whether its eras are whole."""
    import dask.dataframe as dd

    if "://" in path:  # a URL (s3://, gs://, ...): read as given, eras shuffled
        source: Any = path
        layout = None
    else:
        files, hive = _files(path)
        sizes: list[int] = []
        layout = _layout(files, hive, era_col, sizes)
        source = hive if hive is not None else files
        if layout == "files" and hive is None:  # whole-era files, a few per partition
            import dask
            import pyarrow.parquet as pq

            meta = pq.read_schema(files[0]).empty_table().to_pandas()
            try:
                # pyarrow already gives pandas' own string dtype: dask's per-partition
                # string conversion would only walk 716 columns and copy the index
                with dask.config.set({"dataframe.convert-string": False}):
                    groups = _groups(files, sizes)
                    ddf = dd.from_map(read_parquet_files, groups, meta=meta, label="read-parquet")
                return ddf, True
            except Exception as exc:  # pyarrow raises several types for a bad file
                raise _input_error(f"{path}: not a readable parquet dataset ({exc})") from None
    split: Any = {"row-groups": True, "files": False}.get(layout or "", "infer")
    with warnings.catch_warnings():
        # dask's read_parquet calls reset_index(inplace=True), deprecated in pandas 3.1
        warnings.filterwarnings("ignore", "The inplace keyword", DeprecationWarning)
        try:
            ddf = dd.read_parquet(source, split_row_groups=split)
        except Exception as exc:  # pyarrow/fsspec raise several types for a bad dataset
            raise _input_error(f"{path}: not a readable parquet dataset ({exc})") from None
    return ddf, layout is not None


def _run(client: Any, collection: Any, quiet: bool) -> Any:
    from distributed import progress

    future = client.compute(collection)
    if not quiet:
        progress(future)
    return future.result()


def _available(ddf: Any) -> list[str]:
    return [str(c) for c in ddf.columns]


def run_neutralize(args: argparse.Namespace) -> int:
    import neutralkit.dask as nkd

    from .cli import _match, _need_column

    started = time.perf_counter()
    if not 0.0 <= args.proportion <= 1.0:
        raise _input_error(f"--proportion must lie in [0, 1], got {args.proportion}")
    remote = "://" in args.out  # written by the workers where they are, as given
    out = args.out if remote else os.path.abspath(args.out)
    if not remote and os.path.exists(out):
        raise _input_error(f"{args.out} exists; remove it or choose another --out")
    if not remote and not os.path.isdir(os.path.dirname(out)):
        raise _input_error(f"output directory does not exist: {os.path.dirname(out)}")
    ddf, whole = read_dataset(args.data, args.era_col)
    available = _available(ddf)
    era_col = _need_column(args.era_col, available, "era", "--era-col")
    features = _match(args.features, available, "feature", "--features")
    cols = _match(args.cols, available, "column to neutralize", "--cols")
    result = nkd.neutralize(
        ddf,
        cols,
        features,
        era=era_col,
        proportion=args.proportion,
        keep=[era_col],
        nan_policy=getattr(args, "nan_policy", "raise"),
        eras_whole=True if whole else None,
    )
    if remote:
        with _client(args.scheduler) as client:
            _run(client, result.to_parquet(out, compute=False), args.quiet)
    else:  # written under a temporary name, renamed when complete
        tmp = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.tmp-{os.getpid()}")
        try:
            with _client(args.scheduler) as client:
                _run(client, result.to_parquet(tmp, compute=False), args.quiet)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
    if not args.quiet:
        how = "no shuffle: eras whole per file or row group" if whole else "shuffled by era"
        print(
            f"\nneutralized {args.cols} (proportion {args.proportion}; {how}) -> "
            f"{args.out}/ ({result.npartitions} files) in {time.perf_counter() - started:.1f} s"
        )
    return 0


def _report_eras(
    part: pd.DataFrame,
    eras: Any,
    threads: int,
    *,
    preds: list[str],
    target: str,
    features: list[str],
    metamodel: str | None,
    stakes: pd.Series | None,
    bags: np.ndarray | None,
) -> pd.DataFrame:
    """The per-era tables of ``report.compute_report`` for the whole eras of a partition."""
    import neutralkit as nk

    p, t, f = part[preds], part[target], part[features]
    if metamodel is None:
        weights = stakes if stakes is not None else pd.Series(1.0, index=p.columns)
        mm = pd.Series(
            np.asarray(nk.stake_weighted_metamodel(p, weights, eras=eras, n_threads=threads)),
            index=part.index,
            name="metamodel",
        )
    else:
        weights, mm = None, part[metamodel].rename("metamodel")
    mmc_full = nk.mmc(p, t, metamodel=mm, eras=eras, n_threads=threads)
    mmc = mmc_full
    if bags is not None:
        mmc = nk.mmc(p, t, stakes=weights, eras=eras, bags=bags, n_threads=threads)
    exposure = nk.feature_exposure(p, f, eras=eras, n_threads=threads)
    tables = {
        "corr": nk.numerai_corr(p, t, eras=eras, n_threads=threads),
        "mmc": mmc,
        "mmc_full": mmc_full,
        "mmc_official": nk.correlation_contribution(p, mm, t, eras=eras, n_threads=threads),
        "fnc": nk.feature_neutral_corr(p, f, t, eras=eras, n_threads=threads),
        **{f"exposure_{k}": exposure[k].astype(np.float64) for k in ("std", "rms", "max")},
        "metamodel_corr": nk.numerai_corr(mm.to_frame(), t, eras=eras, n_threads=threads),
        "rows": pd.DataFrame({"rows": pd.Series(np.asarray(eras)).value_counts()}),
    }
    return pd.concat(tables, axis=1)


def run_report(args: argparse.Namespace) -> int:
    import neutralkit as nk
    import neutralkit.dask as nkd

    from . import report
    from .cli import _match, _need_column, _read_stakes, _write_and_print

    started = time.perf_counter()
    if len(args.data) != 1:
        raise _input_error("--scheduler reads one parquet dataset (a directory or a glob)")
    ddf, whole = read_dataset(args.data[0], args.era_col)
    available = _available(ddf)
    era_col = _need_column(args.era_col, available, "era", "--era-col")
    target = _need_column(args.target, available, "target", "--target")
    features = _match(args.features, available, "feature", "--features")
    metamodel = (
        _need_column(args.metamodel, available, "metamodel", "--metamodel")
        if args.metamodel
        else None
    )
    used = {era_col, target, metamodel, *features}
    if args.preds:
        preds = _match(args.preds, available, "prediction", "--preds")
    else:
        preds = [
            c
            for c in available
            if c not in used
            and not c.startswith("target")
            and pd.api.types.is_numeric_dtype(ddf.dtypes[c])
            and not pd.api.types.is_bool_dtype(ddf.dtypes[c])
        ]
        if not preds:
            raise _input_error("no numeric prediction columns found; name them with --preds")
    clash = [p for p in preds if p in used]
    if clash:
        raise _input_error(
            f"column {clash[0]!r} is used both as a prediction and as era/target/feature/metamodel"
        )
    stakes = _read_stakes(args.stakes, preds) if args.stakes else None
    bags = None
    n_bags = args.bags if metamodel is None and args.bags > 0 else None
    if n_bags:
        from . import metamodel as _metamodel

        # drawn once here, as nk.mmc(bags=n, seed=seed) draws them, and shipped
        bags = _metamodel._bags_of(n_bags, len(preds), 0.5, args.seed)
    read = [*preds, target, *features, *([metamodel] if metamodel else [])]
    for name, columns in (("--preds", preds), ("--features", features), ("--target", [target])):
        nkd._columns(ddf, columns, name)  # numeric, before anything runs
    if metamodel:
        nkd._columns(ddf, [metamodel], "--metamodel")
    func = _partial_report(preds, target, features, metamodel, stakes, bags)
    lazy = nkd.map_eras(
        ddf, func, read, era=era_col, eras_whole=True if whole else None, name="report"
    )
    with _client(args.scheduler) as client:
        wide = _run(client, lazy.to_delayed(), args.quiet)
    per_era = {key: wide[key] for key, _ in report.METRICS}  # era x model, in era order
    stats = {key: report._stats(per_era[key]) for key in report.SCORE_METRICS}
    models = len(preds)
    if metamodel is None:
        mm_desc = f"stake-weighted metamodel of the {models} models" + (
            f"; seed MMC over {n_bags} bags" if n_bags else "; seed MMC without bags"
        )
    else:
        mm_desc = f"given metamodel column {metamodel!r} (no bags)"
    info = {
        "n_rows": int(wide[("rows", "rows")].sum()),
        "n_eras": len(wide.index),
        "n_features": len(features),
        "n_models": models,
        "metamodel": mm_desc,
        "bags": n_bags,
        "seed": args.seed,
        "neutralkit_version": getattr(nk, "__version__", "?"),
        "data": args.data[0],
        "scheduler": args.scheduler,
    }
    data = report.ReportData(
        per_era=per_era,
        stats=stats,
        metamodel_corr=wide["metamodel_corr"].iloc[:, 0],
        info=info,
    )
    _write_and_print(data, args.out, "neutralkit report", args, started)
    return 0


def _partial_report(*args: Any) -> Any:
    import functools

    preds, target, features, metamodel, stakes, bags = args
    return functools.partial(
        _report_eras,
        preds=preds,
        target=target,
        features=features,
        metamodel=metamodel,
        stakes=stakes,
        bags=bags,
    )
