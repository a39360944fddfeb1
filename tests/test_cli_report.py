"""The ``neutralkit demo`` and ``neutralkit report`` commands, run as subprocesses."""

from __future__ import annotations

import base64
import json
import os
import re
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
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL = {"n_eras": 12, "rows_per_era": 120, "n_features": 10, "n_users": 7}
SECTIONS = ("overview", "summary", "plots", "definitions")


def run(args, cwd, prelude=None):
    """Run the command line in a fresh interpreter (prelude: code run before it)."""
    if prelude is None:
        cmd = [sys.executable, "-m", "neutralkit", *args]
    else:
        code = f"{prelude}\nimport sys\nfrom neutralkit.cli import main\nsys.exit(main())"
        cmd = [sys.executable, "-c", code, *args]
    return subprocess.run(
        cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300, check=False
    )


def pngs(html):
    found = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    return [base64.b64decode(b) for b in found]


@pytest.fixture(scope="module")
def small():
    return synthetic_tournament(**SMALL, seed=5)


@pytest.fixture(scope="module")
def files(small, tmp_path_factory):
    """The small tournament as one CSV, one parquet, and two parquet files to join."""
    d = tmp_path_factory.mktemp("data")
    full = small.data.join(small.predictions)
    full.to_csv(d / "all.csv")
    full.to_parquet(d / "all.parquet")
    # a second file holding the predictions only, rows shuffled: joined on the id
    small.data.to_parquet(d / "features.parquet")
    small.predictions.sample(frac=1.0, random_state=0).to_parquet(d / "preds.parquet")
    small.stakes.rename_axis("model").reset_index().to_csv(d / "stakes.csv", index=False)
    return d


def check_report_dir(out: Path, models, with_plots=True, hint=True):
    html = (out / "report.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    for model in models:
        assert f">{model}<" in html
    images = pngs(html)
    if with_plots:
        assert len(images) >= 6
        assert all(img.startswith(PNG_SIGNATURE) for img in images)
    else:
        assert images == []
        assert ('pip install "neutralkit[report]"' in html) == hint
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["models"]) == sorted(models)
    per_era = pd.read_csv(out / "per_era.csv")
    assert {
        "era",
        "model",
        "corr",
        "mmc",
        "mmc_official",
        "fnc",
        "exposure_rms",
    } <= set(per_era.columns)
    return html, summary, per_era


