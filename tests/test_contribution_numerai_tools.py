"""Contribution family against the installed numerai-tools 0.7.2, era by era: each era of
our per-era result equals numerai-tools run on that era's rows alone (1e-9 relative),
with the rows given to neutralkit shuffled across eras."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk

nt = pytest.importorskip("numerai_tools.scoring")
ns = pytest.importorskip("numerai_tools.signals")

REL = 1e-9


def assert_close(ours, theirs):
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    scale = max(1e-300, float(np.max(np.abs(theirs))))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=REL * scale)


def assert_close_f32(ours, theirs):
    """Against numerai-tools' float32 centring of the target: float32 rounding only."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    scale = float(np.max(np.abs(theirs)))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5 * scale)


def signals_data(seed, n_eras=3, m=6, k=4, ties=False, float32_target=False):
    """Per-era orthonormal neutralizers (as Numerai ships them), sample weights, a
    Signals-style target, shuffled rows with string ids and era labels."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(30, 120, size=n_eras)
    n = int(sizes.sum())
    eras = np.repeat([f"2024-01-{e + 1:02d}" for e in range(n_eras)], sizes)
    values = rng.normal(size=(n, m))
    if ties:
        values = np.round(values, 1)
    neut = rng.normal(size=(n, k))
    for e in np.unique(eras):
        rows = eras == e
        neut[rows] = np.linalg.qr(neut[rows])[0]
    weights = rng.uniform(0.2, 2.0, size=n)
    target = rng.integers(0, 5, size=n) / 4
    if float32_target:
        target = target.astype(np.float32)
    ids = np.array([f"T{i:05d}" for i in range(n)])
    perm = rng.permutation(n)
    cols = [f"model_{j}" for j in range(m)]
    return (
        pd.DataFrame(values[perm], index=ids[perm], columns=cols),
        pd.DataFrame(neut[perm], index=ids[perm], columns=[f"n{c}" for c in range(k)]),
        pd.Series(weights[perm], index=ids[perm]),
        pd.Series(target[perm], index=ids[perm]),
        pd.Series(eras[perm], index=ids[perm]),
    )


def era_slices(preds, neut, weights, target, eras):
    """Each era's rows, index sorted (numerai-tools asserts a sorted index)."""
    for label in sorted(eras.unique()):
        ids = eras.index[eras == label].sort_values()
        yield label, preds.loc[ids], neut.loc[ids], weights.loc[ids], target.loc[ids]


@pytest.mark.parametrize(("seed", "ties"), [(0, False), (1, True), (2, False)])
@pytest.mark.parametrize("cnorm", [False, True])
def test_neutralized_weights_equal_numerai_tools_per_era(seed, ties, cnorm):
    preds, neut, weights, target, eras = signals_data(seed, ties=ties)
    ours = nk.neutralized_weights(preds, neut, weights, eras=eras, center_and_normalize=cnorm)
    assert ours.index.equals(preds.index)
    for _, p, n_, w, _ in era_slices(preds, neut, weights, target, eras):
        theirs = nt.generate_neutralized_weights(p, n_, w, center_and_normalize=cnorm)
        assert_close(ours.loc[p.index].to_numpy(), theirs.to_numpy())


@pytest.mark.parametrize(("seed", "ties", "f32"), [(3, False, False), (4, True, True)])
def test_alpha_equals_numerai_tools_per_era(seed, ties, f32):
    preds, neut, weights, target, eras = signals_data(seed, ties=ties, float32_target=f32)
    ours = nk.alpha(preds, neut, weights, target, eras=eras)
    assert list(ours.columns) == list(preds.columns)
    for label, p, n_, w, t in era_slices(preds, neut, weights, target, eras):
        # neutralkit computes in float64; numerai-tools centres a float32 target in
        # float32 (compat reproduces that; the main API is the more accurate)
        theirs = nt.alpha(p, n_, w, t.astype(np.float64))
        assert_close(ours.loc[label].to_numpy(), theirs.to_numpy())
        if f32:
            assert_close_f32(ours.loc[label].to_numpy(), nt.alpha(p, n_, w, t).to_numpy())
    # one era, no eras argument: a Series by column
    label, p, n_, w, t = next(era_slices(preds, neut, weights, target, eras))
    assert_close(
        nk.alpha(p, n_, w, t).to_numpy(), nt.alpha(p, n_, w, t.astype(np.float64)).to_numpy()
    )


