"""Issue 9, one test per bug: rows paired by position, and valid input refused or
refused unclearly. Also neutralize(nan_policy=) (issue 10, item 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neutralkit as nk
from neutralkit import reference as ref
from strategies import ODD_LAYOUTS, PANDAS_BACKENDS, field_view, odd_layout, with_backend

N = 60
RNG = np.random.default_rng(9)
INDEX = pd.Index([f"id{i}" for i in range(N)])
ERAS = pd.Series(RNG.permutation(np.repeat(["a", "b", "c"], N // 3)), index=INDEX, name="era")
FEATURES = pd.DataFrame(
    RNG.integers(0, 5, size=(N, 4)).astype(np.int8), index=INDEX, columns=list("wxyz")
)
PREDS = pd.DataFrame(RNG.normal(size=(N, 2)), index=INDEX, columns=["m1", "m2"])
PREDS["m1"] += FEATURES["w"]
TARGET = pd.Series(RNG.normal(size=N) + 0.5 * PREDS["m2"], index=INDEX)
META = pd.Series(RNG.normal(size=N) + PREDS.mean(axis=1), index=INDEX)
STAKES = pd.Series([1.0, 3.0], index=PREDS.columns)
PERM = RNG.permutation(N)


def close(a, b, rtol=1e-9):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol)


# ------------------------------------------------------------ rows paired by position


def test_neutralize_with_preds_in_another_order_matches_by_label():
    # was up to 0.65 off: rows of preds paired with the features' rows by position
    out = nk.neutralize(PREDS.iloc[PERM], FEATURES, eras=ERAS)
    assert out.index.equals(PREDS.index[PERM])  # the first argument's order and index
    expected = ref.neutralize(PREDS.to_numpy(), FEATURES.to_numpy(), eras=ERAS.to_numpy())
    close(out.loc[PREDS.index], expected)


def test_neutralizer_transform_matches_rows_by_label():
    fitted = nk.Neutralizer(FEATURES, eras=ERAS)
    expected = ref.neutralize(PREDS.to_numpy(), FEATURES.to_numpy(), eras=ERAS.to_numpy())
    out = fitted.transform(PREDS.iloc[PERM])
    assert out.index.equals(PREDS.index[PERM])
    close(out.loc[PREDS.index], expected)
    with pytest.raises(ValueError, match="y and the fitted exposures: index labels differ"):
        fitted.transform(PREDS.set_axis([f"x{i}" for i in range(N)]))


def test_feature_neutral_target_matches_rows_by_label():
    expected = ref.neutralize(TARGET.to_numpy(), FEATURES.to_numpy(), eras=ERAS.to_numpy())
    close(nk.feature_neutral_target(TARGET, FEATURES.iloc[PERM], eras=ERAS), expected)
    close(nk.feature_neutral_target(TARGET, FEATURES, eras=ERAS.iloc[PERM]), expected)


@pytest.mark.parametrize(
    "call",
    [
        lambda e: nk.numerai_corr(PREDS, TARGET, eras=e),
        lambda e: nk.mmc(PREDS, TARGET, stakes=STAKES, eras=e),
        lambda e: nk.rank(PREDS, eras=e),
        lambda e: nk.gaussianize(PREDS, eras=e),
        lambda e: nk.feature_exposure(PREDS, FEATURES, eras=e)["rms"],
        lambda e: nk.correlation_contribution(PREDS, META, TARGET, eras=e),
    ],
    ids=["numerai_corr", "mmc", "rank", "gaussianize", "feature_exposure", "contribution"],
)
def test_eras_series_in_another_row_order_matches_by_label(call):
    # was numerai_corr off by 0.017 and so on: a Series of eras paired by position
    expected = call(ERAS.to_numpy())
    got = call(ERAS.iloc[PERM])
    close(got, expected)


def test_eras_as_a_dict_is_refused():
    # was: the dict's keys used as labels, every row its own era
    with pytest.raises(TypeError, match="eras: a dict is not accepted"):
        nk.rank(PREDS, eras=ERAS.to_dict())


def test_existing_index_checks_now_share_one_wording():
    other = TARGET.set_axis([f"x{i}" for i in range(N)])
    messages = []
    for call in (
        lambda: nk.numerai_corr(PREDS, other),
        lambda: nk.mmc(PREDS, other, stakes=STAKES),
        lambda: nk.feature_neutral_corr(PREDS, FEATURES, other),
    ):
        with pytest.raises(ValueError) as err:
            call()
        messages.append(str(err.value).split(":")[0])
    assert messages == ["target and preds"] * 3


# ------------------------------------------------------------ valid input refused


@pytest.mark.parametrize("view", ["column", "reversed"])
def test_non_contiguous_target_is_accepted(view):
    # was pybind11's "incompatible function arguments"
    block = np.column_stack([RNG.normal(size=N), TARGET.to_numpy()])
    t = block[:, -1] if view == "column" else np.ascontiguousarray(TARGET.to_numpy()[::-1])[::-1]
    assert not t.flags.c_contiguous
    p, m = PREDS.to_numpy(), META.to_numpy()
    t_c = np.ascontiguousarray(t)
    for call in (
        lambda t: nk.numerai_corr(p, t),
        lambda t: nk.pearson(p, t),
        lambda t: nk.corr(p, t, eras=ERAS.to_numpy()),
        lambda t: nk.correlation_contribution(p, m, t),
        lambda t: nk.neutral_contribution(p, m, FEATURES.to_numpy(), t),
        lambda t: nk.mmc(p, t, stakes=[1.0, 2.0]),
        lambda t: nk.feature_neutral_corr(p, FEATURES.to_numpy(), t),
        lambda t: nk.correlation_contribution(p, t, TARGET.to_numpy()),  # as metamodel
    ):
        close(call(t), call(t_c), rtol=0)


@pytest.mark.parametrize("backend", ["nullable", "pyarrow"])
def test_nullable_and_pyarrow_columns_without_na_are_accepted(backend):
    # was "non-numeric" (read_parquet(dtype_backend="pyarrow") produces these)
    preds, feats, target = (with_backend(x, backend) for x in (PREDS, FEATURES, TARGET))
    close(nk.neutralize(preds, feats, eras=ERAS), nk.neutralize(PREDS, FEATURES, eras=ERAS))
    close(nk.numerai_corr(preds, target, eras=ERAS), nk.numerai_corr(PREDS, TARGET, eras=ERAS))
    close(nk.feature_exposure(preds, feats)["rms"], nk.feature_exposure(PREDS, FEATURES)["rms"])
    int8 = FEATURES.astype("Int8" if backend == "nullable" else "int8[pyarrow]")
    close(nk.neutralize(PREDS, int8), nk.neutralize(PREDS, FEATURES))


@pytest.mark.parametrize("backend", ["nullable", "pyarrow"])
def test_na_in_nullable_columns_follows_nan_policy(backend):
    preds = with_backend(PREDS, backend)
    preds.iloc[3, 0] = pd.NA
    with pytest.raises(ValueError, match="preds: contains 1 NaN"):
        nk.numerai_corr(preds, TARGET)
    as_nan = PREDS.copy()
    as_nan.iloc[3, 0] = np.nan
    close(
        nk.numerai_corr(preds, TARGET, nan_policy="omit"),
        nk.numerai_corr(as_nan, TARGET, nan_policy="omit"),
    )
    ints = FEATURES["w"].astype("Int64" if backend == "nullable" else "int64[pyarrow]")
    ints.iloc[0] = pd.NA  # an integer column with NA: float64 with NaN
    ranked = nk.rank(ints, nan_policy="omit")
    assert np.isnan(ranked.iloc[0]) and not np.isnan(ranked.iloc[1:]).any()


def test_bool_is_used_as_zero_one():
    flags = FEATURES > 2
    close(nk.neutralize(PREDS, flags), nk.neutralize(PREDS, flags.astype(np.int8)))
    close(nk.rank(flags["w"]), nk.rank(flags["w"].astype(float)))
    close(nk.pearson(flags["w"], TARGET), nk.pearson(flags["w"].astype(float), TARGET))


def test_n_threads_bound_is_stated():
    for bad in (2**31, 10**6):
        with pytest.raises(ValueError, match=r"n_threads: expected an int from 1 to 1024"):
            nk.rank(PREDS, n_threads=bad)
    close(nk.rank(PREDS, n_threads=1024), nk.rank(PREDS, n_threads=1))


def test_huge_top_bottom_means_every_row():
    # was pybind11's "incompatible function arguments" for top_bottom >= 2**63
    everything = nk.numerai_corr(PREDS, TARGET, eras=ERAS)
    for tb in (N, 2**63, 10**30):
        close(nk.numerai_corr(PREDS, TARGET, eras=ERAS, top_bottom=tb), everything)
    full = nk.correlation_contribution(PREDS, META, TARGET)
    close(nk.correlation_contribution(PREDS, META, TARGET, top_bottom=2**64), full)
    with pytest.raises(ValueError, match="top_bottom"):
        nk.numerai_corr(PREDS, TARGET, top_bottom=0)


def test_zero_dimensional_proportion_is_a_number():
    close(
        nk.neutralize(PREDS, FEATURES, proportion=np.array(0.5)),
        nk.neutralize(PREDS, FEATURES, proportion=0.5),
    )
    with pytest.raises(ValueError, match="proportion: must lie in"):
        nk.neutralize(PREDS, FEATURES, proportion=np.array(1.5))


@pytest.mark.parametrize("bad", [3, 2.5, "era", np.int64(3), np.array(3)])
def test_scalar_eras_is_a_clear_type_error(bad):
    with pytest.raises(TypeError, match="eras: expected one label per row"):
        nk.numerai_corr(PREDS, TARGET, eras=bad)


def test_tuple_era_labels_are_one_label_each():
    as_tuples = [(label, 2024) for label in ERAS]
    expected = nk.numerai_corr(PREDS, TARGET, eras=ERAS.to_numpy())
    got = nk.numerai_corr(PREDS, TARGET, eras=as_tuples)
    assert list(got.index) == [("a", 2024), ("b", 2024), ("c", 2024)]
    close(got, expected)
    close(nk.neutralize(PREDS, FEATURES, eras=as_tuples), nk.neutralize(PREDS, FEATURES, eras=ERAS))
    close(
        nk.mmc(PREDS, TARGET, stakes=STAKES, eras=pd.Series(as_tuples, index=INDEX)),
        nk.mmc(PREDS, TARGET, stakes=STAKES, eras=ERAS),
    )


def test_structured_arrays_field_views_accepted_whole_refused():
    rec = np.zeros(N, dtype=[("pred", "f8"), ("target", "f8"), ("flag", "i1")])
    rec["pred"], rec["target"] = PREDS["m1"], TARGET
    got = nk.numerai_corr(rec["pred"], rec["target"])  # strides of 17 bytes
    assert got == pytest.approx(nk.numerai_corr(PREDS["m1"].to_numpy(), TARGET.to_numpy()))
    feats = field_view(FEATURES.to_numpy())
    close(nk.neutralize(PREDS.to_numpy(), feats), nk.neutralize(PREDS.to_numpy(), FEATURES))
    with pytest.raises(TypeError, match=r"preds: a structured array \(fields"):
        nk.numerai_corr(rec, TARGET.to_numpy())


@pytest.mark.parametrize(
    "call",
    [
        lambda s: nk.mmc(PREDS, TARGET, stakes=s),
        lambda s: nk.mmc_loo(PREDS, TARGET, s),
        lambda s: nk.stake_weighted_metamodel(PREDS, s),
        lambda s: nk.stake_weight(PREDS, s),
    ],
    ids=["mmc", "mmc_loo", "stake_weighted_metamodel", "stake_weight"],
)
def test_stakes_whose_sum_overflows_are_scaled_not_refused(call):
    # was an error naming no argument: only the ratios of the stakes matter
    equal = pd.Series([1.0, 1.0], index=PREDS.columns)
    close(call(pd.Series([1e308, 1e308], index=PREDS.columns)), call(equal), rtol=1e-13)
    close(call(pd.Series([2.0**-1074, 2.0**-1074], index=PREDS.columns)), call(equal), rtol=0)
    close(call(pd.Series([1e307, 3e307], index=PREDS.columns)), call(STAKES), rtol=1e-13)


def test_bags_upper_bound():
    # was 285 s and 19 GB for bags=10**7
    for fn in (
        lambda b: nk.mmc(PREDS, TARGET, stakes=STAKES, bags=b),
        lambda b: nk.mmc_loo(PREDS, TARGET, STAKES, bags=b),
    ):
        with pytest.raises(ValueError, match="bags: at most 100000 bags"):
            fn(10**7)
    n = 3000  # 100000 bags x 3000 rows > 2**28 metamodel values
    preds = RNG.normal(size=(n, 2))
    with pytest.raises(ValueError, match=r"bags: 100000 bags x 3000 rows would need .* GiB"):
        nk.mmc(preds, RNG.normal(size=n), stakes=[1.0, 1.0], bags=100_000)
    users = 3000  # 100000 bags x 3000 users: 2.2 GiB of float64 bag weights
    with pytest.raises(ValueError, match=r"bags: 100000 bags x 3000 users would need"):
        nk.mmc(
            RNG.normal(size=(20, users)), RNG.normal(size=20), stakes=np.ones(users), bags=100_000
        )


ODD_INPUTS = {
    "object": np.array(["a"] * N, dtype=object),
    "complex": np.ones(N, dtype=complex),
    "datetime": pd.Series(pd.date_range("2020", periods=N)),
    "strings": pd.Series(["x"] * N),
    "3-D": np.zeros((N, 2, 2)),
    "dict": {"a": 1},
    "structured": np.zeros(N, dtype=[("a", "f8"), ("b", "i4")]),
    "longdouble": np.ones(N, dtype=np.longdouble),
}


@pytest.mark.parametrize("kind", list(ODD_INPUTS))
@pytest.mark.parametrize(
    "call",
    [
        lambda x: nk.numerai_corr(x, TARGET.to_numpy()),
        lambda x: nk.numerai_corr(PREDS.to_numpy(), x),
        lambda x: nk.neutralize(x, FEATURES.to_numpy()),
        lambda x: nk.neutralize(PREDS.to_numpy(), x),
        lambda x: nk.mmc(x, TARGET.to_numpy(), stakes=[1.0]),
        lambda x: nk.feature_exposure(PREDS.to_numpy(), x),
        lambda x: nk.rank(x),
    ],
    ids=["preds", "target", "y", "exposures", "mmc-preds", "features", "rank"],
)
def test_refusals_name_the_argument_never_the_binding(kind, call):
    with pytest.raises((TypeError, ValueError)) as err:
        call(ODD_INPUTS[kind])
    message = str(err.value)
    assert "incompatible function arguments" not in message
    assert "internal" not in message
    assert message.split(":")[0] in {"preds", "target", "y", "exposures", "features", "x"}, message


# ------------------------------------------------------------ layouts and dtypes


@settings(max_examples=30)
@given(
    layout=st.sampled_from([*ODD_LAYOUTS, "field"]),
    dtype=st.sampled_from(["int8", "uint8", "int64", "float16", "float32", "float64", "bool"]),
    backend=st.sampled_from(PANDAS_BACKENDS),
    seed=st.integers(0, 2**16),
)
def test_any_layout_or_backend_gives_the_contiguous_result(layout, dtype, backend, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=(N, 3)).astype(dtype)
    t = rng.normal(size=N)
    expected_n = nk.neutralize(PREDS.to_numpy(), np.ascontiguousarray(x), eras=ERAS.to_numpy())
    expected_c = nk.pearson(np.ascontiguousarray(x), t)
    odd = field_view(x) if layout == "field" else odd_layout(x, layout)
    assert np.array_equal(odd, x)
    close(nk.neutralize(PREDS.to_numpy(), odd, eras=ERAS.to_numpy()), expected_n, rtol=1e-12)
    close(nk.pearson(odd, odd_layout(t, "reversed")), expected_c, rtol=1e-12)
    frame = with_backend(pd.DataFrame(x, index=INDEX), backend)
    close(nk.neutralize(PREDS, frame, eras=ERAS), expected_n, rtol=1e-12)


# ------------------------------------------------------------ neutralize(nan_policy)


def _with_nan() -> pd.DataFrame:
    y = PREDS.copy()
    y.iloc[[0, 5, 7], 0] = np.nan
    y.iloc[[5, 11], 1] = np.nan
    return y


def test_neutralize_nan_raises_by_default_naming_y():
    with pytest.raises(ValueError, match=r"y: contains 5 NaN or infinite value\(s\); first in"):
        nk.neutralize(_with_nan(), FEATURES, eras=ERAS)
    with pytest.raises(ValueError, match="nan_policy: expected 'raise' or 'omit'"):
        nk.neutralize(PREDS, FEATURES, nan_policy="drop")


def test_neutralize_omit_each_column_on_its_own_rows():
    y = _with_nan()
    out = nk.neutralize(y, FEATURES, eras=ERAS, nan_policy="omit", proportion=[0.5, 1.0])
    for p, res in zip((0.5, 1.0), out, strict=True):
        assert res.index.equals(y.index)
        for col in y.columns:
            ok = y[col].notna()
            assert res[col].isna().equals(~ok)  # NaN stays NaN, nothing else is NaN
            alone = nk.neutralize(y.loc[ok, col], FEATURES[ok], eras=ERAS[ok], proportion=p)
            close(res.loc[ok, col], alone)
        close(
            res,
            ref.neutralize(
                y.to_numpy(),
                FEATURES.to_numpy(),
                eras=ERAS.to_numpy(),
                proportion=p,
                nan_policy="omit",
            ),
        )
    # without NaN, omit is raise
    close(
        nk.neutralize(PREDS, FEATURES, eras=ERAS, nan_policy="omit"),
        nk.neutralize(PREDS, FEATURES, eras=ERAS),
        rtol=0,
    )


def test_neutralize_omit_hand_checked():
    # one era, one feature x = [0, 1, 2, 3], y = [1, NaN, 3, 7]: on rows 0, 2, 3 the
    # least-squares line of y on [x, 1] has slope 78/42 = 13/7 (by hand below)
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([1.0, np.nan, 3.0, 7.0])
    out = nk.neutralize(y, x, nan_policy="omit")
    xs, ys = np.array([0.0, 2.0, 3.0]), np.array([1.0, 3.0, 7.0])
    # slope = cov(x, y) / var(x) with means 5/3 and 11/3
    slope = ((xs - 5 / 3) @ (ys - 11 / 3)) / ((xs - 5 / 3) @ (xs - 5 / 3))
    assert slope == pytest.approx(13 / 7)
    fitted = 11 / 3 + slope * (xs - 5 / 3)
    assert np.isnan(out[1])
    close(out[[0, 2, 3]], ys - fitted, rtol=1e-12)


def test_neutralize_omit_refuses_nan_in_features():
    feats = FEATURES.astype(float)
    feats.iloc[2, 1] = np.nan
    for policy in ("raise", "omit"):
        with pytest.raises(
            ValueError, match=r"^exposures \(features\): contains 1 NaN .* whatever nan_policy"
        ):
            nk.neutralize(PREDS, feats, eras=ERAS, nan_policy=policy)
    with pytest.raises(ValueError, match=r"^features: contains 1 NaN"):
        nk.feature_neutral_target(TARGET, feats, eras=ERAS)
    with pytest.raises(ValueError, match=r"y: contains 1 infinite"):
        nk.neutralize(PREDS.replace(PREDS.iloc[0, 0], np.inf), FEATURES, nan_policy="omit")


# ------------------------------------------------------------ scale (found by a sweep)


def test_mmc_is_linear_in_the_target_at_any_scale():
    base = nk.mmc(PREDS, TARGET, metamodel=META, eras=ERAS)
    for scale in (1e300, 1e-300, 2.0**1000):
        got = nk.mmc(PREDS, TARGET * scale, metamodel=META, eras=ERAS)
        close(got / scale, base, rtol=1e-12)
    close(nk.mmc_loo(PREDS, TARGET * 1e300, STAKES), nk.mmc_loo(PREDS, TARGET, STAKES))


def test_orthogonalize_at_extreme_scales():
    base = nk.orthogonalize(PREDS, META, eras=ERAS)
    close(nk.orthogonalize(PREDS * 1e200, META * 1e-250, eras=ERAS) / 1e200, base, rtol=1e-12)


def test_power_exponent_beyond_float64_is_a_value_error():
    with pytest.raises(ValueError, match="p: expected a finite number > 0"):
        nk.power(PREDS, 2**1100)


def test_neutralize_series_refuses_two_columns_by_name():
    with pytest.raises(ValueError, match="series: expected one column, got 2"):
        nk.neutralize_series(PREDS.to_numpy(), META)


def test_sparse_columns_are_numbers():
    dense = pd.Series([1.0, 0.0, 2.0, 0.0, np.nan, 3.0])
    sparse = dense.astype(pd.SparseDtype("float64", 0.0))
    close(nk.rank(sparse, nan_policy="omit"), nk.rank(dense, nan_policy="omit"))
    with pytest.raises(ValueError, match="x: contains 1 NaN"):
        nk.rank(sparse)


def test_feature_neutral_target_omit_like_neutralize():
    # auxiliary targets have missing values (issue 10): each column on its own rows
    targets = pd.DataFrame({"t1": TARGET, "t2": TARGET * 2 + 1})
    targets.iloc[[1, 4], 0] = np.nan
    with pytest.raises(ValueError, match="target: contains 2 NaN"):
        nk.feature_neutral_target(targets, FEATURES, eras=ERAS)
    got = nk.feature_neutral_target(targets, FEATURES, eras=ERAS, nan_policy="omit")
    close(got, nk.neutralize(targets, FEATURES, eras=ERAS, nan_policy="omit"), rtol=0)
    slow = ref.feature_neutral_target(
        targets.to_numpy(), FEATURES.to_numpy(), eras=ERAS.to_numpy(), nan_policy="omit"
    )
    close(got, slow)
    assert got["t1"].isna().sum() == 2 and got["t2"].notna().all()


@pytest.mark.parametrize(
    "score",
    [
        lambda p, f, t, e, **kw: nk.feature_neutral_corr(p, f, t, eras=e, **kw),
        lambda p, f, t, e, **kw: nk.feature_neutral_corr(p, f, t, eras=e, preset="legacy", **kw),
        lambda p, f, t, e, **kw: nk.neutral_correlation(p, f, t, eras=e, **kw),
    ],
    ids=["fnc", "fnc-legacy", "neutral_correlation"],
)
def test_feature_neutral_scores_omit_each_column_on_its_own_rows(score):
    preds, target = PREDS.copy(), TARGET.copy()
    preds.iloc[[0, 3, 8], 0] = np.nan
    target.iloc[[5]] = np.nan
    with pytest.raises(ValueError, match="preds: contains 3 NaN"):
        score(preds, FEATURES, target, ERAS)
    got = score(preds, FEATURES, target, ERAS, nan_policy="omit")
    for col in preds.columns:
        ok = preds[col].notna() & target.notna()
        alone = score(preds.loc[ok, col], FEATURES[ok], target[ok], ERAS[ok])
        close(got[col], np.ravel(alone), rtol=1e-12)
    close(
        score(PREDS, FEATURES, TARGET, ERAS, nan_policy="omit"),
        score(PREDS, FEATURES, TARGET, ERAS),
        rtol=0,
    )


@pytest.mark.parametrize("scale", [2.0**1000, 2.0**-1000, 1e300, 1e-300])
def test_correlation_scores_do_not_see_the_target_scale(scale):
    for name in ("pearson", "corr", "numerai_corr"):
        fn = getattr(nk, name)
        close(fn(PREDS, TARGET * scale, eras=ERAS), fn(PREDS, TARGET, eras=ERAS), rtol=1e-12)
    cov = nk.covariance(PREDS, TARGET * scale, eras=ERAS)
    close(cov / scale, nk.covariance(PREDS, TARGET, eras=ERAS), rtol=1e-12)


def test_feature_correlations_of_preds_near_float_max():
    p = PREDS.to_numpy().copy()
    p[0, 0], p[1, 0] = 1.7e308, -1.7e308
    close(
        nk.feature_correlations(p, FEATURES),
        nk.feature_correlations(p * 2.0**-1000, FEATURES),
        rtol=1e-12,
    )


def test_feature_exposure_omit_each_column_on_its_own_rows():
    preds = PREDS.copy()
    preds.iloc[[0, 2, 9], 1] = np.nan
    with pytest.raises(ValueError, match="preds: contains 3 NaN"):
        nk.feature_exposure(preds, FEATURES, eras=ERAS)
    got = nk.feature_correlations(preds, FEATURES, eras=ERAS, nan_policy="omit")
    ok = preds["m2"].notna()
    alone = nk.feature_correlations(preds.loc[ok, "m2"], FEATURES[ok], eras=ERAS[ok])
    close(got["m2"], alone, rtol=1e-12)
    close(got["m1"], nk.feature_correlations(PREDS["m1"], FEATURES, eras=ERAS), rtol=0)
    exposure = nk.feature_exposure(preds, FEATURES, eras=ERAS, nan_policy="omit")
    close(
        exposure["rms"]["m2"],
        nk.feature_exposure(preds.loc[ok, "m2"], FEATURES[ok], eras=ERAS[ok])["rms"],
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    "name, args",
    [
        ("feature_correlations", ("preds", "features")),
        ("feature_exposure", ("preds", "features")),
        ("feature_neutral_corr", ("preds", "features", "target")),
        ("neutral_correlation", ("preds", "features", "target")),
    ],
)
def test_diagnostics_omit_vs_reference(name, args):
    preds, target = PREDS.copy(), TARGET.copy()
    preds.iloc[[0, 3, 8, 13], 0] = np.nan
    preds.iloc[[3, 20], 1] = np.nan
    target.iloc[[7]] = np.nan
    inputs = {"preds": preds, "features": FEATURES, "target": target}
    fast = getattr(nk, name)(*[inputs[a] for a in args], eras=ERAS, nan_policy="omit")
    slow = getattr(ref, name)(*[inputs[a] for a in args], eras=ERAS, nan_policy="omit")
    if name == "feature_exposure":
        for stat in ("std", "rms", "max"):
            close(fast[stat], slow[stat])
        assert (fast["max_feature"] == slow["max_feature"]).all().all()
    else:
        close(fast, slow)
