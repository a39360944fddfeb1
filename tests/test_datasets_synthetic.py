"""The built-in synthetic tournament: shape, determinism, the relations it must show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk
from neutralkit.datasets import synthetic_tournament

SIZE = {"n_eras": 40, "rows_per_era": 250, "n_features": 16, "n_users": 15}


@pytest.fixture(scope="module")
def tournament():
    return synthetic_tournament(**SIZE, seed=3)


def test_shapes_and_types(tournament):
    t = tournament
    n = SIZE["n_eras"] * SIZE["rows_per_era"]
    assert t.data.shape == (n, SIZE["n_features"] + 2)
    assert len(t.features) == SIZE["n_features"]
    feats = t.data[t.features]
    assert (feats.dtypes == np.int8).all()
    assert feats.min().min() == 0 and feats.max().max() == 4
    assert set(np.unique(t.target)) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert t.eras.nunique() == SIZE["n_eras"]
    assert list(t.predictions.columns) == list(t.kinds)
    assert t.predictions.shape == (n, SIZE["n_users"])
    assert t.predictions.index.equals(t.data.index)
    values = t.predictions.to_numpy()
    assert np.isfinite(values).all() and (values > 0).all() and (values < 1).all()
    assert (t.stakes > 0).all() and list(t.stakes.index) == list(t.kinds)
    assert set(t.kinds.values()) == {"linear", "neutral", "copy", "indep", "noise"}
    grouped = [f for group in t.feature_groups.values() for f in group]
    assert sorted(grouped) == sorted(t.features)


def test_features_within_a_group_are_correlated(tournament):
    t = tournament
    corr = t.data[t.features].astype(float).corr()
    within, between = [], []
    group_of = {f: g for g, fs in t.feature_groups.items() for f in fs}
    for i, a in enumerate(t.features):
        for b in t.features[i + 1 :]:
            (within if group_of[a] == group_of[b] else between).append(corr.loc[a, b])
    assert np.mean(within) > 0.15 > np.mean(np.abs(between))


def test_deterministic_and_seeded():
    a = synthetic_tournament(n_eras=5, rows_per_era=30, n_users=6, seed=11)
    b = synthetic_tournament(n_eras=5, rows_per_era=30, n_users=6, seed=11)
    c = synthetic_tournament(n_eras=5, rows_per_era=30, n_users=6, seed=12)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    pd.testing.assert_series_equal(a.stakes, b.stakes)
    assert not a.data.equals(c.data)


def test_target_distribution_per_era(tournament):
    t = tournament
    shares = pd.crosstab(t.data["era"], t.data["target"], normalize="index")
    expected = pd.Series([0.05, 0.20, 0.50, 0.20, 0.05], index=shares.columns)
    assert np.allclose(shares.to_numpy(), expected.to_numpy()[None, :], atol=0.01)


def test_copy_of_the_metamodel_has_mmc_about_zero(tournament):
    t = tournament
    copies = t.users("copy")
    assert copies
    metamodel = nk.stake_weighted_metamodel(t.predictions, t.stakes, eras=t.eras)
    # a copy is the metamodel of everybody (copies included)
    for user in copies:
        np.testing.assert_allclose(t.predictions[user].to_numpy(), metamodel.to_numpy())
    seed_mmc = nk.mmc(t.predictions, t.target, metamodel=metamodel, eras=t.eras).mean()
    official = nk.correlation_contribution(t.predictions, metamodel, t.target, eras=t.eras).mean()
    assert np.abs(seed_mmc[copies]).max() < 1e-10
    assert np.abs(official[copies]).max() < 1e-10
    # the independent signals are what the metamodel lacks: they contribute
    indep, noise = t.users("indep"), t.users("noise")
    assert official[indep].mean() > max(0.0, official[noise].mean())
    assert seed_mmc[indep].mean() > max(0.0, seed_mmc[noise].mean())


def test_neutral_models_less_exposed_and_higher_sharpe(tournament):
    t = tournament
    linear, neutral = t.users("linear"), t.users("neutral")
    exposure = nk.feature_exposure(t.predictions, t.data[t.features], eras=t.eras)
    rms = exposure["rms"].mean()
    assert rms[neutral].max() < rms[linear].min()
    corr = nk.numerai_corr(t.predictions, t.target, eras=t.eras)
    sharpe = nk.summary(corr)["sharpe"]
    assert sharpe[neutral].mean() > sharpe[linear].mean()
    # both learned the signal: both score, the noise users do not
    assert corr[linear + neutral].mean().min() > 0.02
    assert abs(corr[t.users("noise")].mean()).max() < 0.02


def test_every_kind_present_for_the_smallest_size():
    t = synthetic_tournament(n_eras=2, rows_per_era=10, n_features=8, n_users=5)
    assert sorted(t.kinds.values()) == sorted(["linear", "neutral", "copy", "indep", "noise"])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_eras": 1}, ValueError, "n_eras"),
        ({"rows_per_era": 3}, ValueError, "rows_per_era"),
        ({"n_features": 2}, ValueError, "n_features"),
        ({"n_users": 4}, ValueError, "n_users"),
        ({"n_users": 5.0}, TypeError, "n_users"),
        ({"n_eras": True}, TypeError, "n_eras"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        synthetic_tournament(**kwargs)
