"""Regression tests for what the fuzz harness (tests/fuzz/) found, one scenario each.

Each test writes the fuzzer's input out as plain code. Crashes of the compiled module run
in a child process, so that pytest survives them and reports the signal.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk

RNG = np.random.default_rng(20261130)
N = 12
P = RNG.normal(size=(N, 2))
X = RNG.normal(size=(N, 3))
T = RNG.normal(size=N)
MM = RNG.normal(size=N)
W = RNG.random(N) + 0.5
STAKES = np.array([1.0, 2.0])

#: every public function that takes row inputs and eras=, called on ordinary data
CALLS: dict[str, Any] = {
    "neutralize": lambda **kw: nk.neutralize(P, X, **kw),
    "feature_neutral_target": lambda **kw: nk.feature_neutral_target(T, X, **kw),
    "orthogonalize": lambda **kw: nk.orthogonalize(P, MM, **kw),
    "pearson": lambda **kw: nk.pearson(P, T, **kw),
    "corr": lambda **kw: nk.corr(P, T, **kw),
    "covariance": lambda **kw: nk.covariance(P, T, **kw),
    "numerai_corr": lambda **kw: nk.numerai_corr(P, T, **kw),
    "correlation_contribution": lambda **kw: nk.correlation_contribution(P, MM, T, **kw),
    "neutral_contribution": lambda **kw: nk.neutral_contribution(P, MM, X, T, **kw),
    "rank": lambda **kw: nk.rank(P, **kw),
    "gaussianize": lambda **kw: nk.gaussianize(P, **kw),
    "stake_weighted_metamodel": lambda **kw: nk.stake_weighted_metamodel(P, STAKES, **kw),
    "mmc": lambda **kw: nk.mmc(P, T, stakes=STAKES, **kw),
    "mmc_loo": lambda **kw: nk.mmc_loo(P, T, STAKES, **kw),
    "feature_correlations": lambda **kw: nk.feature_correlations(P, X, **kw),
    "feature_exposure": lambda **kw: nk.feature_exposure(P, X, **kw),
    "feature_neutral_corr": lambda **kw: nk.feature_neutral_corr(P, X, T, **kw),
    "neutral_correlation": lambda **kw: nk.neutral_correlation(P, X, T, **kw),
    "alpha": lambda **kw: nk.alpha(P, X, W, T, **kw),
    "neutralized_weights": lambda **kw: nk.neutralized_weights(P, X, W, **kw),
    "meta_portfolio_contribution": lambda **kw: nk.meta_portfolio_contribution(
        P, STAKES, X, W, T, **kw
    ),
    "churn": lambda **kw: nk.churn(P, P[::-1].copy(), **kw),
    "turnover": lambda **kw: nk.turnover(P, P[::-1].copy(), **kw),
}
CALLS = {name: call for name, call in CALLS.items() if name in nk.__all__}
LEAKS = ("incompatible function arguments", "internal:", "_core", "not iterable", "0-d array")


def refused_clearly(call: Any, argument: str) -> None:
    """The call raises ValueError/TypeError naming `argument`, in the library's words."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    message = str(info.value)
    assert re.search(rf"(?<!\w){argument}(?!\w)", message), f"names no {argument!r}: {message}"
    assert not any(leak in message for leak in LEAKS), f"leaks internals: {message}"


def run_child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


# ------------------------------------------------------------------------------------
# crashes of the compiled module (fuzz_core.py)

EMPTY_ERA_CHILD = """
    import numpy as np
    from neutralkit import _core

    x = np.random.default_rng(0).normal(size=(4, 2))
    y = np.ones((4, 1))
    order = np.arange(4, dtype=np.int64)
    offsets = np.array({offsets}, dtype=np.int64)  # an era of 0 rows
    try:
        {call}
    except (ValueError, TypeError) as exc:
        print("refused:", exc)
    print("survived")
"""


