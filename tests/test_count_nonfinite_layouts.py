"""The input check's NaN/inf count (``_core.count_nonfinite``) on every memory layout.

The kernel scans C- and F-ordered arrays line by line (vectorized) and strided views
element by element; each must give numpy's count and the lowest column holding a bad
value (the column an error message names).
"""

from __future__ import annotations

import numpy as np
import pytest

from neutralkit import _core


def _expected(a: np.ndarray, nan_only: bool) -> tuple[int, int]:
    bad = np.isnan(a) if nan_only else ~np.isfinite(a)
    cols = np.flatnonzero(bad.any(axis=0))
    return int(bad.sum()), int(cols[0]) if cols.size else -1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("nan_only", [False, True])
def test_count_matches_numpy_on_every_layout(dtype, nan_only):
    rng = np.random.default_rng(14)
    for _ in range(200):
        rows, cols = rng.integers(1, 30, size=2)
        a = rng.normal(size=(rows, cols)).astype(dtype)
        for _ in range(rng.integers(0, 4)):
            a[rng.integers(rows), rng.integers(cols)] = rng.choice([np.nan, np.inf, -np.inf])
        for view in (a, np.asfortranarray(a), a[::2], a[:, ::2], np.asfortranarray(a)[:, 1:]):
            if view.size == 0:
                continue
            assert tuple(_core.count_nonfinite(view, nan_only)) == _expected(view, nan_only)


def test_first_column_is_the_lowest_not_the_first_met():
    # C order meets row 0 first: its bad value is in column 5, row 1's in column 2
    a = np.zeros((2, 8))
    a[0, 5] = np.nan
    a[1, 2] = np.inf
    assert tuple(_core.count_nonfinite(a, False)) == (2, 2)
    assert tuple(_core.count_nonfinite(np.asfortranarray(a), False)) == (2, 2)
    assert tuple(_core.count_nonfinite(a, True)) == (1, 5)


def test_integers_are_always_finite():
    a = np.arange(12, dtype=np.int8).reshape(3, 4)
    assert tuple(_core.count_nonfinite(a, False)) == (0, -1)
