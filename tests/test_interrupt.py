"""Ctrl-C stops long kernels: a real SIGINT sent to a child process mid-call.

Each child builds its input (a Hankel view: x[i, j] = buf[i + j], so a large matrix
costs a few MB), says "go", and runs a call that takes several seconds uninterrupted.
The parent sends SIGINT shortly after "go" and checks that the child reports
KeyboardInterrupt (not a finished call) and exits soon after the signal. The bound is
loose (the kernels check between eras / column blocks, ~0.1 s polling): it tells
"stopped at the next task" from "ran to the end", not a speed claim.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import neutralkit as nk

PYTHON_DIR = str(Path(nk.__file__).resolve().parent.parent)

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="SIGINT to a child process is POSIX-only"
)

# A shell that starts a job in the background without job control (CI scripts, nohup)
# gives it SIGINT ignored, and Python then installs no KeyboardInterrupt handler: the
# child restores Python's own handler first, so the test is about the kernels only.
PRELUDE = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
from numpy.lib.stride_tricks import as_strided
import neutralkit as nk
rng = np.random.default_rng(0)
def hankel(n, k):
    buf = rng.standard_normal(n + k)
    return as_strided(buf, shape=(n, k), strides=(8, 8), writeable=False)
"""

EPILOGUE = """
print("go", flush=True)
start = time.perf_counter()
try:
    call()
except KeyboardInterrupt:
    print(f"interrupted {time.perf_counter() - start:.3f}", flush=True)
else:
    print(f"finished {time.perf_counter() - start:.3f}", flush=True)
"""

CASES = {
    "neutralize": """
        n, k = 500_000, 300
        x = hankel(n, k); y = rng.standard_normal(n)
        eras = np.repeat(np.arange(n // 500), 500)
        call = lambda: nk.neutralize(y, x, eras=eras, n_threads=1)
    """,
    "neutralize-2-threads": """
        n, k = 500_000, 300
        x = hankel(n, k); y = rng.standard_normal(n)
        eras = np.repeat(np.arange(n // 500), 500)
        call = lambda: nk.neutralize(y, x, eras=eras, n_threads=2)
    """,
    "Neutralizer": """
        n, k = 500_000, 300
        x = hankel(n, k); y = rng.standard_normal(n)
        eras = np.repeat(np.arange(n // 500), 500)
        call = lambda: nk.Neutralizer(x, eras=eras, n_threads=1).transform(y)
    """,
    "numerai_corr": """
        p = hankel(50_000, 3000); t = rng.standard_normal(50_000)
        call = lambda: nk.numerai_corr(p, t, n_threads=1)
    """,
    "mmc": """
        p = hankel(60_000, 600); t = rng.standard_normal(60_000)
        call = lambda: nk.mmc(p, t, stakes=np.ones(600), bags=10, n_threads=1)
    """,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_sigint_stops_a_long_call(case: str) -> None:
    code = PRELUDE + textwrap.dedent(CASES[case]) + EPILOGUE
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHON_DIR + os.pathsep + env.get("PYTHONPATH", "")
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "go", line + child.stderr.read() if child.stderr else line
        time.sleep(0.5)  # well inside the call (several seconds uninterrupted)
        sent = time.perf_counter()
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=60)
        after_signal = time.perf_counter() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert out.startswith("interrupted"), f"the call was not interrupted: {out!r} {err!r}"
    assert after_signal < 2.0, f"exited {after_signal:.2f} s after SIGINT"
