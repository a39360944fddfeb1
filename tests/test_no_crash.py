"""No crash, ever: the two segfaults of issue 9 and the compiled side's own checks.

The crashing scenarios run in a subprocess, so that a regression fails the test (with
the child's exit status) instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import neutralkit as nk
from neutralkit import _core

PYTHON_DIR = str(Path(nk.__file__).resolve().parent.parent)


def run_child(code: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHON_DIR + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def assert_clean_exit(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, (
        f"child exited with {proc.returncode} (negative: killed by a signal)\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )


def test_transform_after_a_failed_fit_uses_the_previous_fit() -> None:
    # Issue 9: fit replaced the exposures and eras, then raised on method/n_threads;
    # transform then read a 3-column matrix with a 5-column factorization (segfault).
    proc = run_child(
        """
        import numpy as np, neutralkit as nk
        rng = np.random.default_rng(0)
        x = rng.standard_normal((400, 5)); y = rng.standard_normal(400)
        eras = np.repeat(np.arange(4), 100)
        nz = nk.Neutralizer(x, eras=eras)
        expected = nz.transform(y)
        bad = [("method", "bogus"), ("n_threads", 0), ("n_threads", "two"),
               ("intercept", "yes")]
        for name, value in bad:
            good = nz.get_params()[name]
            nz.set_params(**{name: value})
            for fitted in (x[:, :3], x[:200], rng.standard_normal((400, 9))):
                try:
                    nz.fit(fitted)
                except (ValueError, TypeError):
                    pass
                else:
                    raise SystemExit(f"fit accepted {name}={value!r}")
                nz.set_params(**{name: good})
                np.testing.assert_array_equal(nz.transform(y), expected)
                nz.set_params(**{name: value})
            nz.set_params(**{name: good})
        # bad eras for the new exposures: refused, the old fit stays
        nz.set_params(eras=np.arange(7))
        try:
            nz.fit(x[:, :2])
        except ValueError:
            pass
        np.testing.assert_array_equal(nz.transform(y), expected)
        print("ok")
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "ok"


def test_refit_on_one_thread_while_others_transform() -> None:
    # Issue 9: one thread refitting a shared Neutralizer while others call transform
    # freed the factorization under a running transform.
    proc = run_child(
        """
        import threading, numpy as np, neutralkit as nk
        rng = np.random.default_rng(1)
        n = 2000
        eras = np.repeat(np.arange(8), n // 8)
        xs = [rng.standard_normal((n, k)) for k in (3, 11, 30)]
        y = rng.standard_normal((n, 2))
        expected = [nk.neutralize(y, x, eras=eras, n_threads=1) for x in xs]
        nz = nk.Neutralizer(xs[0], eras=eras, n_threads=2)
        stop = threading.Event(); errors = []
        def refit():
            i = 0
            while not stop.is_set():
                i += 1
                nz.fit(xs[i % len(xs)])
        def use():
            try:
                while not stop.is_set():
                    out = nz.transform(y)
                    # each result is one whole fit's, the old or the new
                    if not any(np.allclose(out, e, atol=1e-9) for e in expected):
                        errors.append("a transform mixed two fits")
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
        threads = [threading.Thread(target=refit)] + [
            threading.Thread(target=use) for _ in range(3)]
        for t in threads: t.start()
        stop.wait(1.5); stop.set()
        for t in threads: t.join()
        assert not errors, errors[:3]
        print("ok")
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "ok"


# --------------------------------------------------- the compiled side checks itself


def _fitted() -> tuple[object, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((60, 4))
    order = np.arange(60, dtype=np.int64)
    offsets = np.array([0, 30, 60], dtype=np.int64)
    f = _core.factorize(x, order, offsets, True, 0, 1e-6, 1e-9, 1)
    return f, x, order, offsets


@pytest.mark.parametrize(
    "change",
    ["fewer columns", "more columns", "fewer rows", "other dtype", "y rows"],
)
def test_factorization_refuses_other_dimensions(change: str) -> None:
    f, x, order, offsets = _fitted()
    y = np.zeros((60, 1))
    if change == "fewer columns":
        x = np.ascontiguousarray(x[:, :2])
    elif change == "more columns":
        x = np.hstack([x, x])
    elif change == "fewer rows":
        x, order, offsets = x[:40], order[:40], np.array([0, 20, 40], dtype=np.int64)
    elif change == "other dtype":
        x = x.astype(np.float32)
    else:
        y = np.zeros((59, 1))
    with pytest.raises(ValueError, match="internal"):
        f.transform(x, y, order, offsets, [1.0], False, 1)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("order", "offsets"),
    [
        (np.arange(60, dtype=np.int64), np.array([0, 30], dtype=np.int64)),  # short
        (np.arange(60, dtype=np.int64), np.array([0, 20, 60], dtype=np.int64)),  # sizes
        (np.arange(60, dtype=np.int64) + 1, np.array([0, 30, 60], dtype=np.int64)),
        (np.arange(60, dtype=np.int64), np.array([0, 40, 30, 60], dtype=np.int64)),
        (np.arange(60, dtype=np.int64), np.array([1, 30, 60], dtype=np.int64)),
    ],
)
def test_era_index_is_checked(order: np.ndarray, offsets: np.ndarray) -> None:
    f, x, _, _ = _fitted()
    with pytest.raises(ValueError, match="internal"):
        f.transform(x, np.zeros((60, 1)), order, offsets, [1.0], False, 1)  # type: ignore[attr-defined]
    if offsets[1] == 20:
        return  # other era sizes: a valid grouping for a kernel with no fitted state
    with pytest.raises(ValueError, match="internal"):
        _core.rank_columns(x, order, offsets, 0, False, 1.0, 1)


def test_neutralize_kernel_refuses_mismatched_rows() -> None:
    x = np.ones((10, 2))
    order = np.arange(10, dtype=np.int64)
    offsets = np.array([0, 10], dtype=np.int64)
    with pytest.raises(ValueError, match="internal"):
        _core.neutralize(x, np.zeros((9, 1)), order, offsets, [1.0], True, False, 0, 1e-6, 1e-9, 1)
