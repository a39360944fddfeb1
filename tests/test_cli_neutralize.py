"""``neutralkit neutralize`` on parquet (streamed by era) and CSV vs the library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neutralkit
import neutralkit as nk
from neutralkit.datasets import synthetic_tournament

# Subprocesses import the same neutralkit as this test run (installed or in-tree).
ENV = {**os.environ, "PYTHONPATH": str(Path(neutralkit.__file__).resolve().parents[1])}
ENV.pop("NEUTRALKIT_DEBUG", None)


def run(args, cwd, prelude=None):
    if prelude is None:
        cmd = [sys.executable, "-m", "neutralkit", *args]
    else:
        code = f"{prelude}\nimport sys\nfrom neutralkit.cli import main\nsys.exit(main())"
        cmd = [sys.executable, "-c", code, *args]
    return subprocess.run(
        cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def frame():
    t = synthetic_tournament(n_eras=7, rows_per_era=60, n_features=9, n_users=5, seed=2)
    return t.data.join(t.predictions), t.features, list(t.predictions.columns[:2])


def expected(df, features, cols, proportion):
    return nk.neutralize(df[cols], df[features], eras=df["era"], proportion=proportion)


def check_output(path, df, features, cols, proportion):
    out = pd.read_parquet(path)
    assert out.index.name == "id"
    assert list(out.columns) == ["era", *cols]
    assert sorted(out.index) == sorted(df.index)
    want = expected(df, features, cols, proportion).loc[out.index]
    np.testing.assert_allclose(out[cols].to_numpy(), want.to_numpy(), atol=1e-10)
    pd.testing.assert_series_equal(out["era"], df.loc[out.index, "era"])


@pytest.mark.parametrize("batch_rows", [None, 37])
def test_parquet_sorted_by_era_streams(tmp_path, frame, batch_rows):
    df, features, cols = frame
    df.to_parquet(tmp_path / "in.parquet")
    prelude = (
        None
        if batch_rows is None
        else f"import neutralkit.cli as c; c.PARQUET_BATCH_ROWS = {batch_rows}"
    )
    result = run(
        [
            "neutralize",
            "--data",
            "in.parquet",
            "--features",
            "feature_*",
            "--cols",
            ",".join(cols),
            "--proportion",
            "0.5",
            "--out",
            "out.parquet",
        ],
        tmp_path,
        prelude,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    check_output(tmp_path / "out.parquet", df, features, cols, 0.5)
    assert sorted(os.listdir(tmp_path)) == ["in.parquet", "out.parquet"]


def test_parquet_with_eras_scattered(tmp_path, frame):
    df, features, cols = frame
    shuffled = df.sample(frac=1.0, random_state=1)
    shuffled.to_parquet(tmp_path / "in.parquet", row_group_size=50)
    result = run(
        [
            "neutralize",
            "--data",
            "in.parquet",
            "--features",
            "feature_*",
            "--cols",
            cols[0],
            "--out",
            "out.parquet",
            "--quiet",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    check_output(tmp_path / "out.parquet", shuffled, features, cols[:1], 1.0)
    # per era, the result is neutral to the features
    out = pd.read_parquet(tmp_path / "out.parquet").join(df[features])
    for _, block in out.groupby("era"):
        x = block[features].to_numpy(float)
        x = x - x.mean(axis=0)
        assert np.abs(x.T @ block[cols[0]].to_numpy()).max() < 1e-8


def test_csv(tmp_path, frame):
    df, features, _ = frame
    df.to_csv(tmp_path / "in.csv")
    result = run(
        [
            "neutralize",
            "--data",
            "in.csv",
            "--features",
            "feature_*",
            "--cols",
            "linear_*",
            "--proportion",
            "0.75",
            "--out",
            "out.parquet",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    csv = pd.read_csv(tmp_path / "in.csv", index_col="id")
    linear = [c for c in df.columns if c.startswith("linear_")]
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == ["era", *linear]
    want = expected(csv, features, linear, 0.75)
    np.testing.assert_allclose(out[linear].to_numpy(), want.to_numpy(), atol=1e-10)


def test_failure_midway_leaves_nothing(tmp_path, frame):
    """An error in the last era, after earlier eras were written: no output at all."""
    df, _, cols = frame
    bad = df.copy()
    bad.loc[bad.index[-1], cols[0]] = np.nan
    bad.to_parquet(tmp_path / "in.parquet")
    result = run(
        [
            "neutralize",
            "--data",
            "in.parquet",
            "--features",
            "feature_*",
            "--cols",
            cols[0],
            "--out",
            "out.parquet",
        ],
        tmp_path,
        "import neutralkit.cli as c; c.PARQUET_BATCH_ROWS = 40",
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == ["in.parquet"]
