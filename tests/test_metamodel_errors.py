"""Bad input to the metamodel functions: a clear error naming the argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neutralkit as nk

rng = np.random.default_rng(0)
N, U = 30, 4
PREDS = rng.random((N, U))
TARGET = rng.random(N)
STAKES = np.array([1.0, 2.0, 0.5, 1.5])
ERAS = np.repeat([1, 2, 3], 10)


def _mmc(**kwargs):
    args = dict(preds=PREDS, target=TARGET, stakes=STAKES)
    args.update(kwargs)
    return nk.mmc(args.pop("preds"), args.pop("target"), **args)


@pytest.mark.parametrize(
    "stakes, message",
    [
        (np.array([1.0, -1.0, 1.0, 1.0]), "stakes: contains 1 negative"),
        (np.array([1.0, np.nan, 1.0, 1.0]), "stakes: contains 1 NaN"),
        (np.array([1.0, np.inf, 1.0, 1.0]), "stakes: contains 1 NaN or infinite"),
        (np.zeros(4), "stakes: stakes sum to 0"),
        (np.ones(3), "length mismatch: stakes"),
        (np.ones((4, 1)), "stakes: expected a 1-D"),
    ],
)
def test_bad_stakes(stakes, message):
    for call in (
        lambda: _mmc(stakes=stakes),
        lambda: nk.mmc_loo(PREDS, TARGET, stakes),
        lambda: nk.stake_weighted_metamodel(PREDS, stakes),
    ):
        with pytest.raises(ValueError, match=message):
            call()


def test_stakes_names_not_in_preds():
    frame = pd.DataFrame(PREDS, columns=list("abcd"))
    with pytest.raises(ValueError, match=r"stakes: 1 name\(s\) are not columns.*'zz'"):
        nk.mmc(frame, TARGET, stakes=pd.Series([1.0, 1.0], index=["a", "zz"]))
    with pytest.raises(TypeError, match="stakes: expected numbers"):
        nk.mmc(frame, TARGET, stakes=np.array(["a", "b", "c", "d"]))


def test_bag_with_zero_total_stake():
    mask = np.array([[True, False, False, False], [False, True, True, False]])
    with pytest.raises(ValueError, match="stakes: the users of bag 0 have zero total"):
        _mmc(stakes=np.array([0.0, 1.0, 1.0, 1.0]), bags=mask)


def test_metamodel_single_value_in_an_era():
    meta = rng.random(N)
    meta[ERAS == 2] = 0.7
    with pytest.raises(ValueError, match=r"metamodel: .*single value in era 2"):
        nk.mmc(PREDS, TARGET, metamodel=meta, eras=ERAS)
    with pytest.raises(ValueError, match=r"metamodel: .*single value in era 2"):
        nk.mmc(PREDS, TARGET, metamodel=meta, eras=ERAS, preset="legacy")


def test_stake_weighted_metamodel_single_value():
    flat = PREDS.copy()
    flat[:, :] = 1.0
    with pytest.raises(ValueError, match="stakes: the stake-weighted metamodel takes a"):
        _mmc(preds=flat)


@pytest.mark.parametrize("where", ["preds", "target", "metamodel"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_raises(where, bad):
    preds, target, meta = PREDS.copy(), TARGET.copy(), rng.random(N)
    array = {"preds": preds, "target": target, "metamodel": meta}[where]
    array[(3, 2) if array.ndim == 2 else 3] = bad
    with pytest.raises(
        ValueError,
        match=f"{where}: contains 1 NaN or infinite value.*"
        + ("first in column 2" if where == "preds" else ""),
    ):
        nk.mmc(preds, target, metamodel=meta)
    if where != "metamodel":
        with pytest.raises(ValueError, match=f"{where}: contains 1 NaN"):
            nk.mmc_loo(preds, target, STAKES)


def test_nan_policy_unknown_value():
    with pytest.raises(ValueError, match="nan_policy: expected 'raise' or 'omit'"):
        _mmc(nan_policy="drop")


@pytest.mark.parametrize("where", ["preds", "target", "metamodel"])
def test_infinity_is_refused_even_under_omit(where):
    preds = PREDS.astype(np.float64).copy()
    target = TARGET.astype(np.float64).copy()
    metamodel = target + 1.0
    {"preds": preds[:, :1], "target": target[:, None], "metamodel": metamodel[:, None]}[where][
        3
    ] = np.inf
    with pytest.raises(ValueError, match=f"{where}: contains 1 infinite"):
        nk.mmc(preds, target, metamodel=metamodel, nan_policy="omit")


def test_length_mismatches():
    with pytest.raises(ValueError, match="length mismatch: target has 29 rows"):
        _mmc(target=TARGET[:-1])
    with pytest.raises(ValueError, match="length mismatch: metamodel has 29 rows"):
        nk.mmc(PREDS, TARGET, metamodel=TARGET[:-1])
    with pytest.raises(ValueError, match="length mismatch: eras has 29 rows"):
        _mmc(eras=ERAS[:-1])
    with pytest.raises(ValueError, match="length mismatch: target has 29"):
        nk.mmc_loo(PREDS, TARGET[:-1], STAKES)
    with pytest.raises(ValueError, match="target: expected one column"):
        _mmc(target=PREDS)


def test_pandas_indexes_that_disagree():
    frame = pd.DataFrame(PREDS)
    with pytest.raises(ValueError, match="target and preds: index labels differ"):
        nk.mmc(frame, pd.Series(TARGET, index=np.arange(N) + 1), stakes=STAKES)


def test_era_with_fewer_than_two_rows():
    eras = ERAS.copy()
    eras[0] = 99
    with pytest.raises(ValueError, match="eras: era 99 has 1 row"):
        _mmc(eras=eras)
    with pytest.raises(ValueError, match="eras: era 99 has 1 row"):
        nk.mmc_loo(PREDS, TARGET, STAKES, eras=eras)


@pytest.mark.parametrize(
    "bags, error, message",
    [
        (
            np.ones((2, 3), dtype=bool),
            ValueError,
            r"bags: a mask must have shape \(n_bags, 4\)",
        ),
        (np.ones(4, dtype=bool), ValueError, "bags: a mask must have shape"),
        (np.ones((0, 4), dtype=bool), ValueError, "bags: a mask must have shape"),
        (
            np.array([[True] * 4, [False] * 4]),
            ValueError,
            "bags: bag 1 contains no user",
        ),
        (
            np.ones((2, 4)),
            TypeError,
            "bags: expected None, a number of bags or a boolean",
        ),
        (True, TypeError, "bags: expected None"),
        (0, ValueError, "bags: expected a positive number of bags"),
    ],
)
def test_bad_bags(bags, error, message):
    with pytest.raises(error, match=message):
        _mmc(bags=bags)
    with pytest.raises(error, match=message):
        nk.mmc_loo(PREDS, TARGET, STAKES, bags=bags)


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.01, np.nan])
def test_fraction_outside_unit_interval(fraction):
    with pytest.raises(ValueError, match="fraction: must lie in"):
        _mmc(bags=3, fraction=fraction)
    with pytest.raises(ValueError, match="fraction: must lie in"):
        nk.mmc_loo(PREDS, TARGET, STAKES, bags=3, fraction=fraction)


def test_fraction_that_rounds_to_no_user():
    with pytest.raises(ValueError, match=r"fraction: .* rounds to 0 users"):
        _mmc(bags=3, fraction=0.1)
    with pytest.raises(TypeError, match="fraction: expected a number"):
        _mmc(bags=3, fraction="half")


def test_both_or_neither_metamodel_and_stakes():
    with pytest.raises(TypeError, match="exactly one of metamodel= and stakes="):
        nk.mmc(PREDS, TARGET)
    with pytest.raises(TypeError, match="exactly one of metamodel= and stakes="):
        nk.mmc(PREDS, TARGET, metamodel=TARGET, stakes=STAKES)
    with pytest.raises(ValueError, match="bags: bagging needs stakes="):
        nk.mmc(PREDS, TARGET, metamodel=rng.random(N), bags=3)


def test_bad_options():
    with pytest.raises(ValueError, match="method: expected one of"):
        _mmc(method="dense")
    with pytest.raises(ValueError, match="preset: expected None or 'legacy'"):
        _mmc(preset="official")
    with pytest.raises(ValueError, match="scale: expected a positive finite number"):
        _mmc(scale=0.0)
    with pytest.raises(ValueError, match="scale: expected a positive number or 'exact'"):
        _mmc(scale="uniform")
    with pytest.raises(TypeError, match="scale: expected a positive number"):
        _mmc(scale=None)
    with pytest.raises(ValueError, match="n_threads"):
        _mmc(n_threads=0)


def test_loo_constant_target_in_an_era():
    target = TARGET.copy()
    target[ERAS == 3] = 0.5
    with pytest.raises(ValueError, match="target: constant in era 3"):
        nk.mmc_loo(PREDS, target, STAKES, eras=ERAS)


def test_bad_preds():
    with pytest.raises(TypeError, match="preds: expected numbers"):
        _mmc(preds=np.array([["a"] * 4] * N))
    with pytest.raises(ValueError, match="preds: empty input"):
        nk.mmc(np.empty((0, 4)), np.empty(0), stakes=STAKES)
