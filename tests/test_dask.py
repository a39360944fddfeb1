"""neutralkit.dask on a real distributed.LocalCluster (worker processes): the same numbers
as the in-process functions, whatever the partitioning, row order or era labels."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import neutralkit as nk  # noqa: E402
import neutralkit.dask as nkd  # noqa: E402
from neutralkit import contribution  # noqa: E402

FEATURES = [f"feature_{i}" for i in range(8)]
PREDS = ["p0", "p1", "p2"]
TOL = {"rtol": 1e-10, "atol": 1e-10}
# dask's read_parquet calls reset_index(inplace=True), deprecated in pandas 3.1
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")


@pytest.fixture(scope="module")
def cli_local2(tmp_path_factory):
    """``neutralkit neutralize --scheduler local:2`` in a subprocess, started with the
    module's cluster so that the start-up of its own cluster overlaps the other tests;
    test_cli_neutralize_local_cluster checks its output."""
    tmp = tmp_path_factory.mktemp("cli")
    df = tournament(seed=13)
    _era_dataset(tmp / "data", df)
    out = tmp / "neutral"
    # the neutralkit this test imports (installed, or the in-tree build with PYTHONPATH=python)
    env = {**os.environ, "PYTHONPATH": str(Path(nk.__file__).resolve().parents[1])}
    cmd = [
        sys.executable, "-m", "neutralkit", "neutralize",
        "--data", str(tmp / "data"), "--features", "feature_*", "--cols", "p0,p1,p2",
        "--proportion", "0.5", "--scheduler", "local:2", "--out", str(out), "--quiet",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    yield df, out, proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.fixture(scope="module")
def client(cli_local2):
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=50,  # the kill test makes the nanny log errors on purpose
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def tournament(n_eras: int = 12, rows: int = 40, seed: int = 0, shuffle: bool = True):
    """Eras of unequal size, int8 features, rows in random order, a unique string id."""
    rng = np.random.default_rng(seed)
    sizes = rows + rng.integers(-10, 10, n_eras)
    n = int(sizes.sum())
    df = pd.DataFrame(rng.integers(0, 5, (n, len(FEATURES))).astype(np.int8), columns=FEATURES)
    df.insert(0, "era", np.repeat(np.arange(n_eras) * 3 + 100, sizes))
    for j, c in enumerate(PREDS):
        df[c] = rng.normal(size=n) + 0.1 * j * df["feature_0"]
    df["target"] = rng.integers(0, 5, n) / 4
    df["metamodel"] = df["p0"] + rng.normal(size=n)
    df["weight"] = rng.uniform(0.5, 1.5, n)
    df.index = pd.Index([f"id{i:05d}" for i in range(n)], name="id")
    return df.sample(frac=1.0, random_state=seed) if shuffle else df


def in_process(df: pd.DataFrame, eras: pd.Series) -> dict[str, pd.DataFrame]:
    p, t, f = df[PREDS], df["target"], df[FEATURES]
    return {
        "corr": nk.numerai_corr(p, t, eras=eras),
        "cc": nk.correlation_contribution(p, df["metamodel"], t, eras=eras),
        "mmc": nk.mmc(p, t, stakes=[1.0, 2.0, 0.5], eras=eras, bags=7, fraction=0.7, seed=5),
        "exposure": nk.feature_exposure(p, f, eras=eras),
        "fnc": nk.feature_neutral_corr(p, f, t, eras=eras),
        "alpha": contribution.alpha(p, f, df["weight"], t, eras=eras),
        "mpc": contribution.meta_portfolio_contribution(
            p, [1.0, 2.0, 0.5], f, df["weight"], t, eras=eras
        ),
    }


def lazy_scores(ddf, **kw) -> dict[str, nkd.Lazy]:
    return {
        "corr": nkd.numerai_corr(ddf, PREDS, "target", **kw),
        "cc": nkd.correlation_contribution(ddf, PREDS, "metamodel", "target", **kw),
        "mmc": nkd.mmc(
            ddf, PREDS, "target", stakes=[1.0, 2.0, 0.5], bags=7, fraction=0.7, seed=5, **kw
        ),
        "exposure": nkd.feature_exposure(ddf, PREDS, FEATURES, **kw),
        "fnc": nkd.feature_neutral_corr(ddf, PREDS, FEATURES, "target", **kw),
        "alpha": nkd.alpha(ddf, PREDS, FEATURES, "weight", "target", **kw),
        "mpc": nkd.meta_portfolio_contribution(
            ddf, PREDS, [1.0, 2.0, 0.5], FEATURES, "weight", "target", **kw
        ),
    }


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, **TOL)


def assert_neutralized(out: pd.DataFrame, df: pd.DataFrame, eras, **kw) -> None:
    expected = nk.neutralize(df[PREDS], df[FEATURES], eras=eras, **kw)
    assert sorted(out.index) == sorted(df.index)  # every row once, same labels
    # (values compared: dask stores string labels as pyarrow strings, another dtype)
    np.testing.assert_allclose(out.loc[df.index, PREDS].to_numpy(), expected.to_numpy(), **TOL)


# ------------------------------------------------------------------ numbers


def test_split_eras_rows_in_any_order(client):
    df = tournament()
    ddf = dd.from_pandas(df, npartitions=5, sort=False)  # every era spread over partitions
    parts = [set(p["era"]) for p in (ddf.get_partition(i).compute() for i in range(5))]
    assert len(set.intersection(*parts)) > 0  # the test really splits eras
    out = nkd.neutralize(ddf, PREDS, FEATURES, keep=["era"]).compute()
    assert_neutralized(out, df, df["era"])
    assert (out.loc[df.index, "era"] == df["era"]).all()
    lazy = lazy_scores(ddf)
    results = dict(zip(lazy, nkd.compute(*lazy.values()), strict=True))
    for name, expected in in_process(df, df["era"]).items():
        assert_same(results[name], expected)


def test_several_proportions_and_standardize(client):
    df = tournament(seed=1)
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    out = nkd.neutralize(ddf, ["p0", "p1"], FEATURES, proportion=[0.5, 1.0], standardize=True)
    got = out.compute().loc[df.index]
    half, full = nk.neutralize(
        df[["p0", "p1"]], df[FEATURES], eras=df["era"], proportion=[0.5, 1.0], standardize=True
    )
    assert list(got.columns) == ["p0_0.5", "p1_0.5", "p0_1", "p1_1"]
    np.testing.assert_allclose(got[["p0_0.5", "p1_0.5"]].to_numpy(), half.to_numpy(), **TOL)
    np.testing.assert_allclose(got[["p0_1", "p1_1"]].to_numpy(), full.to_numpy(), **TOL)


def test_era_index_with_known_divisions_is_not_shuffled(client):
    df = tournament(seed=2, shuffle=False).reset_index().set_index("era")
    ddf = dd.from_pandas(df, npartitions=4, sort=True)
    assert ddf.known_divisions
    out = nkd.neutralize(ddf, PREDS, FEATURES, keep=["id"])
    assert out.npartitions == ddf.npartitions and out.divisions == ddf.divisions
    got = out.compute().set_index("id")
    flat = df.reset_index().set_index("id")
    assert_neutralized(got, flat, flat["era"])
    corr = nkd.numerai_corr(ddf, PREDS, "target").compute()
    assert_same(corr, nk.numerai_corr(flat[PREDS], flat["target"], eras=flat["era"]))


def test_era_index_with_unknown_divisions_is_shuffled(client):
    df = tournament(seed=15).reset_index().set_index("era")
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    assert not ddf.known_divisions
    got = nkd.neutralize(ddf, PREDS, FEATURES, keep=["id"]).compute().set_index("id")
    flat = df.reset_index().set_index("id")
    assert_neutralized(got, flat, flat["era"])
    fnc = nkd.feature_neutral_corr(ddf, PREDS, FEATURES, "target").compute()
    assert_same(
        fnc, nk.feature_neutral_corr(flat[PREDS], flat[FEATURES], flat["target"], eras=flat["era"])
    )


def test_parquet_written_by_era_declared_whole(client, tmp_path):
    df = tournament(seed=3)
    for label, part in df.groupby("era"):
        part.to_parquet(tmp_path / f"era-{label}.parquet")
    ddf = dd.read_parquet(str(tmp_path), split_row_groups=False)
    assert ddf.npartitions == df["era"].nunique()
    out = nkd.neutralize(ddf, PREDS, FEATURES, eras_whole=True)
    assert out.npartitions == ddf.npartitions  # no shuffle: one output partition per file
    assert_neutralized(out.compute(), df, df["era"])
    lazy = lazy_scores(ddf, eras_whole=True)
    for (name, expected), got in zip(
        in_process(df, df["era"]).items(), nkd.compute(*lazy.values()), strict=True
    ):
        assert_same(got, expected), name


def test_wrongly_declared_whole_eras_are_reported(client):
    df = tournament(seed=4)
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    with pytest.raises(ValueError, match=r"more than one partition.*eras_whole"):
        nkd.numerai_corr(ddf, PREDS, "target", eras_whole=True).compute()


def test_empty_partitions(client):
    df = tournament(seed=5, shuffle=False).reset_index().set_index("era")
    ddf = dd.from_pandas(df, npartitions=4, sort=True)
    low, high = ddf.divisions[1], ddf.divisions[2]
    kept = ddf.map_partitions(lambda p: p[(p.index < low) | (p.index >= high)])  # 1 is empty
    first = df.index[(df.index >= low) & (df.index < high)].unique()
    assert [len(kept.get_partition(i).compute()) == 0 for i in range(4)].count(True) == 1
    flat = df[~df.index.isin(first)].reset_index().set_index("id")
    got = nkd.neutralize(kept, PREDS, FEATURES, keep=["id"]).compute().set_index("id")
    assert_neutralized(got, flat, flat["era"])
    lazy = lazy_scores(kept)
    for (name, expected), got_ in zip(
        in_process(flat, flat["era"]).items(), nkd.compute(*lazy.values()), strict=True
    ):
        assert_same(got_, expected), name
    nothing = ddf[ddf["target"] > 10]
    with pytest.raises(ValueError, match="ddf: has no rows"):
        nkd.numerai_corr(nothing, PREDS, "target").compute()


@pytest.mark.parametrize("labels", ["categorical", "integer"])
def test_categorical_and_integer_era_labels(client, labels):
    df = tournament(seed=6)
    if labels == "categorical":
        names = {e: f"era{e:04d}" for e in df["era"].unique()}
        df["era"] = pd.Categorical(df["era"].map(names))
    else:
        df["era"] = df["era"].astype(np.int32) - 200  # negative and positive labels
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    if labels == "categorical":  # partitions that do not know every category
        ddf["era"] = ddf["era"].cat.as_unknown()
    assert_neutralized(nkd.neutralize(ddf, PREDS, FEATURES).compute(), df, df["era"])
    lazy = lazy_scores(ddf)
    for (name, expected), got in zip(
        in_process(df, df["era"]).items(), nkd.compute(*lazy.values()), strict=True
    ):
        assert_same(got, expected), name


def test_bags_drawn_once_on_the_client(client):
    df = tournament(seed=7)
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    mask = np.random.default_rng(11).random((5, 3)) < 0.6
    mask[:, 0] = True
    by_mask = nkd.mmc(ddf, PREDS, "target", stakes={"p0": 1, "p1": 3, "p2": 2}, bags=mask)
    by_seed = nkd.mmc(ddf, PREDS, "target", stakes=[1, 3, 2], bags=5, seed=11)
    got_mask, got_seed = nkd.compute(by_mask, by_seed)
    stakes = pd.Series({"p0": 1, "p1": 3, "p2": 2})
    expected = nk.mmc(df[PREDS], df["target"], stakes=stakes, eras=df["era"], bags=mask)
    assert_same(got_mask, expected)
    expected = nk.mmc(df[PREDS], df["target"], stakes=[1, 3, 2], eras=df["era"], bags=5, seed=11)
    assert_same(got_seed, expected)


def test_one_pass_reads_once(client):
    df = tournament(seed=8)
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    lazy = lazy_scores(ddf)

    def tasks(*results):
        with distributed.get_task_stream(client) as ts:
            nkd.compute(*results)
        return len(ts.data)

    one = tasks(lazy["corr"])
    together = tasks(*lazy.values())
    assert together <= one + len(lazy)  # one getitem per extra result, no second pass
    assert tasks(lazy["corr"]) + tasks(lazy["mmc"]) >= 2 * one - 1  # computed apart: twice


# ------------------------------------------------------------------ errors


def test_era_of_one_row_is_a_clear_error(client):
    df = tournament(seed=9)
    df.loc[df.index[0], "era"] = 7  # era 7 has one row
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    with pytest.raises(ValueError, match=r"era 7 has 1 row"):
        nkd.numerai_corr(ddf, PREDS, "target").compute()
    with pytest.raises(ValueError, match=r"era 7 has 1 row"):
        nkd.mmc(ddf, PREDS, "target", stakes=[1, 1, 1]).compute()


def test_nan_is_reported_from_the_task(client):
    df = tournament(seed=10)
    df.loc[df.index[3], "p1"] = np.nan
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    with pytest.raises(ValueError, match=r"columns: contains 1 NaN.*'p1'"):
        nkd.neutralize(ddf, PREDS, FEATURES).compute()
    got = nkd.neutralize(ddf, PREDS, FEATURES, nan_policy="omit").compute().loc[df.index]
    expected = nk.neutralize(df[PREDS], df[FEATURES], eras=df["era"], nan_policy="omit")
    assert got["p1"].isna().sum() == 1
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), **TOL)  # NaN == NaN


def _poisoned(ddf):
    """The same frame, but reading any partition raises: proves nothing was computed."""

    def boom(part):
        raise RuntimeError("a task ran")

    return ddf.map_partitions(boom, meta=ddf._meta)


def test_bad_input_is_refused_before_any_task(client):
    df = tournament(seed=11)
    df["name"] = "x"
    ddf = _poisoned(dd.from_pandas(df, npartitions=3, sort=False))
    cases = [
        (
            TypeError,
            "ddf: expected a dask.dataframe.DataFrame",
            lambda: nkd.neutralize(df, PREDS, FEATURES),
        ),
        (
            ValueError,
            r"columns: column\(s\) \['nope'\] not in ddf",
            lambda: nkd.neutralize(ddf, ["nope"], FEATURES),
        ),
        (ValueError, r"features: column\(s\) \['f9'\]", lambda: nkd.neutralize(ddf, PREDS, ["f9"])),
        (
            TypeError,
            "features: column 'name' is not numeric",
            lambda: nkd.neutralize(ddf, PREDS, ["name"]),
        ),
        (
            ValueError,
            "era: 'round' is neither a column",
            lambda: nkd.neutralize(ddf, PREDS, FEATURES, era="round"),
        ),
        (
            ValueError,
            "proportion: must lie in",
            lambda: nkd.neutralize(ddf, PREDS, FEATURES, proportion=2.0),
        ),
        (TypeError, "eras_whole", lambda: nkd.neutralize(ddf, PREDS, FEATURES, eras_whole="yes")),
        (ValueError, "target: column", lambda: nkd.numerai_corr(ddf, PREDS, "y")),
        (ValueError, "top_bottom", lambda: nkd.numerai_corr(ddf, PREDS, "target", top_bottom=-1)),
        (
            ValueError,
            "nan_policy",
            lambda: nkd.correlation_contribution(ddf, PREDS, "metamodel", "target", nan_policy="x"),
        ),
        (
            ValueError,
            "stakes: contains 1 negative",
            lambda: nkd.mmc(ddf, PREDS, "target", stakes=[1, -1, 1]),
        ),
        (
            ValueError,
            "bags: expected a positive",
            lambda: nkd.mmc(ddf, PREDS, "target", stakes=[1, 1, 1], bags=0),
        ),
        (TypeError, "exactly one of", lambda: nkd.mmc(ddf, PREDS, "target")),
        (
            ValueError,
            "preset",
            lambda: nkd.feature_neutral_corr(ddf, PREDS, FEATURES, "target", preset="new"),
        ),
        (
            ValueError,
            "stakes",
            lambda: nkd.meta_portfolio_contribution(
                ddf, PREDS, [1, 1], FEATURES, "weight", "target"
            ),
        ),
        (TypeError, "results: expected neutralkit.dask.Lazy", lambda: nkd.compute(ddf)),
    ]
    for exc, message, call in cases:
        with pytest.raises(exc, match=message):
            call()
    with pytest.raises(RuntimeError, match="a task ran"):  # the poison is live
        nkd.numerai_corr(ddf, PREDS, "target").compute()


# ------------------------------------------------------------------ workers


def test_kernel_threads_are_the_workers(client):
    assert client.submit(nkd._kernel_threads, None, pure=False).result() == 1
    assert client.submit(nkd._kernel_threads, 3, pure=False).result() == 3
    assert nkd._kernel_threads(None) == 1  # outside a worker: one thread per task


@pytest.mark.parametrize(("nthreads", "executing", "expected"), [(4, 1, 4), (4, 2, 2), (2, 3, 1)])
def test_kernel_threads_share_the_worker(monkeypatch, nthreads, executing, expected):
    class State:
        pass

    class Worker:
        state = State()

    Worker.state.nthreads, Worker.state.executing_count = nthreads, executing
    monkeypatch.setattr(distributed, "get_worker", lambda: Worker())
    assert nkd._kernel_threads(None) == expected  # the threads its other tasks leave


# ------------------------------------------------------------------ command line


def _era_dataset(path: Path, df: pd.DataFrame) -> None:
    path.mkdir()
    for label, part in df.groupby("era"):
        part.to_parquet(path / f"era-{label}.parquet")


def test_cli_neutralize_local_cluster(cli_local2):
    df, out, proc = cli_local2
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert out.is_dir() and len(list(out.glob("*.parquet"))) >= 1
    got = pd.read_parquet(out)
    expected = nk.neutralize(df[PREDS], df[FEATURES], eras=df["era"], proportion=0.5)
    assert sorted(got.index) == sorted(df.index)
    pd.testing.assert_frame_equal(got.loc[df.index, PREDS], expected, **TOL)
    assert (got.loc[df.index, "era"].astype(np.int64) == df["era"]).all()


def test_per_era_files_read_one_pyarrow_read_per_partition(tmp_path, monkeypatch):
    from neutralkit import _cli_dask
    from neutralkit._cli_dask import read_dataset

    df = tournament(seed=17)
    _era_dataset(tmp_path / "per_era", df)
    n_eras = df["era"].nunique()
    ddf, whole = read_dataset(str(tmp_path / "per_era"), "era")
    assert whole and ddf.npartitions == 1  # small files: grouped up to PARTITION_BYTES
    pd.testing.assert_frame_equal(ddf.compute(scheduler="sync").loc[df.index], df)
    monkeypatch.setattr(_cli_dask, "PARTITION_BYTES", 1)  # one file (era) a partition
    ddf, whole = read_dataset(str(tmp_path / "per_era"), "era")
    assert whole and ddf.npartitions == n_eras
    got = ddf.compute(scheduler="sync")
    pd.testing.assert_frame_equal(got.loc[df.index], df, check_dtype=True)
    # only the selected columns are read (pushed into the reader), in the order asked
    sub = ddf[["p1", "era"]].partitions[0].compute(scheduler="sync")
    assert (
        list(sub.columns) == ["p1", "era"] and len(sub) == (df["era"] == sub["era"].iloc[0]).sum()
    )


def test_parquet_layouts_read_from_the_footers(client, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from neutralkit._cli_dask import _files, _layout
    from neutralkit.cli import main

    df = tournament(seed=16)
    _era_dataset(tmp_path / "per_era", df)
    df.to_parquet(tmp_path / "hive", partition_cols=["era"])
    (tmp_path / "mixed").mkdir()
    df.iloc[::2].to_parquet(tmp_path / "mixed" / "a.parquet")
    df.iloc[1::2].to_parquet(tmp_path / "mixed" / "b.parquet")
    (tmp_path / "groups").mkdir()
    single = tmp_path / "groups" / "sorted.parquet"
    with pq.ParquetWriter(single, pa.Table.from_pandas(df.iloc[:0]).schema) as writer:
        for _, part in df.groupby("era"):  # one row group per era
            writer.write_table(pa.Table.from_pandas(part))
    layouts = {
        name: _layout(*_files(str(tmp_path / name)), "era")
        for name in ("per_era", "hive", "mixed", "groups")
    }
    assert layouts == {"per_era": "files", "hive": "files", "mixed": None, "groups": "row-groups"}
    assert _layout(*_files(str(tmp_path / "mixed" / "*.parquet")), "era") is None
    for name in ("groups", "mixed"):
        out = tmp_path / f"out-{name}"
        args = ["neutralize", "--data", str(tmp_path / name), "--features", "feature_*"]
        args += ["--cols", "p0,p1,p2", "--scheduler", client.scheduler.address, "-q"]
        assert main([*args, "--out", str(out)]) == 0
        got = pd.read_parquet(out)
        assert_neutralized(got, df, df["era"])


def test_cli_report_on_a_running_scheduler(client, tmp_path, capsys):
    from neutralkit import report
    from neutralkit.cli import main

    df = tournament(seed=14)
    _era_dataset(tmp_path / "data", df)
    address = client.scheduler.address
    code = main([
        "report", "--data", str(tmp_path / "data"), "--features", "feature_*",
        "--preds", "p0,p1,p2", "--bags", "4", "--scheduler", address,
        "--out", str(tmp_path / "rep"), "--no-plots", "--quiet",
    ])  # fmt: skip
    assert code == 0
    per_era = pd.read_csv(tmp_path / "rep" / "per_era.csv")
    data = report.compute_report(df[PREDS], df["target"], df[FEATURES], df["era"], bags=4, seed=0)
    expected = report.per_era_long(data)
    assert len(per_era) == len(expected)
    np.testing.assert_allclose(
        per_era.select_dtypes("number").to_numpy(),
        expected.select_dtypes("number").to_numpy(),
        **TOL,
    )
    bad = main(["report", "--data", str(tmp_path / "nope"), "--scheduler", address])
    assert bad == 2
    assert "nope" in capsys.readouterr().err
    args = ["neutralize", "--data", str(tmp_path / "data"), "--features", "feature_*"]
    bad = main([*args, "--cols", "p0", "--scheduler", "local:0", "--out", str(tmp_path / "o")])
    assert bad == 2
    assert "--scheduler: expected local or local:N" in capsys.readouterr().err
    bad = main([*args, "--cols", "nope", "--scheduler", address, "--out", str(tmp_path / "o")])
    assert bad == 2
    assert "'nope' not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# last: the nanny is still restarting the killed worker when the module ends
def test_worker_killed_mid_run(client):
    df = tournament(n_eras=12, seed=12)
    ddf = dd.from_pandas(df, npartitions=12, sort=False)

    def slow(part):  # nested, so cloudpickle ships it by value to the workers
        time.sleep(0.1)
        return part

    out = nkd.neutralize(ddf.map_partitions(slow, meta=ddf._meta), PREDS, FEATURES)
    future = client.compute(out)
    pids = client.run(os.getpid)

    def in_memory(dask_scheduler):
        return sum(ts.state == "memory" for ts in dask_scheduler.tasks.values())

    deadline = time.monotonic() + 30
    while client.run_on_scheduler(in_memory) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # wait until some tasks are done, so their results are lost too
    assert not future.done()
    victim = sorted(pids)[0]
    os.kill(pids[victim], signal.SIGKILL)
    got = future.result(timeout=120)
    assert_neutralized(got, df, df["era"])
