"""numerai_corr and correlation_contribution on each rank path, against the reference.

Both kernels rank each era column with NarrowRank (the bucket-key radix of the alpha/MPC
kernels) when the column is finite, its era has at most 2^14 rows and its buckets are not
crowded, and fall back to the general ColumnSort otherwise (heavy tails, clusters,
longer eras, 64-bit integers past 2^53, NaN under nan_policy="omit"). Every column kind
below lands on one of those paths; ties must be averaged exactly as the reference does.
"""

from __future__ import annotations

import numpy as np
import pytest

import neutralkit as nk
from neutralkit import reference as ref


def column(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "normal":
        return rng.normal(size=n)
    if kind == "discrete":  # exact ties: five values, many rows each
        return rng.integers(0, 5, size=n) / 4
    if kind == "one_tie":  # distinct values but one pair tied
        x = rng.normal(size=n)
        x[1] = x[0]
        return x
    if kind == "lognormal":  # heavy tail: crowded low buckets -> fallback
        return np.exp(6 * rng.normal(size=n))
    if kind == "clusters":  # runs of near-equal values within one bucket
        centres = rng.random(max(1, n // 8))
        return centres[rng.integers(len(centres), size=n)] + rng.random(n) * 1e-12
    if kind == "constant":
        return np.full(n, 0.25)
    if kind == "two_values":
        return np.where(rng.random(n) < 0.3, -1.0, 2.0)
    raise AssertionError(kind)


KINDS = ["normal", "discrete", "one_tie", "lognormal", "clusters", "constant", "two_values"]


def check(preds, metamodel, target, eras=None, top_bottom=None):
    got = nk.numerai_corr(preds, target, eras=eras, top_bottom=top_bottom)
    want = ref.numerai_corr(preds, target, eras=eras, top_bottom=top_bottom)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    got = nk.correlation_contribution(preds, metamodel, target, eras=eras, top_bottom=top_bottom)
    want = ref.correlation_contribution(preds, metamodel, target, eras=eras, top_bottom=top_bottom)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 130, 5000, 16384, 16385])
@pytest.mark.parametrize("kind", KINDS)
def test_scores_match_reference_on_every_rank_path(kind, n):
    rng = np.random.default_rng(n * 31 + KINDS.index(kind))
    preds = np.column_stack([column(kind, n, rng) for _ in range(2)])
    target = rng.integers(0, 5, size=n) / 4
    metamodel = rng.normal(size=n)
    check(preds, metamodel, target)
    if n >= 130:
        check(preds, metamodel, target, top_bottom=40)


def test_scores_match_reference_with_mixed_eras_and_dtypes():
    rng = np.random.default_rng(5)
    sizes = [50, 3000, 17000]
    eras = np.repeat(np.arange(len(sizes)), sizes)
    rng.shuffle(eras)
    n = len(eras)
    base = np.column_stack([column(k, n, rng) for k in ("normal", "discrete", "lognormal")])
    target = rng.random(n)
    metamodel = rng.normal(size=n)
    check(base, metamodel, target, eras=eras)
    check(base.astype(np.float32), metamodel, target, eras=eras)
    ints = rng.integers(-3, 4, size=(n, 3)).astype(np.int8)
    check(ints, metamodel, target, eras=eras)
    # int64 past 2^53: ranked exactly as integers, never through float64 buckets (where
    # they would all round to 2^60), so they rank as their offsets from 2^60 do
    offsets = rng.integers(0, 4, size=(n, 2))
    big = (2**60 + offsets).astype(np.int64)
    np.testing.assert_allclose(
        nk.numerai_corr(big, target, eras=eras),
        ref.numerai_corr(offsets.astype(np.float64), target, eras=eras),
        rtol=0,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        nk.correlation_contribution(big, metamodel, target, eras=eras),
        ref.correlation_contribution(offsets.astype(np.float64), metamodel, target, eras=eras),
        rtol=0,
        atol=1e-12,
    )


def test_hand_checked_contribution_with_a_tie():
    # preds [1, 2, 2, 3] rank (average) to [1, 2.5, 2.5, 4]: u = [1, 4, 4, 7] / 8.
    # The metamodel ranks to the same u, so the predictions carry nothing beyond it and
    # the contribution is 0; numerai_corr against a target equal to the predictions is
    # the Pearson of the gaussianized ranks with that target's centred 1.5 power.
    preds = np.array([[1.0], [2.0], [2.0], [3.0]])
    metamodel = np.array([10.0, 20.0, 20.0, 30.0])
    target = np.array([0.0, 0.5, 0.5, 1.0])
    cc = nk.correlation_contribution(preds, metamodel, target)
    assert abs(float(np.asarray(cc).ravel()[0])) < 1e-15
    from scipy.stats import norm

    g = norm.ppf(np.array([1, 4, 4, 7]) / 8)
    p = np.sign(g) * np.abs(g) ** 1.5
    c = target - target.mean()
    t = np.sign(c) * np.abs(c) ** 1.5
    want = np.corrcoef(p, t)[0, 1]
    got = float(np.asarray(nk.numerai_corr(preds, target)).ravel()[0])
    assert abs(got - want) < 1e-12
