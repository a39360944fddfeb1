"""The ``neutralkit`` command: ``demo``, ``report`` and ``neutralize`` (``check`` and
``bench`` live with their code, in ``testing`` and ``bench``).

``--data`` takes one or more Parquet/CSV files, joined on the id (the index, or an
``id`` column, the same for both formats); pyarrow is needed only when Parquet is read
or written. ``neutralize`` writes CSV or Parquet by the suffix of ``--out`` and keeps
the input's row order.

Bad input (missing file or column, no era column, non-numeric feature, an era of one
row, ...) ends with a one-line message on stderr and exit code 2; nothing partial is
left behind (outputs are written under a temporary name and renamed at the end).
Set ``NEUTRALKIT_DEBUG=1`` to get the traceback instead.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import inspect
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._cli_dask import add_scheduler_option
from .datasets import synthetic_tournament
from .payout import PAYOUT_SCHEMES

__all__ = ["main"]

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".tsv")
EXIT_BAD_INPUT = 2
#: joining several files: refuse (unless --allow-missing) when a file loses more than
#: this share of its rows because their id is missing from another file
MISSING_SHARE = 0.01
#: rows per record batch when streaming parquet (peak memory ~ one era + one batch)
PARQUET_BATCH_ROWS = 65536


class InputError(Exception):
    """Bad input from the user: reported on one line, exit code 2."""


# ---------------------------------------------------------------- progress


class Progress:
    """A plain-text progress bar on stderr, shown only on a TTY and when not quiet."""

    def __init__(self, quiet: bool, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = not quiet and bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._dirty = False

    def __call__(self, done: int, total: int, what: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = int(width * done / max(total, 1))
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} {what[:40]:<40}")
        self.stream.flush()
        self._dirty = True

    def close(self) -> None:
        if self.enabled and self._dirty:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()
            self._dirty = False


# ---------------------------------------------------------------- reading


def _kind_of(path: str, what: str = "") -> str:
    """The file's type, "parquet" or "csv", from its suffix; any other is refused."""
    lower = path.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(CSV_SUFFIXES):
        return "csv"
    raise InputError(
        f"{what}{path}: unknown file type; expected one of "
        f"{', '.join(PARQUET_SUFFIXES + CSV_SUFFIXES)}"
    )


def _csv_sep(path: str) -> str:
    return "\t" if path.lower().endswith(".tsv") else ","


def _require_pyarrow(why: str) -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError(
            f"{why} needs pyarrow: pip install pyarrow (or the report extra: "
            'pip install "neutralkit[report]"); CSV files work without it'
        ) from None
    return pyarrow


def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise InputError(f"no such file: {path}")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory, expected a file")


def _parquet_index_columns(schema: Any) -> list[str]:
    meta = schema.pandas_metadata or {}
    return [c for c in meta.get("index_columns", []) if isinstance(c, str)]


def _columns_of(path: str) -> tuple[list[str], list[str]]:
    """(data columns, index columns) of a file, without reading its data."""
    if _kind_of(path) == "parquet":
        _require_pyarrow("reading parquet")
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputError(f"{path}: not a readable parquet file ({exc})") from None
        index_cols = _parquet_index_columns(schema)
        if not index_cols and "id" in schema.names:  # `id` as a column, as in a CSV
            index_cols = ["id"]
        return [c for c in schema.names if c not in index_cols], index_cols
    try:
        header = pd.read_csv(path, nrows=0, sep=_csv_sep(path))
    except Exception as exc:  # pandas raises several types for a bad file
        raise InputError(f"{path}: not a readable CSV file ({exc})") from None
    names = [str(c) for c in header.columns]
    if "id" in names:
        return [c for c in names if c != "id"], ["id"]
    return names, []


def _read(path: str, columns: list[str]) -> pd.DataFrame:
    _, index_cols = _columns_of(path)
    if _kind_of(path) == "parquet":
        _require_pyarrow("reading parquet")
        if index_cols == ["id"] and not _parquet_has_pandas_index(path):
            frame = pd.read_parquet(path, columns=["id", *columns]).set_index("id")
        else:
            frame = pd.read_parquet(path, columns=columns)
    else:
        frame = pd.read_csv(path, usecols=[*index_cols, *columns], sep=_csv_sep(path))
        if index_cols:
            frame = frame.set_index(index_cols[0])
    frame = frame[columns]
    if not frame.index.is_unique:
        raise InputError(f"{path}: the id index has duplicate values")
    return frame


