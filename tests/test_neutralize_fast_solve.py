"""The solve half of the exact byte route (small non-negative integer features, one-shot
``neutralize``): residual passes computed from the era's byte columns (``Q^T R - mu 1^T R``
and ``Q B - 1 mu^T B``), and, for eras with k^2 > 56 n m (k features, n rows, m columns
of y), a float32 Cholesky factor refined by those passes until the float64 residual
converges, with a float64 factor where the float32 one's smallest pivot is too small and
pivoted QR for (near) rank-deficient eras. Everything is checked against the NumPy
reference (``neutralkit.reference.neutralize``): to the documented 1e-9 on every case,
and to 1e-11 where the era is well conditioned (the refinement must really converge,
not stop at float32 accuracy).

Shapes below are chosen so that each route is taken: n=400, k=230, m=2 (230^2 > 56 * 400
* 2: float32 factor), n=300, k=40 (float64 factor and one pass), k close to n (the float32
factor's pivot is too small: float64 factor with a second pass, or pivoted QR).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neutralkit as nk
from neutralkit import reference as ref


def _check(got, want, tol: float, msg: str = "") -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, msg
    scale = max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale, err_msg=msg)


def _ints(rng: np.random.Generator, n: int, k: int, hi: int = 5, lo: int = 0) -> np.ndarray:
    return rng.integers(lo, hi, size=(n, k)).astype(np.int8)


# -- well-conditioned eras: the fast passes must be as exact as before -----------------


@pytest.mark.parametrize(
    ("n", "k", "m"),
    [
        (400, 230, 2),  # float32 factor (230^2 > 56 * 400 * 2)
        (400, 230, 1),  # float32 factor, one column
        (300, 40, 3),  # float64 factor, one pass
        (300, 40, 13),  # columns in blocks of 7 + 6 / 5 + 4 + 4 in the kernels
        (301, 7, 1),  # n not a multiple of 8: masked last rows
        (203, 150, 1),  # float32 factor, odd n
    ],
)
def test_well_conditioned_matches_reference_closely(n, k, m):
    rng = np.random.default_rng(n * 1000 + k + m)
    x = _ints(rng, n, k)
    y = rng.standard_normal((n, m)) if m > 1 else rng.standard_normal(n)
    got = nk.neutralize(y, x, n_threads=1)
    want = ref.neutralize(y, x)
    _check(got, want, 1e-11)
    # the residual is orthogonal to every exposure column and to the intercept
    res = np.asarray(got).reshape(n, -1)
    xc = x - x.mean(axis=0)
    bound = 1e-9 * np.linalg.norm(res) * np.linalg.norm(xc, axis=0).max()
    assert np.max(np.abs(xc.T @ res)) < bound
    assert np.max(np.abs(res.sum(axis=0))) < 1e-9 * np.linalg.norm(res)


def test_hand_checked_example():
    # one exposure column with values 0, 1, 2 (byte route): y minus its least-squares fit
    x = np.array([[0], [1], [2], [0], [1], [2]], dtype=np.int8)
    y = np.array([1.0, 2.0, 4.0, 0.0, 3.0, 2.0])
    # slope = cov(x, y) / var(x): x centred = [-1, 0, 1] twice, sum xc*y = 3 + 2 = 5,
    # sum xc^2 = 4 -> slope 1.25; y mean 2; residual = y - 2 - 1.25 xc
    want = y - 2.0 - 1.25 * np.array([-1, 0, 1, -1, 0, 1])
    np.testing.assert_allclose(nk.neutralize(y, x), want, rtol=0, atol=1e-13)


def test_several_eras_of_different_sizes_and_routes():
    # eras of different row counts in one call: byte buffers re-made or reused, a
    # float32 factor for the small era (k^2 > 56 n m), a float64 one for the large
    rng = np.random.default_rng(3)
    k, m = 230, 2
    sizes = [400, 2000, 400, 401, 5000 // 4]
    x = _ints(rng, sum(sizes), k)
    y = rng.standard_normal((sum(sizes), m))
    eras = np.repeat(np.arange(len(sizes)), sizes)
    perm = rng.permutation(len(eras))  # rows of an era not contiguous
    x, y, eras = x[perm], y[perm], eras[perm]
    want = ref.neutralize(y, x, eras=eras)
    for threads in (1, 2):
        _check(nk.neutralize(y, x, eras=eras, n_threads=threads), want, 1e-11, f"{threads}")


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: _ints(rng, 400, 230, hi=16),  # byte values 0..15
        lambda rng: _ints(rng, 400, 230, lo=-7, hi=9),  # negative: shifted to 0..15
        lambda rng: _ints(rng, 400, 230).astype(np.float32) / 4,  # quarters: grid 4
        lambda rng: _ints(rng, 400, 230).astype(np.float64),  # int8 values as float64
        lambda rng: _ints(rng, 400, 230).astype(np.int64) + 2**40,  # int64 origin
        lambda rng: np.asfortranarray(_ints(rng, 400, 230)),  # F order
        lambda rng: _ints(rng, 400, 460)[:, ::2],  # strided view
        lambda rng: _ints(rng, 400, 230, hi=16).astype(np.uint8) + 240,  # uint8 240..255
        lambda rng: _ints(rng, 400, 230, hi=2).astype(bool),  # bool
    ],
    ids=[
        "0..15",
        "negative",
        "quarters",
        "float64",
        "int64-origin",
        "F-order",
        "strided",
        "uint8-high",
        "bool",
    ],
)
def test_byte_route_inputs(make):
    rng = np.random.default_rng(7)
    x = make(rng)
    y = rng.standard_normal((400, 2))
    _check(nk.neutralize(y, x), ref.neutralize(y, x), 1e-11)


def test_constant_and_dropped_columns():
    # constant columns are dropped before the byte columns are made
    rng = np.random.default_rng(8)
    x = _ints(rng, 400, 240)
    x[:, 5] = 3
    x[:, 100] = 0
    x[:, 239] = 4
    y = rng.standard_normal((400, 2))
    _check(nk.neutralize(y, x), ref.neutralize(y, x), 1e-11)


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("standardize", [False, True])
def test_options_and_proportions(intercept, standardize):
    rng = np.random.default_rng(9)
    x = _ints(rng, 400, 230)
    y = rng.standard_normal((400, 2)) + 3.0
    props = [1.0, 0.5, 0.0]
    got = nk.neutralize(y, x, proportion=props, intercept=intercept, standardize=standardize)
    want = ref.neutralize(y, x, proportion=props, intercept=intercept, standardize=standardize)
    for g, w, p in zip(got, want, props, strict=True):
        _check(g, w, 1e-11, f"proportion {p}")


def test_neutralizer_matches_one_shot_and_reference():
    # fit once / transform many keeps its own (float64) factor and makes each era's byte
    # columns again at transform: exact as well, whatever ran in between
    rng = np.random.default_rng(10)
    x = _ints(rng, 800, 230)
    eras = np.repeat([0, 1], 400)
    y1, y2 = rng.standard_normal((800, 2)), rng.standard_normal((800, 3))
    fitted = nk.Neutralizer(x, eras=eras)
    other = _ints(rng, 300, 40)  # another shape in between (workspace buffers reused)
    y_other = rng.standard_normal(300)
    for y in (y1, y2, y1):
        want = ref.neutralize(y, x, eras=eras)
        _check(fitted.transform(y), want, 1e-11)
        _check(nk.neutralize(y_other, other), ref.neutralize(y_other, other), 1e-11)
        _check(nk.neutralize(y, x, eras=eras), want, 1e-11)


@pytest.mark.parametrize("threads", [1, 2])
def test_neutralizer_eras_of_different_sizes(threads):
    rng = np.random.default_rng(15)
    sizes = [300, 120, 301, 64]
    x = _ints(rng, sum(sizes), 50, hi=16)
    eras = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    x[eras == 1, 3] = x[eras == 1, 2]  # duplicated in era 1: pivoted QR there only
    x[eras == 2, 4] = 2  # a column constant in era 2: dropped there only
    fitted = nk.Neutralizer(x, eras=eras, n_threads=threads)
    for m in (1, 4):
        y = rng.standard_normal((len(eras), m))
        _check(fitted.transform(y), ref.neutralize(y, x, eras=eras), 1e-9, f"m={m}")
    quarters = x.astype(np.float64) / 4  # grid 4
    y = rng.standard_normal(len(eras))
    got = nk.Neutralizer(quarters, eras=eras, n_threads=threads).transform(y)
    _check(got, ref.neutralize(y, quarters, eras=eras), 1e-9)


# -- ill-conditioned eras: fallbacks must keep the result right ------------------------


def test_nearly_collinear_columns():
    # column 1 equals column 0 but in a few rows: a tiny pivot (the float32 factor is
    # refused; float64 factor with a second pass, or pivoted QR)
    rng = np.random.default_rng(11)
    for n, k in [(400, 230), (300, 40)]:
        x = _ints(rng, n, k)
        x[:, 1] = x[:, 0]
        x[:3, 1] = (x[:3, 0] + 1) % 5
        y = rng.standard_normal((n, 2))
        _check(nk.neutralize(y, x), ref.neutralize(y, x), 1e-9, f"{n} x {k}")


@pytest.mark.parametrize("kind", ["duplicate", "sum", "k_near_n", "k_plus_1_is_n"])
def test_rank_deficient_and_near_singular(kind):
    rng = np.random.default_rng(12)
    n, k = 400, 230
    x = _ints(rng, n, k)
    if kind == "duplicate":
        x[:, 7] = x[:, 3]
    elif kind == "sum":  # a column that is the sum of two others (0..8: byte route)
        x[:, 9] = x[:, 4] + x[:, 5]
    elif kind == "k_near_n":  # k/n = 0.92: the float32 factor's pivot is too small
        x = _ints(rng, 250, 230)
    else:
        x = _ints(rng, 231, 230)
    y = rng.standard_normal((x.shape[0], 2))
    got = nk.neutralize(y, x)
    want = ref.neutralize(y, x)
    _check(got, want, 1e-9)


def test_y_in_the_span_gives_zero():
    # y an exact combination of the exposures: the residual is 0 (not noise), as before
    rng = np.random.default_rng(13)
    x = _ints(rng, 400, 230)
    coef = rng.standard_normal(230)
    y = x.astype(np.float64) @ coef + 1.5
    got = nk.neutralize(np.column_stack([y, rng.standard_normal(400)]), x)
    assert np.all(got[:, 0] == 0.0)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(60, 140),
    frac=st.floats(0.3, 0.97),
    m=st.integers(1, 3),
    hi=st.integers(2, 16),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_byte_route_matches_reference(n, frac, m, hi, seed):
    # covers both factor choices (k^2 > 56 n m or not) and near-singular eras
    rng = np.random.default_rng(seed)
    k = max(1, int(frac * n))
    x = _ints(rng, n, k, hi=hi)
    y = rng.standard_normal((n, m))
    _check(nk.neutralize(y, x, n_threads=1), ref.neutralize(y, x), 1e-9)
