"""Every public function against its reference twin on extreme inputs (issue 9).

Inputs come from ``strategies.extreme_data``: exposures scaled per column by powers of two
from 2^-660 (~1e-199) to 2^660 (~1e199), int64/uint64 columns past 2^53 whose per-era sums
pass 2^63 (nanosecond timestamps among them), exact denormals, exact ties, rank-deficient
eras (constant and duplicated columns, k + 1 >= n), shuffled rows and odd layouts (C, F,
strided, reversed). Powers of two scale exactly, so each draw has a moderate twin with
the same column span (exposures, with an intercept) or the same ranks (predictions);
every function is checked two ways:

1. fast(extreme) against reference(extreme): both raise (ValueError/TypeError) or both
   succeed and agree;
2. fast(extreme) against the reference on the moderate twin, rescaled by the known
   factor (0 for scale-free scores): a check that does not trust either implementation
   at the extremes.

Tolerances (absolute, relative to the scale of the output) are in ``TOL``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import neutralkit as nk
from neutralkit import reference as ref
from strategies import (
    EraData,
    ExtremeData,
    big_int_ranks,
    extreme_data,
    odd_layout,
    rank_is_clear,
)

#: absolute tolerance per function, in units of the output's natural scale
TOL = {
    "neutralize": 1e-9,  # x max|y| (the residual's scale)
    "feature_neutral_target": 1e-9,  # x max|target|
    "orthogonalize": 1e-9,  # x max|v|
    "neutralize_series": 1e-9,  # x max|series|
    "correlation": 1e-9,  # pearson, corr, numerai_corr, churn, exposures, FNC: unitless
    "covariance": 1e-9,  # x scale(preds) x scale(target)
    "contribution": 1e-9,  # x max|target|
    "rank": 0.0,  # ranks are exact
    "gaussianize": 1e-12,  # relative to max|g| (ndtri agreement)
    "power": 1e-13,  # relative, element-wise
    "stake_weight": 1e-12,  # x max|preds|
    "mmc": 1e-9,  # x max|target|
    "summary": 1e-9,  # relative, per statistic
}
EXAMPLES = 25


def _float(result: Any) -> np.ndarray:
    if isinstance(result, (pd.Series, pd.DataFrame)):
        return result.to_numpy(dtype=np.float64)
    return np.asarray(result, dtype=np.float64)


def outcome(fn: Any, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
    try:
        return True, fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        return False, exc


class RefProblem:
    """The reference misbehaved (warned, or refused what the fast path accepted): reported
    when the test compares with the reference, after the check against the moderate twin,
    so that a failure says which side is wrong."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