@pytest.mark.parametrize("offsets", [[0, 0, 4], [0, 4, 4], [0, 2, 2, 4]])
@pytest.mark.parametrize(
    "call",
    [
        "_core.neutralize(x, y, order, offsets, [1.0], True, False, 0, 1e-6, 1e-9, 1)",
        "_core.factorize(x, order, offsets, True, 0, 1e-6, 1e-9, 1)"
        ".transform(x, y, order, offsets, [1.0], False, 1)",
    ],
    ids=["neutralize", "factorize-transform"],
)
def test_core_neutralize_survives_an_era_without_rows(offsets, call):
    """fuzz_core: an era of 0 rows (offsets[e] == offsets[e + 1]) crashed with SIGSEGV."""
    proc = run_child(EMPTY_ERA_CHILD.format(offsets=offsets, call=call))
    assert proc.returncode == 0 and "survived" in proc.stdout, (
        f"exit {proc.returncode}: {proc.stderr[-500:]}"
    )


NON_FINITE_TOP_BOTTOM_CHILD = """
    import numpy as np
    from neutralkit import _core

    rng = np.random.default_rng(0)
    p = rng.normal(size=(8, 2))
    mm = rng.normal(size=8) * {mm_scale}
    t = rng.normal(size=8)
    p[2, 0] = {p_value}
    order = np.arange(8, dtype=np.int64)
    offsets = np.array([0, 8], dtype=np.int64)
    print(_core.contribution_columns(p, mm, t, order, offsets, 1, 1, -1))
    print("survived")
"""


@pytest.mark.parametrize(
    ("mm_scale", "p_value"),
    [("1.7e308", "0.5"), ("1.0", "np.inf"), ("1.0", "np.nan")],
    ids=["metamodel-overflows", "inf-pred", "nan-pred"],
)
def test_core_contribution_top_bottom_survives_non_finite_values(mm_scale, p_value):
    """fuzz_core: contribution_columns with top_bottom sorted NaN keys (a metamodel whose
    squares overflow, or inf/NaN predictions) and crashed with SIGSEGV."""
    proc = run_child(NON_FINITE_TOP_BOTTOM_CHILD.format(mm_scale=mm_scale, p_value=p_value))
    assert proc.returncode == 0 and "survived" in proc.stdout, (
        f"exit {proc.returncode}: {proc.stderr[-500:]}"
    )


HOSTILE_INDEX_CHILD = """
    import numpy as np
    from neutralkit import _core

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 2))
    y = rng.normal(size=(8, 1))
    t = rng.normal(size=8)
    order = np.arange(8, dtype=np.int64)
    offsets = np.array([0, 4, 8], dtype=np.int64)
    {mutation}
    calls = {{
        "neutralize": lambda: _core.neutralize(
            x, y, order, offsets, [1.0], True, False, 0, 1e-6, 1e-9, 1),
        "transform": lambda: _core.factorize(
            x[:, :2], np.arange(8, dtype=np.int64), np.array([0, 4, 8], dtype=np.int64),
            True, 0, 1e-6, 1e-9, 1).transform(x, y, order, offsets, [1.0], False, 1),
        "rank_columns": lambda: _core.rank_columns(x, order, offsets, 0, True, 1.0, 1),
        "pearson_columns": lambda: _core.pearson_columns(x, t, order, offsets, False, 1),
        "rank_codes": lambda: _core.rank_codes(x, order, offsets, 0, 1),
        "feature_correlations": lambda: _core.feature_correlations(y, x, order, offsets, 1),
        "contribution_columns": lambda: _core.contribution_columns(
            x, t, t, order, offsets, 1, 1, 0),
    }}
    for name, call in calls.items():
        try:
            call()
        except (ValueError, TypeError, IndexError, RuntimeError):
            pass
    print("survived")
"""
HOSTILE_INDEXES = {
    "order-out-of-range": "order[3] = 8 + 2**40",
    "order-negative": "order[5] = -1",
    "offsets-past-end": "offsets[-1] = 100",
    "offsets-decreasing": "offsets = np.array([0, 6, 2, 8], dtype=np.int64)",
    "offsets-not-from-0": "offsets[0] = -3",
    "no-offsets": "offsets = np.zeros(0, dtype=np.int64)",
    "rows-disagree": "y = y[:5]; t = t[:3]",
    "other-columns": "x = x[:, :1]",
    "other-dtype": "x = x.astype(np.float32)",
}


