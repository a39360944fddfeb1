"""neutralkit.compat.numerai_tools as a package: every public name of numerai-tools
0.7.2's three modules, with the same signatures; the old import paths keep working."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import numerai_tools.scoring
import numerai_tools.signals
import numerai_tools.submissions
import pytest

import neutralkit.compat.numerai_tools as compat
from neutralkit.compat.numerai_tools import scoring, signals, submissions

PAIRS = [
    (numerai_tools.scoring, scoring),
    (numerai_tools.signals, signals),
    (numerai_tools.submissions, submissions),
]
TYPING_HELPERS = {"S1", "S2", "RANK_METHOD_TYPE"}


def _public(module):
    """Functions defined in the module and upper-case constants, no private names."""
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or name in TYPING_HELPERS:
            continue
        if (inspect.isfunction(value) and value.__module__ == module.__name__) or name.isupper():
            names.add(name)
    return names


def test_public_function_counts_match_the_issue():
    # numerai-tools 0.7.2: 37 scoring functions, 6 signals, 12 submissions
    counts = [
        sum(inspect.isfunction(getattr(original, n)) for n in _public(original))
        for original, _ in PAIRS
    ]
    assert counts == [37, 6, 12]


@pytest.mark.parametrize(("original", "ours"), PAIRS, ids=lambda m: m.__name__)
def test_every_public_name_with_the_same_signature(original, ours):
    names = _public(original)
    assert names <= set(ours.__all__)
    assert set(ours.__all__) <= names | {"N_THREADS"}
    for name in sorted(names):
        theirs = getattr(original, name)
        mine = getattr(ours, name)
        if not inspect.isfunction(theirs):
            assert mine == theirs, name
            continue
        a = inspect.signature(theirs).parameters.values()
        b = inspect.signature(mine).parameters.values()
        assert [(p.name, p.kind, p.default) for p in a] == [
            (p.name, p.kind, p.default) for p in b
        ], name


def test_private_helpers_the_original_tests_import():
    # numerai-tools' own tests import these private names
    assert callable(submissions._validate_headers)
    assert callable(submissions._validate_ids)


def test_old_import_paths_keep_working():
    from neutralkit.compat.numerai_tools import numerai_corr

    assert numerai_corr is scoring.numerai_corr
    for name in scoring.__all__:
        assert getattr(compat, name) is getattr(scoring, name)


def test_n_threads_set_on_the_package_reaches_the_kernels():
    before = scoring.N_THREADS
    try:
        compat.N_THREADS = 1
        assert scoring.N_THREADS == 1
        assert compat.N_THREADS == 1
        scoring.N_THREADS = 2
        assert compat.N_THREADS == 2
    finally:
        compat.N_THREADS = before
    assert before == scoring.N_THREADS


def test_one_hot_encode_and_the_package_need_no_scikit_learn():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["sklearn"] = None  # any import of scikit-learn fails
        import pandas as pd
        from neutralkit.compat.numerai_tools import one_hot_encode, signals, submissions
        out = one_hot_encode(pd.DataFrame({"a": [2, 1, 2]}), ["a"])
        assert list(out.columns) == ["a_1", "a_2"], list(out.columns)
        assert out.to_numpy().tolist() == [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
        assert "sklearn" not in [m for m in sys.modules if sys.modules[m] is not None]
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_every_public_function_is_compared_with_the_original():
    """Each public function of the three modules is called, by name, in a test that
    compares it with numerai-tools (tests/test_compat_*.py)."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    text = "".join(
        p.read_text(encoding="utf-8")
        for p in here.glob("test_compat_*.py")
        if p.name != "test_compat_package.py"
    )
    missing = []
    for original, _ in PAIRS:
        for name in sorted(_public(original)):
            if not inspect.isfunction(getattr(original, name)):
                continue
            if f'"{name}"' not in text and f".{name}(" not in text:
                missing.append(f"{original.__name__}.{name}")
    assert not missing, f"no comparison test for {missing}"
