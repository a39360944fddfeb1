"""Right numbers at the numeric edges (issue 9, item 3), fast path and reference twin.

Each expected value comes from an independent route: the same problem at an ordinary
scale (scaling by a power of two is exact, and other scalings change the answer in a
known way), exact integer arithmetic, or a hand computation.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk
from neutralkit import reference as ref

RNG_SEED = 20261130
IMPLS = [pytest.param(nk, id="fast"), pytest.param(ref, id="reference")]


def _problem(n: int = 300, k: int = 5, m: int = 2, n_eras: int = 3):
    rng = np.random.default_rng(RNG_SEED)
    x = rng.standard_normal((n, k))
    y = rng.standard_normal((n, m))
    eras = np.repeat(np.arange(n_eras), n // n_eras)
    return x, y, eras


# ------------------------------------------------------------------- neutralize: scale


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e12, 1e-12, 2.0**70, 1e300])
def test_neutralize_exposures_at_any_scale(impl, scale: float) -> None:
    x, y, eras = _problem()
    expected = nk.neutralize(y, x, eras=eras)
    got = impl.neutralize(y, x * scale, eras=eras)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert np.abs(got - y).max() > 1e-3  # something was removed


@pytest.mark.parametrize("method", ["auto", "householder", "pivoted"])
def test_neutralize_columns_of_very_different_scales(method: str) -> None:
    # one column 1e200, one 1e-200, one 1e12, plain ones: each column's scale is its own
    x, y, eras = _problem()
    scales = np.array([1e200, 1e-200, 1e12, 1.0, 3.0])
    expected = nk.neutralize(y, x, eras=eras)
    got = nk.neutralize(y, x * scales, eras=eras, method=method)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    got_ref = ref.neutralize(y, x * scales, eras=eras)
    np.testing.assert_allclose(got_ref, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("impl", IMPLS)
def test_neutralize_denormal_exposures(impl) -> None:
    x, y, eras = _problem()
    tiny = x * 1e-310  # subnormal: fewer significant bits, but these are the data
    assert np.all(np.abs(tiny[tiny != 0]) < np.finfo(float).tiny)
    expected = nk.neutralize(y, tiny * 2.0**1000, eras=eras)  # exact rescaling
    np.testing.assert_allclose(impl.neutralize(y, tiny, eras=eras), expected, atol=1e-9)


def test_neutralizer_at_any_scale() -> None:
    x, y, eras = _problem()
    expected = nk.neutralize(y, x, eras=eras)
    for scale in (1e200, 1e-200):
        got = nk.Neutralizer(x * scale, eras=eras).transform(y)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e-310])
def test_neutralize_predictions_at_any_scale(impl, scale: float) -> None:
    x, y, eras = _problem()
    y_scaled = y * scale
    # the residual of s * y is s times the residual of y; compare in y's own units
    expected = nk.neutralize(y_scaled / scale, x, eras=eras)
    got = impl.neutralize(y_scaled, x, eras=eras)
    np.testing.assert_allclose(got / scale, expected, rtol=0, atol=1e-9 if scale > 1e-305 else 1e-6)
    std = impl.neutralize(y_scaled, x, eras=eras, standardize=True)
    np.testing.assert_allclose(
        std, nk.neutralize(y_scaled / scale, x, eras=eras, standardize=True), atol=1e-6
    )


# ---------------------------------------------------------------- neutralize: integers


@pytest.mark.parametrize("impl", IMPLS)
def test_neutralize_int64_timestamps_whose_sum_passes_2_63(impl) -> None:
    rng = np.random.default_rng(RNG_SEED)
    n = 5000
    base = 1_700_000_000_000_000_000  # nanoseconds: n * base > 2^63
    assert n * base > 2**63
    offsets = rng.integers(0, 10**12, size=(n, 3))
    x = (base + offsets).astype(np.int64)
    y = rng.standard_normal(n)
    # with an intercept, a constant shift of a column changes nothing: the offsets
    # (< 2^40, exact in float64) give the expected residual
    expected = nk.neutralize(y, offsets.astype(np.float64))
    got = impl.neutralize(y, x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


# ----------------------------------------------------------------- standardize, NaN


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("proportion", [0.25, 0.5, 1.0])
def test_constant_column_standardized_is_zero(impl, proportion: float) -> None:
    rng = np.random.default_rng(RNG_SEED)
    x = rng.standard_normal((40, 3))
    y = np.column_stack([np.full(40, 0.3), rng.standard_normal(40)])
    eras = np.repeat([0, 1], 20)
    out = impl.neutralize(y, x, eras=eras, proportion=proportion, standardize=True)
    assert np.all(out[:, 0] == 0.0)  # documented: no spread left -> 0 (was 6e15)
    # the other column is standardized per era
    for e in (0, 1):
        assert np.std(out[eras == e, 1], ddof=1) == pytest.approx(1.0)


@pytest.mark.parametrize("impl", IMPLS)
def test_residual_is_exactly_zero_when_features_span_the_era(impl) -> None:
    rng = np.random.default_rng(RNG_SEED)
    for n, k in ((5, 4), (6, 5), (4, 10)):
        out = impl.neutralize(rng.standard_normal((n, 2)), rng.standard_normal((n, k)))
        assert np.all(out == 0.0), out


@pytest.mark.parametrize("impl", IMPLS)
def test_fnc_and_neutral_correlation_are_nan_when_features_span_the_era(impl) -> None:
    rng = np.random.default_rng(RNG_SEED)
    eras = np.repeat([0, 1], 6)
    p = rng.standard_normal((12, 2))
    t = rng.standard_normal(12)
    spanning = rng.standard_normal((12, 5))  # k + 1 = n = 6 in each era
    for out in (
        impl.feature_neutral_corr(p, spanning, t, eras=eras),
        impl.neutral_correlation(p, spanning, t, eras=eras),
    ):
        assert np.isnan(np.asarray(out, dtype=float)).all(), out
    # with fewer features the scores are defined
    narrow = spanning[:, :2]
    assert np.isfinite(np.asarray(impl.neutral_correlation(p, narrow, t, eras=eras))).all()


# ------------------------------------------------------------------ exact integer ranks


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
@pytest.mark.parametrize("method", ["average", "first"])
def test_rank_of_integers_above_2_53_is_exact(dtype, method: str) -> None:
    rng = np.random.default_rng(RNG_SEED)
    small = rng.permutation(np.r_[np.arange(300), np.arange(0, 300, 7)])
    base = 2**60
    values = (base + small).astype(dtype)
    assert len(np.unique(values.astype(np.float64))) < len(np.unique(values))  # float ties
    expected = (pd.Series(small).rank(method=method).to_numpy() - 0.5) / len(small)
    np.testing.assert_array_equal(nk.rank(values, method=method), expected)
    # per era, and inside the scores built on ranks
    eras = np.arange(len(small)) % 3
    exp_eras = np.asarray(nk.rank(small, eras=eras, method=method))
    np.testing.assert_array_equal(nk.rank(values, eras=eras, method=method), exp_eras)
    t = rng.standard_normal(len(small))
    assert nk.numerai_corr(values, t) == nk.numerai_corr(small, t)


def test_int64_ranks_in_the_metamodel_are_exact() -> None:
    rng = np.random.default_rng(RNG_SEED)
    small = rng.integers(0, 50, size=(200, 4))
    big = (2**62 + small).astype(np.int64)
    t = rng.standard_normal(200)
    expected = nk.mmc(small, t, stakes=[1, 2, 3, 4])
    pd.testing.assert_series_equal(nk.mmc(big, t, stakes=[1, 2, 3, 4]), expected)


# ------------------------------------------------------------- Pearson and covariance


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300, 1e-300])
def test_pearson_and_covariance_do_not_overflow(scale: float) -> None:
    rng = np.random.default_rng(RNG_SEED)
    p = rng.standard_normal((500, 3))
    t = rng.standard_normal(500)
    expected = nk.pearson(p, t)
    for got in (nk.pearson(p * scale, t), nk.pearson(p * scale, t * scale)):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(nk.covariance(p * scale, t) / scale, nk.covariance(p, t), rtol=1e-12)


def test_pearson_of_anticorrelated_huge_values_is_minus_one_not_clamped_nan() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0]) * 1e200
    assert nk.pearson(x, -x) == pytest.approx(-1.0, abs=1e-15)
    assert nk.pearson(x, x + 1e199) == pytest.approx(1.0, abs=1e-15)
    rng = np.random.default_rng(RNG_SEED)
    a, b = rng.standard_normal(50), rng.standard_normal(50)
    r = nk.pearson(a * 1e200, b * 1e200)
    assert r == pytest.approx(nk.pearson(a, b), abs=1e-12)
    assert abs(r) < 0.9  # was 1.0: a NaN clamped into [-1, 1]


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e200])
def test_numerai_corr_with_a_huge_or_tiny_target(scale: float) -> None:
    rng = np.random.default_rng(RNG_SEED)
    p = rng.standard_normal((400, 2))
    t = rng.standard_normal(400)
    eras = np.repeat([0, 1], 200)
    expected = nk.numerai_corr(p, t, eras=eras)
    got = nk.numerai_corr(p, t * scale, eras=eras)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    got = nk.numerai_corr(p, t * scale, eras=eras, target_pow15=False)
    np.testing.assert_allclose(
        got, nk.numerai_corr(p, t, eras=eras, target_pow15=False), atol=1e-12
    )
    assert nk.corr(p[:, 0], t * scale) == pytest.approx(nk.corr(p[:, 0], t), abs=1e-12)


# ------------------------------------------------------ stake-weighted metamodel ties


TIE_PREDS = np.array([[2, 2, 1], [0, 0, 2], [1, 1, 0]])


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("stake", [1.0, 2.5, 1000.0, 7.0])
def test_metamodel_keeps_exact_ties(impl, stake: float) -> None:
    # Hand computation: uniform ranks (r - 0.5)/3 per user; rows 2 and 3 average to
    # (1/6 + 1/6 + 5/6)/3 = (1/2 + 1/2 + 1/6)/3 = 7/18, row 1 to 13/18.
    meta = np.asarray(impl.stake_weighted_metamodel(TIE_PREDS, [stake] * 3))
    np.testing.assert_array_equal(meta, [2.5 / 3, 1.0 / 3, 1.0 / 3])


def _exact_mmc(preds: np.ndarray, target: np.ndarray, stakes: list[float]) -> np.ndarray:
    """MMC2 by hand in exact rationals: rank, weighted mean, re-rank, residual cov."""
    n = len(target)

    def uniform(v) -> list[Fraction]:
        ranks = pd.Series([float(x) for x in v]).rank(method="average").to_numpy()
        return [Fraction(r) - Fraction(1, 2) for r in ranks]  # times 1/n: cancels below

    users = [uniform(preds[:, j]) for j in range(preds.shape[1])]
    w = [Fraction(s) for s in stakes]
    meta = [sum(wj * u[i] for wj, u in zip(w, users, strict=True)) / sum(w) for i in range(n)]
    m = uniform(meta)
    t = [Fraction(float(v)) for v in target]
    out = []
    for u in users:
        uc = [v - sum(u) / n for v in u]
        mc = [v - sum(m) / n for v in m]
        tc = [v - sum(t) / n for v in t]
        dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
        cov = (dot(uc, tc) - dot(uc, mc) * dot(mc, tc) / dot(mc, mc)) / (n - 1)
        out.append(float(cov / n / Fraction(0.29) ** 2))
    return np.array(out)


@pytest.mark.parametrize("impl", IMPLS)
def test_mmc_with_a_tied_metamodel(impl) -> None:
    target = np.array([0.25, 1.0, 0.0])
    expected = _exact_mmc(TIE_PREDS, target, [1, 1, 1])
    got = np.asarray(impl.mmc(TIE_PREDS, target, stakes=[1, 1, 1]))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("impl", IMPLS)
def test_neutralize_tight_columns_large_offset_small_spread(impl) -> None:
    # Found by the extreme-scale property tests: the centring of a column whose spread
    # is a few ulps of its magnitude (two adjacent doubles near 2^63, or 1e9 + 0..4 as
    # int32) must not tilt its direction; with an intercept the offset is irrelevant.
    rng = np.random.default_rng(RNG_SEED)
    y = np.array([-0.13210486, 0.64042265])
    adjacent = np.array([[9223372036854784000.0], [9223372036854781952.0]])
    assert np.all(impl.neutralize(y, adjacent) == 0.0)  # k + 1 = n: exactly zero
    small = rng.integers(0, 5, size=(500, 3))
    yy = rng.standard_normal(500)
    expected = nk.neutralize(yy, small.astype(np.float64))
    for offset_x in ((10**9 + small).astype(np.int32), 2.0**40 + small.astype(np.float64)):
        np.testing.assert_allclose(impl.neutralize(yy, offset_x), expected, atol=1e-9)


def test_uint64_past_2_63_ranked_exactly_and_used_as_numbers() -> None:
    rng = np.random.default_rng(RNG_SEED)
    small = rng.permutation(np.r_[np.arange(100), np.arange(0, 100, 3)])
    top = np.uint64(2**63)
    values = top + small.astype(np.uint64)  # past 2^63: neither int64 nor exact float64
    expected = (pd.Series(small).rank().to_numpy() - 0.5) / len(small)
    np.testing.assert_array_equal(nk.rank(values), expected)
    np.testing.assert_array_equal(ref.rank(values), expected)
    t = rng.standard_normal(len(small))
    assert nk.numerai_corr(values, t) == nk.numerai_corr(small, t)
    # as exposures: with an intercept the offset 2^63 is irrelevant
    x = np.column_stack([values, values[::-1]])
    shifted = np.column_stack([small, small[::-1]]).astype(np.float64)
    np.testing.assert_allclose(nk.neutralize(t, x), nk.neutralize(t, shifted), atol=1e-9)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("top", [2**60, 2**63])
def test_feature_exposure_of_integers_past_2_53(impl, top: int) -> None:
    rng = np.random.default_rng(RNG_SEED)
    small = rng.integers(0, 1000, size=(60, 3))
    y = rng.standard_normal(60)
    dtype = np.uint64 if top >= 2**63 else np.int64
    big = np.asarray(small, dtype=dtype) + dtype(top)
    expected = nk.feature_correlations(y, small.astype(np.float64))
    np.testing.assert_allclose(impl.feature_correlations(y, big), expected, atol=1e-12)
