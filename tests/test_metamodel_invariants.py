"""MMC invariants, thread independence, no mutation, and numerai-tools agreement."""

from __future__ import annotations

import numerai_tools.scoring as nt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neutralkit as nk


def _data(seed: int, n: int = 80, users: int = 6, n_eras: int = 3):
    rng = np.random.default_rng(seed)
    preds = rng.integers(0, 5, size=(n, users)) / 4.0
    preds[:, 1] = rng.random(n)
    target = rng.integers(0, 5, size=n) / 4.0
    stakes = rng.uniform(0.5, 3.0, size=users)
    eras = rng.integers(0, n_eras, size=n)
    return rng, preds, target, stakes, eras


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), method=st.sampled_from(["average", "first"]))
def test_user_identical_to_metamodel_scores_zero(seed, method):
    rng, preds, target, _, eras = _data(seed)
    metamodel = rng.random(len(target))
    with_meta = np.column_stack([preds, metamodel, 3 * metamodel - 1])
    got = nk.mmc(with_meta, target, metamodel=metamodel, eras=eras, method=method)
    np.testing.assert_allclose(got.iloc[:, -2:].to_numpy(), 0.0, rtol=0, atol=1e-12)
    assert np.abs(got.iloc[:, :-2].to_numpy()).max() > 1e-3  # the others do not vanish


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1))
def test_single_user_metamodel_scores_zero(seed):
    """The stake-weighted metamodel of one user is that user: MMC 0 (also legacy)."""
    _, preds, target, _, eras = _data(seed, users=3)
    stakes = np.array([0.0, 2.5, 0.0])
    got = nk.mmc(preds, target, stakes=stakes, eras=eras)
    np.testing.assert_allclose(got[1].to_numpy(), 0.0, rtol=0, atol=1e-12)


@settings(max_examples=30)
@given(
    seed=st.integers(0, 2**32 - 1),
    transform=st.sampled_from(["affine", "cube", "arctan", "exp"]),
    bags=st.sampled_from([None, 3]),
    method=st.sampled_from(["average", "first"]),
)
def test_invariant_to_increasing_transform(seed, transform, bags, method):
    _, preds, target, stakes, eras = _data(seed)
    moved = preds.copy()
    column = moved[:, 2] * 4  # small integers: every transform keeps them distinct
    moved[:, 2] = {
        "affine": 3.0 * column - 7.0,
        "cube": column**3,
        "arctan": np.arctan(column),
        "exp": np.exp(column),
    }[transform]
    kwargs = dict(stakes=stakes, eras=eras, bags=bags, method=method)
    before = nk.mmc(preds, target, **kwargs)
    after = nk.mmc(moved, target, **kwargs)
    np.testing.assert_array_equal(before.to_numpy(), after.to_numpy())
    loo_before = nk.mmc_loo(preds, target, stakes, eras=eras, bags=bags, method=method)
    loo_after = nk.mmc_loo(moved, target, stakes, eras=eras, bags=bags, method=method)
    np.testing.assert_array_equal(loo_before.to_numpy(), loo_after.to_numpy())


def test_threads_do_not_change_results():
    _, preds, target, stakes, eras = _data(1, n=400, users=12, n_eras=7)
    for fn in (
        lambda k: nk.mmc(preds, target, stakes=stakes, eras=eras, bags=5, n_threads=k),
        lambda k: nk.mmc_loo(preds, target, stakes, eras=eras, bags=5, n_threads=k),
    ):
        serial = fn(1).to_numpy()
        for k in (2, 3):
            np.testing.assert_array_equal(fn(k).to_numpy(), serial)


