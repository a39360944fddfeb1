"""correlation_contribution checks preds for NaN/inf inside its kernel (one pass over the
data, not two), and scores every-row eras by the sorted-order sum p . w / n with
w = t - m (t.m) / (m.m), reading consecutive F-ordered eras in place.

Each test here could fail if the kernel missed a NaN/inf on one of its read paths (in
place, copied through a layout, through a shuffled era order, eras too small to score,
top_bottom), if the error changed (count, first column, which argument is named first),
or if a read path scored the wrong rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk
from neutralkit import _core
from neutralkit import reference as ref

N = 240
RNG = np.random.default_rng(14)
PREDS = RNG.normal(size=(N, 5))
META = RNG.normal(size=N)
TARGET = RNG.integers(0, 5, size=N) / 4
ERAS_SHUFFLED = RNG.permutation(np.repeat(np.arange(3), N // 3))
ERAS_SORTED = np.repeat(np.arange(3), N // 3)  # each era's rows consecutive


def layouts(x: np.ndarray) -> dict[str, np.ndarray]:
    """The same values in the layouts the kernel reads differently."""
    big = np.asfortranarray(np.hstack([x, x]))
    big_rows = np.asfortranarray(np.vstack([x[:7], x]))
    return {
        "C": np.ascontiguousarray(x),
        "F": np.asfortranarray(x),
        "F_every_other_column": np.asfortranarray(np.repeat(x, 2, axis=1))[:, ::2],
        "F_column_slice": big[:, : x.shape[1]],  # row stride 1, column stride 2 N
        "F_row_slice": big_rows[7:],  # starts 7 rows into each column
        "strided_rows": np.repeat(x, 2, axis=0)[::2],
        "float32": x.astype(np.float32),
        "F_float32": np.asfortranarray(x.astype(np.float32)),  # in place, converted
    }


@pytest.mark.parametrize("eras", [None, ERAS_SORTED, ERAS_SHUFFLED], ids=["one", "sorted", "shuf"])
@pytest.mark.parametrize("layout", list(layouts(PREDS)))
def test_every_read_path_matches_the_reference(layout, eras):
    x = layouts(PREDS)[layout]
    want = ref.correlation_contribution(x.astype(np.float64), META, TARGET, eras=eras)
    got = nk.correlation_contribution(x, META, TARGET, eras=eras)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_constant_and_tied_columns_match_the_reference():
    x = PREDS.copy()
    x[:, 0] = 0.25  # one value: every code is n
    x[5, 1] = x[9, 1]  # one tie (same bucket, averaged)
    x[:, 2] = np.round(x[:, 2], 1)  # crowded buckets: the general sort
    x[:, 3] = np.exp(8 * x[:, 3])  # heavy tail
    for eras in (None, ERAS_SORTED, ERAS_SHUFFLED):
        for arr in (np.asfortranarray(x), x):
            want = ref.correlation_contribution(x, META, TARGET, eras=eras)
            got = nk.correlation_contribution(arr, META, TARGET, eras=eras)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_hand_checked_sorted_sum():
    # preds [3, 1, 2, 4] rank to u = [5, 1, 3, 7] / 8; the metamodel [1, 2, 2, 1] ties
    # in pairs: u = [2, 6, 6, 2] / 8; the target lies in [0, 1], so it is multiplied by 4
    # and centred: [4, 2, 0, 1] - 1.75. By hand: p = [0.3186, -1.1503, -0.3186, 1.1503],
    # m = 0.6745 [-1, 1, 1, -1], beta = p.m / m.m = -1.9818 / 1.8197 = -1.0891,
    # p_perp = [-0.4160, -0.4157, 0.4160, 0.4157], t . p_perp / 4 = -2.0797 / 4.
    from scipy.stats import norm

    got = nk.correlation_contribution(
        np.array([3.0, 1.0, 2.0, 4.0]), np.array([1.0, 2.0, 2.0, 1.0]), np.array([1, 0.5, 0, 0.25])
    )
    assert abs(got - -0.51992) < 1e-3
    p = norm.ppf(np.array([5, 1, 3, 7]) / 8)
    m = norm.ppf(np.array([2, 6, 6, 2]) / 8)
    t = np.array([2.25, 0.25, -1.75, -0.75])
    assert abs(got - t @ (p - m * (p @ m) / (m @ m)) / 4) < 1e-15


BAD = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("bad", BAD, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("eras", [None, ERAS_SORTED, ERAS_SHUFFLED], ids=["one", "sorted", "shuf"])
@pytest.mark.parametrize("layout", list(layouts(PREDS)))
def test_nonfinite_preds_are_refused_on_every_read_path(layout, eras, bad):
    x = PREDS.copy()
    x[N - 1, 3] = bad  # last row (last era when sorted), column 3
    x[17, 4] = bad
    arr = layouts(x)[layout]
    with pytest.raises(
        ValueError, match=r"^preds: contains 2 NaN or infinite value\(s\); first in column 3$"
    ):
        nk.correlation_contribution(arr, META, TARGET, eras=eras)
    with pytest.raises(ValueError, match=r"preds: contains 2 NaN or infinite value\(s\)"):
        nk.correlation_contribution(arr, META, TARGET, eras=eras, top_bottom=10)


def test_the_error_names_the_dataframe_column():
    x = PREDS.copy()
    x[3, 2] = np.inf
    frame = pd.DataFrame(x, columns=list("abcde"))
    with pytest.raises(
        ValueError, match=r"preds: contains 1 NaN or infinite value\(s\); first in column 'c'"
    ):
        nk.correlation_contribution(frame, META, TARGET)


def test_preds_error_comes_first_as_before():
    # With the check deferred to the kernel, errors found earlier in other arguments must
    # not hide the preds error that the eager check order raised first.
    x = PREDS.copy()
    x[0, 0] = np.nan
    target = TARGET.copy()
    target[1] = np.nan
    with pytest.raises(ValueError, match=r"^preds: contains 1 NaN"):
        nk.correlation_contribution(x, META, target)
    meta = META.copy()
    meta[:] = 1.0  # a single value: contribution undefined
    with pytest.raises(ValueError, match=r"^preds: contains 1 NaN"):
        nk.correlation_contribution(x, meta, TARGET)
    eras = np.arange(N) % (N // 2 + 1)  # an era of one row
    with pytest.raises(ValueError, match=r"^preds: contains 1 NaN"):
        nk.correlation_contribution(x, META, TARGET, eras=eras)
    # without the NaN, those inputs still give their own errors
    with pytest.raises(ValueError, match=r"^target: contains 1 NaN"):
        nk.correlation_contribution(PREDS, META, target)
    with pytest.raises(ValueError, match=r"^metamodel: takes a single value"):
        nk.correlation_contribution(PREDS, meta, TARGET)


def test_omit_still_scores_around_nan_and_refuses_inf():
    x = PREDS.copy()
    x[4, 1] = np.nan
    got = nk.correlation_contribution(x, META, TARGET, eras=ERAS_SHUFFLED, nan_policy="omit")
    want = ref.correlation_contribution(x, META, TARGET, eras=ERAS_SHUFFLED, nan_policy="omit")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    x[5, 2] = np.inf
    with pytest.raises(ValueError, match="preds: contains 1 infinite"):
        nk.correlation_contribution(x, META, TARGET, nan_policy="omit")


def test_integer_preds_need_no_check():
    x = RNG.integers(-3, 4, size=(N, 3)).astype(np.int8)
    x[:, 2] = RNG.integers(-100, 100, size=N)  # few ties: NarrowRank
    for arr in (x, np.asfortranarray(x)):
        for eras in (ERAS_SORTED, ERAS_SHUFFLED):
            got = nk.correlation_contribution(arr, META, TARGET, eras=eras)
            want = ref.correlation_contribution(x.astype(np.float64), META, TARGET, eras=eras)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def _checked(p, eras, top_bottom=0):
    codes = np.asarray(eras)
    order = np.argsort(codes, kind="stable").astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes))]).astype(np.int64)
    m = _core.rank_columns(META.reshape(-1, 1), order, offsets, 0, True, 1.0, 1)[:, 0].copy()
    t = _core.prepare_target(TARGET, order, offsets, 3, 1.0)
    return _core.contribution_columns_checked(p, m, t, order, offsets, top_bottom, 2, 0)


@pytest.mark.parametrize("top_bottom", [0, 10])
def test_kernel_flags_nonfinite_in_any_era_even_one_it_cannot_score(top_bottom):
    eras = np.zeros(N, dtype=np.int64)
    eras[-1] = 1  # era 1: one row, scored NaN without ranking
    out, flagged = _checked(np.asfortranarray(PREDS), eras, top_bottom)
    assert not flagged and np.isnan(out[1]).all() and np.isfinite(out[0]).all()
    for row in (0, N - 1):
        for bad in BAD:
            x = np.asfortranarray(PREDS.copy())
            x[row, 2] = bad
            out, flagged = _checked(x, eras, top_bottom)
            assert flagged, (row, bad)
            assert np.isnan(out[int(row == N - 1), 2])
