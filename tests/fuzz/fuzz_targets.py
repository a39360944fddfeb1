"""Fuzz targets: the public API and the compiled bindings, with cheap invariant checks.

``api_target(data)``: decodes one public call (any function of ``neutralkit.__all__``,
``Neutralizer`` fit/refit/transform) with adversarial arrays, eras and parameters.
A finding is
  - an exception other than ValueError/TypeError (RuntimeError only for an unfitted
    Neutralizer), or one whose message names no argument of the function, or that
    leaks internals (pybind11's "incompatible function arguments", "internal:");
  - an input modified in place;
  - a correlation outside [-1, 1], or an exact +-1 where a scale-free recomputation
    says otherwise (a NaN clamped to +-1);
  - a result that changes with ``n_threads`` (bit for bit).
``core_target(data)``: calls ``neutralkit._core`` functions directly with any arrays
they accept (era indexes out of range, rows that disagree, enum codes out of range):
any Python exception is fine, only a crash (signal) is a finding.

Findings raise ``FuzzFinding`` (atheris then saves the input as crash-<sha1>), unless
``NK_FUZZ_LOG=<dir>`` is set: then each distinct finding is written once to
``<dir>/findings.jsonl`` with its input saved beside it, and fuzzing goes on (signals
still stop the run). ``NK_FUZZ_SKIP=index,rows,...`` turns off hostile categories of
the core target, to fuzz past a known, unfixed crash: ``index`` (era order/offsets out
of range), ``empty-era`` (an era without rows), ``rows`` (arrays whose rows disagree),
``params`` (enum codes, thread counts, rcond out of range), ``ndim``, ``refit``
(Factorization.transform on other arrays than the fitted ones). ``NK_FUZZ_VERBOSE=1``
prints each decoded call before it runs.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import json
import os
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import neutralkit as nk
from neutralkit import _core

try:
    from fuzz_inputs import (
        BOOLS,
        FNC_PRESETS,
        FRACTIONS,
        MMC_PRESETS,
        N_THREADS,
        NAN_POLICY,
        NEUTRALIZE_METHODS,
        POWERS,
        PROPORTIONS,
        RANK_METHODS,
        SCALES_MMC,
        SEEDS,
        SPECIAL_FLOATS,
        TOP_BOTTOM,
        Source,
        as_pandas,
        eras,
        matrix,
        pandas_index,
        param,
        shape,
        vector,
    )
except ImportError:  # imported as tests.fuzz.fuzz_targets
    from .fuzz_inputs import (  # type: ignore[no-redef]
        BOOLS,
        FNC_PRESETS,
        FRACTIONS,
        MMC_PRESETS,
        N_THREADS,
        NAN_POLICY,
        NEUTRALIZE_METHODS,
        POWERS,
        PROPORTIONS,
        RANK_METHODS,
        SCALES_MMC,
        SEEDS,
        SPECIAL_FLOATS,
        TOP_BOTTOM,
        Source,
        as_pandas,
        eras,
        matrix,
        pandas_index,
        param,
        shape,
        vector,
    )


class FuzzFinding(AssertionError):
    """A bug found by a fuzz target (not an expected refusal of bad input)."""


VERBOSE = bool(os.environ.get("NK_FUZZ_VERBOSE"))
LOG_DIR = os.environ.get("NK_FUZZ_LOG")
SKIP = {s.strip() for s in os.environ.get("NK_FUZZ_SKIP", "").split(",") if s.strip()}
BIG = bool(os.environ.get("NK_FUZZ_BIG"))  # huge bags/sizes: may need GBs if unbounded
_seen: set[str] = set()

FLOATISH = ["float64", "float64", "float32", "int8", "int64", "uint64", "bool", ">f8"]
FORBIDDEN = ("incompatible function arguments", "internal:", "_core", "Unable to cast")


def _report(target: str, func: str, kind: str, detail: str, src: Source) -> None:
    """Raise a finding, or log it once (NK_FUZZ_LOG) and carry on."""
    if not LOG_DIR:
        raise FuzzFinding(f"{func}: {kind}: {detail}\ninput: {'; '.join(src.log)}")
    shape_of_message = re.sub(r"-?\d[\d.e+-]*", "#", detail)[:160]
    key = f"{target}|{func}|{kind}|{shape_of_message}"
    if key in _seen:
        return
    _seen.add(key)
    digest = hashlib.sha1(src.data).hexdigest()[:16]
    out = Path(LOG_DIR)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"finding-{digest}").write_bytes(src.data)
    with open(out / "findings.jsonl", "a") as fh:
        row = {
            "target": target,
            "func": func,
            "kind": kind,
            "detail": detail[:500],
            "input": f"finding-{digest}",
            "decoded": src.log,
        }
        fh.write(json.dumps(row, default=repr) + "\n")


# ------------------------------------------------------------------------------------
# snapshots: inputs never modified in place


def _snapshot(obj: Any) -> Any:
    if isinstance(obj, (np.ndarray, pd.Series, pd.DataFrame, pd.Index, pd.Categorical)):
        return obj.copy()
    if isinstance(obj, (list, dict, tuple)):
        return copy.deepcopy(obj)
    return obj


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):  # bit for bit (NaN, -0.0 and structured dtypes too)
        return (
            isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and a.tobytes() == b.tobytes()
        )
    if isinstance(a, (pd.Series, pd.DataFrame)):
        return a.equals(b) and a.index.equals(b.index)
    if isinstance(a, pd.Categorical):
        return bool(a.equals(b))
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    try:
        return bool(a == b) if not isinstance(a, (list, dict, tuple)) else repr(a) == repr(b)
    except Exception:
        return True


# ------------------------------------------------------------------------------------
# result checks


def _as_float_array(result: Any) -> np.ndarray | None:
    if isinstance(result, (pd.Series, pd.DataFrame)):
        try:
            return result.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            return None
    if isinstance(result, (float, np.floating)):
        return np.array([float(result)])
    if isinstance(result, np.ndarray) and result.dtype.kind == "f":
        return result
    return None


def _robust_pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson of two 1-D float arrays, max-abs scaled first (no overflow)."""
    a = a / np.max(np.abs(a)) if np.max(np.abs(a)) > 0 else a
    b = b / np.max(np.abs(b)) if np.max(np.abs(b)) > 0 else b
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt(a @ a) * np.sqrt(b @ b)
    return float(a @ b / den) if den > 0 else float("nan")


