"""neutralkit.payout: hand-checked examples, the schemes, the return shapes, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk
from neutralkit.payout import PAYOUT_SCHEMES


def _scores() -> pd.DataFrame:
    return pd.DataFrame(
        {"corr": [0.02, -0.01, 0.30, -0.05], "mmc": [0.01, 0.005, 0.10, -0.20]},
        index=pd.Index(["era1", "era2", "era3", "era4"], name="era"),
    )


def test_hand_checked_corr_plus_2mmc():
    # rates: 0.02 + 0.02 = 0.04; -0.01 + 0.01 = 0; 0.3 + 0.2 = 0.5 -> clip 0.25;
    # -0.05 - 0.4 = -0.45 -> clip -0.25
    got = nk.payout(_scores(), "corr+2mmc", stake=100.0)
    np.testing.assert_allclose(got.to_numpy(), [4.0, 0.0, 25.0, -25.0], atol=1e-12)
    assert got.name == "payout"
    assert list(got.index) == ["era1", "era2", "era3", "era4"]


def test_hand_checked_compounding_with_and_without_lag():
    # lag 0: stakes 100, 104, 104, 130 -> payouts 4, 0, 26, -32.5
    got = nk.payout(_scores(), "corr+2mmc", stake=100.0, compound=True)
    np.testing.assert_allclose(got["stake"], [100, 104, 104, 130], atol=1e-12)
    np.testing.assert_allclose(got["payout"], [4, 0, 26, -32.5], atol=1e-12)
    # lag 1: era1's payout is first at risk in era3, era2's in era4
    got = nk.payout(_scores(), "corr+2mmc", stake=100.0, compound=True, lag=1)
    np.testing.assert_allclose(got["stake"], [100, 100, 104, 104], atol=1e-12)
    np.testing.assert_allclose(got["payout"], [4, 0, 26, -26], atol=1e-12)
    assert list(got.columns) == ["stake", "payout"]


def test_hand_checked_main_scheme_and_payout_factor():
    # 0.5 corr + 2 mmc, clip 0.05: 0.03; -0.005 + 0.01 = 0.005; 0.35 -> 0.05;
    # -0.425 -> -0.05
    got = nk.payout(_scores(), "main", stake=10.0)
    np.testing.assert_allclose(got, [0.3, 0.05, 0.5, -0.5], atol=1e-12)
    # payout factor 0.5 in era 1 only: 0.015 * 10
    pf = pd.Series([0.5, 1.0, 1.0, 1.0], index=_scores().index)
    got = nk.payout(_scores(), "main", stake=10.0, payout_factor=pf)
    np.testing.assert_allclose(got, [0.15, 0.05, 0.5, -0.5], atol=1e-12)


def test_custom_weights_clip_and_no_clip():
    s = _scores()
    # custom weights: no clip unless asked
    got = nk.payout(s, {"corr": 1.0}, stake=2.0)
    np.testing.assert_allclose(got, 2.0 * s["corr"], atol=1e-15)
    got = nk.payout(s, {"corr": 1.0}, stake=2.0, clip=0.1)
    np.testing.assert_allclose(got, [0.04, -0.02, 0.2, -0.1], atol=1e-15)
    # a scheme's clip can be lifted
    got = nk.payout(s, "corr+2mmc", clip=math.inf)
    np.testing.assert_allclose(got, s["corr"] + 2 * s["mmc"], atol=1e-15)
    # one multiplier per column, positional (NumPy scores)
    got = nk.payout(s.to_numpy(), [1.0, 2.0], clip=0.25)
    np.testing.assert_allclose(got, [0.04, 0.0, 0.25, -0.25], atol=1e-12)
    assert list(got.index) == [0, 1, 2, 3]


def test_several_models_with_model_score_columns():
    s = _scores()
    multi = pd.concat({"alice": s, "bob": s / 2}, axis=1)
    got = nk.payout(multi, "corr+mmc", stake={"alice": 1.0, "bob": 3.0})
    assert list(got.columns) == ["alice", "bob"]
    np.testing.assert_allclose(got["alice"], nk.payout(s, "corr+mmc"), atol=1e-15)
    np.testing.assert_allclose(got["bob"], nk.payout(s / 2, "corr+mmc", stake=3.0), atol=1e-15)
    path = nk.payout(multi, "corr+mmc", stake=2.0, compound=True, lag=2)
    assert list(path.columns.get_level_values(0).unique()) == ["stake", "payout"]
    single = nk.payout(s, "corr+mmc", stake=2.0, compound=True, lag=2)
    np.testing.assert_allclose(path["stake"]["alice"], single["stake"], atol=1e-15)
    np.testing.assert_allclose(path["payout"]["alice"], single["payout"], atol=1e-15)


def test_nan_policy_omit_pays_zero_that_era():
    s = _scores()
    s.iloc[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"scores: .*NaN.*'mmc'.*'era2'"):
        nk.payout(s, "corr+mmc")
    got = nk.payout(s, "corr+mmc", nan_policy="omit")
    assert got.iloc[1] == 0.0
    np.testing.assert_allclose(got.iloc[[0, 2]], [0.03, 0.25], atol=1e-15)
    # a NaN in a column the weights do not use is ignored
    np.testing.assert_allclose(nk.payout(s, "corr"), s["corr"].clip(-0.25, 0.25), atol=1e-15)


def test_stake_never_goes_below_zero():
    s = pd.DataFrame({"corr": [-1.0] * 6})
    got = nk.payout(s, {"corr": 1.0}, clip=0.5, compound=True, lag=2)
    # three 50% burns of the starting stake are pending at once: the stake hits 0
    assert (got["stake"] >= 0).all()
    assert got["stake"].iloc[-1] == 0.0


def test_schemes_are_documented():
    assert {"corr", "corr+mmc", "corr+2mmc", "main"} <= set(PAYOUT_SCHEMES)
    for name in ("corr", "corr+0.5mmc", "corr+mmc", "corr+2mmc"):
        assert PAYOUT_SCHEMES[name].clip == 0.25
        assert PAYOUT_SCHEMES[name].weights["corr"] == 1.0
    assert dict(PAYOUT_SCHEMES["corr+2mmc"].weights) == {"corr": 1.0, "mmc": 2.0}
    assert dict(PAYOUT_SCHEMES["main"].weights) == {"corr": 0.5, "mmc": 2.0}
    assert PAYOUT_SCHEMES["main"].clip == 0.05
    for scheme in PAYOUT_SCHEMES.values():
        assert scheme.source and scheme.period


def test_inputs_not_modified():
    s = _scores()
    before = s.copy()
    stake = {"a": 1.0}
    nk.payout(pd.concat({"a": s}, axis=1), "corr+mmc", stake=stake, compound=True)
    nk.payout(s, "corr+mmc", compound=True, lag=1)
    pd.testing.assert_frame_equal(s, before)
    assert stake == {"a": 1.0}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"weights": "corr+3mmc"}, ValueError, "unknown payout scheme"),
        ({"weights": {"tc": 1.0}}, ValueError, r"no score column named \['tc'\]"),
        ({"weights": {}}, ValueError, "weights: empty"),
        ({"weights": {"corr": np.nan}}, ValueError, "weights"),
        ({"weights": [1.0]}, ValueError, "1 multipliers for 2 score column"),
        ({"weights": object()}, TypeError, "weights"),
        ({"stake": -1.0}, ValueError, "stake"),
        ({"stake": np.inf}, ValueError, "stake"),
        ({"stake": "100"}, TypeError, "stake"),
        ({"stake": {"a": 1.0}}, TypeError, "stake: a mapping by model"),
        ({"clip": 0.0}, ValueError, "clip"),
        ({"clip": -0.1}, ValueError, "clip"),
        ({"clip": np.nan}, ValueError, "clip"),
        ({"clip": "0.25"}, TypeError, "clip"),
        ({"payout_factor": -0.5}, ValueError, "payout_factor"),
        ({"payout_factor": [1.0, 1.0]}, ValueError, "payout_factor"),
        ({"payout_factor": [1.0, np.nan, 1.0, 1.0]}, ValueError, "payout_factor"),
        ({"lag": -1}, ValueError, "lag"),
        ({"lag": 1.5}, TypeError, "lag"),
        ({"nan_policy": "zero"}, ValueError, "nan_policy"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"weights": "corr+mmc", **kwargs}
    weights = args.pop("weights")
    with pytest.raises(error, match=match):
        nk.payout(_scores(), weights, **args)


def test_bad_scores():
    with pytest.raises(ValueError, match="0 rows"):
        nk.payout(_scores().iloc[:0], "corr")  # 0 rows
    with pytest.raises(ValueError, match="infinite"):
        nk.payout(_scores().replace(0.3, np.inf), "corr")
    with pytest.raises(TypeError, match="scores"):
        nk.payout(pd.DataFrame({"corr": ["a", "b"]}), "corr")
    multi = pd.concat({"a": _scores(), "b": _scores()[["corr"]]}, axis=1)
    with pytest.raises(ValueError, match=r"model 'b' has no score column 'mmc'"):
        nk.payout(multi, "corr+mmc")
    with pytest.raises(ValueError, match=r"no stake for model"):
        nk.payout(pd.concat({"a": _scores(), "b": _scores()}, axis=1), "corr", stake={"a": 1})
    with pytest.raises(ValueError, match="duplicated"):
        nk.payout(pd.concat([_scores(), _scores()], axis=1), "corr")
    # payout_factor as a Series with other era labels: refused, naming both
    pf = pd.Series(1.0, index=["x", "y", "z", "w"])
    with pytest.raises(ValueError, match="payout_factor"):
        nk.payout(_scores(), "corr", payout_factor=pf)