def _parquet_has_pandas_index(path: str) -> bool:
    import pyarrow.parquet as pq

    return bool(_parquet_index_columns(pq.read_schema(path)))


def _suggest(name: str, available: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(available), n=3, cutoff=0.6)
    if close:
        return "; did you mean " + ", ".join(repr(c) for c in close) + "?"
    return ""


def _need_column(name: str, available: Sequence[str], what: str, option: str) -> str:
    if name not in available:
        raise InputError(
            f"{what} column {name!r} not found in the data{_suggest(name, available)}"
            f" (set it with {option})"
        )
    return name


def _match(patterns: str, available: Sequence[str], what: str, option: str) -> list[str]:
    """Columns named by a comma-separated list of names or glob patterns, in order."""
    out: list[str] = []
    for pattern in [p.strip() for p in patterns.split(",") if p.strip()]:
        if any(ch in pattern for ch in "*?["):
            hits = [c for c in available if fnmatch.fnmatchcase(c, pattern)]
            if not hits:
                raise InputError(
                    f"no {what} column matches {pattern!r}"
                    f"{_suggest(pattern, available)}"
                    f" (set it with {option})"
                )
        else:
            hits = [_need_column(pattern, available, what, option)]
        out += [h for h in hits if h not in out]
    if not out:
        raise InputError(f"no {what} columns given ({option})")
    return out