@pytest.mark.parametrize("mutation", list(HOSTILE_INDEXES.values()), ids=list(HOSTILE_INDEXES))
def test_core_functions_survive_hostile_era_indexes(mutation):
    """fuzz_core (HEAD before issue 9's fixes): era order/offsets out of range, rows that
    disagree between arrays, and Factorization.transform on arrays other than the fitted
    ones read outside the arrays (SIGSEGV, heap corruption)."""
    proc = run_child(HOSTILE_INDEX_CHILD.format(mutation=mutation))
    assert proc.returncode == 0 and "survived" in proc.stdout, (
        f"exit {proc.returncode}: {proc.stderr[-500:]}"
    )


# ------------------------------------------------------------------------------------
# unclear refusals and leaked internals (fuzz_api.py)


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("eras", [3, 2.5], ids=["int", "float"])
def test_scalar_eras_are_refused_by_name(name, eras):
    """fuzz_api: eras=3 gave "TypeError: 'int' object is not iterable"."""
    refused_clearly(lambda: CALLS[name](eras=eras), "eras")


@pytest.mark.parametrize(
    "call",
    [
        lambda p: nk.neutralize(P, X, proportion=p),
        lambda p: nk.feature_neutral_target(T, X, proportion=p),
        lambda p: nk.Neutralizer(X, proportion=p).transform(P),
        lambda p: nk.neutralize_series(pd.Series(T), pd.Series(X[:, 0]), proportion=p),
    ],
    ids=["neutralize", "feature_neutral_target", "Neutralizer", "neutralize_series"],
)
def test_zero_dimensional_proportion(call):
    """fuzz_api: proportion=np.array(0.5) gave "TypeError: iteration over a 0-d array"."""
    expected = call(0.5)
    np.testing.assert_array_equal(np.asarray(call(np.array(0.5))), np.asarray(expected))


@pytest.mark.parametrize(
    "series", [T.reshape(-1, 1)[:, :0], np.column_stack([T, T])], ids=["0-columns", "2-columns"]
)
def test_neutralize_series_refuses_two_dimensional_series_by_name(series):
    """fuzz_api: a 2-D series gave pandas' "Data must be 1-dimensional" / a buffer error."""
    refused_clearly(lambda: nk.neutralize_series(series, X[:, 0]), "series")


def _odd_layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    unaligned = np.zeros(a.nbytes + 1, dtype=np.uint8)[1:].view(a.dtype).reshape(a.shape)
    unaligned[...] = a
    return {
        "reversed": np.ascontiguousarray(a[::-1])[::-1],  # same values, negative strides
        "strided": np.repeat(a, 2, axis=0)[::2],
        "byteswapped": a.astype(a.dtype.newbyteorder(">")),
        "unaligned": unaligned,
        "broadcast": np.broadcast_to(a[:1], a.shape),
        "F": np.asfortranarray(a),
    }


@pytest.mark.parametrize("layout", list(_odd_layouts(P)))
@pytest.mark.parametrize("name", sorted(CALLS))
def test_any_layout_is_accepted(name, layout):
    """fuzz_api: strided, reversed, byte-swapped, unaligned or broadcast inputs reached the
    bindings, which refused them with pybind11's "incompatible function arguments".

    Every row input of every function in one odd layout: same numbers as C order."""
    global P, X, T, MM, W
    saved = P, X, T, MM, W
    try:
        expected = CALLS[name]()
        P, X, T, MM, W = (_odd_layouts(a)[layout] for a in saved)
        if layout == "broadcast":  # every row equal: only check that nothing leaks
            try:
                CALLS[name]()
            except (ValueError, TypeError) as exc:
                assert not any(leak in str(exc) for leak in LEAKS), str(exc)
            return
        actual = CALLS[name]()
    finally:
        P, X, T, MM, W = saved
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
        rtol=1e-12, atol=1e-12,
    )  # fmt: skip


