"""A drop-in for ``numerai_tools.submissions`` (0.7.2): submission checks and cleaning.

Same names, constants, signatures, return values and ``AssertionError`` messages as the
original (the header, id and value validators for the Numerai, Signals and Crypto
tournaments, ``remap_ids`` and ``clean_submission``). These are table manipulations,
so they are written with pandas; ``clean_submission(..., rank_and_fill=True)`` ranks
with neutralkit's kernel.

One intended difference: the original drops the date column (in
``validate_headers_signals``) and the ``data_type`` column (in
``validate_submission_signals``) from the caller's DataFrame *in place*. Here the
caller's DataFrame is never modified; the return values are the same (the filtered
submission has the columns the original's would have).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .scoring import tie_kept_rank

__all__ = [
    "CRYPTO_ALLOWED_ID_COLS",
    "CRYPTO_ALLOWED_PRED_COLS",
    "CRYPTO_MIN_TICKERS",
    "NUMERAI_ALLOWED_ID_COLS",
    "NUMERAI_ALLOWED_PRED_COLS",
    "SIGNALS_ALLOWED_DATE_COLS",
    "SIGNALS_ALLOWED_ID_COLS",
    "SIGNALS_ALLOWED_PRED_COLS",
    "SIGNALS_MIN_TICKERS",
    "clean_submission",
    "remap_ids",
    "validate_headers_crypto",
    "validate_headers_numerai",
    "validate_headers_signals",
    "validate_ids_crypto",
    "validate_ids_numerai",
    "validate_ids_signals",
    "validate_submission_crypto",
    "validate_submission_numerai",
    "validate_submission_signals",
    "validate_values",
]

NUMERAI_ALLOWED_ID_COLS = ["id"]
NUMERAI_ALLOWED_PRED_COLS = ["prediction", "probability"]

SIGNALS_ALLOWED_ID_COLS = [
    "ticker",
    "sedol",
    "bloomberg_ticker",
    "composite_figi",
    "numerai_ticker",
]
SIGNALS_ALLOWED_PRED_COLS = ["prediction", "signal"]
SIGNALS_ALLOWED_DATE_COLS = ["friday_date", "date"]
SIGNALS_MIN_TICKERS = 100

CRYPTO_ALLOWED_ID_COLS = ["symbol"]
CRYPTO_ALLOWED_PRED_COLS = ["prediction", "signal"]
CRYPTO_MIN_TICKERS = 100

logger = logging.getLogger(__name__)


# -------------------------------------------------------------------------- headers


def _validate_headers(
    submission: pd.DataFrame,
    expected_id_cols: list[str],
    expected_pred_cols: list[str],
) -> tuple[str, str]:
    """Assert the columns are exactly ``[id, prediction]`` for one allowed id column
    and one allowed prediction column; return their names."""
    columns = list(submission.columns)
    ok = len(columns) == 2 and columns[0] in expected_id_cols and columns[1] in expected_pred_cols
    assert ok, (
        "invalid_submission_headers: headers must be one of"
        f" {expected_id_cols} and one of {expected_pred_cols}"
    )
    return submission.columns[0], submission.columns[1]


def validate_headers_numerai(submission: pd.DataFrame) -> tuple[str, str]:
    """Headers of a main-tournament submission: ``id`` and a prediction column."""
    return _validate_headers(submission, NUMERAI_ALLOWED_ID_COLS, NUMERAI_ALLOWED_PRED_COLS)


def _date_column(submission: pd.DataFrame) -> str | None:
    """The first column whose name is an allowed Signals date column, if any."""
    for col in submission.columns:
        if col in SIGNALS_ALLOWED_DATE_COLS:
            return str(col)
    return None


def _signals_headers(
    submission: pd.DataFrame, assert_date_col: bool
) -> tuple[str, str, str | None, pd.DataFrame]:
    """:func:`validate_headers_signals`, also returning the submission as the
    original leaves it (date column dropped unless ``assert_date_col``, where it is
    put back last), without touching the caller's frame."""
    date_col = _date_column(submission)
    without_date = submission if date_col is None else submission.drop(columns=date_col)
    if assert_date_col:
        assert date_col is not None, (
            "invalid_submission_headers: submission must contain a date column"
        )
    ticker_col, signal_col = _validate_headers(
        without_date, SIGNALS_ALLOWED_ID_COLS, SIGNALS_ALLOWED_PRED_COLS
    )
    as_left = without_date
    if assert_date_col and date_col is not None:
        as_left = without_date.assign(**{date_col: submission[date_col]})
    return ticker_col, signal_col, date_col, as_left


