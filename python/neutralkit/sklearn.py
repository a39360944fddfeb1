"""scikit-learn integration: per-era neutralization inside a model, per-era scorers.

Needs scikit-learn (``pip install "neutralkit[sklearn]"``); it is imported here only,
never by the core package.

* :class:`NeutralizedRegressor` wraps any regressor: it fits the regressor on X without
  its era column, and ``predict`` returns the regressor's predictions neutralized per era
  against feature columns of X. So the neutralization is part of the model, and
  ``GridSearchCV`` can tune ``proportion`` (or ``estimator__alpha``) like any other
  parameter.
* :func:`make_era_scorer` builds a scorer for ``cross_val_score``/``GridSearchCV`` that
  computes a Numerai score per era and aggregates it (mean or Sharpe).

Where the eras come from. The simplest way, and the only one that reaches every step of
a cross-validation, is an era column in X (``era="era"``, the default): scikit-learn
slices X per fold and hands it to ``fit``, ``predict`` and the scorer alike. Users who
keep eras out of X can pass them as metadata instead (``era=None``):

* ``NeutralizedRegressor.fit(X, y, eras=...)`` and ``predict(X, eras=...)`` take them
  when called directly; with ``sklearn.set_config(enable_metadata_routing=True)``,
  ``Pipeline``, ``cross_validate`` and ``GridSearchCV`` route them to ``fit`` once the
  estimator asks for them: ``NeutralizedRegressor(...).set_fit_request(eras=True)``.
* scikit-learn's own scorers never pass metadata to ``predict``; the scorer made by
  :func:`make_era_scorer` accepts routed ``eras`` (it requests them) and forwards them to
  ``predict``, so ``cross_validate(..., scoring=make_era_scorer(era=None),
  params={"groups": eras, "eras": eras})`` neutralizes and scores per era throughout
  (the estimator, or the pipeline's neutralizing step, must also
  ``set_predict_request(eras=True)``).
* A regressor fitted with eras given as metadata refuses to ``predict`` without them
  (ValueError) rather than silently treating the whole batch as one era.
"""

from __future__ import annotations