def _numeric(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for col in columns:
        dtype = frame[col].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise InputError(f"{what} column {col!r} is not numeric (dtype {dtype})")


def _check_eras(eras: pd.Series) -> None:
    if eras.isna().any():
        raise InputError(f"era column {eras.name!r} has {int(eras.isna().sum())} missing value(s)")
    sizes = eras.value_counts()
    small = sizes[sizes < 2]
    if len(small):
        raise InputError(
            f"era {small.index[0]!r} has only {int(small.iloc[0])} row; every era "
            "needs "
            f"at least 2 rows ({len(small)} such era(s))"
        )


class _Files:
    """Several data files joined on their id index, read column by column as needed.

    Rows whose id is missing from another file are dropped, and ``note`` is told how
    many from which file; above :data:`MISSING_SHARE` of a file's rows that is an
    error unless ``allow_missing``. The first file's row order is kept.
    """

    def __init__(
        self,
        paths: Sequence[str],
        allow_missing: bool = False,
        note: Any = None,
    ) -> None:
        for path in paths:
            _check_exists(path)
            _kind_of(path)
        self.allow_missing = allow_missing
        self.note = note if note is not None else _note
        self.paths = list(paths)
        self.columns_by_file = [_columns_of(p)[0] for p in self.paths]
        self.columns: list[str] = []
        for cols in self.columns_by_file:
            self.columns += [c for c in cols if c not in self.columns]

    def read(self, columns: Sequence[str]) -> pd.DataFrame:
        wanted = list(dict.fromkeys(columns))
        parts: list[pd.DataFrame] = []
        names: list[str] = []
        taken: set[str] = set()
        for path, cols in zip(self.paths, self.columns_by_file, strict=True):
            mine = [c for c in wanted if c in cols and c not in taken]
            if mine or not parts:
                parts.append(_read(path, mine))
                names.append(path)
                taken.update(mine)
        frame = parts[0]
        for part in parts[1:]:
            frame = frame.join(part, how="inner")
        if len(parts) > 1 and len(frame) == 0:
            raise InputError("the files share no id: nothing to join")
        if len(parts) > 1:
            self._check_dropped(parts, names, len(frame))
        return frame[wanted]

    def _check_dropped(self, parts: list[pd.DataFrame], names: list[str], kept: int) -> None:
        for i, (part, path) in enumerate(zip(parts, names, strict=True)):
            dropped = len(part) - kept
            if not dropped:
                continue
            others = ", ".join(os.path.basename(p) for j, p in enumerate(names) if j != i)
            share = dropped / len(part)
            what = (
                f"{dropped} of {len(part)} rows ({share:.1%}) of {os.path.basename(path)} "
                f"have an id that is not in {others}"
            )
            if share > MISSING_SHARE and not self.allow_missing:
                raise InputError(
                    f"{what}; pass --allow-missing to go on without them "
                    "(only ids present in every file are used)"
                )
            self.note(f"{what}: dropped")


def _note(message: str) -> None:
    """A remark about the data (rows dropped, ...), on stderr: stdout has the results."""
    sys.stderr.write(f"neutralkit: note: {message}\n")


# ---------------------------------------------------------------- commands


def _print_table(table: pd.DataFrame, quiet: bool) -> None:
    if quiet:
        return
    with pd.option_context(
        "display.width", 200, "display.max_columns", 30, "display.max_rows", 500
    ):
        print(table.to_string(float_format=lambda v: f"{v: .4f}"))


def _report_table(data: Any) -> pd.DataFrame:
    table = data.table()  # without features: no fnc and fe_* columns
    cols = [
        "corr",
        "corr_sharpe",
        "mmc",
        "mmc_full",
        "mmc_official",
        "fnc",
        "fe_rms",
        "corr_max_dd",
        "corr_hit",
    ]
    return table[[c for c in cols if c in table]]


def _write_and_print(
    data: Any, out_dir: str, title: str, args: argparse.Namespace, started: float
) -> None:
    from . import report

    plots = report.plots_available() and not args.no_plots
    written = report.write_report(data, out_dir, title=title, plots=plots)
    _print_table(_report_table(data), args.quiet)
    if not args.quiet:
        print(
            f"\nwrote {written['report.html']}, summary.json, per_era.csv "
            f"in {time.perf_counter() - started:.1f} s"
        )
        if not plots and not args.no_plots:
            print(f"(no plots: matplotlib is not installed; {report.INSTALL_HINT})")


def cmd_demo(args: argparse.Namespace) -> int:
    from . import report

    started = time.perf_counter()
    progress = Progress(args.quiet)
    progress(0, 7, "building the synthetic tournament")
    t = synthetic_tournament(
        n_eras=args.n_eras,
        rows_per_era=args.rows_per_era,
        n_features=args.n_features,
        n_users=args.n_users,
        seed=args.seed,
    )
    try:
        data = report.compute_report(
            t.predictions,
            t.target,
            t.data[t.features],
            t.eras,
            stakes=t.stakes,
            bags=args.bags,
            seed=args.seed,
            kinds=t.kinds,
            payout_scheme=_payout_scheme(args),
            progress=lambda d, n, w: progress(d + 1, n + 1, w),
            info={
                "data": f"synthetic_tournament(n_eras={args.n_eras}, "
                f"rows_per_era={args.rows_per_era}, n_features={args.n_features}, "
                f"n_users={args.n_users}, seed={args.seed})"
            },
        )
    finally:
        progress.close()
    _write_and_print(data, args.out, "neutralkit demo: a synthetic tournament", args, started)
    return 0


def _read_stakes(path: str, models: list[str]) -> pd.Series:
    _check_exists(path)
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            try:
                raw = json.load(fh)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise InputError(f"{path}: expected a JSON object {{model: stake}}")
        stakes = pd.Series(raw, dtype=object)
    else:
        frame = (
            pd.read_csv(path, sep=_csv_sep(path))
            if _kind_of(path) == "csv"
            else pd.read_parquet(path)
        )
        if frame.shape[1] < 2:
            raise InputError(f"{path}: expected two columns: model, stake")
        if _is_number(frame.columns[1]):
            raise InputError(
                f"{path}: the first line ({frame.columns[0]},{frame.columns[1]}) is a model "
                "and its stake, not a header; expected a header line (e.g. model,stake) "
                "and then one line per model"
            )
        stakes = pd.Series(frame.iloc[:, 1].to_numpy(), index=frame.iloc[:, 0].astype(str))
    missing = [m for m in models if m not in stakes.index]
    if missing:
        raise InputError(
            f"{path}: no stake for model {missing[0]!r}"
            f"{_suggest(missing[0], [str(i) for i in stakes.index])}"
        )
    values = pd.to_numeric(stakes[models], errors="coerce")
    if values.isna().any():
        raise InputError(f"{path}: stake of {values.index[values.isna()][0]!r} is not a number")
    return values.astype(np.float64)


def _is_number(text: Any) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def cmd_report(args: argparse.Namespace) -> int:
    if getattr(args, "scheduler", None):  # on Dask: neutralkit._cli_dask
        from ._cli_dask import run_report

        return run_report(args)
    from . import report

    started = time.perf_counter()
    files = _Files(args.data, args.allow_missing, note=_note_unless(args.quiet))
    available = files.columns
    era_col = _need_column(args.era_col, available, "era", "--era-col")
    target = _need_column(args.target, available, "target", "--target")
    default_matches = any(fnmatch.fnmatchcase(c, args.features) for c in available)
    if getattr(args, "features_given", False) or default_matches:
        features = _match(args.features, available, "feature", "--features")
    else:  # targets and predictions only: report what can be computed without them
        features = []
    metamodel = (
        _need_column(args.metamodel, available, "metamodel", "--metamodel")
        if args.metamodel
        else None
    )
    used = {era_col, target, metamodel, *features}
    if args.preds:
        preds = _match(args.preds, available, "prediction", "--preds")
    else:
        preds = [c for c in available if c not in used and not c.startswith("target")]
        if not preds:
            raise InputError("no prediction columns found; name them with --preds")
    clash = [p for p in preds if p in used]
    if clash:
        raise InputError(
            f"column {clash[0]!r} is used both as a prediction and as era/target/feature/metamodel"
        )
    columns = [era_col, target, *features, *preds] + ([metamodel] if metamodel else [])
    frame = files.read(columns)
    if not args.preds:  # guessed prediction columns: keep the numeric ones
        preds = [
            p
            for p in preds
            if pd.api.types.is_numeric_dtype(frame[p].dtype)
            and not pd.api.types.is_bool_dtype(frame[p].dtype)
        ]
        if not preds:
            raise InputError("no numeric prediction columns found; name them with --preds")
    _numeric(frame, features, "feature")
    _numeric(frame, preds, "prediction")
    _numeric(frame, [target], "target")
    if metamodel:
        _numeric(frame, [metamodel], "metamodel")
    _check_eras(frame[era_col])
    stakes = _read_stakes(args.stakes, preds) if args.stakes else None
    if not features and not args.quiet:
        print(
            f"(no column matches --features {args.features!r}: the report has no FNC and "
            "no feature exposure; add the file holding the features to --data)"
        )
    progress = Progress(args.quiet)
    try:
        data = report.compute_report(
            frame[preds],
            frame[target],
            frame[features] if features else None,
            frame[era_col],
            nan_policy=args.nan_policy,
            metamodel=frame[metamodel] if metamodel else None,
            stakes=stakes,
            bags=args.bags if args.bags > 0 else None,
            seed=args.seed,
            payout_scheme=_payout_scheme(args),
            progress=progress,
            info={"data": ", ".join(os.path.basename(p) for p in args.data)},
        )
    finally:
        progress.close()
    _write_and_print(data, args.out, "neutralkit report", args, started)
    return 0


def _tmp_name(path: str) -> str:
    head, tail = os.path.split(os.path.abspath(path))
    return os.path.join(head, f".{tail}.tmp-{os.getpid()}")


def _has_id(frame: pd.DataFrame) -> bool:
    """True when the rows carry ids (a named index) rather than positions."""
    return any(name is not None for name in frame.index.names)


class _Output:
    """The neutralized rows, written era block by era block to a temporary file as CSV
    or Parquet (by the suffix of ``--out``): the id (when the input has one), the era
    and the neutralized columns."""

    def __init__(self, path: str, tmp: str) -> None:
        self.kind = _kind_of(path, "--out ")
        self.sep = _csv_sep(path)
        self.path = path
        self.tmp = tmp
        self._writer: Any = None
        self._csv: Any = None
        if path.lower().endswith(".zip"):
            raise InputError(f"--out {path}: write .csv, .csv.gz, .csv.bz2 or .parquet (not .zip)")

    def write(self, block: pd.DataFrame) -> None:
        if self.kind == "csv":
            self._write_csv(block)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(block, preserve_index=_has_id(block))
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, table.schema)
        else:
            table = table.replace_schema_metadata(self._writer.schema.metadata)
        self._writer.write_table(table)

    def _write_csv(self, block: pd.DataFrame) -> None:
        first = self._csv is None
        if first:  # one stream for every block (closed in close())
            import bz2
            import gzip

            lower = self.path.lower()
            opener: Any = gzip.open if lower.endswith(".gz") else open
            opener = bz2.open if lower.endswith(".bz2") else opener
            self._csv = opener(self.tmp, "wt", encoding="utf-8", newline="")
        block.to_csv(self._csv, sep=self.sep, header=first, index=_has_id(block))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._csv is not None and not self._csv.closed:
            self._csv.close()