def validate_headers_signals(
    submission: pd.DataFrame, assert_date_col: bool = False
) -> tuple[str, str, str | None]:
    """Headers of a Signals submission: an allowed id column and a prediction
    column, plus an optional date column (required with ``assert_date_col``)."""
    ticker_col, signal_col, date_col, _ = _signals_headers(submission, assert_date_col)
    return ticker_col, signal_col, date_col


def validate_headers_crypto(submission: pd.DataFrame) -> tuple[str, str]:
    """Headers of a Crypto submission: ``symbol`` and a prediction column."""
    return _validate_headers(submission, CRYPTO_ALLOWED_ID_COLS, CRYPTO_ALLOWED_PRED_COLS)


# --------------------------------------------------------------------------- values


def validate_values(submission: pd.DataFrame, prediction_col: str) -> None:
    """Assert the predictions have no NaN, lie in [0, 1] (ends within
    ``numpy.isclose``) and are not constant."""
    preds = submission[prediction_col]
    assert preds.isna().sum() == 0, "invalid_submission_values: submission must not contain NaNs"
    if len(preds):
        lo, hi = preds.min(), preds.max()
        low_ok = bool(lo >= 0) or bool(np.isclose(lo, 0))
        high_ok = bool(hi <= 1) or bool(np.isclose(hi, 1))
        in_range = low_ok and high_ok
    else:
        in_range = True
    assert in_range, "invalid_submission_values: values must be between 0 and 1 exclusive"
    assert not np.isclose(0, preds.std()), (
        "invalid_submission_values: submission must have non-zero standard deviation"
    )


# ------------------------------------------------------------------------------ ids


def _validate_ids(
    live_ids: pd.Series, submission: pd.DataFrame, id_col: str, min_tickers: int
) -> tuple[pd.DataFrame, list[str]]:
    """The submission's rows whose id (as a string) is live, sorted by id, and the
    submitted ids that are not live. Asserts: no missing id, no duplicated live id,
    at least ``min_tickers`` live rows."""
    assert not submission[id_col].isna().any(), (
        f"invalid_submission_ids: Submission must not contain NaNs in the {id_col} column."
    )
    as_text = submission.assign(**{id_col: submission[id_col].astype(str)})
    live = as_text[as_text[id_col].isin(live_ids.astype(str))].sort_values(id_col)
    assert not live[id_col].duplicated().any(), (
        f"invalid_submission_ids: Duplicates detected in {id_col} for live period."
    )
    assert len(live) >= min_tickers, (
        "invalid_submission_ids: Not enough stocks submitted."
        " Are you using the latest live ids or live universe?"
    )
    invalid = list(set(as_text[id_col]).difference(set(live[id_col])))
    return live, invalid


def validate_ids_numerai(
    live_ids: pd.Series, submission: pd.DataFrame, id_col: str
) -> tuple[pd.DataFrame, list[str]]:
    """Ids of a main-tournament submission: every live id must be there."""
    return _validate_ids(live_ids, submission, id_col, len(live_ids))


def validate_ids_signals(
    live_ids: pd.Series, submission: pd.DataFrame, id_col: str
) -> tuple[pd.DataFrame, list[str]]:
    """Ids of a Signals submission: at least ``SIGNALS_MIN_TICKERS`` live ones."""
    return _validate_ids(live_ids, submission, id_col, SIGNALS_MIN_TICKERS)


def validate_ids_crypto(
    live_ids: pd.Series, submission: pd.DataFrame, id_col: str
) -> tuple[pd.DataFrame, list[str]]:
    """Ids of a Crypto submission: at least ``CRYPTO_MIN_TICKERS`` live ones."""
    return _validate_ids(live_ids, submission, id_col, CRYPTO_MIN_TICKERS)


