"""The per-column sort behind every rank, on each of its paths, against pandas.

rank.hpp sorts an era column in one of several ways: std::sort for short columns, the
narrow path (32-bit words, a bucket key interpolated between the column's min and max)
for eras up to 2^14 values, and the general path (64-bit words on the order key) for
longer eras, infinite or subnormal ranges, and heavy tails where the narrow path finds
too many distinct values in one bucket. Each case below is built to land on one of them;
the result must be exactly pandas' ``(rank - 0.5) / count`` (ranks are exact multiples
of 1 / (2 n), so any misplaced value shows), NaN left as NaN.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neutralkit as nk
from neutralkit import reference as ref
from neutralkit._validate import eras_of
from neutralkit.metamodel import _UserRanks


def column(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "normal":
        return rng.normal(size=n)
    if kind == "uniform":
        return rng.random(n)
    if kind == "discrete":  # exact ties: a few values, many rows each
        return rng.integers(0, 5, size=n) / 4
    if kind == "float32":  # distinct values that share their leading bits
        return rng.random(n).astype(np.float32).astype(np.float64)
    if kind == "lognormal":  # heavy tail: most values in the lowest buckets
        return np.exp(3 * rng.normal(size=n))
    if kind == "outlier":  # one far value, the rest distinct but within 2^-25 of 1
        x = 1.0 + rng.integers(0, 10**6, size=n) * 2.0**-45
        x[rng.integers(n)] = 1e6
        return x
    if kind == "clusters":  # runs of up to ~12 distinct values per bucket, out of order
        centres = rng.random(max(1, n // 8))
        return centres[rng.integers(len(centres), size=n)] + rng.random(n) * 1e-12
    if kind == "zeros_infs":  # +-0.0 tie; +-inf make the range infinite
        x = rng.normal(size=n)
        x[rng.random(n) < 0.2] = 0.0
        x[rng.random(n) < 0.2] = -0.0
        x[rng.random(n) < 0.05] = np.inf
        x[rng.random(n) < 0.05] = -np.inf
        return x
    if kind == "subnormal":  # a range so small that its reciprocal overflows
        return rng.integers(0, 50, size=n) * 5e-324
    if kind == "huge":  # max - min overflows
        return rng.choice([-1.7e308, 1.7e308], size=n) * rng.random(n)
    if kind == "constant":
        return np.full(n, 0.25)
    if kind == "nan":  # the gather that leaves NaN out, on the narrow path
        x = rng.normal(size=n)
        x[rng.random(n) < 0.1] = np.nan
        return x
    if kind == "nan_discrete":
        x = rng.integers(0, 3, size=n).astype(np.float64)
        x[rng.random(n) < 0.3] = np.nan
        return x
    raise AssertionError(kind)


KINDS = [
    "normal",
    "uniform",
    "discrete",
    "float32",
    "lognormal",
    "outlier",
    "clusters",
    "zeros_infs",
    "subnormal",
    "huge",
    "constant",
    "nan",
    "nan_discrete",
]


def pandas_rank(x: np.ndarray, method: str) -> np.ndarray:
    frame = pd.DataFrame(x)
    return ((frame.rank(method=method) - 0.5) / frame.count()).to_numpy()


@pytest.mark.parametrize("n", [127, 128, 1000, 5000, 16384, 16385])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["average", "first"])
def test_rank_equals_pandas_on_every_sort_path(kind, n, method):
    rng = np.random.default_rng(zlib.crc32(f"{kind}-{n}".encode()))
    x = np.column_stack([column(kind, n, rng), column(kind, n, rng)])
    np.testing.assert_array_equal(
        nk.rank(x, method=method, nan_policy="omit"), pandas_rank(x, method)
    )


@pytest.mark.parametrize("kind", ["normal", "discrete", "lognormal", "outlier"])
def test_rank_equals_pandas_with_eras_in_any_order(kind):
    rng = np.random.default_rng(7)
    sizes = [130, 5000, 200, 17000]
    eras = np.repeat(np.arange(len(sizes)), sizes)
    rng.shuffle(eras)
    x = column(kind, len(eras), rng)
    expected = pd.Series(x).groupby(eras).rank(method="average")
    expected = ((expected - 0.5) / pd.Series(x).groupby(eras).transform("count")).to_numpy()
    np.testing.assert_array_equal(nk.rank(x, eras=eras, nan_policy="omit"), expected)


@pytest.mark.parametrize("kind", ["normal", "discrete", "lognormal"])
def test_user_rank_codes_in_uint32_for_long_eras(kind):
    """Eras over 32768 rows need codes past 65535: uint32, still exact."""
    rng = np.random.default_rng(3)
    n = 40000
    x = np.column_stack([column(kind, n, rng), column(kind, n, rng)])
    ranks = _UserRanks(x, eras_of(None, n), "average", 2)
    assert ranks.codes.dtype == np.uint32
    np.testing.assert_array_equal(ranks.codes.T / ranks.two_n[:, None], pandas_rank(x, "average"))


@pytest.mark.parametrize("kind", ["normal", "discrete", "lognormal", "clusters"])
def test_scores_on_long_eras_match_reference(kind):
    """The fused rank -> correlation kernels (top/bottom cuts included) on long eras."""
    rng = np.random.default_rng(11)
    n = 3000
    preds = np.column_stack([column(kind, n, rng) for _ in range(3)])
    target = rng.integers(0, 5, size=n) / 4
    metamodel = rng.random(n)
    for top_bottom in (None, 200):
        np.testing.assert_allclose(
            nk.numerai_corr(preds, target, top_bottom=top_bottom),
            ref.numerai_corr(preds, target, top_bottom=top_bottom),
            rtol=0,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            nk.correlation_contribution(preds, metamodel, target, top_bottom=top_bottom),
            ref.correlation_contribution(preds, metamodel, target, top_bottom=top_bottom),
            rtol=0,
            atol=1e-12,
        )


# Values a column can hold: a small pool (exact ties, +-0.0, neighbours one ulp apart,
# infinities) mixed with arbitrary floats, NaN included.
_POOL = [0.0, -0.0, 1.0, np.nextafter(1.0, 2.0), np.nextafter(1.0, 0.0), -3.5, 1e-300, np.inf]
_values = st.one_of(
    st.sampled_from(_POOL),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1.0, 1.0),
)


@settings(max_examples=60)
@given(
    st.lists(_values, min_size=128, max_size=700),
    st.sampled_from(["average", "first"]),
)
def test_rank_equals_pandas_on_drawn_columns(values, method):
    x = np.array(values, dtype=np.float64)[:, None]
    np.testing.assert_array_equal(
        nk.rank(x, method=method, nan_policy="omit"), pandas_rank(x, method)
    )
