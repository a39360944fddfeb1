"""Dtypes as Numerai ships them: float32 targets.

numerai-tools centres (and powers) a float32 target in float32 before its float64
Pearson; the drop-in reproduces that to 1e-12, on float32 and float64 targets alike.
The main API computes in float64 throughout (the more accurate of the two).
"""

from __future__ import annotations

import warnings

import numerai_tools.scoring as original
import numpy as np
import pandas as pd
import pytest

import neutralkit as nk
from neutralkit.compat.numerai_tools import scoring as compat

TOL = 1e-12


def _numerai_like(seed: int, n: int = 2000, m: int = 3, k: int = 5):
    """Bucket-valued float32 targets (0, .25, .5, .75, 1), predictions with heavy ties,
    int8 features, unsorted ids, a float32 metamodel."""
    rng = np.random.default_rng(seed)
    index = pd.Index(rng.permutation(n) + 100, name="id")
    preds = pd.DataFrame(
        (rng.normal(size=(n, m)) * 3).round() / 3,
        index=index,
        columns=[f"model_{j}" for j in range(m)],
    )
    target = pd.Series(
        rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], n, p=[0.05, 0.2, 0.5, 0.2, 0.05]),
        index=index,
        name="target",
    ).astype(np.float32)
    features = pd.DataFrame(
        rng.integers(0, 5, (n, k)).astype(np.int8),
        index=index,
        columns=[f"feature_{j}" for j in range(k)],
    )
    meta = pd.Series(rng.normal(size=n).astype(np.float32), index=index, name="meta_model")
    return preds, target, features, meta


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _assert_close(got, expected):
    assert got.index.equals(expected.index)
    np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), atol=TOL, rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, "Float32"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numerai_corr_reproduces_the_target_dtype(seed, dtype):
    preds, target, _, _ = _numerai_like(seed)
    target = target.astype(dtype)
    for kwargs in ({}, {"top_bottom": 300}, {"target_pow15": False}):
        expected = _quiet(original.numerai_corr, preds, target, **kwargs)
        _assert_close(compat.numerai_corr(preds, target, **kwargs), expected)


def test_the_float32_target_transform_matters():
    """The test above could fail: numerai-tools' float32 and float64 routes differ by
    far more than the tolerance on this data."""
    preds, target, _, _ = _numerai_like(0)
    in_float32 = _quiet(original.numerai_corr, preds, target)
    in_float64 = _quiet(original.numerai_corr, preds, target.astype(np.float64))
    assert np.abs(in_float32 - in_float64).max() > 100 * TOL


@pytest.mark.parametrize("seed", [3, 4])
def test_neutral_scores_and_contributions_with_float32_targets(seed):
    preds, target, features, meta = _numerai_like(seed)
    sorted_preds = preds.sort_index()
    sorted_features = features.sort_index()
    cases = [
        ("neutral_correlation", (preds, features, target)),
        ("feature_neutral_corr", (sorted_preds, sorted_features, target)),
        ("correlation_contribution", (preds, meta, target)),
        ("correlation_contribution", (preds, meta, target, 200)),
        ("neutral_contribution", (preds, meta, features, target)),
        ("neutral_contribution", (preds, meta, features, target, 150)),
    ]
    for name, args in cases:
        expected = _quiet(getattr(original, name), *args)
        _assert_close(getattr(compat, name)(*args), expected)


@pytest.mark.parametrize("seed", [5, 6])
def test_alpha_and_mpc_with_float32_targets(seed):
    preds, target, _, _ = _numerai_like(seed, n=500)
    preds = preds.sort_index()
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(len(preds), 4)))
    neutralizers = pd.DataFrame(q, index=preds.index)
    weights = pd.Series(rng.uniform(0.5, 1.5, len(preds)), index=preds.index)
    stakes = pd.Series([1.0, 2.0, 0.5], index=preds.columns)
    args = (preds, neutralizers, weights, target)
    _assert_close(compat.alpha(*args), _quiet(original.alpha, *args))
    args = (preds, stakes, neutralizers, weights, target)
    expected = _quiet(original.meta_portfolio_contribution, *args)
    got = compat.meta_portfolio_contribution(*args)
    assert got.index.equals(expected.index)
    np.testing.assert_allclose(got, expected, atol=TOL, rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_main_api_computes_in_float64(seed):
    """neutralkit.numerai_corr of a float32 target equals numerai-tools on the same
    target in float64, per era, whatever the target's dtype."""
    preds, target, _, _ = _numerai_like(seed)
    eras = pd.Series(np.arange(len(preds)) % 3, index=preds.index)
    got = nk.numerai_corr(preds, target, eras=eras)
    for era, rows in eras.groupby(eras).groups.items():
        p = preds.loc[rows].sort_index()
        t64 = target.loc[rows].sort_index().astype(np.float64)
        expected = _quiet(original.numerai_corr, p, t64)
        np.testing.assert_allclose(got.loc[era], expected, atol=TOL, rtol=0)
    same = nk.numerai_corr(preds, target.astype(np.float64), eras=eras)
    pd.testing.assert_frame_equal(got, same, atol=1e-15, rtol=0)