def _bounded(result: Any) -> str | None:
    arr = _as_float_array(result)
    if arr is None:
        return None
    values = arr[~np.isnan(arr)]  # inf is out of range too
    if values.size and np.max(np.abs(values)) > 1.0 + 1e-9:
        return f"correlation outside [-1, 1]: {float(np.max(np.abs(values)))!r}"
    return None


def _pearson_clamp(args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> str | None:
    """pearson on plain float arrays with one era: an exact +-1 must be real."""
    preds, target = args[0], args[1]
    if kwargs.get("eras") is not None or kwargs.get("nan_policy") != "raise":
        return None
    if not all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in (preds, target)):
        return None
    p = np.asarray(preds, dtype=np.float64).reshape(preds.shape[0], -1)
    t = np.asarray(target, dtype=np.float64).reshape(-1)
    arr = _as_float_array(result)
    if arr is None or arr.size != p.shape[1] or p.shape[0] < 3:
        return None
    for j in range(p.shape[1]):
        if abs(arr[j]) == 1.0:
            robust = _robust_pearson(p[:, j], t)
            if not abs(robust) > 1.0 - 1e-6:
                return f"column {j}: pearson {arr[j]!r} but scale-free recomputation {robust!r}"
    return None


RESULT_CHECKS: dict[str, list[Callable[..., str | None]]] = {
    "pearson": [lambda a, k, r: _bounded(r), _pearson_clamp],
    "corr": [lambda a, k, r: _bounded(r)],
    "numerai_corr": [lambda a, k, r: _bounded(r)],
    "feature_correlations": [lambda a, k, r: _bounded(r)],
    "churn": [lambda a, k, r: None if _as_float_array(r) is None else _bounded(1.0 - r)],
}