# ----------------------------------------------------------------- whole submission


def validate_submission_numerai(
    universe: pd.Series, submission: pd.DataFrame
) -> tuple[str, str, pd.DataFrame, list[str]]:
    """Headers, ids and values of a main-tournament submission.

    Returns the id column, the prediction column, the live rows and the ids that
    are not live.
    """
    ticker_col, signal_col = validate_headers_numerai(submission)
    filtered, invalid = validate_ids_numerai(universe, submission, ticker_col)
    validate_values(filtered, signal_col)
    return ticker_col, signal_col, filtered, invalid


def validate_submission_signals(
    universe: pd.DataFrame, submission: pd.DataFrame, assert_date_col: bool = False
) -> tuple[str, str, str | None, pd.DataFrame, list[str]]:
    """Headers, ids and values of a Signals submission (a ``data_type`` column is
    deprecated: logged and ignored).

    Returns the id column, the prediction column, the date column (or None), the
    live rows and the ids that are not live.
    """
    if "data_type" in submission.columns:
        logger.warning(
            "data_type column found in Signals submission. This is deprecated and"
            " support will be removed in the future. Please remove the data_type"
            " column from your Signals submission."
        )
        submission = submission.drop(columns=["data_type"])
    ticker_col, signal_col, date_col, as_left = _signals_headers(submission, assert_date_col)
    filtered, invalid = validate_ids_signals(universe[ticker_col], as_left, ticker_col)
    validate_values(filtered, signal_col)
    return ticker_col, signal_col, date_col, filtered, invalid


def validate_submission_crypto(
    universe: pd.DataFrame, submission: pd.DataFrame
) -> tuple[str, str, pd.DataFrame, list[str]]:
    """Headers, ids and values of a Crypto submission."""
    ticker_col, signal_col = validate_headers_crypto(submission)
    filtered, invalid = validate_ids_crypto(universe[ticker_col], submission, ticker_col)
    validate_values(filtered, signal_col)
    return ticker_col, signal_col, filtered, invalid


# ------------------------------------------------------------------------- cleaning


def remap_ids(
    data: pd.DataFrame,
    ticker_map: pd.DataFrame,
    src_id_col: str,
    dst_id_col: str,
) -> pd.DataFrame:
    """Every row of ``ticker_map`` (left join) with the ``data`` columns of its source
    id, as ``[dst_id_col, *data columns]``, sorted by the destination id."""
    by_source = ticker_map.set_index(src_id_col, drop=False)
    data_by_source = data.set_index(src_id_col)
    joined = by_source.join(data_by_source).reset_index(drop=True)
    return joined[[dst_id_col, *data_by_source.columns]].sort_values(dst_id_col)


def clean_submission(
    universe: pd.DataFrame,
    submission: pd.DataFrame,
    src_id_col: str,
    src_signal_col: str,
    dst_id_col: str | None = None,
    dst_signal_col: str | None = None,
    rank_and_fill: bool = False,
) -> pd.Series:
    """The submission on the universe's ids: remapped to ``dst_id_col``, rows without
    an id dropped, the first of duplicated ids kept, indexed and sorted by id, named
    ``dst_signal_col``; with ``rank_and_fill``, tie-kept ranked and NaN set to 0.5."""
    assert len(universe) > 0, "universe must not be empty"
    assert len(submission) > 0, "predictions must not be empty"
    dst_id = src_id_col if dst_id_col is None else dst_id_col
    dst_signal = src_signal_col if dst_signal_col is None else dst_signal_col
    remapped = remap_ids(submission, universe, src_id_col, dst_id)
    deduplicated = remapped.dropna(subset=[dst_id]).drop_duplicates(subset=dst_id, keep="first")
    indexed = deduplicated.set_index(dst_id).sort_index()
    cleaned = indexed.rename(columns={src_signal_col: dst_signal})[dst_signal]
    if rank_and_fill:
        cleaned = tie_kept_rank(cleaned).fillna(0.5)
    return cleaned