def test_inputs_not_modified():
    _, preds, target, stakes, eras = _data(2)
    frame = pd.DataFrame(preds, columns=list("abcdef"))
    named = pd.Series(stakes, index=list("abcdef"))
    t = pd.Series(target)
    mask = np.ones((2, 6), dtype=bool)
    mask[0, :3] = False
    meta = preds[:, 1].copy()
    copies = [
        frame.copy(),
        named.copy(),
        t.copy(),
        eras.copy(),
        mask.copy(),
        meta.copy(),
    ]
    nk.mmc(frame, t, stakes=named, eras=eras, bags=mask)
    nk.mmc(frame, t, metamodel=meta, eras=eras)
    nk.mmc_loo(frame, t, named, eras=eras, bags=mask)
    nk.stake_weighted_metamodel(frame, named, eras=eras)
    pd.testing.assert_frame_equal(frame, copies[0])
    pd.testing.assert_series_equal(named, copies[1])
    pd.testing.assert_series_equal(t, copies[2])
    for now, before in zip([eras, mask, meta], copies[3:], strict=True):
        np.testing.assert_array_equal(now, before)


def test_scale_options():
    _, preds, target, stakes, eras = _data(3)
    default = nk.mmc(preds, target, stakes=stakes, eras=eras)
    exact = nk.mmc(preds, target, stakes=stakes, eras=eras, scale="exact")
    np.testing.assert_allclose(
        exact.to_numpy() / 12, default.to_numpy() * 0.29**2, rtol=1e-13, atol=1e-16
    )


def test_legacy_preset_is_first_ranks_and_raw_metamodel():
    rng, preds, target, _, _ = _data(4)
    metamodel = rng.normal(size=len(target))
    legacy = nk.mmc(preds, target, metamodel=metamodel, preset="legacy")
    u = pd.DataFrame(preds).rank(method="first").to_numpy()
    u = (u - 0.5) / len(target)
    m = metamodel - metamodel.mean()
    t = target - target.mean()
    n = len(target)
    expected = (u.T @ t - (u.T @ m) * (m @ t) / (m @ m)) / (n - 1) / 0.29**2
    np.testing.assert_allclose(legacy.to_numpy(), expected, rtol=1e-10, atol=1e-14)
    assert not np.allclose(legacy.to_numpy(), nk.mmc(preds, target, metamodel=metamodel).to_numpy())


def test_loo_outside_every_bag_is_nan():
    _, preds, target, stakes, _ = _data(5)
    mask = np.ones((3, 6), dtype=bool)
    mask[:, 4] = False
    got = nk.mmc_loo(preds, target, stakes, bags=mask)
    assert np.isnan(got[4]) and np.isfinite(got.drop(4)).all()


# ------------------------------------------------------------------ numerai-tools


def _sorted_frame(preds, target):
    index = pd.RangeIndex(len(target))
    return pd.DataFrame(preds, index=index), pd.Series(target, index=index)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metamodel_matches_numerai_tools_pipeline(seed):
    _, preds, target, stakes, _ = _data(seed, n=200, users=8, n_eras=1)
    frame, _ = _sorted_frame(preds, target)
    names = pd.Series(stakes, index=frame.columns)
    expected = nt.rank(nt.stake_weight(nt.rank(frame), names).to_frame())[0]
    got = nk.stake_weighted_metamodel(frame, names)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mmc_matches_numerai_tools_neutralize(seed):
    """rank -> numerai_tools.scoring.neutralize against the ranked metamodel -> cov."""
    _, preds, target, stakes, _ = _data(seed, n=300, users=8, n_eras=1)
    frame, t = _sorted_frame(preds, target)
    names = pd.Series(stakes, index=frame.columns)
    meta = nt.rank(nt.stake_weight(nt.rank(frame), names).to_frame())
    residual = nt.neutralize(nt.rank(frame), meta)
    expected = [np.cov(residual[c], t)[0, 1] / 0.29**2 for c in frame.columns]
    got = nk.mmc(frame, t, stakes=names)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-9, atol=1e-12)


def test_stake_weighted_metamodel_threads_do_not_change_bits():
    rng = np.random.default_rng(21)
    preds = rng.normal(size=(600, 7))
    stakes = rng.lognormal(size=7)
    eras = rng.integers(0, 4, size=600)
    serial = nk.stake_weighted_metamodel(preds, stakes, eras=eras, n_threads=1)
    threaded = nk.stake_weighted_metamodel(preds, stakes, eras=eras, n_threads=2)
    np.testing.assert_array_equal(serial, threaded)
    with pytest.raises(ValueError, match="n_threads"):
        nk.stake_weighted_metamodel(preds, stakes, n_threads=0)