# ------------------------------------------------------------------------------------
# the public API


def _inputs(src: Source) -> dict[str, Any]:
    """Row inputs sharing one shape, maybe as pandas objects with related indexes."""
    n, k, m = shape(src)
    base = pandas_index(src, n)

    def index_for() -> pd.Index:
        how = src.choice(["same", "same", "permuted", "other"])
        if how == "same":
            return base
        if how == "permuted":
            rng = np.random.default_rng(src.seed())
            return base[rng.permutation(n)]
        return pandas_index(src, n)

    preds = matrix(src, n, m, FLOATISH)
    if m == 1 and src.bool():
        preds = preds[:, 0]
    return {
        "n": n,
        "k": k,
        "m": m,
        "preds": as_pandas(src, preds, base, series_ok=True),
        "features": as_pandas(src, matrix(src, n, k), index_for(), series_ok=False),
        "target": as_pandas(src, vector(src, n, FLOATISH), index_for(), series_ok=True),
        "metamodel": as_pandas(src, vector(src, n, FLOATISH), index_for(), series_ok=True),
        "eras": eras(src, n),
    }


def _stakes(src: Source, m: int) -> Any:
    kind = src.choice(["ones", "random", "zeros", "negative", "nan", "huge", "series", "short"])
    src.note(f"stakes {kind}")
    rng = np.random.default_rng(src.seed())
    if kind == "ones":
        return np.ones(m)
    if kind == "random":
        return rng.integers(0, 4, size=m).astype(float)
    if kind == "zeros":
        return np.zeros(m)
    if kind == "negative":
        return -np.ones(m)
    if kind == "nan":
        return np.full(m, np.nan)
    if kind == "huge":
        return np.full(m, 1e308)
    if kind == "series":
        return pd.Series(np.ones(m), index=[f"c{j}" for j in range(m)])
    return np.ones(max(0, m - 1))


def _bags(src: Source, m: int) -> Any:
    kind = src.choice(["none", "int", "mask", "bad-mask", "weird"])
    src.note(f"bags {kind}")
    if kind == "none":
        return None
    if kind == "int":
        options = [1, 2, 3, 0, -1, 50]
        if BIG:
            options += [10**7, 2**63]
        return src.choice(options)
    if kind == "mask":
        rng = np.random.default_rng(src.seed())
        mask = rng.random((src.int(1, 4), m)) < 0.6
        return mask
    if kind == "bad-mask":
        return src.choice(
            [
                np.ones((2, m + 1), bool),
                np.zeros((1, m), bool),
                np.ones((0, m), bool),
                np.ones((2, m), dtype=np.int8),
            ]
        )
    return src.choice([1.5, True, "3", np.int64(2)])