@pytest.mark.parametrize(("seed", "ties", "f32"), [(5, False, False), (6, True, True)])
def test_mpc_equals_numerai_tools_per_era(seed, ties, f32):
    preds, neut, weights, target, eras = signals_data(seed, ties=ties, float32_target=f32)
    # a subset of the columns, in another order, one of them unstaked
    stakes = pd.Series([3.0, 0.0, 1.5, 2.0], index=["model_4", "model_1", "model_0", "model_2"])
    ours = nk.meta_portfolio_contribution(preds, stakes, neut, weights, target, eras=eras)
    assert list(ours.columns) == list(stakes.index)
    for label, p, n_, w, t in era_slices(preds, neut, weights, target, eras):
        theirs = nt.meta_portfolio_contribution(p, stakes, n_, w, t.astype(np.float64))
        assert_close(ours.loc[label].to_numpy(), theirs.to_numpy())
        if f32:
            theirs32 = nt.meta_portfolio_contribution(p, stakes, n_, w, t)
            assert_close_f32(ours.loc[label].to_numpy(), theirs32.to_numpy())
    label, p, n_, w, t = next(era_slices(preds, neut, weights, target, eras))
    assert_close(
        nk.mpc(p, stakes, n_, w, t).to_numpy(),
        nt.meta_portfolio_contribution(p, stakes, n_, w, t.astype(np.float64)).to_numpy(),
    )


def test_many_columns_one_era_equals_numerai_tools():
    # several 32-column blocks of the kernel, 2 threads
    preds, neut, weights, target, _ = signals_data(7, n_eras=1, m=75, k=6)
    stakes = pd.Series(np.random.default_rng(7).uniform(0, 1, 75), index=preds.columns)
    p = preds.sort_index()
    n_, w, t = neut.loc[p.index], weights.loc[p.index], target.loc[p.index]
    assert_close(
        nk.alpha(preds, neut, weights, target, n_threads=2).to_numpy(),
        nt.alpha(p, n_, w, t).to_numpy(),
    )
    assert_close(
        nk.mpc(preds, stakes, neut, weights, target, n_threads=2).to_numpy(),
        nt.meta_portfolio_contribution(p, stakes, n_, w, t).to_numpy(),
    )


@pytest.mark.parametrize("top_bottom", [None, 5, 40])
def test_churn_and_turnover_equal_numerai_tools(top_bottom):
    preds, neut, weights, _, eras = signals_data(8, ties=True)
    current = preds["model_0"]
    previous = (preds["model_0"] + 0.5 * preds["model_1"]).sample(frac=1.0, random_state=0)
    for label in sorted(eras.unique()):
        ids = eras.index[eras == label]
        cur, prev = current.loc[ids], previous.loc[ids]
        ours = nk.churn(cur, prev, top_bottom)
        assert ours == pytest.approx(ns.churn(cur, prev, top_bottom), abs=1e-12)
        assert nk.churn(current, previous, top_bottom, eras=eras).loc[label, "model_0"] == ours
    # turnover of neutralized, normalized weights, as numerai-tools' Signals pipeline
    w_cur = nk.neutralized_weights(current, neut, weights, eras=eras, center_and_normalize=True)
    w_prev = nk.neutralized_weights(
        preds["model_1"], neut, weights, eras=eras, center_and_normalize=True
    )
    per_era = nk.turnover(w_cur, w_prev, eras=eras)
    for label in sorted(eras.unique()):
        ids = eras.index[eras == label]
        theirs = ns.turnover(w_cur.loc[ids], w_prev.loc[ids])
        assert per_era.loc[label, "model_0"] == pytest.approx(theirs, abs=1e-12)


def test_churn_over_common_ids_as_numerai_tools():
    # different universes: Spearman churn over the ids both have, as filter_sort_index
    rng = np.random.default_rng(9)
    ids = pd.Index([f"T{i:04d}" for i in range(100)])
    cur = pd.Series(rng.normal(size=100), index=ids)
    prev = pd.Series(rng.normal(size=100), index=ids).iloc[5:].sample(frac=1.0, random_state=1)
    assert nk.churn(cur, prev) == pytest.approx(ns.churn(cur, prev), abs=1e-12)
    assert nk.turnover(cur, prev) == pytest.approx(ns.turnover(cur, prev), abs=1e-12)
