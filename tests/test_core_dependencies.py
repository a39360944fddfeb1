"""The core package needs only numpy and pandas: `pip install . && neutralkit demo`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import neutralkit

ENV = {**os.environ, "PYTHONPATH": str(Path(neutralkit.__file__).resolve().parents[1])}
BLOCK = (
    "import sys\n"
    "for name in ('scipy', 'matplotlib', 'pyarrow', 'sklearn', 'numerai_tools'):\n"
    "    sys.modules[name] = None  # importing any of them now raises ImportError\n"
)


def run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + code],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_api_and_compat_import_and_run_without_optional_packages(tmp_path):
    code = (
        "import numpy as np, neutralkit as nk\n"
        "import neutralkit.compat.numerai_tools as nt\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.integers(0, 5, size=(200, 6), dtype=np.int8)\n"
        "y = rng.normal(size=(200, 2))\n"
        "r = nk.neutralize(y, x)\n"
        "assert abs(r.sum()) < 1e-9\n"
        "print(nk.churn(y[:, 0], y[:, 1]) > 0)\n"
    )
    result = run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_demo_runs_without_optional_packages(tmp_path):
    code = (
        "from neutralkit.cli import main\n"
        "raise SystemExit(main(['demo', '--out', 'demo', '--n-eras', '6', '--rows-per-era',"
        " '80', '--n-features', '8', '--n-users', '6']))\n"
    )
    result = run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "report.html").is_file()
    assert (tmp_path / "demo" / "summary.json").is_file()