def _api_call(src: Source) -> tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    name = src.choice([f for f in API_FUNCTIONS if f in nk.__all__])
    src.note(f"call {name}")
    d = _inputs(src)
    e, p, f, t, mm = d["eras"], d["preds"], d["features"], d["target"], d["metamodel"]
    fn = getattr(nk, name, None)
    threads = {"n_threads": param(src, "n_threads", N_THREADS)}
    policy = {"nan_policy": param(src, "nan_policy", NAN_POLICY)}
    if name == "neutralize":
        kw = {
            "eras": e,
            "proportion": param(src, "proportion", PROPORTIONS),
            "intercept": param(src, "intercept", BOOLS),
            "standardize": param(src, "standardize", BOOLS),
            "method": param(src, "method", NEUTRALIZE_METHODS),
            **threads,
        }
        return name, nk.neutralize, (p, f), kw
    if name == "Neutralizer":
        return name, _neutralizer_scenario(src, d), (), {}
    if name == "neutralize_series":
        return name, nk.neutralize_series, (p, t), {"proportion": param(src, "p", PROPORTIONS)}
    if name == "orthogonalize":
        return name, nk.orthogonalize, (p, t), {"eras": e}
    if name in ("corr", "covariance", "pearson"):
        return name, fn, (p, t), {"eras": e, **policy, **threads}
    if name == "numerai_corr":
        kw = {
            "eras": e,
            "top_bottom": param(src, "top_bottom", TOP_BOTTOM),
            "target_pow15": param(src, "target_pow15", BOOLS),
            **policy,
            **threads,
        }
        return name, fn, (p, t), kw
    if name == "correlation_contribution":
        kw = {"eras": e, "top_bottom": param(src, "top_bottom", TOP_BOTTOM), **policy, **threads}
        return name, fn, (p, mm, t), kw
    if name == "neutral_contribution":
        kw = {"eras": e, "top_bottom": param(src, "top_bottom", TOP_BOTTOM), **policy, **threads}
        return name, fn, (p, mm, f, t), kw
    if name in ("rank", "gaussianize"):
        kw = {"eras": e, "method": param(src, "method", RANK_METHODS), **policy, **threads}
        return name, fn, (p,), kw
    if name == "power":
        return name, fn, (p, param(src, "p", POWERS)), {**policy, **threads}
    if name == "stake_weight":
        return name, fn, (p, _stakes(src, d["m"])), policy
    if name == "stake_weighted_metamodel":
        kw = {"eras": e, "method": param(src, "method", RANK_METHODS), **policy, **threads}
        return name, fn, (p, _stakes(src, d["m"])), kw
    if name == "mmc":
        use_mm = src.bool()
        kw = {
            "metamodel": mm if use_mm else None,
            "stakes": None if use_mm and src.bool() else _stakes(src, d["m"]),
            "eras": e,
            "bags": _bags(src, d["m"]),
            "fraction": param(src, "fraction", FRACTIONS),
            "seed": param(src, "seed", SEEDS),
            "method": param(src, "method", RANK_METHODS),
            "scale": param(src, "scale", SCALES_MMC),
            "preset": param(src, "preset", MMC_PRESETS),
            **threads,
            **policy,
        }
        return name, fn, (p, t), kw
    if name == "mmc_loo":
        kw = {
            "eras": e,
            "bags": _bags(src, d["m"]),
            "fraction": param(src, "fraction", FRACTIONS),
            "seed": param(src, "seed", SEEDS),
            "method": param(src, "method", RANK_METHODS),
            **threads,
            **policy,
        }
        return name, fn, (p, t, _stakes(src, d["m"])), kw
    if name == "churn":
        kw = {"eras": e, "top_bottom": param(src, "top_bottom", TOP_BOTTOM)}
        return name, fn, (p, t if src.bool() else p), kw
    if name == "turnover":
        return name, fn, (p, t if src.bool() else p), {"eras": e}
    if name in ("alpha", "neutralized_weights", "mpc", "meta_portfolio_contribution"):
        weights = as_pandas(src, vector(src, d["n"], FLOATISH), None, series_ok=True)
        if name == "alpha":
            return name, fn, (p, f, weights, t), {"eras": e, **threads, **policy}
        if name == "neutralized_weights":
            kw = {"eras": e, "center_and_normalize": param(src, "center", BOOLS), **threads}
            return name, fn, (p, f, weights), {**kw, **policy}
        stakes = _stakes(src, d["m"])
        return name, fn, (p, stakes, f, weights, t), {"eras": e, **threads, **policy}
    if name in ("feature_correlations", "feature_exposure"):
        return name, fn, (p, f), {"eras": e, **threads}
    if name == "feature_neutral_corr":
        kw = {"eras": e, "preset": param(src, "preset", FNC_PRESETS), **threads}
        return name, fn, (p, f, t), kw
    if name == "feature_neutral_target":
        kw = {"eras": e, "proportion": param(src, "proportion", PROPORTIONS), **threads}
        return name, fn, (t, f), kw
    if name == "neutral_correlation":
        return name, fn, (p, f, t), {"eras": e, **threads}
    if name == "hard_era_mmc":
        return name, fn, (p, t), {"coefficient": param(src, "coefficient", POWERS)}
    if name == "summary":
        return name, fn, (p,), {"compounded": param(src, "compounded", BOOLS)}
    if name == "payout":
        kw = {
            "stake": param(src, "stake", [1.0, 0.0, -1.0, float("nan"), 1e308, "x"]),
            "clip": param(src, "clip", [None, 0.25, 0.0, -1.0, float("nan")]),
            "payout_factor": param(src, "payout_factor", [1.0, 0.5, float("inf"), None]),
            "compound": param(src, "compound", BOOLS),
            "lag": param(src, "lag", [0, 1, 3, -1, 2**63, 1.5]),
            **policy,
        }
        weights = src.choice([{"c0": 1.0}, {"c0": 0.5, "c1": 2.0}, {}, {"zzz": 1.0}, [1.0], "main"])
        src.note(f"weights={weights!r}")
        return name, fn, (p, weights), kw
    raise AssertionError(name)


