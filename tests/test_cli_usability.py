"""The command line as a user meets it (issue 10): each test runs the real command in a
subprocess and checks what the user sees: output formats by suffix, pyarrow only for
Parquet, several input files joined on the id, `id` as a Parquet column, ids missing
from one file, --nan-policy, row order, stakes without a header, usage, --version,
help texts, and a report without feature columns."""

from __future__ import annotations

import json
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
NO_PYARROW = "import sys; sys.modules['pyarrow'] = None"
NO_MATPLOTLIB = "import sys; sys.modules['matplotlib'] = None"


def run(args, cwd, prelude=None):
    """The command in a fresh interpreter (prelude: code run before it)."""
    if prelude is None:
        cmd = [sys.executable, "-m", "neutralkit", *args]
    else:
        code = f"{prelude}\nimport sys\nfrom neutralkit.cli import main\nsys.exit(main())"
        cmd = [sys.executable, "-c", code, *args]
    return subprocess.run(
        cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300, check=False
    )


def failed(result, *words):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), (word, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def t():
    return synthetic_tournament(n_eras=5, rows_per_era=40, n_features=8, n_users=5, seed=3)


@pytest.fixture(scope="module")
def full(t):
    return t.data.join(t.predictions)


NEUTRALIZE = ["neutralize", "--features", "feature_*", "--cols", "linear_01"]


def expected_neutral(frame, cols=("linear_01",), **kwargs):
    return nk.neutralize(
        frame[list(cols)], frame[[c for c in frame if c.startswith("feature_")]],
        eras=frame["era"], **kwargs,
    )  # fmt: skip


# ---------------------------------------------------------------- output format


def test_out_suffix_decides_the_format(tmp_path, full):
    full.to_csv(tmp_path / "in.csv")
    result = run([*NEUTRALIZE, "--data", "in.csv", "--out", "out.csv"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "out.csv").read_bytes().startswith(b"PAR1")  # not Parquet
    out = pd.read_csv(tmp_path / "out.csv", index_col="id")
    assert list(out.columns) == ["era", "linear_01"]
    want = expected_neutral(full)
    np.testing.assert_allclose(out["linear_01"].to_numpy(), want["linear_01"].to_numpy(), atol=1e-9)
    assert list(out.index) == list(full.index)


def test_unknown_out_suffix_is_refused(tmp_path, full):
    full.to_csv(tmp_path / "in.csv")
    result = run([*NEUTRALIZE, "--data", "in.csv", "--out", "out.txt"], tmp_path)
    failed(result, "out.txt", "unknown file type", ".parquet", ".csv")
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


# ---------------------------------------------------------------- pyarrow


def test_csv_works_without_pyarrow(tmp_path, full):
    full.to_csv(tmp_path / "in.csv")
    result = run(
        [*NEUTRALIZE, "--data", "in.csv", "--out", "out.csv", "--quiet"], tmp_path, NO_PYARROW
    )
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(tmp_path / "out.csv")) == len(full)


def test_input_is_checked_before_pyarrow(tmp_path, full):
    """A misspelled column is reported as such, not as a missing pyarrow."""
    full.to_csv(tmp_path / "in.csv")
    args = ["neutralize", "--data", "in.csv", "--features", "feature_*", "--cols", "linar_01"]
    result = run([*args, "--out", "out.parquet"], tmp_path, NO_PYARROW)
    line = failed(result, "'linar_01'", "'linear_01'")
    assert "pyarrow" not in line


# ---------------------------------------------------------------- joined files, ids


def test_neutralize_joins_predictions_and_features_on_the_id(tmp_path, t, full):
    t.data.to_parquet(tmp_path / "train.parquet")  # features, era, target
    preds = t.predictions[["linear_01"]].sample(frac=1.0, random_state=1)
    preds.to_csv(tmp_path / "preds.csv")  # another file, another row order
    result = run(
        [*NEUTRALIZE, "--data", "preds.csv", "train.parquet", "--out", "out.parquet"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.index) == list(preds.index)  # the first file's row order
    want = expected_neutral(full).loc[out.index]
    np.testing.assert_allclose(out["linear_01"].to_numpy(), want["linear_01"].to_numpy(), atol=1e-9)


def test_parquet_with_id_column_is_read_like_csv(tmp_path, t, full):
    """`id` as a plain column (index=False) is the row id, as in a CSV."""
    t.data.reset_index().to_parquet(tmp_path / "train.parquet", index=False)
    shuffled = t.predictions.sample(frac=1.0, random_state=2).reset_index()
    shuffled.to_parquet(tmp_path / "preds.parquet", index=False)
    result = run(
        ["report", "--data", "train.parquet", "preds.parquet", "--bags", "0", "--out", "rep",
         "--no-plots", "--quiet"],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    corr = nk.numerai_corr(t.predictions, t.target, eras=t.eras).mean()
    for model in t.predictions:
        assert summary["models"][model]["corr"]["mean"] == pytest.approx(corr[model], abs=1e-12)
    result = run(
        [*NEUTRALIZE, "--data", "train.parquet", "preds.parquet", "--out", "n.csv"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "n.csv", index_col="id")
    want = expected_neutral(full).loc[out.index]
    np.testing.assert_allclose(out["linear_01"].to_numpy(), want["linear_01"].to_numpy(), atol=1e-9)


def test_ids_missing_from_one_file_are_counted_and_refused(tmp_path, t):
    t.data.to_parquet(tmp_path / "train.parquet")
    preds = t.predictions
    preds.iloc[:-30].to_parquet(tmp_path / "preds.parquet")  # 30 of 200 ids missing
    args = ["report", "--data", "train.parquet", "preds.parquet", "--out", "rep", "--no-plots"]
    failed(run(args, tmp_path), "30 of 200", "train.parquet", "preds.parquet", "--allow-missing")
    assert not (tmp_path / "rep").exists()
    result = run([*args, "--allow-missing"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "30 of 200 rows" in result.stderr and "train.parquet" in result.stderr
    assert "dropped" in result.stderr


def test_a_few_missing_ids_are_dropped_with_a_note(tmp_path, t, full):
    t.data.to_parquet(tmp_path / "train.parquet")
    t.predictions.iloc[1:].to_csv(tmp_path / "preds.csv")  # 1 of 200 (0.5%) missing
    result = run(
        [*NEUTRALIZE, "--data", "preds.csv", "train.parquet", "--out", "out.csv"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "1 of 200 rows" in result.stderr and "dropped" in result.stderr
    assert len(pd.read_csv(tmp_path / "out.csv")) == 199


# ---------------------------------------------------------------- NaN, row order


def test_nan_policy_omit(tmp_path, t, full):
    data = full.copy()
    data.loc[data.index[::7], "target"] = np.nan  # an auxiliary target with gaps
    data.loc[data.index[3::11], "linear_01"] = np.nan
    data.to_csv(tmp_path / "in.csv")
    models = list(t.predictions.columns)
    report = ["report", "--data", "in.csv", "--bags", "0", "--out", "rep", "--no-plots", "-q"]
    failed(run(report, tmp_path), "nan")  # refused by default
    result = run([*report, "--nan-policy", "omit"], tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    corr = nk.numerai_corr(data[models], data["target"], eras=data["era"], nan_policy="omit")
    for model in models:
        got = summary["models"][model]["corr"]["mean"]
        assert got == pytest.approx(corr[model].mean(), abs=1e-12)
    result = run(
        [*NEUTRALIZE, "--data", "in.csv", "--out", "n.csv", "--nan-policy", "omit"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "n.csv", index_col="id")
    want = expected_neutral(data, nan_policy="omit")
    np.testing.assert_allclose(out["linear_01"], want["linear_01"], atol=1e-9, equal_nan=True)
    assert out["linear_01"].isna().sum() == data["linear_01"].isna().sum()


def test_neutralize_keeps_the_input_row_order(tmp_path, full):
    shuffled = full.sample(frac=1.0, random_state=4)  # eras scattered over the file
    shuffled.to_parquet(tmp_path / "in.parquet")
    result = run([*NEUTRALIZE, "--data", "in.parquet", "--out", "out.parquet"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "input's order" in result.stdout
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.index) == list(shuffled.index)
    want = expected_neutral(shuffled)
    np.testing.assert_allclose(out["linear_01"].to_numpy(), want["linear_01"].to_numpy(), atol=1e-9)


# ---------------------------------------------------------------- stakes


def test_stakes_file_without_header(tmp_path, t, full):
    full.to_csv(tmp_path / "in.csv")
    lines = [f"{model},{stake}" for model, stake in t.stakes.items()]
    (tmp_path / "stakes.csv").write_text("\n".join(lines) + "\n")
    args = ["report", "--data", "in.csv", "--stakes", "stakes.csv", "--out", "rep", "--no-plots"]
    line = failed(run(args, tmp_path), "stakes.csv", "header", "model,stake")
    assert "did you mean" not in line


# ---------------------------------------------------------------- usage, help


def test_no_arguments_prints_usage_and_commands(tmp_path):
    result = run([], tmp_path)
    assert result.returncode == 2
    assert result.stdout.startswith("usage: neutralkit")
    for command in ("demo", "report", "neutralize"):
        assert f"\n    {command}" in result.stdout, result.stdout
    assert "Traceback" not in result.stderr


def test_version(tmp_path):
    result = run(["--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"neutralkit {neutralkit.__version__}"


def _help_blocks(text: str) -> dict[str, str]:
    """Option (its first spelling) -> its help text, from argparse's help output."""
    blocks: dict[str, str] = {}
    current = None
    for line in text.split("options:", 1)[1].splitlines():
        stripped = line.strip()
        if line.startswith("  -") or line.startswith("  --"):
            current = stripped.split()[0].rstrip(",")
            blocks[current] = " ".join(stripped.split()[1:])
        elif current and line.startswith(" " * 10):
            blocks[current] += " " + stripped
    return blocks


@pytest.mark.parametrize("command", ["demo", "report", "neutralize", "check", "bench"])
def test_every_option_has_help_with_its_default(tmp_path, command):
    from neutralkit.cli import build_parser

    result = run([command, "--help"], tmp_path)
    assert result.returncode == 0
    blocks = _help_blocks(" ".join(["options:", result.stdout.split("options:", 1)[1]]))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        if not action.option_strings or action.dest == "help":
            continue
        text = " ".join(v for k, v in blocks.items() if k in action.option_strings)
        # the block starts with the metavar when there is one; the help follows
        assert action.help, f"{command} {action.option_strings[0]} has no help"
        if action.default not in (None, False) and not action.required:
            assert "default" in text, f"{command} {action.option_strings[0]}: {text!r}"
            assert str(action.default) in text, f"{command} {action.option_strings[0]}"


def test_neutralize_quiet_does_not_mention_a_table(tmp_path):
    result = run(["neutralize", "--help"], tmp_path)
    quiet = _help_blocks(result.stdout)["--quiet"]
    assert "table" not in quiet and "nothing" in quiet


def test_plot_install_hint_works_from_a_clone(tmp_path, full):
    """`pip install "neutralkit[report]"` means PyPI; `pip install matplotlib` works
    anywhere, a clone included, without rebuilding neutralkit."""
    full.to_csv(tmp_path / "in.csv")
    result = run(
        ["report", "--data", "in.csv", "--bags", "0", "--out", "rep"], tmp_path, NO_MATPLOTLIB
    )
    assert result.returncode == 0, result.stderr
    assert "pip install matplotlib" in result.stdout
    assert "pip install matplotlib" in (tmp_path / "rep" / "report.html").read_text()


# ---------------------------------------------------------------- report without features


def test_report_without_feature_columns(tmp_path, t):
    """Live results and example predictions hold targets and predictions only."""
    data = t.data[["era", "target"]].join(t.predictions)
    data.to_parquet(tmp_path / "live.parquet")
    result = run(["report", "--data", "live.parquet", "--bags", "4", "--out", "rep"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no FNC" in result.stdout
    out = tmp_path / "rep"
    html = (out / "report.html").read_text()
    assert 'id="no-features"' in html and "--data" in html and "feature exposure" in html
    assert "<th>FNC</th>" not in html and "<th>CORR</th>" in html
    summary = json.loads((out / "summary.json").read_text())
    corr = nk.numerai_corr(t.predictions, t.target, eras=t.eras).mean()
    mm = nk.stake_weighted_metamodel(t.predictions, pd.Series(1.0, index=t.predictions.columns),
                                     eras=t.eras)  # fmt: skip
    official = nk.correlation_contribution(t.predictions, mm, t.target, eras=t.eras).mean()
    for model in t.predictions:
        entry = summary["models"][model]
        assert entry["corr"]["mean"] == pytest.approx(corr[model], abs=1e-12)
        assert entry["mmc_official"]["mean"] == pytest.approx(official[model], abs=1e-12)
        assert entry["fnc"] is None and entry["feature_exposure"] is None
    per_era = pd.read_csv(out / "per_era.csv")
    assert "corr" in per_era and "fnc" not in per_era
    # an explicit --features that matches nothing is still an error
    args = ["report", "--data", "live.parquet", "--features", "feat_*", "--out", "rep2"]
    failed(run(args, tmp_path), "feat_*")