def _neutralize_stream(
    args: argparse.Namespace, plan: dict[str, Any], output: _Output, progress: Progress
) -> int | None:
    """One parquet file whose rows come grouped by era: read it in record batches and
    neutralize each era as soon as it is complete (memory ~ one era). Rows keep their
    order. None when the eras are not grouped (the caller reads the whole file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import neutralkit as nk

    path, era_col = args.data[0], plan["era_col"]
    features, cols, index_cols = plan["features"], plan["cols"], plan["index_cols"]
    pf = pq.ParquetFile(path)
    schema = pf.schema_arrow
    for col in [*features, *cols]:
        t = schema.field(col).type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
            what = "feature" if col in features else "column to neutralize"
            raise InputError(f"{what} column {col!r} is not numeric (type {t})")
    eras = pf.read(columns=[era_col]).column(0).to_pandas()
    eras.name = era_col
    _check_eras(eras)
    codes, uniques = pd.factorize(eras, sort=False)
    runs = int(np.count_nonzero(np.diff(codes))) + 1 if len(codes) else 0
    n_eras = len(uniques)
    if runs != n_eras:
        return None
    read_cols = list(dict.fromkeys([*index_cols, era_col, *features, *cols]))
    done = 0

    def emit(table: Any) -> None:
        nonlocal done
        block = table.to_pandas(ignore_metadata=True)
        if index_cols:
            block = block.set_index(index_cols)
        out = nk.neutralize(
            block[cols], block[features], proportion=args.proportion, nan_policy=args.nan_policy
        )
        out.insert(0, era_col, block[era_col].to_numpy())
        output.write(out)
        done += 1
        progress(done, n_eras, "eras")

    pending = None
    for batch in pf.iter_batches(columns=read_cols, batch_size=PARQUET_BATCH_ROWS):
        table = pa.Table.from_batches([batch])
        pending = table if pending is None else pa.concat_tables([pending, table])
        era_values = pending.column(era_col).to_pandas().to_numpy()
        starts = np.flatnonzero(era_values[1:] != era_values[:-1]) + 1
        begin = 0
        for stop in starts:
            emit(pending.slice(begin, stop - begin))
            begin = int(stop)
        pending = pending.slice(begin)
    if pending is not None and pending.num_rows:
        emit(pending)
    return done


def _neutralize_in_memory(
    args: argparse.Namespace, plan: dict[str, Any], output: _Output, progress: Progress
) -> int:
    """Any number of files (joined on the id), eras in any row order; rows keep the
    first file's order."""
    import neutralkit as nk

    era_col, features, cols = plan["era_col"], plan["features"], plan["cols"]
    frame = plan["files"].read([era_col, *features, *cols])
    _numeric(frame, features, "feature")
    _numeric(frame, cols, "column to neutralize")
    _check_eras(frame[era_col])
    out = nk.neutralize(
        frame[cols],
        frame[features],
        eras=frame[era_col],
        proportion=args.proportion,
        nan_policy=args.nan_policy,
    )
    out.insert(0, era_col, frame[era_col].to_numpy())
    output.write(out)
    n_eras = int(frame[era_col].nunique())
    progress(n_eras, n_eras, "eras")
    return n_eras


