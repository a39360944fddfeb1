"""The report's payout plot: the stake path of every model under the chosen scheme."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk
from neutralkit import report
from neutralkit.datasets import synthetic_tournament

SMALL = {"n_eras": 10, "rows_per_era": 80, "n_features": 8, "n_users": 5}


@pytest.fixture(scope="module")
def tournament():
    return synthetic_tournament(**SMALL, seed=3)


def _report(t, **kwargs):
    return report.compute_report(
        t.predictions, t.target, t.data[t.features], t.eras, stakes=t.stakes, bags=4, **kwargs
    )


@pytest.mark.parametrize(("scheme", "mmc_key"), [("corr+2mmc", "mmc"), ("main", "mmc_official")])
def test_payout_path_is_the_compounded_stake(tournament, scheme, mmc_key):
    data = _report(tournament, payout_scheme=scheme)
    assert data.info["payout_scheme"] == scheme
    path = report.payout_path(data)
    assert list(path.columns) == data.models
    weights = nk.PAYOUT_SCHEMES[scheme].weights
    clip = nk.PAYOUT_SCHEMES[scheme].clip
    for model in data.models:
        # written out: stake_{e+1} = stake_e * (1 + clip(w_c corr + w_m mmc))
        corr = data.per_era["corr"][model].to_numpy()
        mmc = data.per_era[mmc_key][model].to_numpy()
        rate = np.clip(weights["corr"] * corr + weights["mmc"] * mmc, -clip, clip)
        np.testing.assert_allclose(path[model].to_numpy(), np.cumprod(1 + rate), rtol=1e-12)


def test_default_scheme_and_none(tournament):
    data = _report(tournament)
    assert data.info["payout_scheme"] == "corr+mmc"
    assert report.payout_path(_report(tournament, payout_scheme=None)) is None


def test_bad_scheme(tournament):
    with pytest.raises(ValueError, match="unknown scheme"):
        _report(tournament, payout_scheme="corr+9mmc")
    with pytest.raises(ValueError, match="does not compute"):
        _report(tournament, payout_scheme="signals")


# the report's exposure boxplot passes vert=False (deprecated in matplotlib 3.11; not
# this test's subject, and the CLI tests render in a subprocess where it is not an error)
@pytest.mark.filterwarnings("ignore:vert. bool was deprecated")
def test_report_html_has_the_payout_plot(tournament, tmp_path):
    pytest.importorskip("matplotlib")
    data = _report(tournament, payout_scheme="corr+2mmc")
    written = report.write_report(data, tmp_path / "out")
    html = Path(written["report.html"]).read_text(encoding="utf-8")
    assert 'id="plot-payout"' in html
    assert "&#x27;corr+2mmc&#x27; payout scheme" in html or "'corr+2mmc' payout scheme" in html
    assert isinstance(report.payout_path(data), pd.DataFrame)


def test_cli_payout_scheme_option(tmp_path, capsys):
    from neutralkit.cli import main

    out = tmp_path / "demo"
    args = ["demo", "--n-eras", "6", "--rows-per-era", "60", "--n-features", "8"]
    args += ["--n-users", "5", "--bags", "2", "--no-plots", "--quiet", "--out", str(out)]
    assert main([*args, "--payout-scheme", "main"]) == 0
    info = json.loads((out / "summary.json").read_text(encoding="utf-8"))["info"]
    assert info["payout_scheme"] == "main"
    assert main([*args, "--payout-scheme", "none"]) == 0
    info = json.loads((out / "summary.json").read_text(encoding="utf-8"))["info"]
    assert info["payout_scheme"] is None
    with pytest.raises(SystemExit):
        main([*args, "--payout-scheme", "signals"])  # alpha/MPC: not in the report
    assert "invalid choice" in capsys.readouterr().err
