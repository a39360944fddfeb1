"""`neutralkit check` and neutralkit.testing.compare_with_reference."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("scipy")  # the reference uses scipy.special.ndtri

from neutralkit import testing
from neutralkit.cli import main
from neutralkit.datasets import synthetic_tournament

LINE = re.compile(r"^(\w+)\s+(\S+)\s+(\S+)\s+(\S+)ms\s+(\S+)ms\s+(ok|FAIL)")


def function_lines(out: str) -> dict[str, tuple[float, float, str]]:
    """function -> (max abs diff, max rel diff, status) from the printed table."""
    found = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            found[m.group(1)] = (float(m.group(2)), float(m.group(3)), m.group(6))
    return found


def test_default_run_checks_every_registered_function(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    lines = function_lines(out)
    assert list(lines) == list(testing.CHECKS)
    assert all(status == "ok" for _, _, status in lines.values())
    assert all(rel <= testing.DEFAULT_RTOL for _, rel, _ in lines.values())
    assert "synthetic tournament" in out and f"all {len(testing.CHECKS)} functions agree" in out


def test_a_perturbed_fast_result_is_caught(capsys, monkeypatch):
    original = testing.CHECKS["numerai_corr"]
    perturbed = testing.Check(
        fast=lambda d, m: original.fast(d, m) + 1e-6, reference=original.reference
    )
    monkeypatch.setitem(testing.CHECKS, "numerai_corr", perturbed)
    code = main(["check", "--functions", "rank,numerai_corr"])
    out = capsys.readouterr().out
    assert code == testing.EXIT_MISMATCH == 1
    lines = function_lines(out)
    assert lines["rank"][2] == "ok"
    abs_diff, rel_diff, status = lines["numerai_corr"]
    assert status == "FAIL"
    assert abs_diff == pytest.approx(1e-6, rel=1e-2) and rel_diff > testing.DEFAULT_RTOL
    assert "1 of 2 function(s) differ" in out


def test_a_tolerance_loose_enough_lets_the_perturbation_pass(monkeypatch, capsys):
    original = testing.CHECKS["corr"]
    monkeypatch.setitem(
        testing.CHECKS,
        "corr",
        testing.Check(
            fast=lambda d, m: original.fast(d, m) * (1 + 1e-7), reference=original.reference
        ),
    )
    assert main(["check", "--functions", "corr", "--rtol", "1e-6", "-q"]) == 0
    assert main(["check", "--functions", "corr", "--rtol", "1e-8", "-q"]) == 1
    out = capsys.readouterr().out
    assert function_lines(out)["corr"][2] == "FAIL"


def test_user_files_with_the_report_options(tmp_path, capsys):
    t = synthetic_tournament(n_eras=6, rows_per_era=60, n_features=8, n_users=5, seed=1)
    frame = pd.concat([t.data, t.predictions], axis=1)
    path = tmp_path / "data.csv"
    frame.to_csv(path)
    stakes = tmp_path / "stakes.csv"
    t.stakes.rename_axis("model").reset_index().to_csv(stakes, index=False)
    code = main(
        [
            "check",
            "--data",
            str(path),
            "--stakes",
            str(stakes),
            "--functions",
            "neutralize,mmc,feature_exposure",
            "--threads",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert set(function_lines(out)) == {"neutralize", "mmc", "feature_exposure"}
    assert "data.csv" in out


def test_bad_input_exits_2(tmp_path, capsys):
    assert main(["check", "--data", str(tmp_path / "missing.csv")]) == 2
    assert main(["check", "--functions", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "unknown ['nope']" in err


def test_compare_with_reference_returns_a_table():
    t = synthetic_tournament(n_eras=4, rows_per_era=50, n_features=8, n_users=5)
    table = testing.compare_with_reference(
        t.predictions,
        t.target,
        t.data[t.features],
        t.eras,
        functions=["gaussianize", "correlation_contribution"],
    )
    assert list(table.index) == ["gaussianize", "correlation_contribution"]
    assert list(table.columns) == [
        "max_abs_diff",
        "max_rel_diff",
        "fast_s",
        "reference_s",
        "ok",
        "note",
    ]
    assert table["ok"].all() and (table["fast_s"] > 0).all()


def test_differences_hand_checked():
    a = np.array([1.0, 2.0, np.nan])
    b = np.array([1.0, 2.5, np.nan])
    assert testing.differences(a, b) == (0.5, 0.2)  # 0.5 / max|b| = 0.5 / 2.5
    assert testing.differences(a, np.array([1.0, 2.0, 3.0])) == (np.inf, np.inf)
    assert testing.differences(a[:2], b) == (np.inf, np.inf)
    assert testing.differences(np.zeros(2), np.zeros(2)) == (0.0, 0.0)


def test_both_sides_raising_the_same_error_is_agreement(monkeypatch):
    def refuse(d, m):
        raise ValueError("no")

    monkeypatch.setitem(testing.CHECKS, "rank", testing.Check(fast=refuse, reference=refuse))
    table = testing.compare_with_reference(functions=["rank"])
    assert bool(table.loc["rank", "ok"]) and "both raised ValueError" in table.loc["rank", "note"]
    only_fast = testing.Check(fast=refuse, reference=testing.CHECKS["corr"].reference)
    monkeypatch.setitem(testing.CHECKS, "rank", only_fast)
    table = testing.compare_with_reference(functions=["rank"])
    assert not table.loc["rank", "ok"] and "fast raised" in table.loc["rank", "note"]
