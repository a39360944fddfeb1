"""feature_neutral_corr(preset="legacy"): the seed-era example code's
get_feature_neutral_mean route, per era (Gaussian of ordinal ranks, neutralized to
the features without intercept, divided by std, re-ranked uniformly with ties by row
order, Pearson with the raw target)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtri
from scipy.stats import rankdata

import neutralkit as nk
from neutralkit import reference as ref

TOL = 1e-12


def _data(seed: int, n: int = 240, m: int = 2, k: int = 5, n_eras: int = 4, ties: bool = True):
    rng = np.random.default_rng(seed)
    index = pd.Index(rng.permutation(n) * 5 + 11, name="id")
    preds = pd.DataFrame(rng.normal(size=(n, m)), index=index, columns=[f"p{j}" for j in range(m)])
    if ties:
        preds = preds.round(1)  # many ties: their order decides the ordinal ranks
    features = pd.DataFrame(
        rng.integers(0, 5, (n, k)).astype(np.int8),
        index=index,
        columns=[f"feature_{j}" for j in range(k)],
    )
    target = pd.Series(rng.integers(0, 5, n) / 4, index=index, name="target")
    eras = pd.Series(rng.integers(0, n_eras, n), index=index, name="era")  # unsorted rows
    return preds, features, target, eras


def _seed_code(preds: pd.Series, features: pd.DataFrame, target: pd.Series) -> float:
    """One era, written as the seed-era example code does it (scipy's ordinal
    rankdata and ndtri, the pinv projection, std, pandas' rank(method="first") and
    Series.corr), with pinv in float64 instead of that code's float32."""
    scores = preds.to_numpy(np.float64)
    gauss = ndtri((rankdata(scores, method="ordinal") - 0.5) / len(scores))
    exposures = features.to_numpy(np.float64)
    neutral = gauss - exposures @ (np.linalg.pinv(exposures) @ gauss)
    neutral /= neutral.std(ddof=0)
    series = pd.Series(neutral, index=preds.index)
    uniform = (series.rank(method="first") - 0.5) / len(series)
    return float(uniform.corr(target))


@settings(max_examples=25)
@given(st.integers(0, 2**20), st.booleans())
def test_legacy_equals_the_composition_of_public_functions(seed, ties):
    preds, features, target, eras = _data(seed, ties=ties)
    got = nk.feature_neutral_corr(preds, features, target, eras=eras, preset="legacy")
    g = nk.gaussianize(preds, eras=eras, method="first")
    r = nk.neutralize(g, features, eras=eras, intercept=False)
    u = nk.rank(r, eras=eras, method="first")
    expected = nk.pearson(u, target, eras=eras)
    pd.testing.assert_frame_equal(got, expected, atol=TOL, rtol=0)


@settings(max_examples=25)
@given(st.integers(0, 2**20), st.booleans())
def test_legacy_equals_the_reference_twin(seed, ties):
    preds, features, target, eras = _data(seed, ties=ties)
    got = nk.feature_neutral_corr(preds, features, target, eras=eras, preset="legacy")
    expected = ref.feature_neutral_corr(
        preds.to_numpy(),
        features.to_numpy(),
        target.to_numpy(),
        eras=eras.to_numpy(),
        preset="legacy",
    )
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=1e-9, rtol=0)
    assert list(got.index) == list(expected.index)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_legacy_equals_the_seed_code_per_era(seed):
    preds, features, target, eras = _data(seed)
    got = nk.feature_neutral_corr(preds, features, target, eras=eras, preset="legacy")
    for era, rows in eras.groupby(eras, sort=True).groups.items():
        for col in preds.columns:
            expected = _seed_code(preds.loc[rows, col], features.loc[rows], target.loc[rows])
            assert got.loc[era, col] == pytest.approx(expected, abs=1e-9)


def test_legacy_is_close_to_the_seed_codes_float32_pinv():
    """The seed code's pinv ran in float32: the score moves by ~1e-6 at most."""
    preds, features, target, _ = _data(5, n=400, ties=False)
    col = preds["p0"].to_numpy()
    gauss = ndtri((rankdata(col, method="ordinal") - 0.5) / len(col))
    x = features.to_numpy(np.float64)
    neutral = gauss - x @ (np.linalg.pinv(x.astype(np.float32)) @ gauss.astype(np.float32)).astype(
        np.float64
    )
    uniform = (pd.Series(neutral).rank(method="first") - 0.5) / len(neutral)
    seed32 = float(np.corrcoef(uniform, target.to_numpy())[0, 1])
    got = nk.feature_neutral_corr(preds["p0"], features, target, preset="legacy")
    assert got == pytest.approx(seed32, abs=1e-5)


def test_ties_go_by_row_order():
    """Reversing the rows of an era changes which tied rows rank first, exactly as the
    seed code would do on the reversed rows."""
    preds, features, target, _ = _data(7, n=120, m=1)
    forward = nk.feature_neutral_corr(preds["p0"], features, target, preset="legacy")
    back = slice(None, None, -1)
    reverse = nk.feature_neutral_corr(
        preds["p0"].iloc[back], features.iloc[back], target.iloc[back], preset="legacy"
    )
    assert forward == pytest.approx(_seed_code(preds["p0"], features, target), abs=1e-9)
    assert reverse == pytest.approx(
        _seed_code(preds["p0"].iloc[back], features.iloc[back], target.iloc[back]), abs=1e-9
    )
    assert forward != pytest.approx(reverse, abs=1e-9)


def test_legacy_differs_from_official():
    preds, features, target, eras = _data(3)
    legacy = nk.feature_neutral_corr(preds, features, target, eras=eras, preset="legacy")
    official = nk.feature_neutral_corr(preds, features, target, eras=eras, preset="official")
    assert (legacy - official).abs().to_numpy().max() > 1e-3


def test_hand_checked_example():
    """Three rows, one feature, no ties, no intercept: everything by hand."""
    preds = np.array([0.2, 0.9, 0.5])
    feature = np.array([[1.0], [0.0], [1.0]])
    target = np.array([0.0, 1.0, 0.5])
    # ordinal ranks 1, 3, 2 -> u = 1/6, 5/6, 1/2 -> g = (-a, a, 0), a = ndtri(5/6)
    a = float(ndtri(5 / 6))
    # projection on x = (1, 0, 1): coefficient (x.g)/(x.x) = -a/2 -> residual (-a/2, a, a/2)
    # re-rank: -a/2 < a/2 < a -> ranks 1, 3, 2: u = (1/6, 5/6, 1/2), Pearson with target
    u = np.array([1 / 6, 5 / 6, 1 / 2])
    expected = float(np.corrcoef(u, target)[0, 1])
    assert a > 0
    assert expected == pytest.approx(1.0)  # u is an affine map of the target here
    # (with an intercept the residual would be (-a/2, 0, a/2): ranks 1, 2, 3, corr 0.5)
    got = nk.feature_neutral_corr(preds, feature, target, preset="legacy")
    assert got == pytest.approx(expected, abs=1e-12)
