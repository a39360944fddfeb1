"""Replay fuzz inputs, each in its own process, and say what each one does.

    python tests/fuzz/replay.py core /tmp/fuzz/core/artifacts/crash-*
    python tests/fuzz/replay.py api /tmp/fuzz/api/findings/finding-*

For each input: the decoded call (what the harness built from the bytes) and the outcome:
"ok", "finding: ..." (the AssertionError the target raised) or "SIGNAL n" (a crash).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = """
import sys
sys.path.insert(0, {here!r})
import fuzz_targets
data = open({path!r}, "rb").read()
getattr(fuzz_targets, {target!r} + "_target")(data)
"""


def replay(target: str, path: str, timeout: float = 120) -> tuple[str, str]:
    """(outcome, decoded call) of one input, run in a child process."""
    env = dict(os.environ, NK_FUZZ_VERBOSE="1")
    env.pop("NK_FUZZ_LOG", None)
    code = _CHILD.format(here=str(HERE), path=path, target=target)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout
    )
    lines = proc.stderr.splitlines()
    decoded = next((ln for ln in lines if ln.startswith(f"{target}:")), "?")
    if proc.returncode < 0:
        return f"SIGNAL {-proc.returncode}", decoded
    if proc.returncode:
        last = next((ln for ln in reversed(lines) if ln.strip()), "")
        return f"finding: {last[:300]}", decoded
    return "ok", decoded


def main() -> int:
    target, paths = sys.argv[1], sys.argv[2:]
    for path in paths:
        outcome, decoded = replay(target, path)
        print(f"{Path(path).name}: {outcome}\n    {decoded}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
