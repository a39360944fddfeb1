"""`neutralkit bench`: the table and the JSON record (tiny shapes: seconds, no timings asserted)."""

from __future__ import annotations

import json

import pytest

from neutralkit import bench
from neutralkit.cli import main

WORKLOADS = [
    "neutralize k=20",
    "neutralize k=60",
    "numerai_corr",
    "correlation_contribution",
    "bagged mmc",
    "feature exposure",
]
ROW_KEYS = {
    "name",
    "shape",
    "neutralkit_s",
    "reference_s",
    "numerai_tools_s",
    "ratio_vs_reference",
    "ratio_vs_numerai_tools",
    "max_rel_diff_vs_reference",
    "max_rel_diff_vs_numerai_tools",
    "agree",
}


def test_json_record_schema(tmp_path, capsys):
    pytest.importorskip("scipy")
    pytest.importorskip("numerai_tools")
    path = tmp_path / "bench.json"
    code = main(["bench", "--scale", "tiny", "--json", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    record = json.loads(path.read_text())
    assert {
        "neutralkit",
        "numpy",
        "numerai_tools",
        "scale",
        "shapes",
        "threads",
        "blas_threads",
        "blas_pinning",
        "machine",
        "notes",
        "workloads",
        "arguments",
    } <= set(record)
    assert record["scale"] == "tiny" and record["threads"] == 1 and record["blas_threads"] == 1
    assert record["shapes"]["rows"] == bench.SCALES["tiny"].rows
    assert [r["name"] for r in record["workloads"]] == WORKLOADS
    for row in record["workloads"]:
        assert set(row) == ROW_KEYS
        assert row["agree"] is True
        for side in ("neutralkit_s", "reference_s", "numerai_tools_s"):
            assert row[side] > 0
        assert row["ratio_vs_reference"] == pytest.approx(row["reference_s"] / row["neutralkit_s"])
        assert row["max_rel_diff_vs_reference"] <= bench.AGREE_RTOL
        assert row["max_rel_diff_vs_numerai_tools"] <= bench.AGREE_RTOL
    # one table line per workload
    for name in WORKLOADS:
        assert sum(line.startswith(name + " ") for line in out.splitlines()) == 1


def test_quick_and_tiny_contradict(capsys):
    assert main(["bench", "--quick", "--scale", "tiny"]) == 2
    assert "contradict" in capsys.readouterr().err


def test_baselines_can_be_skipped_and_workloads_chosen(tmp_path):
    path = tmp_path / "b.json"
    code = main(
        [
            "bench",
            "--scale",
            "tiny",
            "--no-reference",
            "--no-numerai-tools",
            "--only",
            "numerai_corr,bagged mmc",
            "--threads",
            "2",
            "-q",
            "--json",
            str(path),
        ]
    )
    assert code == 0
    record = json.loads(path.read_text())
    assert record["numerai_tools"] is None and record["threads"] == 2
    rows = record["workloads"]
    assert [r["name"] for r in rows] == ["numerai_corr", "bagged mmc"]
    assert all(r["reference_s"] is None and r["numerai_tools_s"] is None for r in rows)


def test_a_disagreeing_baseline_fails_the_run(monkeypatch, capsys):
    pytest.importorskip("scipy")
    real = bench.workloads

    def broken(scale):
        cases = real(scale)
        w = cases[2]  # numerai_corr: make the reference side wrong
        bad = bench.Workload(
            w.name, w.shape, w.make, w.fast, lambda d: w.reference(d) * 1.001, None
        )
        return [bad]

    monkeypatch.setattr(bench, "workloads", broken)
    assert main(["bench", "--scale", "tiny", "--no-numerai-tools"]) == bench.EXIT_DISAGREE
    assert "differ beyond" in capsys.readouterr().out
