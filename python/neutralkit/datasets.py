"""A small synthetic tournament, built offline and deterministically from a seed.

It exists to show what the scores measure, on data whose answer is known:

- features are int8 in 0..4 (as Numerai ships them), in groups that share a latent
  factor, so features of one group are correlated;
- the target mixes a stable non-linear signal (products of features, invisible to any
  linear exposure) with linear feature factors whose returns change sign from era to era
  (a risk, not a signal), then is binned per era into {0, 0.25, 0.5, 0.75, 1};
- users are strong linear models (large feature exposure), feature-neutral models
  (the same kind of model passed through :func:`neutralkit.neutralize`), copies of the
  stake-weighted metamodel, independent weak signals and pure noise.

Expected relations (the tests check them): a copy of the metamodel has MMC about 0;
neutralized models have lower feature exposure and a higher CORR Sharpe than the linear
models they come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Tournament", "synthetic_tournament"]

#: thresholds that cut a standard normal into five equally likely bins (Φ⁻¹(0.2k))
_QUINTILE_CUTS = np.array(
    [-0.8416212335729143, -0.2533471031357997, 0.2533471031357997, 0.8416212335729143]
)
#: cumulative shares of the five target values (5% / 20% / 50% / 20% / 5%)
_TARGET_CUTS = np.array([0.05, 0.25, 0.75, 0.95])
_TARGET_VALUES = np.array([0.0, 0.25, 0.5, 0.75, 1.0])

#: share of users of each kind; every kind gets at least one user
_KIND_SHARES = (
    ("linear", 0.25),
    ("neutral", 0.25),
    ("copy", 0.10),
    ("indep", 0.25),
    ("noise", 0.15),
)


@dataclass(frozen=True)
class Tournament:
    """A synthetic tournament: data, user predictions and stakes.

    Attributes
    ----------
    data : pandas.DataFrame
        Index ``id``; int8 feature columns ``feature_*``, ``era`` (zero-padded string
        labels) and ``target`` in {0, 0.25, 0.5, 0.75, 1}.
    predictions : pandas.DataFrame
        One column per user (same index as ``data``), values in (0, 1).
    stakes : pandas.Series
        Log-normal stake per user (index = user names).
    features : list of str
        Names of the feature columns.
    feature_groups : dict
        Group name -> its feature names.
    kinds : dict
        User name -> its kind (``linear``, ``neutral``, ``copy``, ``indep``, ``noise``).
    """

    data: pd.DataFrame
    predictions: pd.DataFrame
    stakes: pd.Series
    features: list[str]
    feature_groups: dict[str, list[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    era_col: str = "era"
    target_col: str = "target"

    @property
    def eras(self) -> pd.Series:
        return self.data[self.era_col]

    @property
    def target(self) -> pd.Series:
        return self.data[self.target_col]

    def users(self, kind: str) -> list[str]:
        """Names of the users of one kind."""
        return [u for u, k in self.kinds.items() if k == kind]


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be at least {minimum}, got {value}")
    return int(value)


def _kind_counts(n_users: int) -> list[tuple[str, int]]:
    counts = {kind: 1 for kind, _ in _KIND_SHARES}
    extra = n_users - len(counts)
    raw = {kind: share * extra for kind, share in _KIND_SHARES}
    for kind in counts:
        counts[kind] += int(np.floor(raw[kind]))
    # hand out what flooring left over, largest remainders first (ties: declared order)
    left = n_users - sum(counts.values())
    by_remainder = sorted(_KIND_SHARES, key=lambda ks: -(raw[ks[0]] % 1))
    for kind, _ in by_remainder[:left]:
        counts[kind] += 1
    return [(kind, counts[kind]) for kind, _ in _KIND_SHARES]


def _per_era_bins(
    values: np.ndarray, era_codes: np.ndarray, cuts: np.ndarray, n_eras: int
) -> np.ndarray:
    """Per-era bin number of each row, from its within-era rank and cumulative cuts."""
    out = np.empty(len(values), dtype=np.int64)
    for e in range(n_eras):
        rows = np.flatnonzero(era_codes == e)
        order = np.argsort(values[rows], kind="stable")
        u = (np.arange(len(rows)) + 0.5) / len(rows)
        out[rows[order]] = np.searchsorted(cuts, u)
    return out


def _standardize(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def synthetic_tournament(
    n_eras: int = 80,
    rows_per_era: int = 400,
    n_features: int = 24,
    n_users: int = 20,
    seed: int = 0,
) -> Tournament:
    """Build a small synthetic tournament (deterministic for a given ``seed``).

    Per row ``i`` of era ``e``, with centred features ``x = (feature - 2) / sqrt(2)``,
    group latent factors ``z_g``:

        raw = 0.20 * s_main + 0.10 * Σ_k s_k + Σ_g r[e, g] * mean_{j in g}(x_j) + noise
        target = per-era bin of raw into {0, .25, .5, .75, 1} (shares 5/20/50/20/5 %)

    where ``s_main`` and ``s_k`` are standardized products of two features from
    different groups (non-linear, linearly invisible), and the factor returns
    ``r[e, g] ~ N(0.02, 0.25)`` change sign from era to era.

    Parameters
    ----------
    n_eras, rows_per_era : int
        Size of the data (at least 2 eras of 10 rows).
    n_features : int
        Number of int8 features (at least 8), split into groups of about 6.
    n_users : int
        Number of users (at least 5: one of each kind).
    seed : int
        Seed of the generator: the same arguments give the same tournament.

    Returns
    -------
    Tournament
        ``data`` (features, ``era``, ``target``), ``predictions`` (one column per user,
        values in (0, 1)), log-normal ``stakes``, and the feature groups and user kinds.
    """
    import neutralkit as nk  # the public API (imported late: neutralkit imports us not)

    n_eras = _check_int(n_eras, "n_eras", 2)
    rows_per_era = _check_int(rows_per_era, "rows_per_era", 10)
    n_features = _check_int(n_features, "n_features", 8)
    n_users = _check_int(n_users, "n_users", 5)
    rng = np.random.default_rng(seed)
    n = n_eras * rows_per_era
    era_codes = np.repeat(np.arange(n_eras), rows_per_era)
    width = len(str(n_eras))
    era_labels = np.array([f"{e + 1:0{width}d}" for e in range(n_eras)])[era_codes]

    # features: groups sharing a latent factor, binned into 0..4
    n_groups = max(2, round(n_features / 6))
    group_of = np.arange(n_features) % n_groups
    latent = rng.standard_normal((n, n_groups))
    loading = rng.uniform(0.4, 0.8, n_features)
    noise = rng.standard_normal((n, n_features))
    continuous = latent[:, group_of] * loading + noise * np.sqrt(1.0 - loading**2)
    features = np.searchsorted(_QUINTILE_CUTS, continuous).astype(np.int8)
    names = [f"feature_{j:03d}" for j in range(n_features)]
    x = (features.astype(np.float64) - 2.0) / np.sqrt(2.0)

    # non-linear signals: products of two features of different groups
    n_indep = max(1, n_users // 5)
    n_signals = 1 + n_indep
    pairs = []
    for _ in range(n_signals):
        a = int(rng.integers(n_features))
        others = np.flatnonzero(group_of != group_of[a])
        pairs.append((a, int(rng.choice(others))))
    signals = np.column_stack([_standardize(x[:, a] * x[:, b]) for a, b in pairs])
    s_main, s_side = signals[:, 0], signals[:, 1:]

    # linear factors: per-group mean feature, returns that flip sign between eras
    group_means = np.column_stack([x[:, group_of == g].mean(axis=1) for g in range(n_groups)])
    factor_returns = rng.normal(0.02, 0.25, (n_eras, n_groups))
    linear_part = np.einsum("ig,ig->i", group_means, factor_returns[era_codes])
    raw = 0.20 * s_main + 0.10 * s_side.sum(axis=1) + linear_part + rng.standard_normal(n)
    target = _TARGET_VALUES[_per_era_bins(raw, era_codes, _TARGET_CUTS, n_eras)]

    index = pd.Index([f"id_{i:07d}" for i in range(n)], name="id")
    data = pd.DataFrame(features, index=index, columns=names)
    data["era"] = era_labels
    data["target"] = target
    eras = data["era"]

    # users
    kinds: dict[str, str] = {}
    columns: dict[str, np.ndarray] = {}
    side_used = 0
    copies: list[str] = []
    for kind, count in _kind_counts(n_users):
        for i in range(count):
            user = f"{kind}_{i + 1:02d}"
            kinds[user] = kind
            if kind in ("linear", "neutral"):
                # a model that learned the signal and leans on the features
                weights = rng.normal(0.0, 1.0, n_features) + 0.5
                pred = 0.8 * s_main + 0.6 * _standardize(x @ weights) + 0.9 * rng.standard_normal(n)
                if kind == "neutral":
                    proportion = 1.0 if i % 2 == 0 else 0.75
                    pred = nk.neutralize(
                        pd.Series(pred, index=index),
                        data[names],
                        proportion=proportion,
                        eras=eras,
                    ).to_numpy()
                columns[user] = pred
            elif kind == "indep":
                k = side_used % n_indep
                side_used += 1
                columns[user] = s_side[:, k] + 1.5 * rng.standard_normal(n)
            elif kind == "noise":
                columns[user] = rng.standard_normal(n)
            else:
                copies.append(user)
    stakes = pd.Series(
        np.round(rng.lognormal(mean=3.0, sigma=1.2, size=len(kinds)), 4),
        index=pd.Index(list(kinds), name="user"),
        name="stake",
    )
    others = pd.DataFrame(columns, index=index)
    preds = nk.rank(others, eras=eras)
    if copies:
        # ranks of the metamodel of everybody else; adding copies of it to the
        # metamodel does not change its order, so a copy IS the full metamodel
        metamodel = nk.stake_weighted_metamodel(preds, stakes[list(columns)], eras=eras)
        for user in copies:
            preds[user] = np.asarray(metamodel, dtype=np.float64)
    preds = preds[list(kinds)]
    preds.columns.name = None
    return Tournament(
        data=data,
        predictions=preds,
        stakes=stakes,
        features=names,
        feature_groups={
            f"group_{g}": [names[j] for j in np.flatnonzero(group_of == g)] for g in range(n_groups)
        },
        kinds=kinds,
    )