def both(name: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """(fast, reference) results of `name`; both must raise or both succeed.

    A warning of the fast path fails at once (filterwarnings=error); one of the reference
    becomes a RefProblem, as does a reference refusal of what the fast path computed."""
    ok_fast, fast = outcome(getattr(nk, name), *args, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok_ref, slow = outcome(getattr(ref, name), *args, **kwargs)
    if not ok_fast:
        assert not ok_ref, f"{name}: fast refused ({fast!r}), the reference computed"
        return None, None
    if not ok_ref:
        return fast, RefProblem(f"the reference refused ({slow!r}), the fast path computed")
    if caught:
        return fast, RefProblem(f"the reference warned: {caught[0].message}")
    return fast, slow


def reference_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A reference result, or a RefProblem if the reference warned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return RefProblem(f"the reference warned: {caught[0].message}") if caught else result


def close(actual: Any, expected: Any, tol: float, what: str) -> None:
    for side in (actual, expected):
        if isinstance(side, RefProblem):
            raise AssertionError(f"{what}: {side.problem}")
    a, b = _float(actual), _float(expected)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    differ = nan_a != nan_b
    assert not differ.any(), f"{what}: NaN in one only: {a[differ][:3]} vs {b[differ][:3]}"
    ok = ~nan_a
    err = np.abs(a[ok] - b[ok])
    if err.size:
        assert not np.isnan(err).any() and err.max() <= tol, (
            f"{what}: max abs diff {err.max():.3e} > {tol:.3e}"
        )


def clear(d: ExtremeData, intercept: bool = True) -> bool:
    """Rank of every era's moderate design is clear of lstsq's rcond band."""
    return rank_is_clear(EraData(d.x_moderate, d.y_moderate, d.eras, ""), intercept)


def ymax(d: ExtremeData) -> float:
    return float(np.max(np.abs(d.y_moderate))) * d.y_scale


def tmax(d: ExtremeData) -> float:
    return float(np.max(np.abs(d.target)))


def tie_free(v: np.ndarray, eras: np.ndarray) -> bool:
    return all(np.unique(v[eras == e]).size == (eras == e).sum() for e in np.unique(eras))


# ------------------------------------------------------------------------------------
# neutralization


@settings(max_examples=EXAMPLES)
@given(
    d=extreme_data(),
    proportion=st.sampled_from([1.0, 0.5]),
    standardize=st.booleans(),
    method=st.sampled_from(["auto", "householder", "pivoted"]),
)
def test_neutralize(d, proportion, standardize, method):
    assume(clear(d))
    kw = {"eras": d.eras, "proportion": proportion, "standardize": standardize}
    fast, slow = both("neutralize", d.y, d.x, **kw, method=method)
    assert fast is not None, f"{d!r}: refused"
    scale = 1.0 if standardize else ymax(d)
    twin = ref.neutralize(d.y_moderate, d.x_moderate, **kw)
    close(
        fast,
        twin * (1.0 if standardize else d.y_scale),
        TOL["neutralize"] * scale,
        f"{d!r} vs moderate twin",
    )
    close(fast, slow, TOL["neutralize"] * scale, f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data())
def test_neutralizer(d):
    assume(clear(d))
    fast = nk.Neutralizer(d.x, eras=d.eras).transform(d.y)
    slow = reference_call(lambda: ref.Neutralizer(d.x, eras=d.eras).transform(d.y))
    twin = ref.neutralize(d.y_moderate, d.x_moderate, eras=d.eras) * d.y_scale
    close(fast, twin, TOL["neutralize"] * ymax(d), f"{d!r} vs moderate twin")
    close(fast, slow, TOL["neutralize"] * ymax(d), f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data())
def test_neutralize_pandas_shuffled_index(d):
    """Same labels, same (shuffled) order in every argument: the NumPy numbers, index kept."""
    assume(clear(d))
    index = pd.Index(np.random.default_rng(len(d.eras)).permutation(len(d.eras)) * 7 + 3)
    y = pd.DataFrame(d.y, index=index)
    x = pd.DataFrame(d.x, index=index)
    eras = pd.Series(d.eras, index=index)
    fast = nk.neutralize(y, x, eras=eras)
    assert fast.index.equals(index)
    close(fast, nk.neutralize(d.y, d.x, eras=d.eras), 0.0, f"{d!r} pandas vs NumPy")
    slow = reference_call(ref.neutralize, y, x, eras=eras)
    close(fast, slow, TOL["neutralize"] * ymax(d), f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), proportion=st.sampled_from([1.0, 0.5]))
def test_feature_neutral_target(d, proportion):
    assume(clear(d))
    fast, slow = both("feature_neutral_target", d.target, d.x, eras=d.eras, proportion=proportion)
    assert fast is not None, f"{d!r}: refused"
    t_scale = tmax(d) / max(float(np.max(np.abs(d.target_moderate))), 1e-300)
    twin = ref.feature_neutral_target(
        d.target_moderate, d.x_moderate, eras=d.eras, proportion=proportion
    )
    close(
        fast,
        _float(twin) * t_scale,
        TOL["feature_neutral_target"] * tmax(d),
        f"{d!r} vs moderate twin",
    )
    close(fast, slow, TOL["feature_neutral_target"] * tmax(d), f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), u_scale=st.sampled_from([2.0**-660, 1.0, 2.0**660]))