def _neutralizer_scenario(src: Source, d: dict[str, Any]) -> Callable[[], Any]:
    """fit (maybe failing), refit with other shapes or parameters, then transform."""
    params = {
        "eras": d["eras"],
        "method": param(src, "method", NEUTRALIZE_METHODS),
        "n_threads": param(src, "n_threads", N_THREADS),
        "proportion": param(src, "proportion", PROPORTIONS),
        "intercept": param(src, "intercept", BOOLS),
        "standardize": param(src, "standardize", BOOLS),
    }
    refit = src.choice(
        ["none", "fewer-columns", "more-rows", "bad-method", "bad-threads", "other-eras"]
    )
    src.note(f"refit {refit}")
    transform_kw = {}
    if src.bool():
        transform_kw["proportion"] = param(src, "transform proportion", PROPORTIONS)
    n, k = d["n"], d["k"]
    second = matrix(
        src,
        n + (1 if refit == "more-rows" else 0),
        max(0, k - 1) if refit == "fewer-columns" else k,
    )

    def run() -> Any:
        model = nk.Neutralizer(**params)
        model.fit(d["features"])
        if refit != "none":
            if refit == "bad-method":
                model.set_params(method="nope")
            elif refit == "bad-threads":
                model.set_params(n_threads=0)
            elif refit == "other-eras":
                model.set_params(eras=np.arange(n) % 2)
            # a refused refit must leave the model safe to use
            with contextlib.suppress(ValueError, TypeError):
                model.fit(second if refit not in ("bad-method", "bad-threads") else d["features"])
        return model.transform(d["preds"], **transform_kw)

    return run


API_FUNCTIONS = [
    "neutralize",
    "Neutralizer",
    "neutralize_series",
    "orthogonalize",
    "corr",
    "covariance",
    "pearson",
    "numerai_corr",
    "correlation_contribution",
    "neutral_contribution",
    "rank",
    "gaussianize",
    "power",
    "stake_weight",
    "stake_weighted_metamodel",
    "mmc",
    "mmc_loo",
    "churn",
    "feature_correlations",
    "feature_exposure",
    "feature_neutral_corr",
    "feature_neutral_target",
    "neutral_correlation",
    "hard_era_mmc",
    "summary",
    "turnover",
    "alpha",
    "neutralized_weights",
    "mpc",
    "meta_portfolio_contribution",
    "payout",
]
#: public names that are values, not functions to call
NOT_CALLED = ["PAYOUT_SCHEMES", "PayoutScheme"]


