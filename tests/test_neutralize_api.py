"""API behaviour of neutralization: kinds in and out, bad input, no mutation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk
from neutralkit import reference


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    n = 300
    x = rng.integers(0, 5, size=(n, 8), dtype=np.int8)
    y = rng.normal(size=(n, 3)) + x[:, :1]
    eras = np.array([f"era{e:03d}" for e in rng.integers(0, 4, size=n)])
    return x, y, eras


def test_pandas_in_pandas_out_with_index_and_columns(data):
    x, y, eras = data
    idx = pd.Index([f"id{i}" for i in range(len(y))], name="id")
    yf = pd.DataFrame(y, index=idx, columns=["a", "b", "c"])
    xf = pd.DataFrame(x, index=idx, columns=[f"f{j}" for j in range(x.shape[1])])
    out = nk.neutralize(yf, xf, eras=pd.Series(eras, index=idx))
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(idx) and list(out.columns) == ["a", "b", "c"]
    np.testing.assert_allclose(out.to_numpy(), nk.neutralize(y, x, eras=eras), atol=0)
    s = nk.neutralize(yf["b"], xf, eras=eras)
    assert isinstance(s, pd.Series) and s.name == "b" and s.index.equals(idx)
    one_d = nk.neutralize(y[:, 1], x, eras=eras)
    assert one_d.shape == (len(y),)
    np.testing.assert_array_equal(one_d, s.to_numpy())


def test_lists_are_accepted(data):
    x, y, eras = data
    out = nk.neutralize(y[:, 0].tolist(), x.tolist(), eras=list(eras))
    np.testing.assert_allclose(out, nk.neutralize(y[:, 0], x, eras=eras), atol=1e-12)


def test_era_labels_of_any_hashable_type_in_any_order(data):
    x, y, eras = data
    mapping = {e: lab for e, lab in zip(sorted(set(eras)), [3, "b", (1, 2), 2.5], strict=False)}
    mixed = np.empty(len(eras), dtype=object)
    mixed[:] = [mapping[e] for e in eras]
    np.testing.assert_array_equal(nk.neutralize(y, x, eras=mixed), nk.neutralize(y, x, eras=eras))


def test_proportion_list_returns_list_in_order(data):
    x, y, eras = data
    out = nk.neutralize(pd.DataFrame(y), x, eras=eras, proportion=[1.0, 0.5])
    assert isinstance(out, list) and all(isinstance(o, pd.DataFrame) for o in out)
    np.testing.assert_allclose(
        out[1].to_numpy(),
        reference.neutralize(y, x, eras=eras, proportion=0.5),
        atol=1e-10,
    )


def test_constant_prediction_column_neutralizes_to_exact_zeros(data):
    x, y, eras = data
    y = y.copy()
    y[:, 1] = 0.7
    out = nk.neutralize(y, x, eras=eras)
    assert np.all(out[:, 1] == 0.0)
    assert np.all(nk.neutralize(y, x, eras=eras, standardize=True)[:, 1] == 0.0)
    np.testing.assert_allclose(
        nk.neutralize(y, x, eras=eras, proportion=0.25)[:, 1], 0.75 * 0.7, rtol=1e-15
    )


def test_standardize_gives_unit_std_per_era(data):
    x, y, eras = data
    out = nk.neutralize(y, x, eras=eras, standardize=True)
    for e in np.unique(eras):
        np.testing.assert_allclose(out[eras == e].std(axis=0, ddof=1), 1.0, rtol=1e-12)


def test_inputs_are_never_modified(data):
    x, y, eras = data
    xs, ys, es = x.copy(), y.copy(), eras.copy()
    yf = pd.DataFrame(y.copy())
    yf_copy = yf.copy()
    nk.neutralize(y, x, eras=eras, standardize=True, proportion=[0.5, 1.0])
    nk.neutralize(yf, x, eras=eras)
    fitted = nk.Neutralizer(x, eras=eras)
    fitted.transform(y)
    nk.orthogonalize(y, y[:, 0], eras=eras)
    np.testing.assert_array_equal(x, xs)
    np.testing.assert_array_equal(y, ys)
    np.testing.assert_array_equal(eras, es)
    pd.testing.assert_frame_equal(yf, yf_copy)


def test_f_order_and_strided_exposures(data):
    x, y, eras = data
    expected = nk.neutralize(y, x, eras=eras)
    np.testing.assert_allclose(
        nk.neutralize(y, np.asfortranarray(x), eras=eras), expected, atol=1e-12
    )
    wide = np.repeat(x, 2, axis=1)
    np.testing.assert_allclose(nk.neutralize(y, wide[:, ::2], eras=eras), expected, atol=1e-12)
    np.testing.assert_allclose(
        nk.neutralize(np.asfortranarray(y)[:, ::-1], x, eras=eras),
        expected[:, ::-1],
        atol=1e-12,
    )


def test_unsigned_and_big_endian_inputs(data):
    x, y, eras = data
    expected = nk.neutralize(y, x, eras=eras)
    np.testing.assert_allclose(
        nk.neutralize(y, x.astype(np.uint8), eras=eras), expected, atol=1e-12
    )
    np.testing.assert_allclose(nk.neutralize(y, x.astype(">f8"), eras=eras), expected, atol=1e-12)


# ---- bad input: each a clear exception naming the argument ----


@pytest.mark.parametrize("arg", ["y", "exposures"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_names_argument_count_and_first_column(data, arg, bad):
    x, y, eras = data
    x = x.astype(np.float64)
    target = y.copy() if arg == "y" else x.copy()
    target[5, 2] = bad
    target[9, 1] = bad
    args = (target, x) if arg == "y" else (y, target)
    name = "exposures \\(features\\)" if arg == "exposures" else arg
    with pytest.raises(ValueError, match=rf"^{name}: contains 2 NaN .*first in column 1"):
        nk.neutralize(*args, eras=eras)


def test_nan_in_dataframe_names_the_column_label(data):
    x, y, _eras = data
    yf = pd.DataFrame(y, columns=["a", "b", "c"])
    yf.iloc[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"y: contains 1 NaN.*'c'"):
        nk.neutralize(yf, x)


def test_length_mismatches(data):
    x, y, eras = data
    with pytest.raises(ValueError, match="length mismatch: exposures"):
        nk.neutralize(y, x[:-1])
    with pytest.raises(ValueError, match="length mismatch: eras"):
        nk.neutralize(y, x, eras=eras[:-1])
    fitted = nk.Neutralizer(x, eras=eras)
    with pytest.raises(ValueError, match="length mismatch: y"):
        fitted.transform(y[:-1])
    with pytest.raises(ValueError, match="length mismatch: u"):
        nk.orthogonalize(y, y[:-1, 0])


def test_empty_input():
    with pytest.raises(ValueError, match="y: empty input"):
        nk.neutralize(np.empty((0, 2)), np.empty((0, 3)))
    with pytest.raises(ValueError, match="exposures: empty input"):
        nk.neutralize(np.ones((4, 2)), np.empty((4, 0)))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), [0.5, 2.0]])
def test_proportion_outside_unit_interval(data, p):
    x, y, _ = data
    with pytest.raises(ValueError, match="proportion: must lie in"):
        nk.neutralize(y, x, proportion=p)


@pytest.mark.parametrize("p", ["0.5", None, True, [0.5, "a"]])
def test_proportion_not_a_number(data, p):
    x, y, _ = data
    with pytest.raises(TypeError, match="proportion: expected a number"):
        nk.neutralize(y, x, proportion=p)


def test_empty_proportion_list(data):
    x, y, _ = data
    with pytest.raises(ValueError, match="proportion: empty list"):
        nk.neutralize(y, x, proportion=[])


def test_object_and_string_arrays_are_type_errors(data):
    x, y, _ = data
    with pytest.raises(TypeError, match="exposures"):
        nk.neutralize(y, x.astype(str))
    with pytest.raises(TypeError, match="y"):
        nk.neutralize(y.astype(object), x)
    with pytest.raises(TypeError, match="exposures: every column must be numeric"):
        nk.neutralize(y, pd.DataFrame({"a": ["u"] * len(y), "b": 1.0}))
    # bool exposures are numbers 0/1
    np.testing.assert_array_equal(
        nk.neutralize(y, x > 2), nk.neutralize(y, (x > 2).astype(np.int8))
    )


def test_other_bad_options(data):
    x, y, eras = data
    with pytest.raises(ValueError, match="method"):
        nk.neutralize(y, x, method="svd")
    with pytest.raises(TypeError, match="intercept"):
        nk.neutralize(y, x, intercept="yes")
    with pytest.raises(ValueError, match="n_threads"):
        nk.neutralize(y, x, n_threads=0)
    with pytest.raises(ValueError, match=r"eras: contains \d+ missing"):
        nk.neutralize(y, x, eras=np.where(eras == eras[0], None, eras))
    with pytest.raises(ValueError, match="expected a 1-D or 2-D"):
        nk.neutralize(y[None], x)
    with pytest.raises(ValueError, match="u: is all zeros"):
        nk.orthogonalize(y, np.zeros(len(y)))
    with pytest.raises(RuntimeError, match="fit"):
        nk.Neutralizer().transform(y)


def test_neutralizer_transformer_protocol(data):
    x, y, eras = data
    est = nk.Neutralizer(eras=eras, proportion=0.5)
    params = est.get_params()
    assert params["proportion"] == 0.5 and params["intercept"] is True
    assert est.set_params(proportion=1.0) is est and est.proportion == 1.0
    out = est.fit(x).transform(y)
    np.testing.assert_allclose(out, nk.neutralize(y, x, eras=eras), atol=1e-12)
    assert est.n_features_in_ == x.shape[1]
    np.testing.assert_allclose(est.fit_transform(x, y), out, atol=0)
    with pytest.raises(ValueError, match="unknown parameter"):
        est.set_params(alpha=1)


def test_neutralizer_in_a_sklearn_pipeline(data):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone

    x, y, eras = data
    est = nk.Neutralizer(eras=eras)
    cloned = clone(est)
    assert cloned.get_params()["intercept"] is True
    assert sklearn.__version__
    np.testing.assert_allclose(
        cloned.fit(x).transform(y), nk.neutralize(y, x, eras=eras), atol=1e-12
    )
