"""Bagged residual MMC: neutralkit vs a numerai-tools pipeline, in the same run.

Run pinned to one thread:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        PYTHONPATH=python python benchmarks/bench_mmc.py --threads 1

1. One era of 5000 rows, 200 users, 20 bags of half the users. Baseline: per bag, build
   the stake-weighted metamodel with numerai-tools (rank, stake_weight, rank), then
   neutralize the ranked users to it with numerai_tools.scoring.neutralize (all users in
   one call, and one call per user) and take the covariance with the target. Results
   must agree with neutralkit to 1e-9. numerai_tools.scoring.correlation_contribution
   (the official MMC: a different formula, gaussianized) is timed for scale only.
2. 100 bags x 5000 users x one era of 5000 rows: neutralkit alone.
"""

from __future__ import annotations

import argparse
import resource

import numerai_tools.scoring as nt
import numpy as np
import pandas as pd

import neutralkit as nk
from neutralkit import metamodel
from neutralkit._validate import n_threads_of as nk_threads
from neutralkit.bench import bag_masks, best_of, mmc_data, numerai_tools_mmc


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, repeat: int = 1):
    return best_of(fn, repeat)


def numerai_tools_contribution(preds, target, stakes, mask) -> pd.Series:
    total = pd.Series(0.0, index=preds.columns)
    for bag in mask:
        users = preds.columns[bag]
        meta = nt.stake_weight(nt.rank(preds[users]), stakes[users])
        total += nt.correlation_contribution(preds, meta, target)
    return total / len(mask)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--skip-per-user", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    n, n_users, n_bags = args.rows, 200, 20
    preds, target, stakes, signal = mmc_data(n, n_users, rng)  # neutralkit.bench
    mask = bag_masks(n_bags, n_users, 0.5, seed=0)

    rows = []
    t_ours, ours = timed(
        lambda: nk.mmc(preds, target, stakes=stakes, bags=n_bags, seed=0, n_threads=args.threads),
        repeat=5,
    )
    rows.append(("neutralkit.mmc", t_ours, 1.0))
    t_nt, base = timed(lambda: numerai_tools_mmc(preds, target, stakes, mask, False))
    np.testing.assert_allclose(ours.to_numpy(), base.to_numpy(), rtol=1e-9, atol=1e-12)
    rows.append(("numerai-tools rank+neutralize (all users/call)", t_nt, t_nt / t_ours))
    if not args.skip_per_user:
        t_pu, base_pu = timed(lambda: numerai_tools_mmc(preds, target, stakes, mask, True))
        np.testing.assert_allclose(ours.to_numpy(), base_pu.to_numpy(), rtol=1e-9, atol=1e-12)
        rows.append(("numerai-tools rank+neutralize (one call/user)", t_pu, t_pu / t_ours))
    t_cc, _ = timed(lambda: numerai_tools_contribution(preds, target, stakes, mask))
    rows.append(("numerai-tools correlation_contribution*", t_cc, t_cc / t_ours))

    print(
        f"\n1) bagged MMC: 1 era x {n} rows, {n_users} users, {n_bags} bags, threads={args.threads}"
    )
    print(f"{'implementation':<50} {'seconds':>9} {'x ours':>8}")
    for name, sec, ratio in rows:
        print(f"{name:<50} {sec:>9.4f} {ratio:>8.1f}")
    print("* official MMC, a different formula: timed for scale, not compared")
    print(
        f"agreement with numerai-tools pipeline: max |diff| = "
        f"{np.abs(ours.to_numpy() - base.to_numpy()).max():.2e}"
    )
    print(f"peak RSS so far: {peak_rss_mb():.0f} MB")

    big_users, big_bags = 5000, 100
    big = rng.normal(size=(n, big_users)) + signal[:, None]
    big_stakes = rng.lognormal(size=big_users)
    t_big, scores = timed(
        lambda: nk.mmc(
            big,
            target.to_numpy(),
            stakes=big_stakes,
            bags=big_bags,
            n_threads=args.threads,
        ),
        repeat=3,
    )
    assert np.isfinite(scores.to_numpy()).all()
    print(
        f"\n2) neutralkit.mmc, 1 era x {n} rows, {big_users} users, {big_bags} bags, "
        f"threads={args.threads}: {t_big:.3f} s (best of 3)"
    )
    # Where the time goes: the two big steps of mmc, timed alone (private helpers).
    er = metamodel._eras_of(None, n)
    t_rank, ranks = timed(
        lambda: metamodel._UserRanks(big, er, "average", nk_threads(args.threads)), repeat=3
    )
    weights = metamodel._bag_weights(bag_masks(big_bags, big_users, 0.5, seed=0), big_stakes)
    t_product, _ = timed(lambda: ranks.weighted(weights), repeat=3)
    print(
        f"   of which: ranking {big_users} users {t_rank:.3f} s, "
        f"metamodel product ({n} x {big_users} x {big_bags}) {t_product:.3f} s"
    )
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
