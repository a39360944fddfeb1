"""The row-alignment rule, over every public function that takes two or more row inputs.

pandas inputs meet by index label: the same labels in another order give the same
result as aligned input; labels that differ, or duplicated labels where the order
differs, raise a ValueError naming both arguments. NumPy inputs meet by position.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neutralkit as nk
from neutralkit import _validate, contribution, diagnostics, metamodel, neutralization, scoring
from strategies import INDEX_KINDS, index_of, permutations

N, N_ERAS = 48, 3


def make_data(index_kind: str = "str", seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    index = index_of(N, index_kind)
    eras = pd.Series(np.repeat([f"e{i}" for i in range(N_ERAS)], N // N_ERAS), index=index)
    # eras in shuffled row order, so that "by position" and "by label" really differ
    eras = pd.Series(eras.to_numpy()[rng.permutation(N)], index=index, name="era")
    features = pd.DataFrame(
        rng.integers(0, 5, size=(N, 4)).astype(np.int8),
        index=index,
        columns=[f"f{j}" for j in range(4)],
    )
    preds = pd.DataFrame(rng.normal(size=(N, 3)), index=index, columns=["u0", "u1", "u2"])
    preds["u0"] += features["f0"]
    return {
        "preds": preds,
        "target": pd.Series(rng.normal(size=N) + 0.3 * preds["u1"], index=index, name="t"),
        "features": features,
        "metamodel": pd.Series(rng.normal(size=N) + preds.mean(axis=1), index=index),
        "eras": eras,
        "stakes": pd.Series([1.0, 2.0, 0.5], index=preds.columns),
        "weights": pd.Series(rng.uniform(0.5, 1.5, size=N), index=index),
    }


@dataclass
class Case:
    """A public function, how to call it, and how its row inputs are named in errors.

    ``anchor``: the key of the first row input (never reordered here); ``others``:
    key -> the argument's name as errors give it; ``anchor_name``: the first input's name.
    """

    name: str
    call: Callable[[dict[str, Any]], Any]
    anchor: str
    anchor_name: str
    others: dict[str, str]
    #: the names as errors give them when they are not "anchor_name" (Neutralizer)
    anchor_names: dict[str, str] = field(default_factory=dict)
    keeps_own_order: str | None = None  # key of an input whose row order the result keeps


P_T_E = {"target": "target", "eras": "eras"}
CASES = [
    Case(
        "neutralize",
        lambda d: nk.neutralize(d["preds"], d["features"], eras=d["eras"], proportion=[0.5, 1]),
        "preds",
        "y",
        {"features": "exposures", "eras": "eras"},
    ),
    Case(
        "neutralize(nan_policy='omit')",
        lambda d: nk.neutralize(d["preds"], d["features"], eras=d["eras"], nan_policy="omit"),
        "preds",
        "y",
        {"features": "exposures", "eras": "eras"},
    ),
    Case(
        "Neutralizer.transform",
        lambda d: nk.Neutralizer(d["features"], eras=d["eras"]).transform(d["preds"]),
        "features",
        "exposures",
        {"eras": "eras", "preds": "y"},
        anchor_names={"preds": "the fitted exposures"},
        keeps_own_order="preds",
    ),
    Case(
        "feature_neutral_target",
        lambda d: nk.feature_neutral_target(d["target"], d["features"], eras=d["eras"]),
        "target",
        "target",
        {"features": "features", "eras": "eras"},
    ),
    Case(
        "orthogonalize",
        lambda d: nk.orthogonalize(d["preds"], d["metamodel"], eras=d["eras"]),
        "preds",
        "v",
        {"metamodel": "u", "eras": "eras"},
    ),
    Case(
        "neutralize_series",
        lambda d: nk.neutralize_series(d["target"], d["metamodel"]),
        "target",
        "series",
        {"metamodel": "by"},
    ),
    Case("rank", lambda d: nk.rank(d["preds"], eras=d["eras"]), "preds", "x", {"eras": "eras"}),
    Case(
        "gaussianize",
        lambda d: nk.gaussianize(d["preds"], eras=d["eras"]),
        "preds",
        "x",
        {"eras": "eras"},
    ),
    *[
        Case(
            fn,
            (lambda f: lambda d: f(d["preds"], d["target"], eras=d["eras"]))(getattr(nk, fn)),
            "preds",
            "preds",
            P_T_E,
        )
        for fn in ("pearson", "covariance", "corr", "numerai_corr")
    ],
    Case(
        "numerai_corr(top_bottom)",
        lambda d: nk.numerai_corr(d["preds"], d["target"], eras=d["eras"], top_bottom=4),
        "preds",
        "preds",
        P_T_E,
    ),
    Case(
        "correlation_contribution",
        lambda d: nk.correlation_contribution(
            d["preds"], d["metamodel"], d["target"], eras=d["eras"]
        ),
        "preds",
        "preds",
        {"metamodel": "metamodel", **P_T_E},
    ),
    Case(
        "neutral_contribution",
        lambda d: nk.neutral_contribution(
            d["preds"], d["metamodel"], d["features"], d["target"], eras=d["eras"]
        ),
        "preds",
        "preds",
        {"metamodel": "metamodel", "features": "neutralizers", **P_T_E},
    ),
    Case(
        "stake_weighted_metamodel",
        lambda d: nk.stake_weighted_metamodel(d["preds"], d["stakes"], eras=d["eras"]),
        "preds",
        "preds",
        {"eras": "eras"},
    ),
    Case(
        "mmc(stakes, bags)",
        lambda d: nk.mmc(d["preds"], d["target"], stakes=d["stakes"], eras=d["eras"], bags=3),
        "preds",
        "preds",
        P_T_E,
    ),
    Case(
        "mmc(metamodel)",
        lambda d: nk.mmc(d["preds"], d["target"], metamodel=d["metamodel"], eras=d["eras"]),
        "preds",
        "preds",
        {"metamodel": "metamodel", **P_T_E},
    ),
    Case(
        "mmc(metamodel, omit)",
        lambda d: nk.mmc(
            d["preds"], d["target"], metamodel=d["metamodel"], eras=d["eras"], nan_policy="omit"
        ),
        "preds",
        "preds",
        {"metamodel": "metamodel", **P_T_E},
    ),
    Case(
        "mmc_loo",
        lambda d: nk.mmc_loo(d["preds"], d["target"], d["stakes"], eras=d["eras"], bags=3),
        "preds",
        "preds",
        P_T_E,
    ),
    Case(
        "feature_correlations",
        lambda d: nk.feature_correlations(d["preds"], d["features"], eras=d["eras"]),
        "preds",
        "preds",
        {"features": "features", "eras": "eras"},
    ),
    Case(
        "feature_exposure",
        lambda d: nk.feature_exposure(d["preds"], d["features"], eras=d["eras"]),
        "preds",
        "preds",
        {"features": "features", "eras": "eras"},
    ),
    *[
        Case(
            f"feature_neutral_corr({preset})",
            (
                lambda p: (
                    lambda d: nk.feature_neutral_corr(
                        d["preds"], d["features"], d["target"], eras=d["eras"], preset=p
                    )
                )
            )(preset),
            "preds",
            "preds",
            {"features": "features", **P_T_E},
        )
        for preset in ("official", "legacy")
    ],
    Case(
        "neutral_correlation",
        lambda d: nk.neutral_correlation(d["preds"], d["features"], d["target"], eras=d["eras"]),
        "preds",
        "preds",
        {"features": "neutralizers", **P_T_E},
    ),
    # neutralkit.contribution (another module, the same rule)
    Case(
        "neutralized_weights",
        lambda d: nk.neutralized_weights(d["preds"], d["features"], d["weights"], eras=d["eras"]),
        "preds",
        "preds",
        {"features": "neutralizers", "weights": "sample_weights", "eras": "eras"},
    ),
    Case(
        "alpha",
        lambda d: nk.alpha(d["preds"], d["features"], d["weights"], d["target"], eras=d["eras"]),
        "preds",
        "preds",
        {"features": "neutralizers", "weights": "sample_weights", **P_T_E},
    ),
    Case(
        "meta_portfolio_contribution",
        lambda d: nk.meta_portfolio_contribution(
            d["preds"], d["stakes"], d["features"], d["weights"], d["target"], eras=d["eras"]
        ),
        "preds",
        "preds",
        {"features": "neutralizers", "weights": "sample_weights", **P_T_E},
    ),
]

#: public functions with at most one row input, or with their own documented rule:
#: hard_era_mmc (era-indexed, tested below), churn/turnover (the ids both have, as
#: numerai-tools' Signals functions), mpc (an alias of meta_portfolio_contribution)
SINGLE_ROW_INPUT = {"power", "stake_weight", "summary", "hard_era_mmc", "churn", "turnover", "mpc"}


def test_registry_covers_every_public_function():
    """A new public function with two row inputs must join CASES (or be listed above)."""
    public = set()
    for module in (neutralization, scoring, metamodel, diagnostics, contribution):
        public |= set(module.__all__)
    covered = {c.name.split("(")[0].split(".")[0] for c in CASES}
    missing = public - covered - SINGLE_ROW_INPUT
    assert not missing, f"add these to CASES in tests/test_alignment.py: {sorted(missing)}"


def assert_same(actual: Any, expected: Any, check_names: bool = True) -> None:
    if isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_same(a, e, check_names)
    elif isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(
            actual, expected, check_exact=False, rtol=1e-9, atol=1e-12, check_names=check_names
        )
    elif isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(
            actual, expected, check_exact=False, rtol=1e-9, atol=1e-12, check_names=check_names
        )
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-12)


def _in_order_of(result: Any, index: pd.Index) -> Any:
    if isinstance(result, list):
        return [_in_order_of(r, index) for r in result]
    return result.loc[index]


def _shuffled(d: dict[str, Any], key: str, perm: np.ndarray) -> dict[str, Any]:
    return {**d, key: d[key].iloc[perm]}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("index_kind", INDEX_KINDS)
def test_shuffled_labels_give_the_aligned_result(case: Case, index_kind: str):
    d = make_data(index_kind)
    expected = case.call(d)
    perm = np.random.default_rng(1).permutation(N)
    for key in case.others:
        result = case.call(_shuffled(d, key, perm))
        if key == case.keeps_own_order:  # the result follows that input's row order
            assert result.index.equals(d[key].index[perm])
            result = _in_order_of(result, d[key].index)
        assert_same(result, expected)
    # every other input shuffled, each in its own order
    rng = np.random.default_rng(2)
    shuffled = dict(d)
    for key in case.others:
        shuffled[key] = d[key].iloc[rng.permutation(N)]
    result = case.call(shuffled)
    if case.keeps_own_order:
        result = _in_order_of(result, d[case.keeps_own_order].index)
    assert_same(result, expected)


def _names(case: Case, key: str) -> tuple[str, str]:
    return case.others[key], case.anchor_names.get(key, case.anchor_name)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_different_labels_name_both_arguments(case: Case):
    d = make_data()
    for key in case.others:
        other = d[key]
        relabelled = other.set_axis([*other.index[:-2], "stranger-1", "stranger-2"])
        name, anchor_name = _names(case, key)
        with pytest.raises(ValueError, match="index labels differ") as err:
            case.call({**d, key: relabelled})
        message = str(err.value)
        assert name in message and anchor_name in message, message
        assert "2 label(s)" in message  # counts what differs, on both sides
        # fewer rows: a length mismatch, still naming both
        with pytest.raises(ValueError, match=re.escape(f"{name} has {N - 1} rows")):
            case.call({**d, key: other.iloc[1:]})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_duplicated_labels_where_alignment_is_needed_raise(case: Case):
    d = make_data()
    for key in case.others:
        other = d[key]
        labels = list(other.index)
        labels[1] = labels[0]  # one label twice, one missing
        name, anchor_name = _names(case, key)
        with pytest.raises(ValueError, match="duplicated label") as err:
            case.call({**d, key: other.set_axis(labels).iloc[::-1]})
        assert name in str(err.value) and anchor_name in str(err.value)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_identical_duplicated_indexes_take_the_fast_path(case: Case):
    """Equal indexes are never reordered, duplicates or not (rows match by position)."""
    d = make_data()
    labels = list(d["preds"].index)
    labels[1] = labels[0]
    dup = {k: (v.set_axis(labels) if k != "stakes" else v) for k, v in d.items()}
    plain = {k: (v.reset_index(drop=True) if k != "stakes" else v) for k, v in d.items()}
    result, expected = case.call(dup), case.call(plain)
    if isinstance(expected, list | pd.Series | pd.DataFrame) and (
        case.name.startswith(("neutralize", "Neutralizer", "feature_neutral_target"))
        or case.name in ("orthogonalize", "rank", "gaussianize", "stake_weighted_metamodel")
    ):  # row-wise outputs carry the (duplicated) index: compare the values
        flat = result if isinstance(result, list) else [result]
        flat_e = expected if isinstance(expected, list) else [expected]
        for r, e in zip(flat, flat_e, strict=True):
            np.testing.assert_allclose(np.asarray(r), np.asarray(e), rtol=1e-12)
    else:
        assert_same(result, expected)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pandas_with_numpy_meets_by_position(case: Case):
    """A NumPy input has no labels: it pairs with a pandas input row by row."""
    d = make_data()
    expected = case.call(d)
    for key in case.others:
        as_numpy = {**d, key: d[key].to_numpy()}
        result = case.call(as_numpy)
        if key == case.keeps_own_order:  # that input decides the kind of the result
            np.testing.assert_allclose(result, expected.to_numpy(), rtol=1e-9, atol=1e-12)
        elif key == "features" and case.name.startswith(("feature_corr", "feature_exp")):
            # NumPy features have no names: outputs labelled by feature get 0..k-1
            numeric = [c for c in expected.columns if "max_feature" not in c]
            got = result[[c for c in result.columns if "max_feature" not in c]]
            np.testing.assert_allclose(
                got.to_numpy(float), expected[numeric].to_numpy(float), rtol=1e-9
            )
        else:  # an era array has no name to give the result's era index
            assert_same(result, expected, check_names=key != "eras")


def test_fast_path_returns_the_input_untouched():
    d = make_data()
    preds = _validate.labeled(d["preds"], "preds")
    feats = _validate.labeled(d["features"], "features")
    assert _validate.align(feats, "features", preds, "preds") is feats
    assert _validate.row_positions(feats.index, "f", preds.index, "p") is None
    moved = _validate.align(
        _validate.labeled(d["features"].iloc[::-1], "features"), "features", preds, "preds"
    )
    assert moved.index.equals(preds.index)
    np.testing.assert_array_equal(moved.values, d["features"].to_numpy())


def test_hard_era_mmc_aligns_eras_by_label():
    mmc = pd.Series([0.1, -0.2, 0.3], index=["e1", "e2", "e3"])
    corr = pd.Series([-0.5, 0.2, 0.1], index=["e1", "e2", "e3"])
    expected = nk.hard_era_mmc(mmc, corr, coefficient=2.0)
    assert expected == pytest.approx((0.2 - 0.2 + 0.3) / 3)  # e1 weighted by 2
    assert nk.hard_era_mmc(mmc, corr.iloc[::-1], coefficient=2.0) == pytest.approx(expected)
    with pytest.raises(ValueError, match="duplicated label"):
        nk.hard_era_mmc(mmc, corr.set_axis(["e1", "e1", "e3"]).iloc[::-1])


@settings(max_examples=25)
@given(st.sampled_from(INDEX_KINDS), st.data())
def test_any_permutation_of_target_and_eras_is_aligned(index_kind: str, data: st.DataObject):
    d = make_data(index_kind, seed=3)
    perm_t = data.draw(permutations(N))
    perm_e = data.draw(permutations(N))
    expected = nk.numerai_corr(d["preds"], d["target"], eras=d["eras"])
    got = nk.numerai_corr(d["preds"], d["target"].iloc[perm_t], eras=d["eras"].iloc[perm_e])
    assert_same(got, expected)
    expected_n = nk.neutralize(d["preds"], d["features"], eras=d["eras"])
    got_n = nk.neutralize(d["preds"], d["features"].iloc[perm_t], eras=d["eras"].iloc[perm_e])
    assert_same(got_n, expected_n)


def test_eras_dict_is_refused():
    d = make_data()
    with pytest.raises(TypeError, match="eras: a dict is not accepted"):
        nk.numerai_corr(d["preds"], d["target"], eras=d["eras"].to_dict())


@settings(max_examples=40)
@given(
    case=st.sampled_from(CASES),
    index_kind=st.sampled_from(INDEX_KINDS),
    data=st.data(),
)
def test_any_case_any_permutation(case: Case, index_kind: str, data: st.DataObject):
    """Property form of the shuffled-labels test: a drawn function, drawn permutations."""
    d = make_data(index_kind, seed=5)
    expected = case.call(d)
    shuffled = {**d}
    for key in case.others:
        shuffled[key] = d[key].iloc[data.draw(permutations(N), label=key)]
    result = case.call(shuffled)
    if case.keeps_own_order:
        result = _in_order_of(result, d[case.keeps_own_order].index)
    assert_same(result, expected)
