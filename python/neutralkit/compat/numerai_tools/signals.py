"""A drop-in for ``numerai_tools.signals`` (0.7.2): churn, neutral churn and turnover.

Same names, signatures, results and assertions as the original:

* ``churn(s1, s2)`` = ``1 - Spearman(s1, s2)`` on the ids both have (at most 20% of
  either lost); with ``top_bottom=t``, one minus the mean share of the ``t`` highest
  and ``t`` lowest ids that the two series have in common;
* ``neutral_churn``: churn of the two signals after tie-kept ranking, gaussianizing and
  neutralizing each to its own era's neutralizers;
* ``neutral_churn_penalty``: the share of a positive payout kept,
  ``min(1, 2 / (1 + exp(scaling_factor * (neutral_churn - threshold))))``;
* ``turnover(s1, s2)`` = ``sum |s1 - s2| / 2`` on the common ids;
* ``calculate_mean_neutral_churn`` / ``calculate_max_churn_and_turnover``: the live
  checks against recent submissions, each cleaned onto its era's universe (ranked,
  missing ids filled with 0.5) as Numerai does.

Ranks, Gaussian scores, neutralization and the neutralized weights run in neutralkit's
kernels (through :mod:`.scoring`); churn and turnover of the matched ids are
``neutralkit.churn`` / ``neutralkit.turnover``. ``churn(..., top_bottom=t)`` keeps the
original's semantics: each series' extremes are taken over all of its own ids (the
main API's ``neutralkit.churn`` takes them over the common ids).
"""

from __future__ import annotations

from math import exp, isfinite
from statistics import fmean

import pandas as pd

from .scoring import (
    _contribution_module,
    filter_sort_index,
    filter_sort_top_bottom,
    gaussian,
    generate_neutralized_weights,
    neutralize,
    spearman_correlation,
    tie_kept_rank,
)
from .submissions import clean_submission, validate_submission_signals

__all__ = [
    "calculate_max_churn_and_turnover",
    "calculate_mean_neutral_churn",
    "churn",
    "neutral_churn",
    "neutral_churn_penalty",
    "turnover",
]

_TOO_FEW_IDS = "does not have enough overlapping ids"


def _top_bottom_churn(s1: pd.Series, s2: pd.Series, top_bottom: int) -> float:
    """One minus the mean overlap of the two series' top and bottom ``top_bottom``
    ids (no alignment: each series' extremes are taken on its own rows)."""
    top1, bottom1 = filter_sort_top_bottom(s1, top_bottom)
    top2, bottom2 = filter_sort_top_bottom(s2, top_bottom)
    top_overlap = len(top1.index.intersection(top2.index)) / top_bottom
    bottom_overlap = len(bottom1.index.intersection(bottom2.index)) / top_bottom
    return 1 - (top_overlap + bottom_overlap) / 2


def churn(s1: pd.Series, s2: pd.Series, top_bottom: int | None = None) -> float:
    """Churn between two signals: ``1 - Spearman`` on the common ids, or, with
    ``top_bottom``, one minus the mean share of top and bottom ids kept."""
    if top_bottom is not None and top_bottom > 0:
        return _top_bottom_churn(s1, s2, top_bottom)
    a, b = filter_sort_index(s1, s2)
    assert a.std() > 0, "s1 must have non-zero standard deviation"
    assert b.std() > 0, "s2 must have non-zero standard deviation"
    if a.index.has_duplicates:
        # neutralkit.churn refuses duplicated ids; the original pairs them by position
        return 1 - spearman_correlation(a, b)
    return float(_contribution_module().churn(a, b))


def _neutralize_signal(signal: pd.Series, neutralizers: pd.DataFrame) -> pd.Series:
    """Tie-kept rank -> Gaussian -> neutralized to ``neutralizers`` (common ids)."""
    signal, neutralizers = filter_sort_index(signal, neutralizers)
    gaussianized = gaussian(tie_kept_rank(signal.to_frame()))
    return neutralize(gaussianized, neutralizers).iloc[:, 0]


def neutral_churn(
    s1: pd.Series,
    s2: pd.Series,
    neutralizers1: pd.DataFrame,
    neutralizers2: pd.DataFrame,
) -> float:
    """Churn of the two signals after neutralizing each to its era's neutralizers."""
    return churn(_neutralize_signal(s1, neutralizers1), _neutralize_signal(s2, neutralizers2))


def neutral_churn_penalty(
    neutral_churn: float,
    threshold: float = 0.1,
    scaling_factor: float = 10.0,
) -> float:
    """Share of a positive payout kept after the neutral-churn penalty:
    ``min(1, 2 / (1 + exp(scaling_factor * (neutral_churn - threshold))))``."""
    assert isfinite(neutral_churn) and 0 <= neutral_churn <= 2, (
        "neutral_churn must be finite and between 0 and 2"
    )
    assert isfinite(threshold) and 0 <= threshold <= 2, (
        "threshold must be finite and between 0 and 2"
    )
    assert isfinite(scaling_factor) and scaling_factor > 0, (
        "scaling_factor must be finite and positive"
    )
    if neutral_churn <= threshold:
        return 1.0
    # 2 / (1 + e^x) = 2 e^-x / (1 + e^-x): no overflow for a large positive x
    decay = exp(-scaling_factor * (neutral_churn - threshold))
    return 2 * decay / (1 + decay)