# ------------------------------------------------------------------------------------
# wrong numbers at the edges (fuzz_api.py result checks and leaked RuntimeWarnings)


def _scale_free_pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a / np.abs(a).max(), b / np.abs(b).max()
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_pearson_with_a_value_near_float_max_is_not_clamped_to_one():
    """fuzz_api: a column of zeros with one 1.797e308 gave pearson 1.0 (a NaN clamped);
    a scale-free computation gives -0.258."""
    p = np.zeros(30)
    p[14] = np.finfo(np.float64).max
    t = np.random.default_rng(7).normal(size=30)
    expected = _scale_free_pearson(p, t)
    assert abs(expected) < 0.9
    assert nk.pearson(p, t) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_pearson_of_three_values_at_extreme_scale(scale):
    """fuzz_api: three rows with values from 1e-200 to 9e15 gave pearson 1.0 (true -0.5)."""
    p = np.array([1.0, 0.0, -1.0]) * scale
    t = np.array([0.0, 1.0, 0.0])
    assert nk.pearson(p, t) == pytest.approx(_scale_free_pearson(p, t), abs=1e-12)


@pytest.mark.parametrize(
    "name", ["stake_weight", "stake_weighted_metamodel", "mmc", "mmc_loo", "mpc"]
)
def test_stakes_near_float_max_weigh_like_equal_stakes_or_are_refused(name):
    """fuzz_api: stakes of 1e308 each overflowed in their sum (RuntimeWarning, NaN weights;
    meta_portfolio_contribution: NaN scores).
    Equal stakes weigh equally whatever their size, or the overflow is refused by name."""
    huge, ones = np.full(2, 1e308), np.ones(2)
    call = {
        "stake_weight": lambda s: nk.stake_weight(P, s),
        "stake_weighted_metamodel": lambda s: nk.stake_weighted_metamodel(P, s),
        "mmc": lambda s: nk.mmc(P, T, stakes=s),
        "mmc_loo": lambda s: nk.mmc_loo(P, T, s, bags=2),
        "mpc": lambda s: nk.meta_portfolio_contribution(P, s, np.linalg.qr(X)[0], W, T),
    }[name]
    try:
        result = call(huge)
    except ValueError as exc:
        assert "stakes" in str(exc) and "overflow" in str(exc), str(exc)
        return
    np.testing.assert_allclose(
        np.asarray(result, dtype=float), np.asarray(call(ones), dtype=float), rtol=1e-12
    )


def test_orthogonalize_against_a_vector_with_1e200():
    """fuzz_api: u with an entry of 1e200 overflowed u'u (RuntimeWarning, NaN result)."""
    u = MM.copy()
    u[3] = 1e200
    scale = 2.0**-660  # exact: orthogonalize does not depend on u's scale
    np.testing.assert_allclose(nk.orthogonalize(P, u), nk.orthogonalize(P, u * scale), rtol=1e-12)


def test_feature_correlations_of_predictions_near_float_max():
    """fuzz_api: raw float predictions up to 1.7e308 gave "invalid value encountered in
    subtract" (inf - inf while centring) and NaN correlations."""
    p = P.copy()
    p[0, 0], p[1, 0] = 1.7e308, -1.7e308
    exact = p * 2.0**-1000  # same correlations
    np.testing.assert_allclose(
        nk.feature_correlations(p, X), nk.feature_correlations(exact, X), rtol=1e-12, atol=1e-12
    )


