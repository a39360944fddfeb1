"""The diagnostics report: per-era scores of many models, summaries, plots, HTML.

Everything is computed through neutralkit's public functions; this module only
arranges the numbers. :func:`compute_report` gives the numbers, :func:`write_report`
writes ``report.html`` (self-contained), ``summary.json`` and ``per_era.csv``.
Plots need matplotlib (``pip install "neutralkit[report]"``); without it the report is
written without them and says how to get them.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ReportData", "compute_report", "payout_path", "plots_available", "write_report"]

#: how to get the plots; `pip install matplotlib` also works in a clone (no rebuild)
INSTALL_HINT = 'pip install matplotlib (or pip install "neutralkit[report]")'
#: the report's metrics that need feature columns
FEATURE_METRICS = ("fnc", "exposure_std", "exposure_rms", "exposure_max")
NO_FEATURES_NOTE = (
    "No feature columns in the data, so this report has no FNC and no feature exposure "
    "(the table's FNC and FE columns and the plots 'Feature exposure distribution' and "
    "'CORR vs feature exposure'). To add them, pass the file that holds the features "
    "(e.g. the tournament's train or validation parquet, feature_* columns) as one more "
    "--data file: rows are joined on the id. Name other feature columns with --features."
)

#: per-era metrics, in the order of the report: (key, title)
METRICS = (
    ("corr", "CORR (numerai_corr)"),
    ("mmc", "MMC, seed (residual, bagged)"),
    ("mmc_full", "MMC, seed, against the full metamodel (no bags)"),
    ("mmc_official", "MMC, official (correlation_contribution)"),
    ("fnc", "FNC (feature_neutral_corr)"),
    ("exposure_std", "feature exposure, std"),
    ("exposure_rms", "feature exposure, rms"),
    ("exposure_max", "feature exposure, max |corr|"),
)
#: metrics summarized by their whole per-era statistics (the others by their mean)
SCORE_METRICS = ("corr", "mmc", "mmc_full", "mmc_official", "fnc")
STATS = ("mean", "std", "sharpe", "sortino", "max_drawdown", "hit_rate")


@dataclass
class ReportData:
    """The numbers of a report.

    ``per_era[metric]`` is a DataFrame (era x model); ``stats[metric]`` a DataFrame
    (model x statistic) from :func:`neutralkit.summary`; ``exposure_mean`` the mean over
    eras of each exposure measure (model x {std, rms, max}).
    """

    per_era: dict[str, pd.DataFrame]
    stats: dict[str, pd.DataFrame]
    metamodel_corr: pd.Series
    info: dict[str, Any]
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return [str(c) for c in self.per_era["corr"].columns]

    @property
    def has_features(self) -> bool:
        """False when the report was computed without features (no FNC, no exposure)."""
        return "fnc" in self.per_era

    def table(self) -> pd.DataFrame:
        """One row per model: the headline numbers (what the console shows)."""
        s = self.stats
        out = pd.DataFrame(
            {
                "corr": s["corr"]["mean"],
                "corr_sharpe": s["corr"]["sharpe"],
                "corr_sortino": s["corr"]["sortino"],
                "corr_max_dd": s["corr"]["max_drawdown"],
                "corr_hit": s["corr"]["hit_rate"],
                "mmc": s["mmc"]["mean"],
                "mmc_sharpe": s["mmc"]["sharpe"],
                "mmc_full": s["mmc_full"]["mean"],
                "mmc_official": s["mmc_official"]["mean"],
            }
        )
        if self.has_features:
            out["fnc"] = s["fnc"]["mean"]
            for kind in ("std", "rms", "max"):
                out[f"fe_{kind}"] = self.per_era[f"exposure_{kind}"].mean()
        out.index.name = "model"
        return out


class _NoProgress:
    def __call__(self, done: int, total: int, what: str) -> None:
        pass


def _stats(per_era: pd.DataFrame) -> pd.DataFrame:
    import neutralkit as nk

    if not per_era.isna().to_numpy().any():
        return nk.summary(per_era)[list(STATS)].astype(np.float64)
    # summary() refuses NaN: summarize each column over the eras where it is defined
    rows = {}
    for col in per_era.columns:
        s = per_era[col].dropna()
        rows[col] = (
            nk.summary(s)[list(STATS)].astype(np.float64)
            if len(s)
            else pd.Series(np.nan, index=list(STATS))
        )
    return pd.DataFrame(rows).T.reindex(per_era.columns)


def compute_report(
    predictions: pd.DataFrame,
    target: pd.Series,
    features: pd.DataFrame | None,
    eras: pd.Series,
    *,
    metamodel: pd.Series | None = None,
    stakes: pd.Series | None = None,
    bags: int | None = 16,
    seed: int = 0,
    kinds: dict[str, str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    info: dict[str, Any] | None = None,
    payout_scheme: str | None = "corr+mmc",
    nan_policy: str = "raise",
) -> ReportData:
    """Score every prediction column, era by era, and summarize.

    Parameters
    ----------
    predictions : DataFrame (n x models)
    target : Series (n)
    features : DataFrame (n x k) or None
        None: the report has no FNC and no feature exposure (everything else is
        computed; the page says how to add them).
    eras : Series (n), era labels
    metamodel : Series, optional
        The metamodel to score against. When absent it is built with
        :func:`neutralkit.stake_weighted_metamodel` from ``stakes`` (equal stakes when
        ``stakes`` is absent too), and the seed's MMC uses ``bags`` subsampled bags.
    stakes : Series, optional
        Stake per prediction column.
    bags : int or None
        Number of bags for the seed's MMC (None: no subsampling). Ignored when a
        ``metamodel`` is given: a given metamodel cannot be subsampled.
    progress : callable(done, total, what), optional
        Called after each step.
    payout_scheme : str or None
        A scheme of :data:`neutralkit.PAYOUT_SCHEMES` paying on CORR and MMC (default
        ``"corr+mmc"``, the seed's period); the report plots each model's stake path
        under it (:func:`payout_path`). None: no payout plot.
    nan_policy : {"raise", "omit"}
        "omit": each model is scored on its own rows where neither it nor the target
        is NaN (as in :func:`neutralkit.numerai_corr`); the metamodel is built over the
        models present on each row.
    """
    import neutralkit as nk

    _check_payout_scheme(payout_scheme)
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    progress = progress or _NoProgress()
    models = list(predictions.columns)
    steps = 6
    step = 0

    def tick(what: str) -> None:
        nonlocal step
        step += 1
        progress(step, steps, what)

    if metamodel is None:
        if stakes is None:
            stakes = pd.Series(1.0, index=predictions.columns)
        mm_desc = f"stake-weighted metamodel of the {len(models)} models" + (
            f"; seed MMC over {bags} bags" if bags else "; seed MMC without bags"
        )
        metamodel = pd.Series(
            np.asarray(
                nk.stake_weighted_metamodel(predictions, stakes, eras=eras, nan_policy=nan_policy)
            ),
            index=predictions.index,
            name="metamodel",
        )
    else:
        mm_desc = f"given metamodel column {metamodel.name!r} (no bags)"
        bags = None
    mmc_full = nk.mmc(predictions, target, metamodel=metamodel, eras=eras, nan_policy=nan_policy)
    mmc = mmc_full
    if bags:
        mmc = nk.mmc(
            predictions,
            target,
            stakes=stakes,
            eras=eras,
            bags=bags,
            seed=seed,
            nan_policy=nan_policy,
        )
    tick("seed MMC")
    per_era: dict[str, pd.DataFrame] = {
        "corr": nk.numerai_corr(predictions, target, eras=eras, nan_policy=nan_policy),
        "mmc": mmc,
        "mmc_full": mmc_full,
    }
    tick("CORR")
    per_era["mmc_official"] = nk.correlation_contribution(
        predictions, metamodel, target, eras=eras, nan_policy=nan_policy
    )
    tick("official MMC")
    if features is not None:
        per_era["fnc"] = nk.feature_neutral_corr(
            predictions, features, target, eras=eras, nan_policy=nan_policy
        )
    tick("FNC")
    if features is not None:
        exposure = _feature_exposure(predictions, features, eras, nan_policy)
        for kind in ("std", "rms", "max"):
            per_era[f"exposure_{kind}"] = exposure[kind]
    tick("feature exposure")
    metamodel_corr = nk.numerai_corr(metamodel, target, eras=eras, nan_policy=nan_policy)
    stats = {key: _stats(per_era[key]) for key in SCORE_METRICS if key in per_era}
    tick("summaries")
    for key, frame in per_era.items():
        if list(frame.columns) != models:
            raise RuntimeError(f"{key}: columns do not match the prediction columns")
    n_eras = len(per_era["corr"].index)
    meta = {
        "n_rows": len(predictions),
        "n_eras": n_eras,
        "n_features": 0 if features is None else features.shape[1],
        "n_models": len(models),
        "metamodel": mm_desc,
        "bags": bags,
        "seed": seed,
        "neutralkit_version": getattr(nk, "__version__", "?"),
        "payout_scheme": payout_scheme,
    }
    meta.update(info or {})
    return ReportData(
        per_era=per_era,
        stats=stats,
        metamodel_corr=metamodel_corr.iloc[:, 0]
        if isinstance(metamodel_corr, pd.DataFrame)
        else metamodel_corr,
        info=meta,
        kinds=dict(kinds or {}),
    )


def _feature_exposure(
    predictions: pd.DataFrame, features: pd.DataFrame, eras: pd.Series, nan_policy: str
) -> dict[str, pd.DataFrame]:
    """feature_exposure per kind (era x model); under "omit" a model with NaN is taken
    on its own non-NaN rows (feature_exposure itself has no nan_policy)."""
    import neutralkit as nk

    has_nan = predictions.isna().any()
    if nan_policy == "raise" or not has_nan.any():
        exposure = nk.feature_exposure(predictions, features, eras=eras)
        return {kind: exposure[kind].astype(np.float64) for kind in ("std", "rms", "max")}
    parts: dict[str, list[pd.DataFrame]] = {"std": [], "rms": [], "max": []}
    clean = [c for c in predictions.columns if not has_nan[c]]
    if clean:
        exposure = nk.feature_exposure(predictions[clean], features, eras=eras)
        for kind in parts:
            parts[kind].append(exposure[kind].astype(np.float64))
    for col in predictions.columns[has_nan.to_numpy()]:
        rows = predictions[col].notna().to_numpy()
        exposure = nk.feature_exposure(
            predictions.loc[rows, [col]], features.loc[rows], eras=eras.loc[rows]
        )
        for kind in parts:
            parts[kind].append(exposure[kind].astype(np.float64))
    return {
        kind: pd.concat(frames, axis=1).reindex(columns=predictions.columns)
        for kind, frames in parts.items()
    }


# ---------------------------------------------------------------- payout

#: score name of a payout scheme -> per-era metric of the report (MMC by the scheme's era)
_PAYOUT_SCORES: dict[str, str | dict[str, str]] = {
    "corr": "corr",
    "mmc": {"seed": "mmc", "official": "mmc_official"},
}


def _check_payout_scheme(name: str | None) -> None:
    if name is None:
        return
    from .payout import PAYOUT_SCHEMES

    if name not in PAYOUT_SCHEMES:
        raise ValueError(f"payout_scheme: unknown scheme {name!r}; known: {sorted(PAYOUT_SCHEMES)}")
    other = sorted(set(PAYOUT_SCHEMES[name].weights) - set(_PAYOUT_SCORES))
    if other:
        raise ValueError(
            f"payout_scheme: {name!r} pays on {other}, which the report does not compute "
            "(it has CORR and MMC)"
        )


def payout_path(data: ReportData) -> pd.DataFrame | None:
    """Stake of every model after each era (start 1, payouts compounded at once) under
    the report's payout scheme (``info["payout_scheme"]``; None when there is none).

    CORR is the report's ``numerai_corr``; MMC is the seed's (bagged) for the schemes of
    the seed's period and the official one (``correlation_contribution``) for today's.
    An era where a model has no score pays 0.
    """
    from .payout import PAYOUT_SCHEMES, payout

    name = data.info.get("payout_scheme")
    if not name:
        return None
    scheme = PAYOUT_SCHEMES[name]
    keys = {
        score: source if isinstance(source, str) else source[scheme.mmc or "seed"]
        for score, source in _PAYOUT_SCORES.items()
        if score in scheme.weights
    }
    scores = pd.concat({score: data.per_era[key] for score, key in keys.items()}, axis=1)
    scores = scores.swaplevel(axis=1)  # (model, score)
    path = payout(scores, name, compound=True, nan_policy="omit")
    return path["stake"] + path["payout"]


# ---------------------------------------------------------------- outputs


def _num(x: Any) -> float | None:
    """JSON-safe float (NaN/inf -> null)."""
    value = float(x)
    return value if math.isfinite(value) else None


def summary_dict(data: ReportData) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for model in data.per_era["corr"].columns:
        entry: dict[str, Any] = {}
        if model in data.kinds:
            entry["kind"] = data.kinds[model]
        for key in SCORE_METRICS:
            entry[key] = (
                {st: _num(data.stats[key].loc[model, st]) for st in STATS}
                if key in data.stats
                else None  # FNC without features
            )
        entry["feature_exposure"] = (
            {
                kind: _num(data.per_era[f"exposure_{kind}"][model].mean())
                for kind in ("std", "rms", "max")
            }
            if data.has_features
            else None
        )
        models[str(model)] = entry
    mm = data.metamodel_corr
    return {
        "info": data.info,
        "metamodel_corr_mean": _num(mm.mean()),
        "models": models,
    }


def per_era_long(data: ReportData) -> pd.DataFrame:
    """One row per (era, model), one column per metric."""
    parts = []
    for key, _ in METRICS:
        if key not in data.per_era:  # the feature metrics, without features
            continue
        frame = data.per_era[key].copy()
        frame.index.name = "era"
        frame.columns = [str(c) for c in frame.columns]
        long = frame.reset_index().melt(id_vars="era", var_name="model", value_name=key)
        parts.append(long.set_index(["era", "model"])[key])
    return pd.concat(parts, axis=1).reset_index()


def plots_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_report(
    data: ReportData,
    out_dir: str | os.PathLike[str],
    *,
    title: str = "neutralkit report",
    plots: bool = True,
) -> dict[str, str]:
    """Write ``report.html``, ``summary.json`` and ``per_era.csv`` into ``out_dir``.

    Files are written to a temporary directory next to ``out_dir`` and moved in at the
    end, so a failure leaves nothing partial behind. Returns the written paths.
    """
    out_dir = os.fspath(out_dir)
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".neutralkit-", dir=parent)
    try:
        images = _render_plots(data) if plots and plots_available() else None
        files = {
            "report.html": _html(data, title, images),
            "summary.json": json.dumps(summary_dict(data), indent=2, default=str),
            "per_era.csv": per_era_long(data).to_csv(index=False),
        }
        for name, text in files.items():
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as fh:
                fh.write(text)
        os.makedirs(out_dir, exist_ok=True)
        written = {}
        for name in files:
            dest = os.path.join(out_dir, name)
            os.replace(os.path.join(tmp, name), dest)
            written[name] = dest
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- plots

_KIND_COLORS = {
    "linear": "#d62728",
    "neutral": "#2ca02c",
    "copy": "#7f7f7f",
    "indep": "#1f77b4",
    "noise": "#bcbd22",
}
_MAX_BAR_PANELS = 12


def _color(data: ReportData, model: str, i: int) -> Any:
    kind = data.kinds.get(model)
    if kind in _KIND_COLORS:
        return _KIND_COLORS[kind]
    return f"C{i % 10}"


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # the Agg canvas: no display, no global pyplot state
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _era_axis(ax: Any, eras: pd.Index) -> None:
    n = len(eras)
    step = max(1, n // 8)
    ticks = list(range(0, n, step))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(eras[i]) for i in ticks], rotation=45, ha="right", fontsize=7)
    ax.set_xlabel("era")


def _legend(ax: Any, n: int) -> None:
    if n <= 25:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _render_plots(data: ReportData) -> dict[str, tuple[str, str]]:
    """Plot name -> (title, base64 PNG)."""
    from matplotlib.figure import Figure

    models = data.models
    out: dict[str, tuple[str, str]] = {}
    for key, title in (("corr", "Cumulative CORR"), ("mmc", "Cumulative MMC (seed)")):
        frame = data.per_era[key]
        fig = Figure(figsize=(9, 4.2), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(frame.index))
        for i, model in enumerate(frame.columns):
            ax.plot(
                x,
                frame[model].cumsum().to_numpy(),
                lw=1.2,
                color=_color(data, str(model), i),
                label=str(model),
            )
        if key == "corr":
            ax.plot(
                x,
                data.metamodel_corr.cumsum().to_numpy(),
                lw=2.2,
                color="black",
                ls="--",
                label="metamodel",
            )
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_ylabel(f"cumulative {key}")
        ax.set_title(title)
        _era_axis(ax, frame.index)
        _legend(ax, len(frame.columns) + 1)
        out[f"cumulative_{key}"] = (title, _png(fig))

    path = payout_path(data)
    if path is not None:
        name = data.info["payout_scheme"]
        title = f"Stake path under the {name!r} payout scheme (start 1, compounded)"
        fig = Figure(figsize=(9, 4.2), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(path.index))
        for i, model in enumerate(path.columns):
            ax.plot(
                x, path[model].to_numpy(), lw=1.2, color=_color(data, str(model), i),
                label=str(model),
            )  # fmt: skip
        ax.axhline(1.0, color="grey", lw=0.6)
        # compounding is multiplicative: a log axis shows every model's growth rate,
        # where a linear one shows only the best model's last eras
        if bool((path.to_numpy() > 0).all()):
            ax.set_yscale("log")
        ax.set_ylabel("stake (log scale)" if ax.get_yscale() == "log" else "stake")
        ax.set_title(title)
        _era_axis(ax, path.index)
        _legend(ax, len(path.columns))
        out["payout"] = (title, _png(fig))

    # per-era bars, one small panel per model
    shown = models[:_MAX_BAR_PANELS]
    cols = 3
    rows = math.ceil(len(shown) / cols)
    fig = Figure(figsize=(10, 1.6 * rows + 0.6))
    fig.subplots_adjust(
        left=0.05,
        right=0.98,
        bottom=0.04,
        top=1 - 0.5 / (1.6 * rows + 0.6),
        hspace=0.45,
        wspace=0.2,
    )
    corr = data.per_era["corr"]
    for i, model in enumerate(shown):
        ax = fig.add_subplot(rows, cols, i + 1)
        values = corr.iloc[:, i].to_numpy()
        # one line collection instead of a patch per era: much faster to draw
        ax.vlines(
            np.arange(len(values)),
            0.0,
            values,
            linewidth=2.0,
            colors=["#2ca02c" if v >= 0 else "#d62728" for v in values],
        )
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(model, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_xticks([])
    fig.suptitle(
        "Per-era CORR"
        + (f" (first {len(shown)} of {len(models)} models)" if len(shown) < len(models) else "")
    )
    out["per_era_bars"] = ("Per-era CORR", _png(fig))

    if data.has_features:
        out.update(_exposure_distribution(data))
    table = data.table()
    for name, xcol, ycol, xlabel, ylabel, title in (
        (
            "mmc_vs_corr",
            "corr",
            "mmc",
            "mean CORR",
            "mean MMC (seed)",
            "MMC vs CORR across models",
        ),
        (
            "corr_vs_exposure",
            "fe_rms",
            "corr",
            "mean feature exposure (rms)",
            "mean CORR",
            "CORR vs feature exposure",
        ),
    ):
        if xcol not in table:  # CORR vs exposure, without features
            continue
        fig = Figure(figsize=(6.5, 5), layout="constrained")
        ax = fig.add_subplot()
        for i, model in enumerate(models):
            ax.scatter(
                table.loc[model, xcol],
                table.loc[model, ycol],
                color=_color(data, model, i),
                s=28,
            )
            ax.annotate(
                model,
                (table.loc[model, xcol], table.loc[model, ycol]),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        out[name] = (title, _png(fig))
    return out


def _exposure_distribution(data: ReportData) -> dict[str, tuple[str, str]]:
    from matplotlib.figure import Figure

    models = data.models
    rms = data.per_era["exposure_rms"]
    fig = Figure(figsize=(9, 0.28 * len(models) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    series = [rms[c].dropna().to_numpy() for c in rms.columns]
    ax.boxplot(series, vert=False, showfliers=False)
    ax.set_yticks(np.arange(1, len(models) + 1))
    ax.set_yticklabels(models, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("per-era feature exposure (rms of the feature correlations)")
    ax.set_title("Feature exposure distribution over eras")
    return {"exposure_distribution": ("Feature exposure distribution", _png(fig))}


# ---------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;
max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}
td:first-child,th:first-child{text-align:left}
td.neg{color:#b00}
.note{background:#fff8e1;border:1px solid #f0d58c;padding:.6em 1em}
img{max-width:100%;margin:.5em 0 1.5em}
dt{font-weight:bold;margin-top:.5em}
"""

_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var body=t.tBodies[0], rows=Array.from(body.rows);
      var asc=th.dataset.dir!=='asc'; th.dataset.dir=asc?'asc':'desc';
      rows.sort(function(a,b){
        var x=a.cells[i].dataset.v, y=b.cells[i].dataset.v;
        var fx=parseFloat(x), fy=parseFloat(y);
        var c=(isNaN(fx)||isNaN(fy))?String(x).localeCompare(String(y)):fx-fy;
        return asc?c:-c;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"""

_DEFINITIONS = (
    (
        "CORR",
        "numerai_corr: the target centred and raised to the power 1.5; the "
        "predictions tie-kept ranked, gaussianized and raised to 1.5; their Pearson "
        "correlation, per era.",
    ),
    (
        "MMC (seed)",
        "The residual MMC of the MMC2 announcement: uniform ranks of the model "
        "neutralized to the (bag's) stake-weighted metamodel, covariance with the "
        "target divided by 0.29², averaged over bags (every model against every "
        "bag). Against the full metamodel (the 'no bags' column) a copy of the "
        "metamodel scores exactly 0; with bags a copy scores what the full metamodel "
        "gains over a typical bag's metamodel, which rewards redundancy.",
    ),
    (
        "MMC (official)",
        "correlation_contribution: gaussianized predictions "
        "orthogonalized to the gaussianized metamodel, dot product with the centred "
        "target (times 4 when in [0, 1]) divided by n. A copy of the metamodel "
        "scores 0.",
    ),
    (
        "FNC",
        "feature_neutral_corr: the predictions neutralized to all features, then "
        "CORR with the target.",
    ),
    (
        "Feature exposure",
        "Per era, the correlations c_j of the predictions with each "
        "feature; std(c) (the original metric), rms = sqrt(mean c_j²) (bounded by 1), "
        "max |c_j|; averaged over eras.",
    ),
    (
        "Sharpe, Sortino",
        "mean / std of the per-era scores (std with ddof=0); mean / sqrt(mean(min(s, 0)²)).",
    ),
    (
        "Max drawdown",
        "The largest fall of the cumulative sum of per-era scores from its running peak.",
    ),
    ("Hit rate", "Share of eras with a positive score."),
)

_TABLE_COLUMNS = (
    ("corr", "CORR"),
    ("corr_sharpe", "Sharpe"),
    ("corr_sortino", "Sortino"),
    ("corr_max_dd", "max DD"),
    ("corr_hit", "hit rate"),
    ("mmc", "MMC (seed)"),
    ("mmc_sharpe", "MMC Sharpe"),
    ("mmc_full", "MMC (seed, no bags)"),
    ("mmc_official", "MMC (official)"),
    ("fnc", "FNC"),
    ("fe_std", "FE std"),
    ("fe_rms", "FE rms"),
    ("fe_max", "FE max"),
)


def _cell(value: Any) -> str:
    v = float(value)
    if not math.isfinite(v):
        return '<td data-v="">n/a</td>'
    cls = ' class="neg"' if v < 0 else ""
    return f'<td data-v="{v!r}"{cls}>{v:.4f}</td>'


def _html(data: ReportData, title: str, images: dict[str, tuple[str, str]] | None) -> str:
    esc = html.escape
    table = data.table()
    has_kinds = bool(data.kinds)
    columns = [(key, label) for key, label in _TABLE_COLUMNS if key in table]
    head = (
        "<th>model</th>"
        + ("<th>kind</th>" if has_kinds else "")
        + "".join(f"<th>{esc(label)}</th>" for _, label in columns)
    )
    rows = []
    for model in table.index:
        cells = [f'<td data-v="{esc(str(model))}">{esc(str(model))}</td>']
        if has_kinds:
            kind = data.kinds.get(str(model), "")
            cells.append(f'<td data-v="{esc(kind)}">{esc(kind)}</td>')
        cells += [_cell(table.loc[model, key]) for key, _ in columns]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    info = data.info
    overview = "".join(
        f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>" for k, v in info.items()
    )
    if images is None and not plots_available():
        plots = (
            '<p class="note">Plots are not included: they need matplotlib. Install it '
            f"with <code>{esc(INSTALL_HINT, quote=False)}</code> and run again.</p>"
        )
    elif images is None:
        plots = '<p class="note">Plots were not asked for (<code>--no-plots</code>).</p>'
    else:
        plots = "".join(
            f'<h3>{esc(t)}</h3><img id="plot-{esc(name)}" alt="{esc(t)}" '
            f'src="data:image/png;base64,{b64}">'
            for name, (t, b64) in images.items()
        )
    definitions = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in _DEFINITIONS)
    no_features = (
        ""
        if data.has_features
        else f'<p class="note" id="no-features">{esc(NO_FEATURES_NOTE, quote=False)}</p>'
    )
    mm_corr = float(data.metamodel_corr.mean())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
<section id="overview"><h2>Overview</h2>
<table>{overview}
<tr><td>metamodel mean CORR</td><td>{mm_corr:.4f}</td></tr></table>
<p>Files next to this report: <code>summary.json</code> (every number below),
<code>per_era.csv</code> (one row per era and model).</p></section>
<section id="summary"><h2>Summary per model</h2>
<p>Means over eras; Sharpe, Sortino, max drawdown and hit rate are those of the per-era
CORR (MMC Sharpe: of the seed MMC). Click a column header to sort.</p>{no_features}
<table class="sortable" id="summary-table"><thead><tr>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody></table></section>
<section id="plots"><h2>Plots</h2>{plots}</section>
<section id="definitions"><h2>Definitions</h2><dl>{definitions}</dl></section>
<script>{_JS}</script>
</body></html>
"""
