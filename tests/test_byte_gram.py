"""The exact byte Gram kernel (cpp/include/neutralkit/byte_gram.hpp), reached through
neutralize: small-integer exposures (at most 15 above each column's minimum) take the
byte route, where the era's Gram matrix is summed exactly in integer lanes. The
residual is then computed from that matrix's Cholesky factor in a single pass for these
well-conditioned eras, so a wrong Gram entry (one product dropped, a lane that wrapped,
a block written to the wrong place) moves the result by ~1e-6 or more, far outside the
1e-9 tolerance against the NumPy reference.

The shapes cover the kernel's edges: rows that are not a multiple of the 64-byte step,
1 to 3 rows, row chunks (n > 2560) and several passes over the rows (n > 16384);
column counts around its 6 x 4 register block, 64-byte multiples and past a column
panel (128 columns at 5000 rows, 216 at 3000); values 0..4 (Numerai's features) and the
limit 0..15.
"""

from __future__ import annotations

import numpy as np
import pytest

import neutralkit as nk
from neutralkit import reference

TOL = 1e-9


def _check(x: np.ndarray, y: np.ndarray, eras=None, intercept: bool = True) -> None:
    expected = reference.neutralize(y, x, eras=eras, intercept=intercept)
    actual = nk.neutralize(y, x, eras=eras, intercept=intercept, n_threads=1)
    err = float(np.max(np.abs(actual - expected)))
    assert err <= TOL * max(1.0, float(np.abs(y).max())), f"max abs diff {err:.3e}"


def _features(rng: np.random.Generator, n: int, k: int, hi: int, dtype=np.int8) -> np.ndarray:
    x = rng.integers(0, hi + 1, size=(n, k)).astype(dtype)
    # every column spans 0..hi, so the shifted maximum (and the lanes' bound) is hi
    x[0, :] = 0
    x[-1, :] = hi
    return x


def test_hand_checked_example():
    # residual of y on [x, 1]: slope -0.2, intercept 0.6, fitted 0.6 0.4 0.2 0 -0.2
    x = np.array([[0], [1], [2], [3], [4]], dtype=np.int8)
    y = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    out = nk.neutralize(y, x, n_threads=1)
    np.testing.assert_allclose(out, [0.4, -0.4, -0.2, 0.0, 0.2], rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    ("n", "k"),
    [
        (3, 1),
        (5, 2),
        (9, 3),
        (63, 4),
        (64, 5),
        (65, 7),
        (129, 17),
        (1000, 63),
        (1000, 64),
        (1000, 65),
        (5000, 130),
        (3000, 257),
        (2561, 23),
        (5000, 25),
        (16449, 6),
        (20000, 11),
    ],
)
@pytest.mark.parametrize("hi", [4, 15])
def test_integer_features_match_reference(n, k, hi):
    rng = np.random.default_rng(1000 * n + k + hi)
    x = _features(rng, n, k, hi)
    y = rng.standard_normal((n, 2))
    _check(x, y)


@pytest.mark.parametrize(("n", "k"), [(100, 6), (1000, 65), (5000, 29)])
def test_without_intercept(n, k):
    # no shift: the raw values 0..15 go to the kernel
    rng = np.random.default_rng(n + k)
    x = _features(rng, n, k, 15)
    y = rng.standard_normal(n)
    _check(x, y, intercept=False)


def test_shifted_columns_and_wider_dtypes():
    # each column its own offset (negative too): the kernel sees value - column minimum
    rng = np.random.default_rng(7)
    n, k = 3000, 40
    base = _features(rng, n, k, 15).astype(np.int16)
    offsets = rng.integers(-100, 100, size=k).astype(np.int16)
    y = rng.standard_normal(n)
    _check((base + offsets).astype(np.int16), y)
    _check(np.clip(base - 7, -128, 127).astype(np.int8), y)


def test_quarter_valued_floats():
    # int8 features stored as floats 0, 0.25, .., 1: the byte route on 4 x, divided by 16
    rng = np.random.default_rng(8)
    n, k = 2000, 70
    x = _features(rng, n, k, 4).astype(np.float64) / 4.0
    y = rng.standard_normal(n)
    _check(x, y)


def test_eras_of_equal_and_different_sizes():
    # eras of one shape reuse the byte columns' buffer; other shapes get a new one
    rng = np.random.default_rng(9)
    sizes = [600, 600, 777, 64, 600, 1500]
    k = 31
    x = _features(rng, sum(sizes), k, 15)
    eras = np.repeat(np.arange(len(sizes)), sizes)
    for start in np.cumsum([0, *sizes[:-1]]):  # each era spans 0..15 in every column
        x[start, :] = 0
        x[start + 1, :] = 15
    y = rng.standard_normal((sum(sizes), 3))
    _check(x, y, eras=eras)