import inspect
import numbers
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import (
    MetadataRequest,
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from . import diagnostics, metamodel, scoring
from ._validate import (
    as_float64,
    as_kernel_matrix,
    check_finite,
    eras_of,
    labeled,
    n_threads_of,
    proportions_of,
)
from .neutralization import _neutralize_eras

__all__ = ["NeutralizedRegressor", "make_era_scorer"]


def _routing_enabled() -> bool:
    return bool(sklearn.get_config().get("enable_metadata_routing", False))


def _check_dense_2d(X: Any) -> None:
    import scipy.sparse  # a scikit-learn dependency

    if scipy.sparse.issparse(X):
        raise TypeError(
            "X: a sparse matrix was passed, but dense data is required (per-era "
            "neutralization reads whole columns); use X.toarray()"
        )
    ndim = 2 if isinstance(X, pd.DataFrame) else np.asarray(X).ndim
    if ndim != 2:
        raise ValueError(
            f"X: expected a 2-D array, got {ndim}-D; Reshape your data with "
            "X.reshape(-1, 1) (one feature) or X.reshape(1, -1) (one sample)"
        )


def _era_values(X: Any, era: Any, eras: Any, what: str) -> tuple[Any, Any]:
    """(labels or None, X without the era column) from X's column or routed ``eras``."""
    if era is not None and isinstance(X, pd.DataFrame) and era in X.columns:
        if eras is not None:
            raise ValueError(
                f"eras: given twice, as metadata and as X's column {era!r}; "
                "pass one of them (era=None when the eras come as metadata)"
            )
        return X[era].to_numpy(), X.drop(columns=[era])
    if era is not None and eras is None:
        kind = "has no column" if isinstance(X, pd.DataFrame) else "is not a DataFrame with"
        raise ValueError(
            f"X: {kind} era column {era!r}; add it, pass eras= to {what}, or set "
            "era=None (all rows one era)"
        )
    return (None if eras is None else eras), X


def _feature_values(exposures: Any) -> np.ndarray:
    """The features as the kernel reads them: numeric, finite, never copied to float64."""
    x_lab = labeled(exposures, "features")
    check_finite(x_lab, "features")
    return as_kernel_matrix(x_lab.values)


def _neutralize_predictions(
    preds: np.ndarray, features: np.ndarray, eras: Any, proportion: float
) -> np.ndarray:
    """Per-era residual of (n x m) float64 predictions on [features, 1]."""
    era_index = eras_of(eras, preds.shape[0])
    out = _neutralize_eras(features, preds, era_index, [proportion], n_threads=n_threads_of(None))
    return np.asarray(out[0])


class NeutralizedRegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """A regressor whose predictions are neutralized per era against features of X.

    ``fit(X, y)`` fits a clone of ``estimator`` on X without its era column;
    ``predict(X)`` returns that model's predictions with ``proportion`` of their per-era
    least-squares fit on ``[features, 1]`` removed (:func:`neutralkit.neutralize`,
    intercept, proportion as given)::

        p = estimator_.predict(X without era)
        predict(X) = p - proportion * D beta,   beta = argmin ||p - D beta||, per era

    Parameters
    ----------
    estimator : regressor
        Any scikit-learn-style regressor (Ridge, LightGBM, XGBoost, a Pipeline...).
        ``get_params``/``set_params`` reach its parameters as ``estimator__<name>``.
    proportion : float in [0, 1]
        How much of the per-era linear fit to remove (1: fully neutral).
    features : list of column labels, optional
        Columns of X to neutralize against (positions for a NumPy X). Default: every
        column of X but the era column. Numeric, finite.
    era : column label or None
        The column of X holding era labels (any hashable labels, rows in any order).
        ``None``: X has no era column; all rows are one era unless eras come as
        metadata (``fit(X, y, eras=...)``, ``predict(X, eras=...)``; see the module
        docstring for routing inside pipelines and cross-validation).

    Attributes
    ----------
    estimator_ : the fitted clone of ``estimator``.
    n_features_in_, feature_names_in_ : as scikit-learn (era column included).

    Notes
    -----
    Neutralization is a per-era operation over the rows given to ``predict``: the
    prediction of a row depends on the other rows of its era in that call, so
    predict whole eras at a time. With one feature set of X per era, the wrapped
    model's predictions lose their linear exposure to those features; that is the
    point, and it lowers R² (``score``) on purpose. Predictions are float64.
    """

    def __init__(
        self,
        estimator: Any,
        *,
        proportion: float = 1.0,
        features: Any = None,
        era: Any = "era",
    ) -> None:
        self.estimator = estimator
        self.proportion = proportion
        self.features = features
        self.era = era

    # ------------------------------------------------------------------ scikit-learn

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.target_tags.single_output = inner.target_tags.single_output
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        # predictions are made orthogonal to the features: R² is poor by design
        tags.regressor_tags.poor_score = True
        return tags

    def get_metadata_routing(self) -> MetadataRouter:
        """``eras`` is consumed here; other fit/predict metadata go to ``estimator``."""
        return (
            MetadataRouter(owner=self.__class__.__name__)
            .add_self_request(self)
            .add(
                estimator=self.estimator,
                method_mapping=MethodMapping()
                .add(caller="fit", callee="fit")
                .add(caller="predict", callee="predict"),
            )
        )

    def _inner_params(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if _routing_enabled():
            routed = process_routing(self, method, **params)
            return dict(getattr(routed.estimator, method))
        return params

    # --------------------------------------------------------------------- helpers

    def _proportion(self) -> float:
        props, scalar = proportions_of(self.proportion)
        if not scalar:
            raise TypeError(f"proportion: expected one number in [0, 1], got {self.proportion!r}")
        return props[0]

    def _exposures(self, X: Any, model_X: Any) -> Any:
        if self.features is None:
            if not isinstance(model_X, pd.DataFrame) and np.asarray(model_X).dtype == object:
                return np.asarray(model_X).astype(np.float64)  # numbers held as objects
            return model_X
        names = list(self.features) if not isinstance(self.features, str) else [self.features]
        if not names:
            raise ValueError("features: empty list; use None for every column but the era")
        if isinstance(X, pd.DataFrame):
            if self.era is not None and self.era in names:
                raise ValueError(f"features: includes the era column {self.era!r}")
            missing = [c for c in names if c not in X.columns]
            if missing:
                raise ValueError(f"features: not columns of X: {missing[:5]!r}")
            return X[names]
        values = np.asarray(X)
        width = values.shape[1]
        if any(isinstance(c, bool) or not isinstance(c, numbers.Integral) for c in names):
            raise TypeError("features: with a NumPy X, expected integer column positions")
        positions = np.array([int(c) for c in names], dtype=np.intp)
        if positions.min() < 0 or positions.max() >= width:
            raise ValueError(f"features: with a NumPy X, expected positions in 0..{width - 1}")
        return values[:, positions]

    # ------------------------------------------------------------------------- API

    def fit(self, X: Any, y: Any, eras: Any = None, **fit_params: Any) -> NeutralizedRegressor:
        """Fit a clone of ``estimator`` on X without its era column.

        Parameters
        ----------
        X : DataFrame (or array when ``era=None``), shape (n, k)
        y : array-like, shape (n,) or (n, t)
        eras : array-like, optional
            One era label per row, when X has no era column (metadata; see the module
            docstring). Only checked here; the eras of ``predict`` are what count.
        **fit_params
            Passed to ``estimator.fit`` (routed, when metadata routing is enabled).
        """
        inner_params = self._inner_params("fit", fit_params)
        self._proportion()
        _check_dense_2d(X)
        validate_data(self, X, skip_check_array=True, reset=True)
        labels, model_X = _era_values(X, self.era, eras, "fit")
        if labels is not None:
            eras_of(labels, len(model_X))
        estimator = clone(self.estimator).fit(model_X, y, **inner_params)
        # after the model's own checks (its messages come first); catches what it accepts
        # but neutralization cannot use (NaN features, for trees)
        _feature_values(self._exposures(X, model_X))
        self.estimator_ = estimator
        self._model_columns = model_X.columns if isinstance(model_X, pd.DataFrame) else None
        self._eras_as_metadata = eras is not None
        return self

    def _model_input(self, model_X: Any) -> Any:
        """X for the wrapped model, in the form it was fitted on (frame or array)."""
        if self._model_columns is not None and not isinstance(model_X, pd.DataFrame):
            return pd.DataFrame(model_X, columns=self._model_columns)
        if self._model_columns is None and isinstance(model_X, pd.DataFrame):
            return model_X.to_numpy()
        return model_X

    def predict(self, X: Any, eras: Any = None, **predict_params: Any) -> np.ndarray:
        """The wrapped model's predictions, neutralized per era.

        Parameters
        ----------
        X : DataFrame (or array when ``era=None``), shape (n, k)
        eras : array-like, optional
            One era label per row, when X has no era column (metadata). Required if
            ``fit`` got its eras that way.
        **predict_params
            Passed to ``estimator.predict`` (routed when routing is enabled).

        Returns
        -------
        ndarray of float64, shape (n,) (or (n, t) for a multi-output model).
        """
        check_is_fitted(self)
        inner_params = self._inner_params("predict", predict_params)
        proportion = self._proportion()
        _check_dense_2d(X)
        validate_data(self, X, skip_check_array=True, reset=False)
        labels, model_X = _era_values(X, self.era, eras, "predict")
        if labels is None and self._eras_as_metadata:
            raise ValueError(
                "eras: this model was fitted with eras given as metadata, so predict "
                "needs them too (predict(X, eras=...)); scikit-learn scorers do not pass "
                "them: keep an era column in X, or use neutralkit.sklearn.make_era_scorer"
            )
        raw = self.estimator_.predict(self._model_input(model_X), **inner_params)
        values = as_float64(raw)
        was_1d = values.ndim == 1
        preds = values.reshape(len(values), -1)
        pred_lab = labeled(preds, "predictions of the estimator")
        check_finite(pred_lab, "predictions of the estimator")
        features = _feature_values(self._exposures(X, model_X))
        out = _neutralize_predictions(preds, features, labels, proportion)
        return out[:, 0] if was_1d else out


# ------------------------------------------------------------------------------ scorer

_METRICS = ("numerai_corr", "corr", "feature_neutral_corr", "correlation_contribution", "mmc")
_NEEDS_METAMODEL = ("correlation_contribution", "mmc")
_AGGREGATES = ("mean", "sharpe")


def _accepts_eras(method: Any) -> bool:
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "eras" or p.kind is p.VAR_KEYWORD for p in params)


class _EraScorer:
    """Callable ``scorer(estimator, X, y, eras=None)``; see :func:`make_era_scorer`."""

    def __init__(self, metric: str, era: Any, aggregate: str, metamodel: Any) -> None:
        self.metric = metric
        self.era = era
        self.aggregate = aggregate
        self.metamodel = metamodel

    def __repr__(self) -> str:
        return (
            f"make_era_scorer(metric={self.metric!r}, era={self.era!r}, "
            f"aggregate={self.aggregate!r}, metamodel={self.metamodel!r})"
        )

    def get_metadata_routing(self) -> MetadataRequest:
        """The scorer asks for ``eras`` (used when X has no era column)."""
        request = MetadataRequest(owner=self.__class__.__name__)
        request.score.add_request(param="eras", alias=True)
        return request

    def per_era(self, estimator: Any, X: Any, y_true: Any, eras: Any = None) -> pd.Series:
        """The metric of each era (indexed by era label)."""
        labels, rest = _era_values(X, self.era, eras, "the scorer (routed metadata)")
        if eras is not None and _accepts_eras(estimator.predict):
            preds = estimator.predict(X, eras=eras)
        else:
            preds = estimator.predict(X)
        values = as_float64(preds)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ValueError(f"predictions: expected one column, got shape {values.shape}")
        n = len(values)
        target = as_float64(np.asarray(y_true)).reshape(n, -1)
        if target.shape[1] != 1:
            raise ValueError(f"y: expected one target column, got {target.shape[1]}")
        labels = np.zeros(n, dtype=np.int64) if labels is None else np.asarray(labels)
        mm = None
        if self.metamodel is not None:
            if not isinstance(rest, pd.DataFrame) or self.metamodel not in rest.columns:
                raise ValueError(f"X: no metamodel column {self.metamodel!r}")
            mm = rest[self.metamodel].to_numpy()
            rest = rest.drop(columns=[self.metamodel])
        t = target[:, 0]
        if self.metric == "numerai_corr":
            out = scoring.numerai_corr(values[:, None], t, eras=labels)
        elif self.metric == "corr":
            out = scoring.corr(values[:, None], t, eras=labels)
        elif self.metric == "feature_neutral_corr":
            feats = rest.to_numpy() if isinstance(rest, pd.DataFrame) else np.asarray(rest)
            out = diagnostics.feature_neutral_corr(values[:, None], feats, t, eras=labels)
        elif self.metric == "correlation_contribution":
            out = scoring.correlation_contribution(values[:, None], mm, t, eras=labels)
        else:
            out = metamodel.mmc(values[:, None], t, metamodel=mm, eras=labels)
        return out.iloc[:, 0]

    def __call__(self, estimator: Any, X: Any, y_true: Any, eras: Any = None) -> float:
        scores = self.per_era(estimator, X, y_true, eras).to_numpy()
        mean = float(np.mean(scores))
        if self.aggregate == "mean":
            return mean
        std = float(np.std(scores))
        return mean / std if std > 0 else (np.nan if mean == 0 else np.inf * np.sign(mean))


def make_era_scorer(
    metric: str = "numerai_corr",
    *,
    era: Any = "era",
    aggregate: str = "mean",
    metamodel: Any = None,
) -> _EraScorer:
    """A scorer that computes ``metric`` per era and aggregates it over the eras.

    Use it as ``scoring=`` in ``cross_val_score``, ``cross_validate`` or
    ``GridSearchCV``; greater is better for every metric. The scorer calls
    ``estimator.predict(X)`` with the whole X (era column included, so a
    :class:`NeutralizedRegressor` can neutralize per era) and scores its predictions
    against ``y`` era by era.

    Parameters
    ----------
    metric : {"numerai_corr", "corr", "feature_neutral_corr", "correlation_contribution", \
"mmc"}
        ``numerai_corr``: :func:`neutralkit.numerai_corr` (official);
        ``corr``: :func:`neutralkit.corr` (legacy rank correlation);
        ``feature_neutral_corr``: :func:`neutralkit.feature_neutral_corr` against the
        feature columns of X (every column but the era and metamodel columns);
        ``correlation_contribution``: :func:`neutralkit.correlation_contribution`
        (official MMC) against X's ``metamodel`` column;
        ``mmc``: :func:`neutralkit.mmc` (the seed's residual MMC2) against it.
    era : column label or None
        X's era column. ``None``: eras come as routed metadata (the scorer requests
        ``eras``) or, without them, all rows are one era.
    aggregate : {"mean", "sharpe"}
        Mean of the per-era scores, or Sharpe = mean / std (ddof=0, as
        :func:`neutralkit.summary`; inf when every era scores the same).
    metamodel : column label, optional
        X's metamodel column; required by ``correlation_contribution`` and ``mmc``.
        Keep it out of the model's features (e.g. with a ColumnTransformer or
        ``features=``).

    Returns
    -------
    A picklable scorer ``scorer(estimator, X, y, eras=None) -> float``; its
    ``per_era(estimator, X, y, eras=None)`` gives the per-era scores as a Series.
    """
    if metric not in _METRICS:
        raise ValueError(f"metric: expected one of {list(_METRICS)}, got {metric!r}")
    if aggregate not in _AGGREGATES:
        raise ValueError(f"aggregate: expected one of {list(_AGGREGATES)}, got {aggregate!r}")
    if metric in _NEEDS_METAMODEL and metamodel is None:
        raise ValueError(f"metamodel: metric {metric!r} needs the name of X's metamodel column")
    if metric not in _NEEDS_METAMODEL and metamodel is not None:
        raise ValueError(f"metamodel: metric {metric!r} does not use a metamodel")
    return _EraScorer(metric, era, aggregate, metamodel)
