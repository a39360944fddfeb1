"""Property tests: neutralkit.neutralize and friends against neutralkit.reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import neutralkit as nk
from neutralkit import reference
from strategies import era_data, rank_is_clear

TOL = 1e-9
METHODS = ["auto", "householder", "pivoted"]


def assert_close(actual, expected, scale: float, what: str) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    err = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    assert err <= TOL * max(1.0, scale), f"{what}: max abs diff {err:.3e}"


@settings(max_examples=80)
@given(
    data=era_data(),
    method=st.sampled_from(METHODS),
    proportion=st.sampled_from([1.0, 0.5, 0.0, 0.25]),
    standardize=st.booleans(),
)
def test_neutralize_matches_reference(data, method, proportion, standardize):
    assume(rank_is_clear(data))
    expected = reference.neutralize(
        data.y, data.x, eras=data.eras, proportion=proportion, standardize=standardize
    )
    actual = nk.neutralize(
        data.y,
        data.x,
        eras=data.eras,
        proportion=proportion,
        standardize=standardize,
        method=method,
    )
    assert actual.shape == data.y.shape
    assert_close(actual, expected, np.abs(data.y).max(), f"{data!r} {method}")


@settings(max_examples=40)
@given(data=era_data(), intercept=st.booleans())
def test_intercept_option_matches_reference(data, intercept):
    assume(rank_is_clear(data, intercept))
    expected = reference.neutralize(data.y, data.x, eras=data.eras, intercept=intercept)
    actual = nk.neutralize(data.y, data.x, eras=data.eras, intercept=intercept)
    assert_close(actual, expected, np.abs(data.y).max(), repr(data))


@settings(max_examples=40)
@given(data=era_data())
def test_residual_is_orthogonal_to_exposures_and_centred(data):
    r = nk.neutralize(data.y, data.x, eras=data.eras)
    x = data.x.astype(np.float64)
    for e in np.unique(data.eras):
        rows = data.eras == e
        scale = max(1.0, np.abs(data.y[rows]).max()) * max(1.0, np.abs(x[rows]).max())
        np.testing.assert_allclose(r[rows].sum(axis=0), 0.0, atol=1e-9 * scale * rows.sum())
        xc = x[rows] - x[rows].mean(axis=0)
        np.testing.assert_allclose(xc.T @ r[rows], 0.0, atol=1e-8 * scale * rows.sum())


@settings(max_examples=40)
@given(data=era_data())
def test_proportion_zero_is_identity_and_twice_changes_nothing(data):
    np.testing.assert_array_equal(
        nk.neutralize(data.y, data.x, eras=data.eras, proportion=0.0), data.y
    )
    once = nk.neutralize(data.y, data.x, eras=data.eras)
    twice = nk.neutralize(once, data.x, eras=data.eras)
    assert_close(twice, once, np.abs(data.y).max(), repr(data))


@settings(max_examples=30)
@given(data=era_data())
def test_proportion_list_equals_separate_calls(data):
    props = [0.0, 0.25, 1.0]
    many = nk.neutralize(data.y, data.x, eras=data.eras, proportion=props)
    assert isinstance(many, list) and len(many) == 3
    for p, got in zip(props, many, strict=False):
        np.testing.assert_array_equal(
            got, nk.neutralize(data.y, data.x, eras=data.eras, proportion=p)
        )


@settings(max_examples=30)
@given(data=era_data())
def test_threaded_equals_serial_bit_for_bit(data):
    serial = nk.neutralize(data.y, data.x, eras=data.eras, n_threads=1)
    threaded = nk.neutralize(data.y, data.x, eras=data.eras, n_threads=3)
    np.testing.assert_array_equal(serial, threaded)


@settings(max_examples=30)
@given(data=era_data())
def test_each_era_depends_only_on_its_rows(data):
    full = nk.neutralize(data.y, data.x, eras=data.eras)
    e = data.eras[0]
    rows = data.eras == e
    alone = nk.neutralize(data.y[rows], np.ascontiguousarray(data.x[rows]))
    np.testing.assert_array_equal(full[rows], alone)


@settings(max_examples=40)
@given(data=era_data(), proportion=st.sampled_from([1.0, 0.5]))
def test_neutralizer_matches_reference(data, proportion):
    assume(rank_is_clear(data))
    fitted = nk.Neutralizer(data.x, eras=data.eras)
    expected = reference.Neutralizer(data.x, eras=data.eras).transform(
        data.y, proportion=proportion
    )
    assert_close(
        fitted.transform(data.y, proportion=proportion),
        expected,
        np.abs(data.y).max(),
        repr(data),
    )
    # and the fitted factorization serves another prediction set
    y2 = data.y[:, ::-1] * 2.0 + 1.0
    assert_close(
        fitted.transform(y2),
        reference.neutralize(y2, data.x, eras=data.eras),
        np.abs(y2).max(),
        repr(data),
    )


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 60), n_eras=st.integers(1, 3))
def test_orthogonalize_matches_reference(seed, n, n_eras):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    u = rng.normal(size=n)
    eras = rng.integers(0, n_eras, size=n)
    assert_close(
        nk.orthogonalize(v, u, eras=eras),
        reference.orthogonalize(v, u, eras=eras),
        np.abs(v).max(),
        "orthogonalize",
    )


@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 60),
    proportion=st.sampled_from([1.0, 0.5]),
    centred=st.booleans(),
)
def test_neutralize_series_matches_reference(seed, n, proportion, centred):
    rng = np.random.default_rng(seed)
    s = pd.Series(rng.normal(size=n), index=[f"id{i}" for i in range(n)], name="p")
    if centred:  # mean exactly 0: the document's code then fits no intercept
        s = pd.Series(
            np.concatenate([s.to_numpy()[: n // 2], -s.to_numpy()[: n // 2], np.zeros(n % 2)]),
            index=s.index,
            name="p",
        )
    by = pd.Series(rng.normal(size=n) + 0.3 * s.to_numpy(), index=s.index)
    got = nk.neutralize_series(s, by, proportion)
    assert list(got.index) == list(s.index) and got.name == "p"
    assert_close(got, reference.neutralize_series(s, by, proportion), 1.0, "series")


def test_neutralize_series_equals_intercept_neutralization_when_mean_nonzero():
    rng = np.random.default_rng(1)
    s = pd.Series(rng.normal(size=50) + 1.0)
    by = pd.Series(rng.normal(size=50))
    assert_close(nk.neutralize_series(s, by), nk.neutralize(s, by.to_frame()), 1.0, "seed")


def test_int8_and_float64_exposures_agree():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, size=(3000, 50), dtype=np.int8)
    y = rng.normal(size=(3000, 4))
    eras = rng.integers(0, 3, size=3000)
    np.testing.assert_allclose(
        nk.neutralize(y, x, eras=eras),
        nk.neutralize(y, x.astype(np.float64), eras=eras),
        rtol=0,
        atol=1e-11,
    )


@pytest.mark.parametrize("method", METHODS)
def test_rank_deficient_eras_fall_back_and_stay_exact(method):
    rng = np.random.default_rng(7)
    n = 400
    x = rng.integers(0, 5, size=(n, 12)).astype(np.int8)
    x[:, 10] = x[:, 2]  # duplicated column
    x[:200, 11] = 3  # constant in era 0 only
    eras = np.repeat([0, 1], 200)
    y = rng.normal(size=(n, 2)) + x[:, :1]
    fitted = nk.Neutralizer(x, eras=eras, method=method)
    assert set(fitted.era_paths_) == {"pivoted"}
    expected = reference.neutralize(y, x, eras=eras)
    assert_close(fitted.transform(y), expected, np.abs(y).max(), method)
    assert_close(nk.neutralize(y, x, eras=eras, method=method), expected, 1.0, method)


def test_well_conditioned_eras_use_the_fast_path_and_constant_columns_keep_it():
    rng = np.random.default_rng(8)
    x = rng.integers(0, 5, size=(600, 10)).astype(np.int8)
    x[:300, 4] = 2  # constant within era 0: dropped (it lies in the intercept's span)
    eras = np.repeat(["a", "b"], 300)
    assert list(nk.Neutralizer(x, eras=eras).era_paths_) == ["cholesky", "cholesky"]


def test_wide_era_residual_is_zero():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(10, 30))
    y = rng.normal(size=(10, 2))
    np.testing.assert_allclose(nk.neutralize(y, x), 0.0, atol=1e-12)


@pytest.mark.parametrize("correlation", [0.0, 0.99, 0.9995])
def test_continuous_float_features_near_collinear(correlation):
    # float32 Gram factor + float64 refinement (well conditioned), more refinement passes
    # (0.99), or the exact float64 route (0.9995, pivots below the float32 limit)
    rng = np.random.default_rng(12)
    n, k = 3000, 120
    common = rng.normal(size=(n, 1))
    x = np.sqrt(correlation) * common + np.sqrt(1 - correlation) * rng.normal(size=(n, k))
    y = rng.normal(size=(n, 3)) + x[:, :2].sum(axis=1, keepdims=True)
    eras = np.repeat([0, 1, 2], n // 3)
    assert_close(
        nk.neutralize(y, x, eras=eras),
        reference.neutralize(y, x, eras=eras),
        np.abs(y).max(),
        f"correlation {correlation}",
    )
    assert_close(
        nk.neutralize(y, x.astype(np.float32), eras=eras),
        reference.neutralize(y, x.astype(np.float32), eras=eras),
        np.abs(y).max(),
        f"float32, correlation {correlation}",
    )