def test_orthogonalize(d, u_scale):
    u = d.metamodel * u_scale
    fast, slow = both("orthogonalize", d.y, u, eras=d.eras)
    assert fast is not None, f"{d!r}: refused"
    twin = ref.orthogonalize(d.y_moderate, d.metamodel, eras=d.eras) * d.y_scale
    close(fast, twin, TOL["orthogonalize"] * ymax(d), f"{d!r} u_scale={u_scale} vs twin")
    close(fast, slow, TOL["orthogonalize"] * ymax(d), f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), by_scale=st.sampled_from([2.0**-660, 2.0**-40, 1.0, 2.0**40, 2.0**660]))
def test_neutralize_series(d, by_scale):
    series = pd.Series(d.y_moderate[:, 0] + 3.0)  # mean clearly non-zero: an intercept
    by = d.x_moderate[:, 0] * by_scale
    assume(np.ptp(d.x_moderate[:, 0]) > 0)
    fast, slow = both("neutralize_series", series, by)
    assert fast is not None
    scale = float(series.abs().max())
    close(fast, slow, TOL["neutralize_series"] * scale, f"{d!r} by_scale={by_scale}")
    twin = ref.neutralize(series.to_numpy(), d.x_moderate[:, :1])
    close(fast, twin, TOL["neutralize_series"] * scale, f"{d!r} by_scale={by_scale} vs twin")


# ------------------------------------------------------------------------------------
# correlations and ranks


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), name=st.sampled_from(["pearson", "corr", "numerai_corr"]))
def test_correlations_are_scale_free(d, name):
    fast, slow = both(name, d.y, d.target, eras=d.eras)
    assert fast is not None, f"{d!r}: refused"
    twin = getattr(ref, name)(d.y_moderate, d.target_moderate, eras=d.eras)
    close(fast, twin, TOL["correlation"], f"{name} {d!r} vs moderate twin")
    assert np.all(np.abs(_float(fast)[~np.isnan(_float(fast))]) <= 1.0 + 1e-12)
    close(fast, slow, TOL["correlation"], f"{name} {d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data())
def test_covariance(d):
    t_scale = tmax(d) / max(float(np.max(np.abs(d.target_moderate))), 1e-300)
    factor = d.y_scale * t_scale
    assume(np.isfinite(factor) and factor > 0 and 2.0**-900 < factor < 2.0**900)
    fast, slow = both("covariance", d.y, d.target, eras=d.eras)
    assert fast is not None
    twin = _float(ref.covariance(d.y_moderate, d.target_moderate, eras=d.eras)) * factor
    tol = (
        TOL["covariance"]
        * factor
        * float(np.max(np.abs(d.y_moderate)))
        * max(float(np.max(np.abs(d.target_moderate))), 1.0)
    )
    close(fast, twin, tol, f"{d!r} vs moderate twin")
    close(fast, slow, tol, f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), method=st.sampled_from(["average", "first"]))
def test_rank_and_gaussianize_are_scale_free(d, method):
    for name in ("rank", "gaussianize"):
        fast, slow = both(name, d.y, eras=d.eras, method=method)
        assert fast is not None
        tol = TOL[name] * (1.0 if name == "rank" else 10.0)
        close(fast, slow, tol, f"{name} {d!r} vs reference")
        twin = getattr(ref, name)(d.y_moderate, eras=d.eras, method=method)
        close(fast, twin, tol, f"{name} {d!r} vs moderate twin")


@settings(max_examples=EXAMPLES)
@given(data=big_int_ranks(), method=st.sampled_from(["average", "first"]))
def test_rank_of_integers_past_2_53_is_exact(data, method):
    values, small, eras = data
    twin = ref.rank(small, eras=eras, method=method)
    fast, slow = both("rank", values, eras=eras, method=method)
    assert fast is not None, f"{values.dtype} refused"
    close(fast, twin, 0.0, f"fast rank of {values.dtype} {values.ravel()[:4]}")
    close(slow, twin, 0.0, f"reference rank of {values.dtype} {values.ravel()[:4]}")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), p=st.sampled_from([1.5, 2.0, 0.5]))