def turnover(s1: pd.Series, s2: pd.Series) -> float:
    """Half the total absolute change of the weights on the common ids."""
    a, b = filter_sort_index(s1, s2)
    if len(a) < 2 or a.index.has_duplicates:
        # neutralkit.turnover needs 2 distinct common ids; the original does not
        return (a - b).abs().sum() / 2
    return float(_contribution_module().turnover(a, b))


def _clean_signal_submission(
    submission: pd.Series,
    sample_weight: pd.Series,
    dst_id_col: str | None = None,
    dst_signal_col: str | None = None,
) -> tuple[str, str, pd.Series]:
    """Validate a Signals submission against the era's universe (the sample
    weights' ids) and clean it onto that universe, ranked, missing ids at 0.5."""
    universe = sample_weight.index.to_frame()
    ticker_col, signal_col, _, validated, _ = validate_submission_signals(
        universe=universe, submission=submission.reset_index()
    )
    cleaned = clean_submission(
        universe=universe,
        submission=validated,
        src_id_col=ticker_col,
        src_signal_col=signal_col,
        dst_id_col=dst_id_col,
        dst_signal_col=dst_signal_col,
        rank_and_fill=True,
    )
    return ticker_col, signal_col, cleaned


def calculate_mean_neutral_churn(
    curr_sub: pd.Series,
    curr_neutralizer: pd.DataFrame,
    curr_sample_weight: pd.Series,
    prev_subs: dict[str, pd.Series],
    prev_neutralizers: dict[str, pd.DataFrame],
    prev_sample_weights: dict[str, pd.Series],
) -> float:
    """Mean neutral churn of the current submission against each previous one (each
    cleaned onto its own era's universe); 1.0 when none can be compared."""
    ticker_col, signal_col, current = _clean_signal_submission(curr_sub, curr_sample_weight)
    neutral_current = _neutralize_signal(current, curr_neutralizer)
    assert neutral_current.std() > 0, (
        "curr_sub must have non-zero standard deviation after neutralization"
    )
    values = []
    for datestamp in prev_subs:
        _, _, previous = _clean_signal_submission(
            prev_subs[datestamp],
            prev_sample_weights[datestamp],
            dst_id_col=ticker_col,
            dst_signal_col=signal_col,
        )
        neutral_previous = _neutralize_signal(previous, prev_neutralizers[datestamp])
        try:
            values.append(churn(neutral_current, neutral_previous))
        except AssertionError:
            continue
    return fmean(values) if values else 1.0


def _weights(sub: pd.Series, neutralizers: pd.DataFrame, sample_weight: pd.Series) -> pd.Series:
    """Centred, normalized neutralized weights of one cleaned submission."""
    weights = generate_neutralized_weights(
        sub.to_frame(), neutralizers, sample_weight, center_and_normalize=True
    )
    return weights[sub.name]


def calculate_max_churn_and_turnover(
    curr_sub: pd.Series,
    curr_neutralizer: pd.DataFrame,
    curr_sample_weight: pd.Series,
    prev_subs: dict[str, pd.Series],
    prev_neutralizers: dict[str, pd.DataFrame],
    prev_sample_weights: dict[str, pd.Series],
) -> tuple[float, float]:
    """Largest churn (of the cleaned signals) and largest turnover (of their
    neutralized weights) against the previous submissions; 1.0 for either when no
    previous submission shares enough ids."""
    ticker_col, signal_col, current = _clean_signal_submission(curr_sub, curr_sample_weight)
    current_weights = _weights(current, curr_neutralizer, curr_sample_weight)
    churns: list[float] = []
    turnovers: list[float] = []
    for datestamp in prev_subs:
        _, _, previous = _clean_signal_submission(
            prev_subs[datestamp],
            prev_sample_weights[datestamp],
            dst_id_col=ticker_col,
            dst_signal_col=signal_col,
        )
        previous_weights = _weights(
            previous, prev_neutralizers[datestamp], prev_sample_weights[datestamp]
        )
        try:
            churn_value = abs(churn(current, previous))
            turnover_value = abs(turnover(current_weights, previous_weights))
        except AssertionError as exc:
            if _TOO_FEW_IDS in str(exc):
                continue
            raise
        churns.append(churn_value)
        turnovers.append(turnover_value)
    max_churn = max(churns) if churns else 1.0
    max_turnover = max(turnovers) if turnovers else 1.0
    return max_churn, max_turnover