def cmd_neutralize(args: argparse.Namespace) -> int:
    if getattr(args, "scheduler", None):  # on Dask: neutralkit._cli_dask
        from ._cli_dask import run_neutralize

        if len(args.data) != 1:
            raise InputError("--scheduler reads one parquet dataset (a directory or a glob)")
        args.data = args.data[0]
        return run_neutralize(args)
    started = time.perf_counter()
    if not 0.0 <= args.proportion <= 1.0:
        raise InputError(f"--proportion must lie in [0, 1], got {args.proportion}")
    out_kind = _kind_of(args.out, "--out ")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise InputError(f"output directory does not exist: {out_dir}")
    files = _Files(args.data, args.allow_missing, note=_note_unless(args.quiet))
    available = files.columns
    plan: dict[str, Any] = {
        "files": files,
        "era_col": _need_column(args.era_col, available, "era", "--era-col"),
        "features": _match(args.features, available, "feature", "--features"),
        "cols": _match(args.cols, available, "column to neutralize", "--cols"),
    }
    if out_kind == "parquet":
        _require_pyarrow(f"writing parquet ({args.out})")
    tmp = _tmp_name(args.out)
    output = _Output(args.out, tmp)
    progress = Progress(args.quiet)
    try:
        n_eras = None
        if len(args.data) == 1 and _kind_of(args.data[0]) == "parquet":
            plan["index_cols"] = _columns_of(args.data[0])[1]
            n_eras = _neutralize_stream(args, plan, output, progress)
        if n_eras is None:
            n_eras = _neutralize_in_memory(args, plan, output, progress)
        output.close()
        os.replace(tmp, args.out)
    finally:
        output.close()
        progress.close()
        if os.path.exists(tmp):
            os.remove(tmp)
    if not args.quiet:
        print(
            f"neutralized {', '.join(plan['cols'])} over {n_eras} eras (proportion "
            f"{args.proportion}) -> {args.out} ({out_kind}, rows in the input's order) "
            f"in {time.perf_counter() - started:.1f} s"
        )
    return 0


