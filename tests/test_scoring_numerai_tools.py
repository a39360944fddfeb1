"""neutralkit's official scores against the installed numerai-tools 0.7.2, era by era."""

from __future__ import annotations

import numerai_tools.scoring as nt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neutralkit as nk

TOL = 1e-9


def make(seed, n=60, m=3, n_eras=3, ties=True):
    rng = np.random.default_rng(seed)
    idx = pd.Index([f"id{i:04d}" for i in range(n)], name="id")  # sorted, as numerai-tools needs
    x = rng.normal(size=(n, m))
    if ties:
        x = np.round(x, 1)
    preds = pd.DataFrame(x, index=idx, columns=[f"model{j}" for j in range(m)])
    target = pd.Series(rng.integers(0, 5, n) / 4, index=idx, name="target")
    mm = pd.Series(rng.normal(size=n), index=idx, name="mm")
    feats = pd.DataFrame(rng.integers(0, 5, (n, 3)), index=idx, columns=["f0", "f1", "f2"])
    eras = pd.Series(rng.integers(0, n_eras, n), index=idx, name="era")
    return preds, target, mm, feats, eras


def per_era(fn, eras, *frames):
    """numerai-tools called on one era at a time -> DataFrame (era x column)."""
    rows = {}
    for era in sorted(eras.unique()):
        mask = (eras == era).to_numpy()
        rows[era] = fn(*[f[mask] for f in frames])
    return pd.DataFrame(rows).T


seeds = st.integers(0, 2**31)


@settings(max_examples=20)
@given(seeds, st.sampled_from([None, 3]), st.booleans())
def test_numerai_corr(seed, top_bottom, pow15):
    preds, target, _, _, eras = make(seed)
    ours = nk.numerai_corr(preds, target, eras=eras, top_bottom=top_bottom, target_pow15=pow15)
    theirs = per_era(
        lambda p, t: nt.numerai_corr(p, t, top_bottom=top_bottom, target_pow15=pow15),
        eras,
        preds,
        target,
    )
    pd.testing.assert_frame_equal(ours, theirs, check_names=False, rtol=0, atol=TOL)


@settings(max_examples=20)
@given(seeds, st.sampled_from([None, 4]))
def test_correlation_contribution(seed, top_bottom):
    preds, target, mm, _, eras = make(seed)
    ours = nk.correlation_contribution(preds, mm, target, eras=eras, top_bottom=top_bottom)
    theirs = per_era(
        lambda p, m, t: nt.correlation_contribution(p, m, t, top_bottom=top_bottom),
        eras,
        preds,
        mm,
        target,
    )
    pd.testing.assert_frame_equal(ours, theirs, check_names=False, rtol=0, atol=TOL)


@settings(max_examples=15)
@given(seeds, st.sampled_from([None, 4]))
def test_neutral_contribution(seed, top_bottom):
    preds, target, mm, feats, eras = make(seed)
    ours = nk.neutral_contribution(preds, mm, feats, target, eras=eras, top_bottom=top_bottom)
    theirs = per_era(
        lambda p, m, f, t: nt.neutral_contribution(p, m, f, t, top_bottom=top_bottom),
        eras,
        preds,
        mm,
        feats,
        target,
    )
    pd.testing.assert_frame_equal(ours, theirs, check_names=False, rtol=0, atol=1e-8)


def test_one_era_returns_series_like_numerai_tools():
    preds, target, mm, _, _ = make(3, n=200, m=4)
    pd.testing.assert_series_equal(
        nk.numerai_corr(preds, target), nt.numerai_corr(preds, target), rtol=0, atol=TOL
    )
    pd.testing.assert_series_equal(
        nk.correlation_contribution(preds, mm, target),
        nt.correlation_contribution(preds, mm, target),
        rtol=0,
        atol=TOL,
    )


@pytest.mark.parametrize("method", ["average", "first"])
def test_rank_and_gaussian_transforms(method):
    preds, *_ = make(5, n=500, m=3)
    np.testing.assert_allclose(
        nk.rank(preds, method=method), nt.rank(preds, method=method), rtol=0, atol=1e-15
    )
    theirs = nt.gaussian(nt.rank(preds, method=method))
    np.testing.assert_allclose(nk.gaussianize(preds, method=method), theirs, rtol=1e-12)
    np.testing.assert_allclose(nk.power(theirs, 1.5), nt.power(theirs, 1.5), rtol=1e-15)


def test_stake_weight():
    preds, *_ = make(7, n=100, m=5)
    stakes = pd.Series([3.0, 0.0, 1.5], index=["model4", "model0", "model2"])
    pd.testing.assert_series_equal(
        nk.stake_weight(preds, stakes), nt.stake_weight(preds, stakes), rtol=0, atol=TOL
    )