def test_power(d, p):
    fast, slow = both("power", d.y, p)
    assert fast is not None
    if isinstance(slow, RefProblem):
        raise AssertionError(f"{d!r}: {slow.problem}")
    a, b = _float(fast), _float(slow)
    assert np.array_equal(np.isinf(a), np.isinf(b)), f"{d!r}: inf pattern differs"
    finite = np.isfinite(b)
    np.testing.assert_allclose(a[finite], b[finite], rtol=TOL["power"], atol=0, err_msg=repr(d))


@settings(max_examples=EXAMPLES)
@given(d=extreme_data())
def test_churn_is_scale_free(d):
    fast, slow = both("churn", d.y[:, 0], d.target)
    assert fast is not None
    close(fast, ref.churn(d.y_moderate[:, 0], d.target_moderate), TOL["correlation"], repr(d))
    close(fast, slow, TOL["correlation"], f"{d!r} vs reference")


# ------------------------------------------------------------------------------------
# contributions, metamodels


@settings(max_examples=EXAMPLES)
@given(d=extreme_data())
def test_correlation_contribution(d):
    fast, slow = both("correlation_contribution", d.y, d.metamodel, d.target, eras=d.eras)
    assert fast is not None
    tol = TOL["contribution"] * tmax(d)
    twin = reference_call(
        ref.correlation_contribution, d.y_moderate, d.metamodel, d.target, eras=d.eras
    )  # same (extreme) target: its x4 rule for targets in [0, 1] is not scale-free
    close(fast, twin, tol, f"{d!r} (preds scale) vs moderate preds")
    close(fast, slow, tol, f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data())
def test_neutral_contribution(d):
    assume(clear(d))
    args = (d.y, d.metamodel, d.x, d.target)
    fast, slow = both("neutral_contribution", *args, eras=d.eras)
    if fast is None:
        return  # both refused (e.g. a metamodel neutralized to a constant)
    tol = TOL["contribution"] * tmax(d)
    twin = ref.neutral_contribution(d.y_moderate, d.metamodel, d.x_moderate, d.target, eras=d.eras)
    close(fast, twin, tol, f"{d!r} vs moderate twin")
    close(fast, slow, tol, f"{d!r} vs reference")


