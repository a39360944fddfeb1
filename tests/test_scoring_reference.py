"""Fast scoring functions against their reference twins (neutralkit.reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import neutralkit as nk
from neutralkit import reference as ref

TOL = 1e-9


@st.composite
def era_data(draw, min_rows=2, max_cols=4, ties=True):
    """Predictions (with ties, mixed dtypes), a target, a metamodel, shuffled eras."""
    n_eras = draw(st.integers(1, 4))
    sizes = [draw(st.integers(min_rows, 25)) for _ in range(n_eras)]
    n = sum(sizes)
    m = draw(st.integers(1, max_cols))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    eras = np.repeat(np.array([f"era{e:02d}" for e in range(n_eras)]), sizes)
    rng.shuffle(eras)
    kind = draw(st.sampled_from(["float64", "float32", "int8", "rounded"]))
    raw = rng.normal(size=(n, m))
    if kind == "int8":
        x = rng.integers(0, 5, size=(n, m)).astype(np.int8)
    elif kind == "rounded" and ties:
        x = np.round(raw, 1)
    else:
        x = raw.astype(kind if kind != "rounded" else "float64")
    if draw(st.booleans()):
        x = np.asfortranarray(x)
    target = rng.integers(0, 5, size=n) / 4 if draw(st.booleans()) else rng.normal(size=n)
    metamodel = rng.normal(size=n)
    return x, target, metamodel, eras, rng


def close(a, b, tol=TOL):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    np.testing.assert_allclose(a[ok], b[ok], rtol=0, atol=tol)


@settings(max_examples=25)
@given(era_data(min_rows=1), st.sampled_from(["average", "first", "ordinal"]))
def test_rank_and_gaussianize_match_reference(data, method):
    x, _, _, eras, _ = data
    close(nk.rank(x, eras=eras, method=method), ref.rank(x, eras=eras, method=method))
    g = nk.gaussianize(x, eras=eras, method=method)
    gr = ref.gaussianize(x, eras=eras, method=method)
    close(g, gr, 1e-12 * max(1.0, float(np.max(np.abs(gr)))))


@settings(max_examples=20)
@given(era_data(), st.floats(0.25, 3.0))
def test_power_matches_reference(data, p):
    x, *_ = data
    close(nk.power(x, p), ref.power(x, p))


@settings(max_examples=25)
@given(era_data())
def test_pearson_covariance_corr_match_reference(data):
    x, t, _, eras, _ = data
    for name in ["pearson", "covariance", "corr"]:
        close(getattr(nk, name)(x, t, eras=eras), getattr(ref, name)(x, t, eras=eras))


@settings(max_examples=25)
@given(era_data(), st.sampled_from([None, 1, 3, 40]), st.booleans())
def test_numerai_corr_matches_reference(data, top_bottom, pow15):
    x, t, _, eras, _ = data
    kw = dict(eras=eras, top_bottom=top_bottom, target_pow15=pow15)
    close(nk.numerai_corr(x, t, **kw), ref.numerai_corr(x, t, **kw))


def _clear_cut(x, mm, eras, top_bottom, neutralizers=None) -> bool:
    """False if the top/bottom selection hinges on a tie of p_perp values: in exact
    arithmetic such ties are common on tiny integer data, and which tied row rounding
    puts first differs between any two implementations."""
    if not top_bottom:
        return True
    n_rows = len(np.asarray(mm))
    p = np.asarray(ref.gaussianize(np.asarray(x, dtype=np.float64), eras=eras), dtype=float)
    m = np.asarray(ref.gaussianize(np.asarray(mm, dtype=np.float64), eras=eras), dtype=float)
    p, m = p.reshape(n_rows, -1), m.reshape(n_rows)
    if neutralizers is not None:
        p = np.asarray(nk.reference.neutralize(p, neutralizers, eras=eras))
        m = np.asarray(nk.reference.neutralize(m, neutralizers, eras=eras))
    labels = np.zeros(len(p)) if eras is None else np.asarray(eras)
    for e in np.unique(labels):
        rows = labels == e
        n = int(rows.sum())
        if 2 * top_bottom >= n:
            continue
        pe, me = p[rows], m[rows]
        if me @ me == 0:
            continue
        perp = pe - np.outer(me, (pe.T @ me) / (me @ me))
        srt = np.sort(perp, axis=0)
        for cut in (top_bottom, n - top_bottom):
            if np.any(np.abs(srt[cut] - srt[cut - 1]) < 1e-9):
                return False
    return True


@settings(max_examples=25)
@given(era_data(), st.sampled_from([None, 1, 4, 40]))
def test_correlation_contribution_matches_reference(data, top_bottom):
    x, t, mm, eras, _ = data
    assume(_clear_cut(x, mm, eras, top_bottom))
    kw = dict(eras=eras, top_bottom=top_bottom)
    close(
        nk.correlation_contribution(x, mm, t, **kw),
        ref.correlation_contribution(x, mm, t, **kw),
    )


@settings(max_examples=25)
@given(era_data(min_rows=6), st.sampled_from([None, 2]))
def test_neutral_contribution_matches_reference(data, top_bottom):
    x, t, mm, eras, rng = data
    feats = rng.integers(0, 5, size=(len(t), 2)).astype(np.int8)
    assume(_clear_cut(x, mm, eras, top_bottom, feats))
    kw = dict(eras=eras, top_bottom=top_bottom)
    close(
        nk.neutral_contribution(x, mm, feats, t, **kw),
        ref.neutral_contribution(x, mm, feats, t, **kw),
        1e-8,
    )


@settings(max_examples=20)
@given(era_data(min_rows=3), st.integers(0, 2**31))
def test_omit_matches_reference_and_scoring_alone(data, seed):
    x, t, mm, eras, _ = data
    rng = np.random.default_rng(seed)
    x = x.astype(np.float64)
    x[rng.random(x.shape) < 0.15] = np.nan
    t = t.copy()
    t[rng.random(len(t)) < 0.05] = np.nan
    for name in ["pearson", "corr", "numerai_corr"]:
        got = getattr(nk, name)(x, t, eras=eras, nan_policy="omit")
        close(got, getattr(ref, name)(x, t, eras=eras, nan_policy="omit"))
    got = nk.correlation_contribution(x, mm, t, eras=eras, nan_policy="omit")
    close(got, ref.correlation_contribution(x, mm, t, eras=eras, nan_policy="omit"))
    # column 0 scored alone on its non-NaN rows, era by era
    keep = ~np.isnan(x[:, 0]) & ~np.isnan(t)
    alone = nk.numerai_corr(x[:, 0], t, eras=eras, nan_policy="omit")[0]
    for era, value in alone.items():
        rows = keep & (eras == era)
        if rows.sum() >= 2:
            assert value == pytest.approx(
                nk.numerai_corr(x[rows, 0], t[rows]), abs=TOL, nan_ok=True
            )
        else:
            assert np.isnan(value)


@settings(max_examples=20)
@given(era_data(), st.integers(1, 5))
def test_stake_weight_matches_reference(data, k):
    x, *_ = data
    rng = np.random.default_rng(k)
    df = pd.DataFrame(x, columns=[f"u{j}" for j in range(x.shape[1])])
    stakes = pd.Series(rng.random(x.shape[1]) + 0.1, index=df.columns)
    close(nk.stake_weight(df, stakes), ref.stake_weight(df, stakes))
    close(nk.stake_weight(x, stakes.to_numpy()), ref.stake_weight(x, stakes.to_numpy()))


@settings(max_examples=25)
@given(era_data(min_rows=1), st.sampled_from(["average", "first"]), st.integers(0, 2**31))
def test_transforms_and_stake_weight_under_omit_match_reference(data, method, seed):
    x, _, _, eras, _ = data
    rng = np.random.default_rng(seed)
    x = x.astype(np.float64)
    x[rng.random(x.shape) < 0.3] = np.nan
    for fast, slow in ((nk.rank, ref.rank), (nk.gaussianize, ref.gaussianize)):
        got = fast(x, eras=eras, method=method, nan_policy="omit")
        expected = slow(x, eras=eras, method=method, nan_policy="omit")
        close(got, expected, 1e-12 * max(1.0, float(np.nanmax(np.abs(expected), initial=0))))
    close(nk.power(x, 1.5, nan_policy="omit"), ref.power(x, 1.5, nan_policy="omit"))
    stakes = rng.random(x.shape[1]) * (rng.random(x.shape[1]) < 0.8)
    stakes[0] += 0.5
    close(
        nk.stake_weight(x, stakes, nan_policy="omit"),
        ref.stake_weight(x, stakes, nan_policy="omit"),
    )