def _note_unless(quiet: bool) -> Any:
    return (lambda message: None) if quiet else _note


# ---------------------------------------------------------------- argparse


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it already names it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" not in text
            and "%(default)" not in text
            and not action.required
            and default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


class _Given(argparse.Action):
    """Stores the value and records that the option was given (``<dest>_given``)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_given", True)


def _data_options(p: argparse.ArgumentParser) -> None:
    """--data, --nan-policy and --allow-missing, the same for report and neutralize."""
    p.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="FILE",
        help="parquet (.parquet, .pq) or CSV (.csv, .csv.gz, .csv.bz2, .csv.zip, .tsv) "
        "file(s); several files are joined on the id (the index, or an 'id' column), "
        "e.g. predictions in one file and features and target in another",
    )
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="go on when more than 1%% of a file's rows have an id missing from another "
        "file (they are dropped; without this option that is an error; a smaller share "
        "is dropped with a note)",
    )
    p.add_argument(
        "--nan-policy",
        choices=["raise", "omit"],
        default="raise",
        help="missing values (NaN): raise refuses them; omit scores or neutralizes each "
        "column on its own non-NaN rows (default: raise)",
    )


#: payout schemes the report can plot (those paying on CORR and MMC)
REPORT_PAYOUT_SCHEMES = [
    name for name, s in PAYOUT_SCHEMES.items() if set(s.weights) <= {"corr", "mmc"}
]


def _payout_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--payout-scheme",
        default="corr+mmc",
        choices=[*REPORT_PAYOUT_SCHEMES, "none"],
        metavar="NAME",
        help="payout scheme of the stake-path plot: "
        f"{', '.join(REPORT_PAYOUT_SCHEMES)} or none (default: corr+mmc)",
    )


def _payout_scheme(args: argparse.Namespace) -> str | None:
    name = getattr(args, "payout_scheme", "corr+mmc")
    return None if name == "none" else str(name)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="neutralkit",
        description="Per-era scoring, neutralization and diagnostics for era-based tournaments.",
        epilog="'neutralkit COMMAND --help' describes a command and its options.",
    )
    parser.add_argument(
        "--version", action="version", version=f"neutralkit {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND", title="commands"
    )

    def common(
        p: argparse.ArgumentParser,
        plots: bool = True,
        quiet: str = "print nothing on success (no progress bar, no table)",
    ) -> None:
        p.add_argument("--quiet", "-q", action="store_true", help=quiet)
        if plots:
            p.add_argument(
                "--no-plots",
                action="store_true",
                help="write the report without plots (faster)",
            )

    demo = sub.add_parser("demo", help="score a built-in synthetic tournament and write the report")
    demo.add_argument("--out", default="neutralkit-demo", metavar="DIR", help="output directory")
    demo.add_argument("--bags", type=int, default=16, help="bags for the seed MMC")
    demo.add_argument("--seed", type=int, default=0, help="seed of the data and bags")
    size = inspect.signature(synthetic_tournament).parameters
    for name in ("n_eras", "rows_per_era", "n_features", "n_users"):
        demo.add_argument(
            f"--{name.replace('_', '-')}",
            type=int,
            default=size[name].default,
            metavar="N",
            help=f"size of the synthetic tournament (default {size[name].default})",
        )
    _payout_option(demo)
    common(demo)
    demo.set_defaults(func=cmd_demo)

    rep = sub.add_parser("report", help="the report for your own parquet/CSV files")
    _data_options(rep)
    rep.add_argument(
        "--features",
        default="feature*",
        action=_Given,
        metavar="GLOBS",
        help="comma-separated feature columns or globs (default: feature*; when no "
        "column matches the default, the report has no FNC and no feature exposure)",
    )
    rep.add_argument(
        "--preds",
        default=None,
        metavar="COLS",
        help="comma-separated prediction columns or globs (default: every "
        "numeric column that is not a feature, target*, era or metamodel)",
    )
    rep.add_argument("--target", default="target", metavar="COL", help="the target column")
    rep.add_argument("--era-col", default="era", metavar="COL", help="the era column")
    group = rep.add_mutually_exclusive_group()
    group.add_argument(
        "--metamodel",
        metavar="COL",
        help="a column holding the metamodel to score against",
    )
    group.add_argument(
        "--stakes",
        metavar="FILE",
        help="CSV (model,stake) or JSON {model: stake}: the metamodel is "
        "the stake-weighted metamodel of the prediction columns "
        "(default: equal stakes)",
    )
    rep.add_argument(
        "--bags",
        type=int,
        default=16,
        metavar="N",
        help="bags for the seed MMC (0: none; ignored with --metamodel)",
    )
    rep.add_argument("--seed", type=int, default=0, help="seed of the bags")
    rep.add_argument("--out", default="neutralkit-report", metavar="DIR", help="output directory")
    _payout_option(rep)
    common(rep)
    add_scheduler_option(rep)
    rep.set_defaults(func=cmd_report)

    neu = sub.add_parser(
        "neutralize",
        help="neutralize columns to features, era by era; write Parquet or CSV",
    )
    _data_options(neu)
    neu.add_argument(
        "--features",
        required=True,
        metavar="GLOBS",
        help="comma-separated feature columns or globs to neutralize against",
    )
    neu.add_argument(
        "--cols",
        required=True,
        metavar="COLS",
        help="comma-separated columns (or globs) to neutralize",
    )
    neu.add_argument(
        "--proportion",
        type=float,
        default=1.0,
        metavar="P",
        help="share of the exposure removed, in [0, 1]",
    )
    neu.add_argument("--era-col", default="era", metavar="COL", help="the era column")
    neu.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="output file, Parquet (.parquet, .pq) or CSV (.csv, .csv.gz, .csv.bz2, .tsv) "
        "by its suffix: the id, the era and the neutralized columns, rows in the input's "
        "order",
    )
    common(
        neu,
        plots=False,
        quiet="print nothing on success (no progress bar, no summary line)",
    )
    add_scheduler_option(neu)
    neu.set_defaults(func=cmd_neutralize)
    from . import bench, testing  # `check` and `bench` live with their code

    testing.add_check_command(sub)
    bench.add_bench_command(sub)
    return parser


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else list(argv)):
        parser.print_help()  # the usage and the list of commands
        return EXIT_BAD_INPUT
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (InputError, ValueError, TypeError, OSError) as exc:
        if os.environ.get("NEUTRALKIT_DEBUG"):
            raise
        sys.stderr.write(f"neutralkit {args.command}: error: {_one_line(exc)}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("neutralkit: interrupted\n")
        return 130