def test_summary_of_scores_near_1e200():
    """fuzz_api: per-era scores near 1e200 overflowed in the squares ("overflow encountered
    in square"): std inf, sharpe 0 and autocorr NaN instead of the unit-scale values."""
    unit = np.array([1.0, -1.0, 3.0, 2.0, -0.5])
    scale = 2.0**665  # ~1e200, exact: mean, std, drawdown scale; the ratios do not
    big, small = nk.summary(unit * scale), nk.summary(unit)
    for stat in ("mean", "std", "max_drawdown"):
        assert big[stat] == pytest.approx(small[stat] * scale, rel=1e-12), stat
    for stat in ("sharpe", "sortino", "hit_rate", "autocorr", "smart_sharpe"):
        assert big[stat] == pytest.approx(small[stat], rel=1e-12), stat


@pytest.mark.parametrize("scale", [1e300, 1e-300, 2.0**-1070])
def test_feature_correlations_with_two_rows_and_extreme_feature_scales(scale):
    """fuzz_api: two rows, features scaled by 1e300 / 1e-300: correlations of 0.0 and inf
    (with 2 rows every correlation is +-1)."""
    p = np.array([[0.3, -1.2], [1.1, 0.4]])
    x = np.array([[0.5, -2.0, 1.0], [-1.5, 0.25, 3.0]])
    expected = nk.feature_correlations(p, x)
    np.testing.assert_allclose(np.abs(expected), 1.0)
    np.testing.assert_allclose(nk.feature_correlations(p, x * scale), expected, atol=1e-12)


@pytest.mark.parametrize("name", ["mmc", "mmc_loo"])
@pytest.mark.parametrize("seed", [1.5, "x", -1], ids=["float", "str", "negative"])
def test_bad_bag_seed_is_refused_by_name(name, seed):
    """fuzz_api: seed=1.5 gave NumPy's "SeedSequence expects int or sequence of ints for
    entropy not 1.5" (and seed=-1 "expected non-negative integer"): no argument named."""
    call = {
        "mmc": lambda: nk.mmc(P, T, stakes=STAKES, bags=2, seed=seed),
        "mmc_loo": lambda: nk.mmc_loo(P, T, STAKES, bags=2, seed=seed),
    }[name]
    refused_clearly(call, "seed")


def test_feature_correlations_when_one_era_holds_a_huge_prediction():
    """fuzz_api: a prediction of 1e200 in one era made the column's other eras tiny after
    scaling the whole column; their squares underflowed and a correlation was inf."""
    p = np.array([[1e200, 0.5], [0.3, -1.0], [-1.2, 2.0], [0.5, 0.1]])
    x = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.int8)
    eras = np.array([0, 0, 1, 1])
    out = nk.feature_correlations(p, x, eras=eras)
    values = np.asarray(out, dtype=np.float64)
    finite = values[~np.isnan(values)]
    np.testing.assert_allclose(np.abs(finite), 1.0)  # two rows per era: +-1 or NaN
    rescaled = p.copy()
    rescaled[0, 0] = 1.0  # era 1 is unchanged, so its correlations are too
    np.testing.assert_allclose(
        values[1], np.asarray(nk.feature_correlations(rescaled, x, eras=eras))[1], atol=1e-12
    )


@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (3, 1)])
def test_one_field_of_a_structured_array_with_one_row_or_column(shape):
    """fuzz_api: a (1, 1) field view of a structured array (strides 9, which NumPy still
    calls contiguous) reached the kernels: "internal: array strides are not a multiple
    of the item size"."""
    rec = np.zeros(shape, dtype=[("v", "f8"), ("pad", "i1")])
    rec["v"] = np.arange(1, rec.size + 1).reshape(shape)
    field = rec["v"]
    np.testing.assert_array_equal(nk.rank(field), nk.rank(field.copy()))
    y = np.ones((shape[0], 2))
    np.testing.assert_array_equal(nk.neutralize(y, field), nk.neutralize(y, field.copy()))
