"""The fuzz targets (tests/fuzz/) on a few fixed inputs, in seconds.

Checks that the harness still decodes its bytes into a call of every public function and
of every compiled binding, that ordinary calls raise no finding, and that its checks do
catch what they are meant to catch. Fuzzing itself: tests/fuzz/README.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neutralkit as nk

FUZZ_DIR = Path(__file__).resolve().parent / "fuzz"
sys.path.insert(0, str(FUZZ_DIR))

import fuzz_targets  # noqa: E402

API = [f for f in fuzz_targets.API_FUNCTIONS if f in nk.__all__]


def test_every_public_function_is_fuzzed():
    missing = sorted(
        set(nk.__all__) - set(fuzz_targets.API_FUNCTIONS) - set(fuzz_targets.NOT_CALLED)
    )
    assert not missing, f"add {missing} to tests/fuzz/fuzz_targets.py"


@pytest.fixture(autouse=True)
def _raise_findings(monkeypatch):
    monkeypatch.setattr(fuzz_targets, "LOG_DIR", None)  # a finding fails the test


@pytest.mark.parametrize("i", range(len(API)), ids=API)
def test_api_target_ordinary_call(i):
    # first byte picks the function; the rest decodes to the first (ordinary) options
    fuzz_targets.api_target(bytes([i]) + bytes(16))


@pytest.mark.parametrize("tail", [b"\x01\x02\x00\x01", b"\x03\x00\x00\x02\x05\x01\x00"])
def test_api_target_other_fixed_inputs(tail):
    for i in range(len(API)):
        fuzz_targets.api_target(bytes([i]) + tail)


def test_core_target_ordinary_calls_in_a_subprocess():
    code = (
        f"import sys; sys.path.insert(0, {str(FUZZ_DIR)!r}); import fuzz_targets\n"
        f"for i in range({len(fuzz_targets.CORE_FUNCTIONS)}):\n"
        "    for tail in (bytes(16), bytes([1, 2, 1, 0, 2, 1, 0, 0, 1])):\n"
        "        fuzz_targets.core_target(bytes([i]) + tail)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def _pearson_index(data_tail: bytes = bytes(16)) -> bytes:
    return bytes([API.index("pearson")]) + data_tail


def test_harness_reports_an_unexpected_exception(monkeypatch):
    def broken(*args, **kwargs):
        raise IndexError("index 3 is out of bounds")

    monkeypatch.setattr(nk, "pearson", broken)
    with pytest.raises(fuzz_targets.FuzzFinding, match="IndexError"):
        fuzz_targets.api_target(_pearson_index())


def test_harness_reports_an_error_naming_no_argument(monkeypatch):
    def vague(*args, **kwargs):
        raise ValueError("something went wrong")

    monkeypatch.setattr(nk, "pearson", vague)
    with pytest.raises(fuzz_targets.FuzzFinding, match="names no argument"):
        fuzz_targets.api_target(_pearson_index())


def test_harness_reports_a_modified_input(monkeypatch):
    real = nk.pearson

    def mutating(preds, target, **kwargs):
        out = real(preds, target, **kwargs)
        np.asarray(preds)[...] = 0.0
        return out

    monkeypatch.setattr(nk, "pearson", mutating)
    with pytest.raises(fuzz_targets.FuzzFinding, match="input modified"):
        fuzz_targets.api_target(_pearson_index())


def test_harness_reports_a_clamped_correlation(monkeypatch):
    monkeypatch.setattr(nk, "pearson", lambda preds, target, **kw: np.ones(np.shape(preds)[1:]))
    with pytest.raises(fuzz_targets.FuzzFinding, match="scale-free recomputation"):
        fuzz_targets.api_target(_pearson_index())
