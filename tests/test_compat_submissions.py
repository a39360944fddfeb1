"""neutralkit.compat.numerai_tools.submissions vs numerai_tools.submissions 0.7.2, on
submissions of our own (valid and broken in each way the validators check)."""

from __future__ import annotations

import warnings

import numerai_tools.submissions as original
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutralkit.compat.numerai_tools import submissions as compat


def _outcome(fn, *args, **kwargs):
    # the original drops columns with inplace=True, which pandas 3.1 deprecates
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
            return fn(*args, **kwargs), None
    except (AssertionError, KeyError, ValueError) as exc:
        return None, (type(exc), str(exc) if isinstance(exc, AssertionError) else None)


def _equal(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _equal(x, y)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(b, a)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(b, a)
    elif isinstance(a, list):
        assert sorted(b) == sorted(a)
    else:
        assert b == a


def _same(name, *args, copy_inputs=True, **kwargs):
    """Same result or the same exception (and assertion message)."""
    copies = [x.copy() if copy_inputs and hasattr(x, "copy") else x for x in args]
    expected, e_err = _outcome(getattr(original, name), *copies, **kwargs)
    got, g_err = _outcome(getattr(compat, name), *args, **kwargs)
    assert e_err == g_err, f"{name}: original {e_err}, compat {g_err}"
    if e_err is None:
        _equal(expected, got)
    return e_err


def _sub(seed: int, n: int, id_col: str, pred_col: str, extra: dict | None = None):
    rng = np.random.default_rng(seed)
    ids = [f"ID{i:06d}" for i in rng.choice(10 * n, n, replace=False)]
    df = pd.DataFrame({id_col: ids, pred_col: rng.uniform(0.01, 0.99, n)})
    for name, values in (extra or {}).items():
        df[name] = values
    return df


HEADERS = [
    ("validate_headers_numerai", "NUMERAI"),
    ("validate_headers_signals", "SIGNALS"),
    ("validate_headers_crypto", "CRYPTO"),
]


@pytest.mark.parametrize(("name", "tournament"), HEADERS)
def test_headers(name, tournament):
    id_cols = getattr(original, f"{tournament}_ALLOWED_ID_COLS")
    pred_cols = getattr(original, f"{tournament}_ALLOWED_PRED_COLS")
    for id_col in [*id_cols, "wrong"]:
        for pred_col in [*pred_cols, "wrong_pred"]:
            sub = _sub(0, 5, id_col, pred_col)
            _same(name, sub)
            _same(name, sub[[pred_col, id_col]])  # wrong order
            _same(name, sub[[id_col]])  # missing column
            _same(name, sub.assign(extra=1.0))  # one too many


@pytest.mark.parametrize("date_col", [None, "friday_date", "date"])
@pytest.mark.parametrize("assert_date_col", [False, True])
def test_signals_headers_with_a_date_column(date_col, assert_date_col):
    extra = {} if date_col is None else {date_col: "2026-11-27"}
    sub = _sub(1, 5, "bloomberg_ticker", "signal", extra)
    if date_col is not None:
        sub = sub[[date_col, "bloomberg_ticker", "signal"]]  # date first
    _same("validate_headers_signals", sub, assert_date_col=assert_date_col)
    before = sub.copy()
    _outcome(compat.validate_headers_signals, sub, assert_date_col=assert_date_col)
    pd.testing.assert_frame_equal(sub, before)  # the caller's frame is not modified


@settings(max_examples=40)
@given(
    st.lists(
        st.one_of(st.floats(-0.1, 1.1), st.sampled_from([0.0, 1.0, 1e-12, 1 - 1e-12, np.nan])),
        min_size=0,
        max_size=8,
    )
)
def test_validate_values(values):
    sub = pd.DataFrame({"id": [f"i{j}" for j in range(len(values))], "prediction": values})
    _same("validate_values", sub, "prediction")


def _universe_and_sub(seed, n_live, id_col, pred_col, kept, dup=False, nan_id=False, extra=0):
    rng = np.random.default_rng(seed)
    live = pd.Series([f"ID{i:04d}" for i in range(n_live)], name=id_col)
    ids = list(rng.choice(live.to_numpy(), kept, replace=False))
    ids += [f"NOT{i}" for i in range(extra)]
    if dup:
        ids.append(ids[0])
    sub = pd.DataFrame(
        {id_col: pd.Series(ids, dtype=object), pred_col: rng.uniform(0.1, 0.9, len(ids))}
    )
    if nan_id:
        sub.loc[1, id_col] = np.nan
    return live, sub.sample(frac=1, random_state=seed).reset_index(drop=True)


@settings(max_examples=25)
@given(
    st.integers(0, 2**16),
    st.sampled_from([(120, 120), (120, 119), (150, 100), (150, 99)]),
    st.booleans(),
    st.booleans(),
    st.integers(0, 3),
)
def test_ids_and_whole_submissions(seed, sizes, dup, nan_id, extra):
    n_live, kept = sizes
    for ids_name, whole_name, id_col, pred_col in (
        ("validate_ids_numerai", "validate_submission_numerai", "id", "prediction"),
        ("validate_ids_signals", "validate_submission_signals", "numerai_ticker", "signal"),
        ("validate_ids_crypto", "validate_submission_crypto", "symbol", "prediction"),
    ):
        live, sub = _universe_and_sub(seed, n_live, id_col, pred_col, kept, dup, nan_id, extra)
        _same(ids_name, live, sub, id_col)
        universe = live if whole_name.endswith("numerai") else live.to_frame()
        _same(whole_name, universe, sub)
    _same("_validate_ids", live, sub, "symbol", 7)


def test_signals_submission_with_data_type_and_date():
    live, sub = _universe_and_sub(5, 120, "ticker", "prediction", 110)
    sub["data_type"] = "live"
    sub["friday_date"] = "20261127"
    for assert_date_col in (False, True):
        _same("validate_submission_signals", live.to_frame(), sub, assert_date_col=assert_date_col)
    before = sub.copy()
    compat.validate_submission_signals(live.to_frame(), sub)
    pd.testing.assert_frame_equal(sub, before)


def _map(seed: int):
    rng = np.random.default_rng(seed)
    n = 30
    tickers = [f"TK{i:03d}" for i in rng.choice(100, n, replace=False)]
    figis = [f"BBG{i:06d}" for i in rng.choice(10**6, n, replace=False)]
    ticker_map = pd.DataFrame({"ticker": tickers, "composite_figi": figis})
    ids = [*rng.choice(tickers, 20, replace=False), "UNKNOWN"]
    data = pd.DataFrame({"ticker": ids, "signal": rng.uniform(0, 1, len(ids))})
    data = pd.concat([data, data.iloc[[0]].assign(signal=0.5)])  # a duplicated id
    return ticker_map, data


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_remap_ids_and_clean_submission(seed):
    ticker_map, data = _map(seed)
    _same("remap_ids", data, ticker_map, "ticker", "composite_figi")
    _same("remap_ids", data.drop_duplicates("ticker"), ticker_map, "ticker", "ticker")
    for kwargs in (
        {},
        {"dst_id_col": "composite_figi"},
        {"dst_id_col": "composite_figi", "dst_signal_col": "prediction", "rank_and_fill": True},
        {"rank_and_fill": True},
    ):
        clean = data.drop_duplicates("ticker")
        _same("clean_submission", ticker_map, clean, "ticker", "signal", **kwargs)
    assert _same("clean_submission", ticker_map.iloc[:0], data, "ticker", "signal")
    assert _same("clean_submission", ticker_map, data.iloc[:0], "ticker", "signal")


def test_clean_submission_hand_checked():
    universe = pd.DataFrame({"ticker": ["C", "A", "B", "D"]})
    sub = pd.DataFrame({"ticker": ["A", "B", "C", "Z"], "signal": [0.1, 0.9, 0.5, 0.3]})
    cleaned = compat.clean_submission(universe, sub, "ticker", "signal", rank_and_fill=True)
    # universe ids sorted; D has no prediction -> 0.5; ranks (r - 0.5) / 3 of A, B, C
    assert list(cleaned.index) == ["A", "B", "C", "D"]
    np.testing.assert_allclose(cleaned.to_numpy(), [0.5 / 3, 2.5 / 3, 1.5 / 3, 0.5])
    assert cleaned.name == "signal"
