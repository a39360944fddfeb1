"""Fuzz one target for N minutes, restarting after each crash, then summarize.

libFuzzer stops at the first crash, and its fork mode does not work with atheris, so
this loop restarts the fuzzer (same corpus, so no progress is lost) until the time is
used up, and adds up executions and crashes::

    python tests/fuzz/run.py core --minutes 15 --out /tmp/fuzz/core
    python tests/fuzz/run.py api --minutes 15 --out /tmp/fuzz/api --log

``--log`` sets NK_FUZZ_LOG=<out>/findings so that the API target records every distinct
unexpected exception (in <out>/findings/findings.jsonl) instead of stopping at the first.
Crash inputs land in <out>/artifacts/, one log per run in <out>/logs/. Replay them with
``python tests/fuzz/replay.py <target> <files>``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _wait(proc: subprocess.Popen[bytes], log: Path, stall: float) -> int:
    """Wait for the fuzzer; kill it if it hangs in its crash or timeout handler.

    (After heap corruption, libFuzzer's handler can deadlock in malloc.)"""
    size, last = -1, time.monotonic()
    while (rc := proc.poll()) is None:
        time.sleep(2)
        now_size = log.stat().st_size
        if now_size != size:
            size, last = now_size, time.monotonic()
        elif time.monotonic() - last > stall:
            text = log.read_text(errors="replace")
            if "deadly signal" in text or "ALARM" in text:
                proc.kill()
                return proc.wait()
    return rc


def _save_unit(text: str, artifacts: Path) -> bool:
    """Write the last input libFuzzer dumped as hex ("0x12,0x34,") to artifacts/."""
    dumps = [d for d in re.findall(r"^((?:0x[0-9a-f]{1,2},)*)$", text, flags=re.M) if d]
    if not dumps:
        return False
    data = bytes(int(h, 16) for h in dumps[-1].split(",") if h)
    (artifacts / f"crash-{hashlib.sha1(data).hexdigest()}").write_bytes(data)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["api", "core"])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--log", action="store_true", help="record API findings, go on")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per input")
    parser.add_argument("--rss-limit-mb", type=int, default=3072)
    args = parser.parse_args()

    corpus, artifacts, logs = args.out / "corpus", args.out / "artifacts", args.out / "logs"
    for d in (corpus, artifacts, logs):
        d.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.log:
        env["NK_FUZZ_LOG"] = str(args.out / "findings")
    script = HERE / f"fuzz_{args.target}.py"
    deadline = time.monotonic() + 60 * args.minutes
    total_runs = crashes = 0
    started = time.monotonic()
    run = 0
    while (left := int(deadline - time.monotonic())) > 5:
        run += 1
        log = logs / f"run{run:03d}.log"
        cmd = [
            sys.executable,
            str(script),
            f"-max_total_time={left}",
            f"-timeout={args.timeout}",
            f"-rss_limit_mb={args.rss_limit_mb}",
            f"-artifact_prefix={artifacts}/",
            str(corpus),
        ]
        with open(log, "w") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
            rc = _wait(proc, log, 20)
        text = log.read_text(errors="replace")
        done = re.findall(r"Done (\d+) runs", text)
        counts = re.findall(r"^#(\d+)\s", text, flags=re.M)
        runs = int(done[-1]) if done else (int(counts[-1]) if counts else 0)
        total_runs += runs
        crashed = "Test unit written to" in text
        if not crashed and "deadly signal" in text:
            # heap corruption can hang libFuzzer's own crash handler before it writes the
            # unit (killed by _wait): recover the input from the hex dump in the log
            crashed = _save_unit(text, artifacts)
        crashes += crashed
        print(f"run {run}: rc={rc} execs={runs} {'CRASH' if crashed else ''}", flush=True)
        if not crashed and rc != 0:
            print(f"fuzzer exited with {rc} without an artifact; see {log}", flush=True)
            break
    elapsed = time.monotonic() - started
    print(
        f"target={args.target} time={elapsed / 60:.1f} min execs={total_runs} "
        f"crash-restarts={crashes} artifacts={len(list(artifacts.iterdir()))}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