STAKE_SCALES = [2.0**-1000, 1.0, 2.0**1000, 2.0**1020]


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), stake_scale=st.sampled_from(STAKE_SCALES), seed=st.integers(0, 99))
def test_stake_weight(d, stake_scale, seed):
    small = np.random.default_rng(seed).integers(1, 5, size=d.y.shape[1]).astype(np.float64)
    fast, slow = both("stake_weight", d.y, small * stake_scale)
    assert fast is not None, f"stakes at {stake_scale:.1e} refused"
    tol = TOL["stake_weight"] * ymax(d)
    close(fast, ref.stake_weight(d.y, small), tol, f"{d!r} stakes x {stake_scale:.1e} vs twin")
    close(fast, slow, tol, f"{d!r} stakes x {stake_scale:.1e} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(max_m=4), stake_scale=st.sampled_from(STAKE_SCALES), seed=st.integers(0, 99))
def test_stake_weighted_metamodel(d, stake_scale, seed):
    small = np.random.default_rng(seed).integers(1, 3, size=d.y.shape[1]).astype(np.float64)
    fast, slow = both("stake_weighted_metamodel", d.y, small * stake_scale, eras=d.eras)
    assert fast is not None
    twin = ref.stake_weighted_metamodel(d.y_moderate, small, eras=d.eras)
    close(fast, twin, 1e-12, f"{d!r} vs moderate twin")
    close(fast, slow, 1e-12, f"{d!r} stakes x {stake_scale:.1e} vs reference")


@settings(max_examples=EXAMPLES)
@given(
    d=extreme_data(max_m=4),
    bags=st.sampled_from([None, 3]),
    preset=st.sampled_from([None, "legacy"]),
    seed=st.integers(0, 99),
)
def test_mmc(d, bags, preset, seed):
    assume(bags is None or d.y.shape[1] >= 2)  # a bag of half of one user is refused
    small = np.random.default_rng(seed).integers(1, 3, size=d.y.shape[1]).astype(np.float64)
    kw = {"stakes": small, "eras": d.eras, "bags": bags, "preset": preset}
    fast, slow = both("mmc", d.y, d.target, **kw)
    if fast is None:
        return  # both refused (a constant metamodel in an era of ties)
    tol = TOL["mmc"] * tmax(d)
    t_scale = tmax(d) / max(float(np.max(np.abs(d.target_moderate))), 1e-300)
    twin = _float(ref.mmc(d.y_moderate, d.target_moderate, **kw)) * t_scale  # linear in t
    close(fast, twin, tol, f"{d!r} vs moderate twin")
    close(fast, slow, tol, f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(max_m=4), seed=st.integers(0, 99))
def test_mmc_loo(d, seed):
    assume(d.y.shape[1] >= 2)  # a bag of half of one user is refused
    small = np.random.default_rng(seed).integers(1, 3, size=d.y.shape[1]).astype(np.float64)
    fast, slow = both("mmc_loo", d.y, d.target, small, eras=d.eras, bags=2)
    if fast is None:
        return
    twin = ref.mmc_loo(d.y_moderate, d.target_moderate, small, eras=d.eras, bags=2)
    close(fast, twin, TOL["correlation"], f"{d!r} vs moderate twin")
    close(fast, slow, TOL["correlation"], f"{d!r} vs reference")


# ------------------------------------------------------------------------------------
# diagnostics


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), name=st.sampled_from(["feature_correlations", "feature_exposure"]))
def test_feature_exposure_is_scale_free(d, name):
    fast, slow = both(name, d.y, d.x, eras=d.eras)
    assert fast is not None
    if name == "feature_exposure":  # "max" names the feature: compare the numbers
        fast, slow = (
            f.drop(columns=[c for c in f.columns if "feature" in str(c)], errors="ignore")
            if isinstance(f, pd.DataFrame)
            else f
            for f in (fast, slow)
        )
    twin = getattr(ref, name)(d.y_moderate, d.x_moderate, eras=d.eras)
    if name == "feature_exposure" and isinstance(twin, pd.DataFrame):
        twin = twin.drop(columns=[c for c in twin.columns if "feature" in str(c)], errors="ignore")
    close(fast, twin, TOL["correlation"], f"{name} {d!r} vs moderate twin")
    close(fast, slow, TOL["correlation"], f"{name} {d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), preset=st.sampled_from(["official", "legacy"]))
def test_feature_neutral_corr(d, preset):
    assume(clear(d, intercept=preset == "official"))
    # FNC ranks the neutralized predictions again: a tie there that holds only up to
    # rounding (e.g. r = [1, -2, 1] for a linear feature over 3 rows) has no defined rank
    gauss = ref.gaussianize(d.y_moderate, eras=d.eras, method="first")
    resid = ref.neutralize(gauss, d.x_moderate, eras=d.eras, intercept=preset == "official")
    for e in np.unique(d.eras):
        for col in np.asarray(resid)[d.eras == e].T:
            gaps = np.diff(np.sort(col))
            assume(not np.any(gaps < 1e-9 * max(1.0, float(np.max(np.abs(col))))))
    fast, slow = both("feature_neutral_corr", d.y, d.x, d.target, eras=d.eras, preset=preset)
    assert fast is not None
    if preset == "official":  # the span with an intercept is scale-free
        twin = ref.feature_neutral_corr(
            d.y_moderate, d.x_moderate, d.target_moderate, eras=d.eras, preset=preset
        )
        close(fast, twin, TOL["correlation"], f"{d!r} vs moderate twin")
    close(fast, slow, TOL["correlation"], f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data())
def test_neutral_correlation(d):
    assume(clear(d))
    fast, slow = both("neutral_correlation", d.y, d.x, d.target, eras=d.eras)
    assert fast is not None
    twin = ref.neutral_correlation(d.y_moderate, d.x_moderate, d.target_moderate, eras=d.eras)
    close(fast, twin, TOL["correlation"], f"{d!r} vs moderate twin")
    close(fast, slow, TOL["correlation"], f"{d!r} vs reference")


#: per-era scores are summaries of correlations: large scales, but squares stay finite
SCORE_SCALES = [2.0**-300, 2.0**-40, 1.0, 2.0**40, 2.0**300]


@settings(max_examples=EXAMPLES)
@given(
    d=extreme_data(),
    coefficient=st.sampled_from([1.5, 1.0, 3.0]),
    scale=st.sampled_from(SCORE_SCALES),
)
def test_hard_era_mmc(d, coefficient, scale):
    per_era = d.y_moderate * scale  # rows as eras
    mm_corr = d.metamodel
    fast, slow = both("hard_era_mmc", per_era, mm_corr, coefficient)
    assert fast is not None
    tol = TOL["mmc"] * float(np.max(np.abs(per_era)))
    twin = _float(ref.hard_era_mmc(d.y_moderate, mm_corr, coefficient)) * scale
    close(fast, twin, tol, f"{d!r} x {scale:.1e} vs moderate twin")
    close(fast, slow, tol, f"{d!r} x {scale:.1e} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), scale=st.sampled_from(SCORE_SCALES))
def test_summary(d, scale):
    fast, slow = both("summary", d.y_moderate * scale)
    assert fast is not None
    twin = ref.summary(d.y_moderate)
    # mean, std and drawdown scale with the scores; the ratios do not (atol for values
    # that are 0 up to rounding, e.g. an autocorrelation of 1e-17)
    scaled = [c in ("mean", "std", "max_drawdown") for c in twin.columns]
    factor = np.where(scaled, scale, 1.0)
    expected = _float(twin) * factor
    tol = TOL["summary"] * (np.abs(_float(twin)) + 1e-3) * factor
    for other, what in ((expected, "twin"), (slow, "reference")):
        if isinstance(other, RefProblem):
            raise AssertionError(f"{d!r}: {other.problem}")
        a, b = _float(fast), _float(other)
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{d!r} vs {what}: NaN pattern"
        ok = ~np.isnan(b)
        with np.errstate(invalid="ignore"):  # inf - inf where both are inf
            diff = np.where(a == b, 0.0, np.abs(a - b))
        bad = ~(diff[ok] <= tol[ok])
        assert not bad.any(), f"{d!r} x {scale:.1e} vs {what}: {a[ok][bad]} != {b[ok][bad]}"


# ------------------------------------------------------------------------------------
# portfolio weights (Signals): neutralizers as given (orthonormal), weights, stakes


def _orthonormal(d: ExtremeData) -> np.ndarray:
    return np.linalg.qr(d.x_moderate)[0]


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(), center=st.booleans())
def test_neutralized_weights_are_free_of_the_preds_scale(d, center):
    n, v = _orthonormal(d), np.linspace(0.5, 1.5, len(d.eras))
    kw = {"eras": d.eras, "center_and_normalize": center}
    fast, slow = both("neutralized_weights", d.y, n, v, **kw)
    assert fast is not None
    twin = ref.neutralized_weights(d.y_moderate, n, v, **kw)
    tol = 1e-9 * max(1.0, float(np.max(np.abs(_float(twin)))))
    close(fast, twin, tol, f"{d!r} vs twin")
    close(fast, slow, tol, f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data())
def test_alpha_is_linear_in_the_target(d):
    n, v = _orthonormal(d), np.linspace(0.5, 1.5, len(d.eras))
    fast, slow = both("alpha", d.y, n, v, d.target, eras=d.eras)
    assert fast is not None
    t_scale = tmax(d) / max(float(np.max(np.abs(d.target_moderate))), 1e-300)
    twin = _float(ref.alpha(d.y_moderate, n, v, d.target_moderate, eras=d.eras)) * t_scale
    tol = TOL["contribution"] * tmax(d) * 10.0
    close(fast, twin, tol, f"{d!r} vs moderate twin")
    close(fast, slow, tol, f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data(max_m=4), stake_scale=st.sampled_from(STAKE_SCALES), seed=st.integers(0, 99))
def test_meta_portfolio_contribution(d, stake_scale, seed):
    assume(d.y.shape[1] >= 2)
    small = np.random.default_rng(seed).integers(1, 3, size=d.y.shape[1]).astype(np.float64)
    n, v = _orthonormal(d), np.linspace(0.5, 1.5, len(d.eras))
    fast, slow = both("meta_portfolio_contribution", d.y, small * stake_scale, n, v, d.target,
                      eras=d.eras)  # fmt: skip
    if fast is None:
        return  # both refused (e.g. a portfolio of weights all equal)
    t_scale = tmax(d) / max(float(np.max(np.abs(d.target_moderate))), 1e-300)
    twin = ref.meta_portfolio_contribution(
        d.y_moderate, small, n, v, d.target_moderate, eras=d.eras
    )
    tol = TOL["contribution"] * tmax(d) * 10.0
    close(fast, _float(twin) * t_scale, tol, f"{d!r} stakes x {stake_scale:.1e} vs twin")
    if "mpc" in nk.__all__:
        close(nk.mpc(d.y, small * stake_scale, n, v, d.target, eras=d.eras), fast, 0.0, "mpc")
    close(fast, slow, tol, f"{d!r} stakes x {stake_scale:.1e} vs reference")


@settings(max_examples=EXAMPLES)
@given(d=extreme_data())
def test_turnover_is_linear_in_the_weights(d):
    current, previous = d.y[:, 0], odd_layout(d.y_moderate[::-1, 0] * d.y_scale, "C")
    fast, slow = both("turnover", current, previous, eras=d.eras)
    assert fast is not None
    tol = 1e-12 * ymax(d) * len(d.eras)
    twin = _float(ref.turnover(d.y_moderate[:, 0], d.y_moderate[::-1, 0], eras=d.eras))
    close(fast, twin * d.y_scale, tol, f"{d!r} vs moderate twin")
    close(fast, slow, tol, f"{d!r} vs reference")


@settings(max_examples=EXAMPLES)
@given(
    d=extreme_data(),
    stake=st.sampled_from([2.0**-300, 1.0, 2.0**300]),
    compound=st.booleans(),
)
def test_payout_is_linear_in_the_stake(d, stake, compound):
    scores = pd.DataFrame({"corr": d.y_moderate[:, 0] / 10, "mmc": d.target_moderate / 10})
    kw = {"stake": stake, "compound": compound, "clip": 0.25}
    fast, slow = both("payout", scores, {"corr": 1.0, "mmc": 2.0}, **kw)
    assert fast is not None
    twin = ref.payout(scores, {"corr": 1.0, "mmc": 2.0}, **{**kw, "stake": 1.0})
    close(fast, _float(twin) * stake, 1e-12 * stake, f"stake {stake:.1e} vs stake 1")
    close(fast, slow, 1e-12 * stake, f"stake {stake:.1e} vs reference")


def test_every_public_function_is_covered():
    """A new public function needs an extreme-value test here."""
    tested = {
        "neutralize", "Neutralizer", "feature_neutral_target", "orthogonalize",
        "neutralize_series", "pearson", "corr", "numerai_corr", "covariance", "rank",
        "gaussianize", "power", "churn", "correlation_contribution", "neutral_contribution",
        "stake_weight", "stake_weighted_metamodel", "mmc", "mmc_loo", "feature_correlations",
        "feature_exposure", "feature_neutral_corr", "neutral_correlation", "hard_era_mmc",
        "summary", "neutralized_weights", "alpha", "meta_portfolio_contribution", "mpc",
        "turnover", "payout",
    }  # fmt: skip
    values = {"PAYOUT_SCHEMES", "PayoutScheme"}  # data, not functions
    missing = sorted(set(nk.__all__) - tested - values)
    assert not missing, f"no extreme-value test for {missing}"