def _argument_names(name: str) -> set[str]:
    if name == "Neutralizer":
        names = set(inspect.signature(nk.Neutralizer).parameters)
        names |= set(inspect.signature(nk.Neutralizer.transform).parameters) | {"y"}
    else:
        names = set(inspect.signature(getattr(nk, name)).parameters)
    return names - {"self"}


def _names_an_argument(message: str, names: set[str]) -> bool:
    return any(re.search(rf"(?<![\w.]){re.escape(a)}(?!\w)", message) for a in names)


def api_target(data: bytes) -> None:
    src = Source(data)
    name, fn, args, kwargs = _api_call(src)
    if VERBOSE:
        print("api:", "; ".join(src.log), file=sys.stderr, flush=True)
    before = [_snapshot(a) for a in (*args, *kwargs.values())]
    check_threads = src.bool()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            message = str(exc)
            if any(bad in message for bad in FORBIDDEN):
                _report("api", name, "leaks internals", f"{type(exc).__name__}: {message}", src)
            elif not _names_an_argument(message, _argument_names(name)):
                _report("api", name, "names no argument", f"{type(exc).__name__}: {message}", src)
            result = None
        except RuntimeError as exc:
            if "fit" not in str(exc):
                _report("api", name, "RuntimeError", str(exc), src)
            result = None
        except FuzzFinding:
            raise
        except Exception as exc:  # every other exception is a finding
            _report("api", name, type(exc).__name__, f"{type(exc).__name__}: {exc}", src)
            result = None
    for w in caught:
        _report("api", name, "warning", f"{w.category.__name__}: {w.message}", src)
    for a, b in zip((*args, *kwargs.values()), before, strict=True):
        if not _same(a, b):
            _report("api", name, "input modified", f"{type(a).__name__} changed", src)
    if result is None:
        return
    for check in RESULT_CHECKS.get(name, []):
        problem = check(args, kwargs, result)
        if problem:
            _report("api", name, "wrong result", problem, src)
    # seed=None draws fresh bags at each call: two calls differ whatever the threads
    random_bags = "seed" in kwargs and kwargs["seed"] is None
    if (
        check_threads
        and not random_bags
        and "n_threads" in kwargs
        and isinstance(kwargs["n_threads"], int)
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = fn(*args, **{**kwargs, "n_threads": 1})
            three = fn(*args, **{**kwargs, "n_threads": 3})
        a, b = _as_float_array(one), _as_float_array(three)
        if a is not None and b is not None and not np.array_equal(a, b, equal_nan=True):
            _report("api", name, "threads differ", "n_threads=1 and 3 disagree", src)


# ------------------------------------------------------------------------------------
# the compiled bindings


def _hostile(src: Source, category: str) -> bool:
    """Whether to use a hostile variant of this category (never if skipped)."""
    hostile = src.byte() % 4 == 3  # exhausted input (zeros): the ordinary variant
    return hostile and category not in SKIP


def _era_index(src: Source, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(src.seed())
    n_eras = src.int(1, 4)
    codes = rng.integers(0, n_eras, size=n)
    if "empty-era" in SKIP:  # no era without rows (the Python layer never makes one)
        codes = np.unique(codes, return_inverse=True)[1].reshape(-1)
        n_eras = int(codes.max()) + 1 if n else 0
    order = np.argsort(codes, kind="stable").astype(np.int64)
    offsets = np.zeros(n_eras + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes, minlength=n_eras), out=offsets[1:])
    if not _hostile(src, "index"):
        src.note(f"index valid eras={n_eras}")
        return order, offsets
    kind = src.choice(
        [
            "order-out-of-range",
            "order-negative",
            "offsets-past-end",
            "offsets-decreasing",
            "offsets-empty",
            "offsets-negative",
            "order-short",
            "order-duplicates",
            "offsets-one",
            "order-strided",
            "order-int32",
        ]
    )
    src.note(f"index HOSTILE {kind}")
    if kind == "order-out-of-range" and n:
        order[src.int(0, n - 1)] = n + src.choice([0, 1, 1000, 2**40])
    elif kind == "order-negative" and n:
        order[src.int(0, n - 1)] = -src.choice([1, 1000, 2**40])
    elif kind == "offsets-past-end":
        offsets[-1] = n + src.choice([1, 100, 2**40])
    elif kind == "offsets-decreasing" and len(offsets) > 2:
        offsets[1] = offsets[-1] + 1
        offsets[2] = 0
    elif kind == "offsets-empty":
        offsets = np.zeros(0, dtype=np.int64)
    elif kind == "offsets-negative":
        offsets[0] = -src.choice([1, 2**40])
    elif kind == "order-short":
        order = order[: n // 2]
    elif kind == "order-duplicates":
        order = np.zeros(n, dtype=np.int64)
    elif kind == "offsets-one":
        offsets = offsets[:1]
    elif kind == "order-strided":
        order = np.repeat(order, 2)[::2]
    elif kind == "order-int32":
        order = order.astype(np.int32)
    return order, offsets


def _rows(src: Source, n: int) -> int:
    if _hostile(src, "rows"):
        other = src.choice([n + 1, max(0, n - 1), 0, 2 * n + 5])
        src.note(f"rows HOSTILE {other} instead of {n}")
        return other
    return n


def _code(src: Source, valid: list[int], category: str = "params") -> int:
    if _hostile(src, category):
        value = src.choice([-1, 99, 2**31 - 1, -(2**31)])
        src.note(f"code HOSTILE {value}")
        return value
    return src.choice(valid)


def _threads(src: Source) -> int:
    if _hostile(src, "params"):
        value = src.choice([0, -1, -(2**31), 2**31 - 1, 1000])
        src.note(f"n_threads HOSTILE {value}")
        return value
    return src.choice([1, 2, 3])


def _float_param(src: Source, valid: list[float]) -> float:
    if _hostile(src, "params"):
        return float(src.choice(SPECIAL_FLOATS))
    return float(src.choice(valid))


CORE_DTYPES = [
    "float64",
    "int8",
    "float32",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint64",
    "uint16",
    "bool",
    ">f8",
    "float16",
    "complex128",
]


def _f64(src: Source, n: int, k: int | None = None) -> np.ndarray:
    x = matrix(src, n, k if k is not None else 1, ["float64", "float64", "float32", ">f8"])
    return x if k is not None else x[:, 0]


def _core_call(src: Source) -> tuple[str, Callable[[], Any]]:
    name = src.choice(CORE_FUNCTIONS)
    src.note(f"core {name}")
    n = src.choice([8, 1, 0, 3, 20, 2])
    k = src.choice([2, 1, 0, 3, 7, n, n + 1])
    x = matrix(src, n, k, CORE_DTYPES)
    if _hostile(src, "ndim"):
        x = src.choice([x.reshape(-1), x.reshape(1, *x.shape), np.float64(1.0)])
        src.note(f"x HOSTILE ndim {np.ndim(x)}")
    order, offsets = _era_index(src, n)
    th = _threads(src)
    if name == "count_nonfinite":
        nan_only = src.bool()
        return name, lambda: _core.count_nonfinite(x, nan_only)
    if name == "ndtri":
        p = _f64(src, n)
        return name, lambda: _core.ndtri(p)
    if name == "rank_columns":
        method, power = _code(src, [0, 1]), _float_param(src, [1.0, 1.5])
        gaussian = src.bool()
        return name, lambda: _core.rank_columns(x, order, offsets, method, gaussian, power, th)
    if name == "signed_power":
        power = _float_param(src, [1.5, 2.0])
        return name, lambda: _core.signed_power(x, power, th)
    if name == "prepare_target":
        t = _f64(src, _rows(src, n))
        mode, power = _code(src, [0, 1, 2, 3]), _float_param(src, [1.5, 1.0])
        return name, lambda: _core.prepare_target(t, order, offsets, mode, power)
    if name == "pearson_columns":
        y = _f64(src, _rows(src, n))
        cov = src.bool()
        return name, lambda: _core.pearson_columns(x, y, order, offsets, cov, th)
    if name == "rank_correlation_columns":
        y = _f64(src, _rows(src, n))
        method, power = _code(src, [0, 1]), _float_param(src, [1.0, 1.5])
        gaussian = src.bool()
        tb = _code(src, [0, 1, 2, 5])
        return name, lambda: _core.rank_correlation_columns(
            x, y, order, offsets, method, gaussian, power, tb, th
        )
    if name == "contribution_columns":
        mm, t = _f64(src, _rows(src, n)), _f64(src, _rows(src, n))
        tb, rank_method = _code(src, [0, 1, 3]), _code(src, [-1, 0, 1])
        return name, lambda: _core.contribution_columns(
            x, mm, t, order, offsets, tb, th, rank_method
        )
    if name == "rank_codes":
        method = _code(src, [0, 1])
        return name, lambda: _core.rank_codes(x, order, offsets, method, th)
    if name == "code_line_dots":
        codes = np.ascontiguousarray(
            matrix(src, k, _rows(src, n), ["uint16", "uint32", "uint8", "int64"]).astype(
                src.choice(["uint16", "uint32", "int64"])
            )
        )
        v = _f64(src, _rows(src, n))
        return name, lambda: _core.code_line_dots(codes, order, offsets, v, th)
    if name == "feature_correlations":
        preds = _f64(src, _rows(src, n), src.int(0, 3))
        return name, lambda: _core.feature_correlations(preds, x, order, offsets, th)
    proportions = [float(src.choice(SPECIAL_FLOATS[:5])) for _ in range(src.int(0, 2))]
    if _hostile(src, "params"):
        proportions = [float(src.choice(SPECIAL_FLOATS)) for _ in range(src.int(0, 3))]
    method = _code(src, [0, 1, 2])
    rcond = _float_param(src, [1e-6])
    min_pivot = _float_param(src, [1e-9])
    intercept, standardize = src.bool(), src.bool()
    y = _f64(src, _rows(src, n), src.int(0, 3))
    if name == "neutralize":
        return name, lambda: _core.neutralize(
            x, y, order, offsets, proportions, intercept, standardize, method, rcond, min_pivot, th
        )
    # factorize, then transform with (maybe) other arrays than the fitted ones
    x2, order2, offsets2 = x, order, offsets
    if _hostile(src, "refit"):
        x2 = matrix(src, _rows(src, n), src.int(0, k + 1), CORE_DTYPES)
        order2, offsets2 = _era_index(src, x2.shape[0])
        src.note(f"transform HOSTILE x {x2.shape} {x2.dtype}")

    def run() -> Any:
        f = _core.factorize(x, order, offsets, intercept, method, rcond, min_pivot, th)
        _ = f.paths
        return f.transform(x2, y, order2, offsets2, proportions, standardize, th)

    return name, run


CORE_FUNCTIONS = [
    "neutralize",
    "factorize",
    "rank_columns",
    "rank_correlation_columns",
    "pearson_columns",
    "contribution_columns",
    "rank_codes",
    "code_line_dots",
    "feature_correlations",
    "prepare_target",
    "signed_power",
    "count_nonfinite",
    "ndtri",
]


def core_target(data: bytes) -> None:
    src = Source(data)
    try:
        _name, run = _core_call(src)
    except (ValueError, TypeError):
        return  # the decoder could not build this combination (e.g. a bad reshape)
    if VERBOSE:
        print("core:", "; ".join(src.log), file=sys.stderr, flush=True)
    # any Python exception is an acceptable refusal; only a signal is a finding
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        run()
