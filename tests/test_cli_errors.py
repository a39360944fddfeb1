"""Bad input to the command line: one line on stderr, exit 2, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import neutralkit
from neutralkit.cli import main
from neutralkit.datasets import synthetic_tournament

# Subprocesses import the same neutralkit as this test run (installed or in-tree).
ENV = {**os.environ, "PYTHONPATH": str(Path(neutralkit.__file__).resolve().parents[1])}
ENV.pop("NEUTRALKIT_DEBUG", None)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(args, cwd):
    """A real process: what the user sees (startup costs ~1-2 s, so used sparingly)."""
    return subprocess.run(
        [sys.executable, "-m", "neutralkit", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def run_inprocess(monkeypatch, capsys):
    """cli.main in this process (the console script's code path, minus startup)."""

    def call(args, cwd):
        monkeypatch.chdir(cwd)
        monkeypatch.delenv("NEUTRALKIT_DEBUG", raising=False)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call


@pytest.fixture(scope="module")
def base():
    t = synthetic_tournament(n_eras=4, rows_per_era=20, n_features=8, n_users=5, seed=1)
    return t.data.join(t.predictions)


def _no_era(df):
    return df.drop(columns="era")


def _text_feature(df):
    out = df.copy()
    out["feature_003"] = np.where(out["feature_003"] > 2, "high", "low")
    return out


def _one_row_era(df):
    out = df.copy()
    out.loc[out.index[0], "era"] = "lonely"
    return out


def _nan_target(df):
    out = df.copy()
    out.loc[out.index[5], "target"] = np.nan
    return out


def _same(df):
    return df


# (case id, how to spoil the data, extra report args, expected words in the message)
CASES = [
    ("missing_file", None, [], ["no such file"]),
    ("misspelled_target", _same, ["--target", "targte"], ["'targte'", "'target'"]),
    (
        "misspelled_pred",
        _same,
        ["--preds", "linear_01,nosie_01"],
        ["'nosie_01'", "'noise_01'"],
    ),
    ("no_feature_match", _same, ["--features", "feat_*"], ["feat_*"]),
    ("no_era_column", _no_era, [], ["era column 'era'", "--era-col"]),
    ("misspelled_era_col", _same, ["--era-col", "eras"], ["'eras'", "'era'"]),
    ("non_numeric_feature", _text_feature, [], ["feature_003", "not numeric"]),
    ("era_with_one_row", _one_row_era, [], ["'lonely'", "1 row"]),
    ("nan_in_target", _nan_target, [], ["nan"]),
    ("missing_stakes_file", _same, ["--stakes", "nope.csv"], ["no such file"]),
]


def check_failed(result, tmp_path, before, words):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word.lower() in lines[0].lower()
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, no temporary


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(("case", "spoil", "extra", "words"), CASES, ids=[c[0] for c in CASES])
def test_report_bad_input(tmp_path, base, fmt, case, spoil, extra, words, run_inprocess):
    path = f"data.{fmt}"
    if spoil is not None:
        df = spoil(base)
        df.to_csv(tmp_path / path) if fmt == "csv" else df.to_parquet(tmp_path / path)
    before = sorted(os.listdir(tmp_path))
    result = run_inprocess(
        ["report", "--data", path, "--out", "rep", "--no-plots", *extra], tmp_path
    )
    check_failed(result, tmp_path, before, words)


NEUTRALIZE_CASES = [
    ("missing_file", None, [], ["no such file"]),
    ("misspelled_col", _same, ["--cols", "linear_1"], ["'linear_1'", "'linear_01'"]),
    ("no_era_column", _no_era, [], ["era column 'era'"]),
    ("non_numeric_feature", _text_feature, [], ["feature_003", "not numeric"]),
    ("era_with_one_row", _one_row_era, [], ["'lonely'", "1 row"]),
    ("proportion_out_of_range", _same, ["--proportion", "1.5"], ["proportion"]),
]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("case", "spoil", "extra", "words"),
    NEUTRALIZE_CASES,
    ids=[c[0] for c in NEUTRALIZE_CASES],
)
def test_neutralize_bad_input(tmp_path, base, fmt, case, spoil, extra, words, run_inprocess):
    path = f"data.{fmt}"
    if spoil is not None:
        df = spoil(base)
        df.to_csv(tmp_path / path) if fmt == "csv" else df.to_parquet(tmp_path / path)
    before = sorted(os.listdir(tmp_path))
    args = [
        "neutralize",
        "--data",
        path,
        "--features",
        "feature_*",
        "--out",
        "out.parquet",
    ]
    if "--cols" not in extra:
        args += ["--cols", "linear_01"]
    result = run_inprocess([*args, *extra], tmp_path)
    check_failed(result, tmp_path, before, words)


@pytest.mark.parametrize(
    "args",
    [
        ["report"],  # --data is required
        ["frobnicate"],
        ["demo", "--n-eras", "1"],
        ["report", "--data", "x.xlsx"],
    ],
)
def test_usage_errors(tmp_path, args, run_inprocess):
    if args[-1] == "x.xlsx":
        (tmp_path / "x.xlsx").write_text("not a table")
    before = sorted(os.listdir(tmp_path))
    result = run_inprocess(args, tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize(
    ("spoil", "args", "words"),
    [
        (_one_row_era, ["report", "--data", "data.parquet", "--out", "rep"], ["1 row"]),
        (
            _text_feature,
            [
                "neutralize",
                "--data",
                "data.parquet",
                "--features",
                "feature_*",
                "--cols",
                "linear_01",
                "--out",
                "o.parquet",
            ],
            ["not numeric"],
        ),
    ],
    ids=["one_row_era", "text_feature"],
)
def test_as_a_real_process(tmp_path, base, spoil, args, words):
    spoil(base).to_parquet(tmp_path / "data.parquet")
    result = run(args, tmp_path)
    check_failed(result, tmp_path, ["data.parquet"], words)
    assert result.stdout == ""
