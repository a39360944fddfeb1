"""Contribution family (neutralized weights, alpha, MPC, churn, turnover) against the
reference twins, hand-checked examples, invariants and one test per bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtri

import neutralkit as nk
from neutralkit import reference as ref
from strategies import layout

TOL = 1e-9


def close(a, b, tol=TOL):
    """Equal NaN pattern; values within tol relative to the scale of b."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(b)
    scale = max(1.0, float(np.max(np.abs(b[ok]), initial=0.0)))
    np.testing.assert_allclose(a[ok], b[ok], rtol=0, atol=tol * scale)


@st.composite
def contribution_data(draw, max_cols=40):
    """Predictions (ties, int8/float32/float64, C/F/strided), neutralizers (orthonormal
    per era or arbitrary), positive sample weights, a target, stakes, shuffled eras."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_eras = draw(st.integers(1, 3))
    sizes = [draw(st.integers(2, 30)) for _ in range(n_eras)]
    n = sum(sizes)
    m = draw(st.integers(1, max_cols))
    k = draw(st.integers(1, 4))
    eras = np.repeat(np.array([f"era{e}" for e in range(n_eras)]), sizes)
    kind = draw(st.sampled_from(["float64", "float32", "int8", "ties"]))
    if kind == "int8":
        x = rng.integers(-3, 4, size=(n, m)).astype(np.int8)
    elif kind == "ties":
        x = np.round(rng.normal(size=(n, m)), 1)
    else:
        x = rng.normal(size=(n, m)).astype(kind)
    order = draw(st.sampled_from(["C", "F", "strided"]))
    neut = rng.normal(size=(n, k))
    if draw(st.booleans()):  # orthonormal within each era, as Numerai ships them
        for e in np.unique(eras):
            rows = eras == e
            q, _ = np.linalg.qr(neut[rows])
            neut[rows] = np.hstack([q, np.zeros((rows.sum(), k - q.shape[1]))])
    else:
        neut /= np.sqrt(n)
    weights = rng.uniform(0.1, 2.0, size=n)
    target = rng.integers(0, 5, size=n) / 4 if draw(st.booleans()) else rng.normal(size=n)
    stakes = rng.uniform(0.0, 3.0, size=m)
    stakes[0] += 0.5  # a positive sum
    perm = rng.permutation(n)
    return (
        layout(x[perm], order),
        neut[perm],
        weights[perm],
        target[perm],
        stakes,
        eras[perm],
    )


# ------------------------------------------------------------------ property tests


@settings(max_examples=30)
@given(contribution_data(), st.booleans())
def test_neutralized_weights_match_reference(data, cnorm):
    x, neut, w, _, _, eras = data
    fast = nk.neutralized_weights(x, neut, w, eras=eras, center_and_normalize=cnorm)
    slow = ref.neutralized_weights(x, neut, w, eras=eras, center_and_normalize=cnorm)
    close(fast, slow)


@settings(max_examples=30)
@given(contribution_data())
def test_alpha_matches_reference(data):
    x, neut, w, t, _, eras = data
    close(nk.alpha(x, neut, w, t, eras=eras), ref.alpha(x, neut, w, t, eras=eras))
    # one era: a Series by column
    close(nk.alpha(x, neut, w, t), ref.alpha(x, neut, w, t))


@settings(max_examples=30)
@given(contribution_data())
def test_mpc_matches_reference(data):
    x, neut, w, t, stakes, eras = data
    fast = nk.meta_portfolio_contribution(x, stakes, neut, w, t, eras=eras)
    slow = ref.meta_portfolio_contribution(x, stakes, neut, w, t, eras=eras)
    close(fast, slow, 1e-8)
    # the gradient is orthogonal to the stakes (residualized against the portfolio)
    s = stakes / stakes.sum()
    ok = ~np.isnan(fast.to_numpy()).any(axis=1)
    np.testing.assert_allclose(fast.to_numpy()[ok] @ s, 0.0, atol=1e-9)


@settings(max_examples=30)
@given(contribution_data(max_cols=4), st.sampled_from([None, 1, 3, 50]))
def test_churn_and_turnover_match_reference(data, top_bottom):
    x, _, _, _, _, eras = data
    a = pd.DataFrame(np.asarray(x, dtype=np.float64))
    rng = np.random.default_rng(len(eras))
    b = a + rng.normal(scale=0.5, size=a.shape)
    try:
        slow = ref.churn(a, b, top_bottom, eras=eras)
    except ValueError:
        with pytest.raises(ValueError):
            nk.churn(a, b, top_bottom, eras=eras)
        return
    close(nk.churn(a, b, top_bottom, eras=eras), slow, 1e-12)
    close(nk.turnover(a, b, eras=eras), ref.turnover(a, b, eras=eras), 1e-12)


@settings(max_examples=20)
@given(contribution_data())
def test_nan_policy_omit_matches_reference(data):
    x, neut, w, t, stakes, eras = data
    x = np.asarray(x, dtype=np.float64).copy()
    rng = np.random.default_rng(x.shape[0])
    x[rng.random(x.shape) < 0.1] = np.nan
    t = t.copy()
    t[rng.random(t.shape) < 0.05] = np.nan
    fast = nk.neutralized_weights(x, neut, w, eras=eras, nan_policy="omit")
    close(fast, ref.neutralized_weights(x, neut, w, eras=eras, nan_policy="omit"))
    fast = nk.alpha(x, neut, w, t, eras=eras, nan_policy="omit")
    close(fast, ref.alpha(x, neut, w, t, eras=eras, nan_policy="omit"))
    try:
        slow = ref.mpc(x, stakes, neut, w, t, eras=eras, nan_policy="omit")
    except ValueError:  # an era left with fewer than 2 complete rows
        with pytest.raises(ValueError, match="era"):
            nk.mpc(x, stakes, neut, w, t, eras=eras, nan_policy="omit")
        return
    close(nk.mpc(x, stakes, neut, w, t, eras=eras, nan_policy="omit"), slow, 1e-8)


# ------------------------------------------------------------------ invariants


def _big(seed=0, n=200, m=70, k=3, n_eras=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, m))
    neut = rng.normal(size=(n, k)) / np.sqrt(n)
    w = rng.uniform(0.5, 2.0, size=n)
    t = rng.normal(size=n)
    stakes = rng.uniform(0.1, 1.0, size=m)
    eras = rng.integers(0, n_eras, size=n)
    return x, neut, w, t, stakes, eras


@pytest.mark.parametrize("n_eras", [1, 5])
def test_result_independent_of_thread_count(n_eras):
    x, neut, w, t, stakes, eras = _big(n_eras=n_eras)  # 70 columns: 3 column blocks
    for threads in (2, 3):
        np.testing.assert_array_equal(
            nk.neutralized_weights(x, neut, w, eras=eras, n_threads=1),
            nk.neutralized_weights(x, neut, w, eras=eras, n_threads=threads),
        )
        pd.testing.assert_frame_equal(
            nk.alpha(x, neut, w, t, eras=eras, n_threads=1),
            nk.alpha(x, neut, w, t, eras=eras, n_threads=threads),
        )
        pd.testing.assert_frame_equal(
            nk.mpc(x, stakes, neut, w, t, eras=eras, n_threads=1),
            nk.mpc(x, stakes, neut, w, t, eras=eras, n_threads=threads),
        )


def test_inputs_not_modified_and_dtypes_agree():
    x, neut, w, t, stakes, eras = _big()
    copies = [a.copy() for a in (x, neut, w, t, stakes, eras)]
    nk.neutralized_weights(x, neut, w, eras=eras, center_and_normalize=True)
    nk.alpha(x, neut, w, t, eras=eras)
    nk.mpc(x, stakes, neut, w, t, eras=eras)
    nk.churn(x[:, 0], x[:, 1], 5, eras=eras)
    for a, b in zip((x, neut, w, t, stakes, eras), copies, strict=True):
        np.testing.assert_array_equal(a, b)
    small = np.round(x * 10).clip(-100, 100)
    for dtype in ("int8", "float32"):
        np.testing.assert_array_equal(
            nk.alpha(small.astype(dtype), neut, w, t, eras=eras).to_numpy(),
            nk.alpha(small, neut, w, t, eras=eras).to_numpy(),
        )


def test_pandas_rows_in_another_order_are_aligned_by_label():
    x, neut, w, t, stakes, eras = _big(m=4)
    idx = pd.Index([f"id{i}" for i in range(len(t))])
    preds = pd.DataFrame(x, index=idx, columns=list("abcd"))
    st_ = pd.Series(stakes, index=list("abcd"))
    perm = np.random.default_rng(1).permutation(len(t))
    n_df = pd.DataFrame(neut, index=idx).iloc[perm]
    w_s, t_s, e_s = (pd.Series(v, index=idx).iloc[perm] for v in (w, t, eras))
    expected_a = nk.alpha(x, neut, w, t, eras=eras)
    expected_m = nk.mpc(x, stakes, neut, w, t, eras=eras)
    got_a = nk.alpha(preds, n_df, w_s, t_s, eras=e_s)
    got_m = nk.mpc(preds, st_, n_df, w_s, t_s, eras=e_s)
    np.testing.assert_allclose(got_a.to_numpy(), expected_a.to_numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(got_m.to_numpy(), expected_m.to_numpy(), rtol=0, atol=1e-15)
    assert list(got_m.columns) == list("abcd")
    got_w = nk.neutralized_weights(preds, n_df, w_s, eras=e_s)
    assert got_w.index.equals(idx)
    np.testing.assert_allclose(
        got_w.to_numpy(), nk.neutralized_weights(x, neut, w, eras=eras), rtol=0, atol=1e-15
    )
    # churn/turnover: previous given in another order
    cur = pd.Series(x[:, 0], index=idx)
    prev = pd.Series(x[:, 1], index=idx).iloc[perm]
    assert nk.churn(cur, prev) == pytest.approx(nk.churn(x[:, 0], x[:, 1]), abs=1e-15)
    assert nk.turnover(cur, prev) == pytest.approx(nk.turnover(x[:, 0], x[:, 1]), abs=1e-12)


def test_stakes_subset_in_stakes_order():
    x, neut, w, t, stakes, _ = _big(m=4)
    preds = pd.DataFrame(x, columns=list("abcd"))
    all_four = nk.mpc(preds, pd.Series(stakes, index=list("abcd")), neut, w, t)
    sub = nk.mpc(preds, pd.Series([2.0, 1.0], index=["c", "a"]), neut, w, t)
    assert list(sub.index) == ["c", "a"]
    slow = ref.mpc(preds, pd.Series([2.0, 1.0], index=["c", "a"]), neut, w, t)
    close(sub, slow)
    assert list(all_four.index) == list("abcd")
    # array stakes: every column, indexed by the column labels
    close(nk.mpc(preds, stakes, neut, w, t), all_four)


# ------------------------------------------------------------------ hand-checked

# Three rows, predictions [3, 1, 2]: average ranks 3, 1, 2, uniform ranks 5/6, 1/6, 1/2,
# Gaussian scores a, -a, 0 with a = Φ⁻¹(5/6), p15 scores b, -b, 0 with b = a^1.5.
A = 0.967421566101701  # Φ⁻¹(5/6), from tables
B = A**1.5


def test_hand_checked_constants():
    assert ndtri(5 / 6) == pytest.approx(A, abs=1e-15)


def test_neutralized_weights_by_hand():
    preds = np.array([3.0, 1.0, 2.0])
    neut = np.array([[1.0], [0.0], [1.0]]) / np.sqrt(2.0)
    v = np.array([1.0, 2.0, 1.0])
    # Nᵀ(v∘s) = (b + 0)/√2; N of that = [b/2, 0, b/2]; s minus it = [b/2, -b, -b/2];
    # times v: [b/2, -2b, -b/2]
    w = nk.neutralized_weights(preds, neut, v)
    np.testing.assert_allclose(w, [B / 2, -2 * B, -B / 2], rtol=1e-14)
    # centred: mean -2b/3 -> [7b/6, -4b/3, b/6]; abs sum 8b/3 -> [7/16, -1/2, 1/16]
    w = nk.neutralized_weights(preds, neut, v, center_and_normalize=True)
    np.testing.assert_allclose(w, [7 / 16, -1 / 2, 1 / 16], rtol=1e-14)


def test_alpha_by_hand():
    preds = np.array([3.0, 1.0, 2.0])
    neut = np.array([[1.0], [0.0], [1.0]]) / np.sqrt(2.0)
    v = np.array([1.0, 2.0, 1.0])
    t = np.array([1.0, 0.0, 0.5])  # centred: [0.5, -0.5, 0]
    # w·t_c = b/4 + b = 5b/4, over n = 3
    assert nk.alpha(preds, neut, v, t) == pytest.approx(5 * B / 12, rel=1e-14)


def test_mpc_by_hand():
    # N = e_3, v = 1: the third row is zeroed. p1 = [3, 1, 2] -> w1 = [b, -b, 0];
    # p2 = [2, 1, 3] -> s = [0, -b, b] -> w2 = [0, -b, 0].
    # W_c = [[b, b/3], [-b, -2b/3], [0, b/3]]; stakes 1:1 -> q = [2b/3, -5b/6, b/6];
    # t = [1, 0, 0] -> t_c = [2/3, -1/3, -1/3]; qᵀt_c = 2b/3, qᵀq = 7b²/6;
    # W_cᵀt_c = [b, b/3], W_cᵀq = [3b²/2, 5b²/6] -> Rᵀt_c = [b/7, -b/7];
    # mpc = ±(b/7) / (b √(7/6)) / 50 = ±1 / (350 √(7/6)).
    preds = pd.DataFrame({"p1": [3.0, 1.0, 2.0], "p2": [2.0, 1.0, 3.0]})
    neut = np.array([[0.0], [0.0], [1.0]])
    v = np.ones(3)
    t = np.array([1.0, 0.0, 0.0])
    out = nk.meta_portfolio_contribution(preds, pd.Series({"p1": 1.0, "p2": 1.0}), neut, v, t)
    expected = 1 / (350 * np.sqrt(7 / 6))
    np.testing.assert_allclose(out.to_numpy(), [expected, -expected], rtol=1e-12)
    assert nk.mpc is nk.meta_portfolio_contribution
    # alpha of the same data: w1·t_c / 3 = b/3, w2·t_c / 3 = b/9
    np.testing.assert_allclose(nk.alpha(preds, neut, v, t).to_numpy(), [B / 3, B / 9], rtol=1e-14)


def test_churn_and_turnover_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    y = np.array([6.0, 2.0, 3.0, 4.0, 5.0, 1.0])
    # top 2: x rows {4, 5}, y rows {4, 0}: 1/2 shared; bottom 2: x {0, 1}, y {5, 1}: 1/2
    assert nk.churn(x, y, top_bottom=2) == pytest.approx(0.5)
    assert nk.churn(x, x * 3, top_bottom=2) == 0.0
    # Spearman of x and y: d² = 25 + 0 + 0 + 0 + 0 + 25 -> 1 - 6·50/(6·35) = -3/7
    assert nk.churn(x, y) == pytest.approx(1 + 3 / 7)
    assert nk.turnover([0.5, -0.5, 0.0], [0.25, -0.25, 0.0]) == pytest.approx(0.25)
    # per era: era "a" is rows 0-2, era "b" rows 3-5
    out = nk.turnover(x, y, eras=["a", "a", "a", "b", "b", "b"])
    np.testing.assert_allclose(out[0].to_numpy(), [5 / 2, 5 / 2])


# ------------------------------------------------------------------ bad inputs


@pytest.fixture
def small():
    rng = np.random.default_rng(3)
    n = 12
    preds = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    neut = rng.normal(size=(n, 2)) / np.sqrt(n)
    return preds, neut, rng.uniform(0.5, 1.5, n), rng.normal(size=n), pd.Series({"a": 1.0})


def test_nan_in_neutralizers_is_refused(small):
    preds, neut, w, t, stakes = small
    neut[3, 1] = np.nan
    for call in (
        lambda: nk.neutralized_weights(preds, neut, w),
        lambda: nk.alpha(preds, neut, w, t, nan_policy="omit"),
        lambda: nk.mpc(preds, stakes, neut, w, t),
    ):
        with pytest.raises(ValueError, match="neutralizers"):
            call()


def test_nan_in_weights_is_refused(small):
    preds, neut, w, t, stakes = small
    w[0] = np.nan
    for call in (
        lambda: nk.neutralized_weights(preds, neut, w, nan_policy="omit"),
        lambda: nk.alpha(preds, neut, w, t),
        lambda: nk.mpc(preds, stakes, neut, w, t),
    ):
        with pytest.raises(ValueError, match="sample_weights"):
            call()


def test_nan_in_preds_or_target_raises_by_default(small):
    preds, neut, w, t, stakes = small
    bad = preds.copy()
    bad.iloc[2, 0] = np.nan
    with pytest.raises(ValueError, match="preds"):
        nk.alpha(bad, neut, w, t)
    with pytest.raises(ValueError, match="preds"):
        nk.mpc(bad, stakes, neut, w, t)
    t = t.copy()
    t[1] = np.nan
    with pytest.raises(ValueError, match="target"):
        nk.alpha(preds, neut, w, t)
    with pytest.raises(ValueError, match="target"):
        nk.mpc(preds, stakes, neut, w, t)


def test_mismatched_rows_are_refused(small):
    preds, neut, w, t, stakes = small
    with pytest.raises(ValueError, match="neutralizers"):
        nk.alpha(preds, neut[:-1], w, t)
    with pytest.raises(ValueError, match="sample_weights"):
        nk.neutralized_weights(preds, neut, w[:-1])
    with pytest.raises(ValueError, match="target"):
        nk.mpc(preds, stakes, neut, w, t[1:])
    # pandas: labels that differ are refused, naming both arguments
    relabeled = pd.Series(w, index=preds.index + 100)
    with pytest.raises(ValueError, match=r"sample_weights.*preds"):
        nk.alpha(preds, neut, relabeled, t)
    with pytest.raises(ValueError, match="previous"):
        nk.churn(np.arange(3.0), np.arange(4.0))


def test_stakes_naming_no_column_are_refused(small):
    preds, neut, w, t, _ = small
    with pytest.raises(ValueError, match=r"stakes.*not columns"):
        nk.mpc(preds, pd.Series({"a": 1.0, "zz": 2.0}), neut, w, t)
    with pytest.raises(ValueError, match="stakes"):
        nk.mpc(preds, [1.0, 2.0], neut, w, t)  # 2 stakes for 3 columns
    with pytest.raises(ValueError, match=r"stakes.*negative"):
        nk.mpc(preds, pd.Series({"a": 1.0, "b": -1.0}), neut, w, t)
    with pytest.raises(ValueError, match=r"stakes.*sum to 0"):
        nk.mpc(preds, pd.Series({"a": 0.0}), neut, w, t)
    with pytest.raises(ValueError, match=r"stakes.*NaN"):
        nk.mpc(preds, pd.Series({"a": np.nan, "b": 1.0}), neut, w, t)


def test_an_era_of_one_row_is_refused(small):
    preds, neut, w, t, stakes = small
    eras = np.array(["x"] * 11 + ["y"])
    for call in (
        lambda: nk.neutralized_weights(preds, neut, w, eras=eras),
        lambda: nk.alpha(preds, neut, w, t, eras=eras),
        lambda: nk.mpc(preds, stakes, neut, w, t, eras=eras),
    ):
        with pytest.raises(ValueError, match="era 'y' has 1 row"):
            call()


def test_bad_parameters(small):
    preds, neut, w, t, _ = small
    with pytest.raises(ValueError, match="nan_policy"):
        nk.alpha(preds, neut, w, t, nan_policy="drop")
    with pytest.raises(TypeError, match="top_bottom"):
        nk.churn(preds["a"], preds["b"], top_bottom=1.5)
    with pytest.raises(ValueError, match="infinite"):
        nk.turnover([1.0, np.inf, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="column labels"):
        nk.churn(preds[["a"]], preds[["b"]])


def test_long_eras_both_rank_paths_match_reference():
    # columns the fused bucket rank takes (normal, ties) and columns it hands to the
    # general sort (Cauchy tails, two far-apart clusters, an era over 2^14 rows)
    rng = np.random.default_rng(11)
    sizes = [3000, 17000]
    n = sum(sizes)
    eras = np.repeat(["a", "b"], sizes)
    x = np.column_stack(
        [
            rng.normal(size=n),
            np.round(rng.normal(size=n), 1),
            rng.standard_cauchy(size=n),
            rng.normal(size=n) + 1e9 * rng.integers(0, 2, size=n),
        ]
    )
    neut = rng.normal(size=(n, 3)) / np.sqrt(n)
    w = rng.uniform(0.5, 2.0, size=n)
    t = rng.normal(size=n)
    stakes = np.array([1.0, 2.0, 0.5, 1.5])
    close(nk.alpha(x, neut, w, t, eras=eras), ref.alpha(x, neut, w, t, eras=eras))
    close(
        nk.mpc(x, stakes, neut, w, t, eras=eras),
        ref.mpc(x, stakes, neut, w, t, eras=eras),
        1e-8,
    )