def test_demo_writes_report(tmp_path, small):
    size = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]
    result = run(["demo", "--out", "demo", "--seed", "5", *size], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not a TTY: no progress bar
    out = tmp_path / "demo"
    _, summary, per_era = check_report_dir(out, list(small.predictions.columns))
    assert set(os.listdir(tmp_path)) == {"demo"}  # no temporary left over
    assert len(per_era) == SMALL["n_eras"] * SMALL["n_users"]
    for model in small.predictions.columns:
        assert model in result.stdout  # the console table
    # the numbers are the library's on the same data
    corr = nk.numerai_corr(small.predictions, small.target, eras=small.eras)
    stats = nk.summary(corr)
    mm = nk.stake_weighted_metamodel(small.predictions, small.stakes, eras=small.eras)
    official = nk.correlation_contribution(
        small.predictions, mm, small.target, eras=small.eras
    ).mean()
    seed_mmc = nk.mmc(
        small.predictions,
        small.target,
        stakes=small.stakes,
        eras=small.eras,
        bags=16,
        seed=5,
    ).mean()
    for model, entry in summary["models"].items():
        assert entry["kind"] == small.kinds[model]
        assert entry["corr"]["mean"] == pytest.approx(corr[model].mean(), abs=1e-12)
        for stat in ("sharpe", "sortino", "max_drawdown", "hit_rate"):
            expected = stats.loc[model, stat]
            if np.isfinite(expected):
                assert entry["corr"][stat] == pytest.approx(expected, rel=1e-9, abs=1e-12)
            else:  # JSON has no inf/NaN: written as null
                assert entry["corr"][stat] is None
        assert entry["mmc_official"]["mean"] == pytest.approx(official[model], abs=1e-12)
        assert entry["mmc"]["mean"] == pytest.approx(seed_mmc[model], abs=1e-12)


def test_report_on_csv_matches_library(tmp_path, files, small):
    result = run(
        [
            "report",
            "--data",
            str(files / "all.csv"),
            "--stakes",
            str(files / "stakes.csv"),
            "--bags",
            "4",
            "--out",
            "rep",
            "--no-plots",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    models = list(small.predictions.columns)
    _, summary, per_era = check_report_dir(tmp_path / "rep", models, with_plots=False, hint=False)
    # CSV era labels come back as numbers; the library gets the same labels
    eras = pd.read_csv(files / "all.csv", usecols=["era"])["era"]
    preds, target = small.predictions, small.target
    feats = small.data[small.features]
    fnc = nk.feature_neutral_corr(preds, feats, target, eras=eras.to_numpy()).mean()
    exposure = nk.feature_exposure(preds, feats, eras=eras.to_numpy())
    bagged = nk.mmc(preds, target, stakes=small.stakes, eras=eras.to_numpy(), bags=4, seed=0).mean()
    for model in models:
        entry = summary["models"][model]
        assert entry["fnc"]["mean"] == pytest.approx(fnc[model], abs=1e-12)
        assert entry["mmc"]["mean"] == pytest.approx(bagged[model], abs=1e-12)
        for kind in ("std", "rms", "max"):
            assert entry["feature_exposure"][kind] == pytest.approx(
                exposure[kind][model].mean(), abs=1e-12
            )
    # per-era CSV: the per-era CORR of each model
    corr = nk.numerai_corr(preds, target, eras=eras.to_numpy())
    got = per_era.pivot_table(index="era", columns="model", values="corr")
    np.testing.assert_allclose(got[models].to_numpy(), corr[models].to_numpy(), atol=1e-12)


def test_report_on_joined_parquet_files_with_metamodel(tmp_path, files, small):
    preds = list(small.predictions.columns)
    given, scored = preds[0], preds[1:]
    result = run(
        [
            "report",
            "--data",
            str(files / "features.parquet"),
            str(files / "preds.parquet"),
            "--preds",
            ",".join(scored),
            "--metamodel",
            given,
            "--out",
            "rep",
            "--quiet",
            "--no-plots",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    _, summary, _ = check_report_dir(tmp_path / "rep", scored, with_plots=False, hint=False)
    metamodel = small.predictions[given]
    p = small.predictions[scored]
    corr = nk.numerai_corr(p, small.target, eras=small.eras).mean()
    seed_mmc = nk.mmc(p, small.target, metamodel=metamodel, eras=small.eras).mean()
    official = nk.correlation_contribution(p, metamodel, small.target, eras=small.eras).mean()
    for model in scored:
        entry = summary["models"][model]
        assert entry["corr"]["mean"] == pytest.approx(corr[model], abs=1e-12)
        assert entry["mmc"]["mean"] == pytest.approx(seed_mmc[model], abs=1e-12)
        assert entry["mmc_official"]["mean"] == pytest.approx(official[model], abs=1e-12)
    assert summary["info"]["bags"] is None


def test_report_without_matplotlib_has_no_plots_and_says_how(tmp_path, files, small):
    result = run(
        ["report", "--data", str(files / "all.csv"), "--out", "rep"],
        tmp_path,
        prelude="import sys; sys.modules['matplotlib'] = None",
    )
    assert result.returncode == 0, result.stderr
    assert "neutralkit[report]" in result.stdout
    check_report_dir(tmp_path / "rep", list(small.predictions.columns), with_plots=False)


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, files):
    result = run(
        ["report", "--data", str(files / "all.parquet"), "--out", "rep"],
        tmp_path,
        prelude="import sys; sys.modules['pyarrow'] = None",
    )
    assert result.returncode == 2
    assert "pyarrow" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "rep").exists()


def test_console_script_entry_point_is_main(monkeypatch, capsys):
    from neutralkit.__main__ import main

    monkeypatch.setattr(sys, "argv", ["neutralkit", "--help"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 0
    assert "demo" in capsys.readouterr().out
