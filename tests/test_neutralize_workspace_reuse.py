"""neutralize reuses buffers (the Gram matrix, the row chunk, each era's factorization)
from era to era and from call to call. Nothing from an earlier era or call may leak
into a later one: calls of every kind, in a mixed order, must each match the reference.
"""

from __future__ import annotations

import numpy as np
import pytest

import neutralkit as nk
from neutralkit import reference as ref


def _cases(rng: np.random.Generator):
    small = rng.integers(0, 5, size=(300, 4))
    yield small.astype(np.int8), rng.standard_normal(300), None
    yield small.astype(np.float64) * 1e250, rng.standard_normal(300), None  # scaled columns
    yield (2**40 + small).astype(np.int64), rng.standard_normal(300), None  # integer origin
    yield 2.0**40 + small.astype(np.float64), rng.standard_normal(300), None  # tight columns
    yield rng.standard_normal((300, 6)), rng.standard_normal((300, 2)), None  # continuous
    yield small[:2, :1].astype(np.float64), rng.standard_normal(2), None  # k + 1 = n
    yield (
        rng.integers(0, 5, size=(600, 30)).astype(np.int8),
        rng.standard_normal((600, 3)),
        np.repeat([0, 1, 2], 200),
    )  # several eras, bigger k
    yield small[:, :3].astype(np.int8), rng.standard_normal(300), None  # smaller k again


@pytest.mark.parametrize("threads", [1, 2])
def test_mixed_calls_each_match_the_reference(threads):
    rng = np.random.default_rng(14)
    cases = list(_cases(rng))
    order = [*range(len(cases)), *rng.permutation(len(cases)), *reversed(range(len(cases)))]
    for i in order:
        x, y, eras = cases[i]
        got = nk.neutralize(y, x, eras=eras, n_threads=threads)
        want = ref.neutralize(y, x, eras=eras)
        scale = max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * scale, err_msg=f"case {i}")
