"""Privacy attacks in the spirit of Anonymeter, aimed where leaks show: the rarest records.

Every attack is run twice, once against *members* (training rows the generator saw) and once
against *controls* (real holdout rows it never saw), on equally many targets. Controls measure
what the attack achieves from population-level patterns alone, so the risk is the part of the
success explained only by membership:

    risk = (member_rate - control_rate) / (1 - control_rate)

with a ``level`` (default 95%) interval for the difference of two proportions (Newcombe's hybrid Wilson score
interval) carried through the same formula. Off-the-shelf attacks average over everyone and see
nothing: a generator leaks the outliers it memorised, not the crowd. So targets are ranked by
rarity, the distance to their nearest neighbour in a *reference* sample of real holdout rows
that is neither target set; singling-out, linkability and inference count successes on the
rarest ``rare_share`` of each target set, and the membership-inference score is a density
ratio (reference distance over synthetic distance) that is large exactly where a synthetic
record sits on a real outlier.

Distances are those of :class:`app.validation.encoding.DistanceEncoder`; the attacks' design
follows the Anonymeter paper (Giomi et al., PoPETs 2023), the code is our own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata
from sklearn.metrics import roc_auc_score

from app.validation.encoding import DistanceEncoder, FrameView, view
from app.validation.metadata import Metadata
from app.validation.privacy import nearest

_EPS = 1e-3  # distance floor of the density ratio: an exact copy scores high, not infinite


@dataclass(frozen=True)
class AttackSetup:
    """Targets and reference shared by every attack of one evaluation.

    ``members`` are training rows, ``controls`` holdout rows, equally many; ``reference`` is
    the rest of the holdout. ``rarity_*`` is each target's distance to its nearest reference
    row; ``rare_*`` flags the rarest ``rare_share`` of each target set.
    """

    metadata: Metadata
    encoder: DistanceEncoder
    members: FrameView
    controls: FrameView
    reference: FrameView
    synthetic: FrameView
    rarity_members: np.ndarray
    rarity_controls: np.ndarray
    rare_members: np.ndarray
    rare_controls: np.ndarray
    seed: int
    _encoded: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def encoded(self, which: str, columns: list[str] | None = None) -> np.ndarray:
        """Encoded rows of ``which`` (members, controls, reference or synthetic), optionally only ``columns``."""
        if which not in self._encoded:
            self._encoded[which] = self.encoder.transform(getattr(self, which))
        full = self._encoded[which]
        if columns is None:
            return full
        slices = self.encoder.column_slices()
        return full[:, np.concatenate([np.arange(slices[c].start, slices[c].stop) for c in columns])]


def attack_setup(
    real: pd.DataFrame | FrameView,
    synthetic: pd.DataFrame | FrameView,
    *,
    holdout: pd.DataFrame | FrameView,
    metadata: Metadata,
    seed: int = 0,
    targets: int = 2_000,
    rare_share: float = 0.2,
    encoder: DistanceEncoder | None = None,
) -> AttackSetup:
    """Draw member, control and reference rows and rank the targets by rarity.

    At most half the holdout becomes controls; members are drawn to match their number.
    """
    rng = np.random.default_rng(seed)
    r, s, h = (view(x, metadata) for x in (real, synthetic, holdout))
    n = int(min(targets, len(h) // 2, len(r)))
    order = rng.permutation(len(h))
    controls, reference = h.take(np.sort(order[:n])), h.take(np.sort(order[n:]))
    members = r.take(np.sort(rng.choice(len(r), n, replace=False)))
    enc = encoder or DistanceEncoder(metadata, metadata.names).fit(r)
    x_ref = enc.transform(reference)
    _, rm = nearest(enc.transform(members), x_ref)
    _, rc = nearest(enc.transform(controls), x_ref)
    return AttackSetup(
        metadata=metadata,
        encoder=enc,
        members=members,
        controls=controls,
        reference=reference,
        synthetic=s,
        rarity_members=rm,
        rarity_controls=rc,
        rare_members=_top(rm, rare_share),
        rare_controls=_top(rc, rare_share),
        seed=seed,
    )


def risk_interval(member_hits: int, control_hits: int, n_members: int, n_controls: int, level: float = 0.95) -> dict[str, float]:
    """Risk ``(m - c) / (1 - c)`` from success counts, with a Newcombe-Wilson interval.

    Returns ``{"risk", "low", "high", "member_rate", "control_rate", "n"}``; ``risk`` is
    clipped to [0, 1] (a negative excess is no risk), the interval to [-1, 1].
    """
    z = float(norm.ppf(0.5 + level / 2))
    m = member_hits / n_members if n_members else 0.0
    c = control_hits / n_controls if n_controls else 0.0
    lm, um = _wilson(member_hits, n_members, z)
    lc, uc = _wilson(control_hits, n_controls, z)
    diff = m - c
    low = diff - np.sqrt((m - lm) ** 2 + (uc - c) ** 2)
    high = diff + np.sqrt((um - m) ** 2 + (c - lc) ** 2)
    scale = 1 - c if c < 1 else 1.0
    return {
        "risk": float(np.clip(diff / scale, 0.0, 1.0)),
        "low": float(np.clip(low / scale, -1.0, 1.0)),
        "high": float(np.clip(high / scale, -1.0, 1.0)),
        "member_rate": float(m),
        "control_rate": float(c),
        "n": int(min(n_members, n_controls)),
    }


def membership_inference(
    setup: AttackSetup, *, low_fpr: float = 0.01, level: float = 0.95, bootstrap: int = 400
) -> dict[str, Any]:
    """Density-ratio membership-inference attack: was this real record in the training data?

    Definition: a target's score is ``log(d_ref + eps) - log(d_syn + eps)``, with ``d_ref`` its
    distance to the nearest reference (holdout) record and ``d_syn`` to the nearest synthetic
    record: high where synthetic data is denser around the record than the population is. The
    attack's ROC AUC (``auc``) separates members from controls; ``auc_rare`` restricts both to
    the rarest targets; ``tpr_at_low_fpr`` is the share of members flagged at the threshold
    that flags ``low_fpr`` of the controls, and ``advantage_low_fpr`` that rate minus the
    observed false-positive rate. Direction: lower is better; AUC 0.5 and advantage 0 mean the synthetic data
    says nothing about membership. Range: AUC [0, 1], advantage [-low_fpr, 1 - low_fpr].

    Uncertainty: ``auc``, ``auc_rare`` and ``advantage_low_fpr`` come with a ``level``
    percentile-bootstrap interval (``<name>_low``, ``<name>_high``): ``bootstrap`` resamples of
    the members and of the controls, each with replacement and separately, the low-FPR threshold
    re-estimated in every resample. A few hundred targets give an AUC a standard error of a few
    hundredths, so a gate should ask whether the *lower* bound is above its threshold (see the
    policy's ``basis: ci_bound``), not the estimate.
    """
    xs = setup.encoded("synthetic")
    _, ds_m = nearest(setup.encoded("members"), xs)
    _, ds_c = nearest(setup.encoded("controls"), xs)
    score_m = np.log(setup.rarity_members + _EPS) - np.log(ds_m + _EPS)
    score_c = np.log(setup.rarity_controls + _EPS) - np.log(ds_c + _EPS)
    auc = _auc(score_m, score_c)
    auc_rare = _auc(score_m[setup.rare_members], score_c[setup.rare_controls])
    tpr, fpr, threshold = _rates_at_fpr(score_m, score_c, low_fpr)
    values = {"auc": auc, "auc_rare": auc_rare, "tpr_at_low_fpr": tpr, "advantage_low_fpr": tpr - fpr}
    values.update(_membership_intervals(setup, score_m, score_c, low_fpr, level, bootstrap))
    return {
        "values": values,
        "details": {
            "targets": len(score_m),
            "rare_targets": int(setup.rare_members.sum()),
            "low_fpr": low_fpr,
            "observed_fpr": fpr,
            "threshold": threshold,
            "interval": {"level": level, "method": "percentile bootstrap", "resamples": bootstrap},
        },
    }


def _rates_at_fpr(score_m: np.ndarray, score_c: np.ndarray, low_fpr: float) -> tuple[float, float, float]:
    """(TPR, observed FPR, threshold) at the threshold that flags ``low_fpr`` of the controls."""
    threshold = float(np.quantile(score_c, 1 - low_fpr))
    return float(np.mean(score_m > threshold)), float(np.mean(score_c > threshold)), threshold


def _membership_intervals(
    setup: AttackSetup, score_m: np.ndarray, score_c: np.ndarray, low_fpr: float, level: float, resamples: int
) -> dict[str, float | None]:
    """Percentile-bootstrap bounds of the AUCs and the low-FPR advantage (members, controls resampled apart)."""
    keys = ("auc", "auc_rare", "advantage_low_fpr")
    if resamples <= 0 or len(score_m) == 0 or len(score_c) == 0:
        return {f"{k}_{side}": None for k in keys for side in ("low", "high")}
    rng = np.random.default_rng([setup.seed, 11])
    rare_m, rare_c = np.flatnonzero(setup.rare_members), np.flatnonzero(setup.rare_controls)
    draws = np.empty((resamples, 3))
    for b in range(resamples):
        im = rng.integers(0, len(score_m), len(score_m))
        ic = rng.integers(0, len(score_c), len(score_c))
        rm, rc = rare_m[rng.integers(0, len(rare_m), len(rare_m))], rare_c[rng.integers(0, len(rare_c), len(rare_c))]
        tpr, fpr, _ = _rates_at_fpr(score_m[im], score_c[ic], low_fpr)
        draws[b] = (_fast_auc(score_m[im], score_c[ic]), _fast_auc(score_m[rm], score_c[rc]), tpr - fpr)
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail], axis=0)
    out: dict[str, float | None] = {}
    for j, k in enumerate(keys):
        out[f"{k}_low"], out[f"{k}_high"] = float(low[j]), float(high[j])
    return out


def _fast_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted one half."""
    ranks = rankdata(np.r_[pos, neg])
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def singling_out(setup: AttackSetup, *, columns: list[str] | None = None, bins: int = 50, level: float = 0.95) -> dict[str, Any]:
    """Singling-out risk: can predicates read off the synthetic data isolate one real person?

    Definition: the attacker's predicates are the cells (quasi-identifier values; categories
    exact, numbers on ``bins`` equal-population bins of the training data) that hold exactly
    one synthetic record: the combinations the synthetic data presents as unique. A rare target
    is singled out when its cell is such a predicate and holds no other record of the target's
    own set (members, or controls; equally large). Risk as in the module docstring, with a
    ``level`` interval. Direction: lower is better. Range: [0, 1].
    """
    cols = columns or _quasi_identifiers(setup.metadata)
    cell = _cells(setup, cols, bins)
    syn = pd.Series(cell(setup.synthetic)).value_counts()
    predicates = syn.index[syn.to_numpy() == 1].to_numpy()
    hits = []
    for targets, rare in ((setup.members, setup.rare_members), (setup.controls, setup.rare_controls)):
        c = cell(targets)
        unique = pd.Series(c).map(pd.Series(c).value_counts()).to_numpy() == 1
        hits.append((int((unique & np.isin(c, predicates))[rare].sum()), int(rare.sum())))
    res = risk_interval(hits[0][0], hits[1][0], hits[0][1], hits[1][1], level)
    return {
        "values": _risk_values(res),
        "details": {"columns": cols, "bins": bins, "predicates": len(predicates), "level": level, **res},
    }


def linkability(setup: AttackSetup, *, columns: tuple[list[str], list[str]] | None = None, level: float = 0.95) -> dict[str, Any]:
    """Linkability risk: can the synthetic data join two halves of a real person's record?

    Definition: the quasi-identifiers are split into two disjoint sets A and B (alternately, in
    declared order, unless given). For each target, the nearest synthetic record on A and the
    nearest on B are found (ties broken at random, independently); the link succeeds when both
    are the same synthetic record. The rate counts successes among the rarest targets; risk as
    in the module docstring, with a ``level`` interval. Direction: lower is better. Range: [0, 1].
    """
    if columns is None:
        qi = _quasi_identifiers(setup.metadata)
        columns = (qi[0::2], qi[1::2])
    if not columns[0] or not columns[1]:
        return {"values": _risk_values(None), "details": {"reason": "needs two column sets"}}
    rng = np.random.default_rng(setup.seed + 7)
    picks = []
    for side in columns:
        xs = setup.encoded("synthetic", side)
        jitter = rng.random(len(xs)).astype(np.float32) * 1e-3  # random tie-break, own per side
        xs = np.column_stack([xs, jitter])
        queries = (
            setup.encoded("members", side)[setup.rare_members],
            setup.encoded("controls", side)[setup.rare_controls],
        )
        picks.append([nearest(np.column_stack([q, np.zeros(len(q), np.float32)]), xs)[0] for q in queries])
    hits = [
        (int((picks[0][k] == picks[1][k]).sum()), int(rare.sum()))
        for k, rare in enumerate((setup.rare_members, setup.rare_controls))
    ]
    res = risk_interval(hits[0][0], hits[1][0], hits[0][1], hits[1][1], level)
    details = {"columns": [list(columns[0]), list(columns[1])], "level": level, **res}
    return {"values": _risk_values(res), "details": details}


def attribute_inference(
    setup: AttackSetup,
    *,
    secrets: list[str] | None = None,
    tolerance: float = 0.05,
    confidence: float = 0.25,
    level: float = 0.95,
) -> dict[str, Any]:
    """Attribute-inference risk: does the synthetic data reveal a real person's secret value?

    Definition: for each secret column (declared ``sensitive`` columns, else the target), the
    attacker knows a rare target's other quasi-identifiers, finds the nearest synthetic record
    on them and guesses its secret, but only when that record is a confident match: the only
    synthetic record at that distance, and closer to the target than ``confidence`` times the
    distance to the target's nearest reference (population) record on the same columns. A
    guess is right when the label matches, or for numbers when the mid-ranks differ by at most
    ``tolerance``; no guess counts as a miss. Risk as in the module docstring (``level``
    interval), per secret; the value is the worst secret. Guessing only on confident matches keeps the crowd, whose
    attributes any model of the population predicts, out of the count.
    Direction: lower is better. Range: [0, 1].
    """
    meta = setup.metadata
    secrets = list(secrets or meta.sensitive or ([meta.target] if meta.target else []))
    if not secrets:
        return {"values": _risk_values(None), "details": {"reason": "no secret column"}}
    per: dict[str, Any] = {}
    for secret in secrets:
        aux = [c for c in _quasi_identifiers(meta, keep=secret) if c != secret]
        if not aux:
            continue
        xs, xref = setup.encoded("synthetic", aux), setup.encoded("reference", aux)
        hits = []
        for which, rare in (("members", setup.rare_members), ("controls", setup.rare_controls)):
            q = setup.encoded(which, aux)[rare]
            idx, d_syn = nearest(q, xs, k=2)
            _, d_ref = nearest(q, xref)
            confident = (d_syn[:, 0] < confidence * d_ref) & (d_syn[:, 1] > d_syn[:, 0])
            right = _same_value(setup, secret, getattr(setup, which).take(np.flatnonzero(rare)), idx[:, 0], tolerance)
            hits.append((int((right & confident).sum()), int(rare.sum())))
        per[secret] = risk_interval(hits[0][0], hits[1][0], hits[0][1], hits[1][1], level)
    if not per:
        return {"values": _risk_values(None), "details": {"reason": "no auxiliary column"}}
    worst = max(per, key=lambda k: per[k]["risk"])
    return {"values": _risk_values(per[worst]), "details": {"worst": worst, "level": level, "secrets": per}}


def _risk_values(res: dict[str, float] | None) -> dict[str, float | None]:
    """Gate values of an attack: the risk and its interval."""
    if res is None:
        return {"risk": None, "risk_low": None, "risk_high": None}
    return {"risk": res["risk"], "risk_low": res["low"], "risk_high": res["high"]}


def _quasi_identifiers(meta: Metadata, keep: str | None = None) -> list[str]:
    """Declared quasi-identifiers, else every column but the target and the sensitive ones."""
    if meta.quasi_identifiers:
        return list(meta.quasi_identifiers)
    hidden = {meta.target, *meta.sensitive} - {keep}
    return [n for n in meta.names if n not in hidden]


def _cells(setup: AttackSetup, cols: list[str], bins: int):
    """Row -> 64-bit cell id: categories exact, numbers on equal-population bins of the training ranks."""
    enc = setup.encoder

    def cell(v: FrameView) -> np.ndarray:
        parts = {}
        for name in cols:
            if setup.metadata.column(name).numeric:
                rank = enc.transform(v, [name])[:, 0]
                parts[name] = np.minimum((rank * bins).astype(np.int64), bins - 1)
                parts[name][np.isnan(v.numeric(name))] = -1
            else:
                parts[name] = v.codes(name)
        return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()

    return cell


def _same_value(setup: AttackSetup, secret: str, targets: FrameView, idx: np.ndarray, tolerance: float) -> np.ndarray:
    """Whether each target's secret equals the secret of synthetic row ``idx`` (numbers: within tolerance)."""
    if setup.metadata.column(secret).numeric:
        a = setup.encoder.transform(targets, [secret])[:, 0]
        b = setup.encoded("synthetic", [secret])[idx, 0]
        return np.abs(a - b) <= tolerance
    return targets.codes(secret) == setup.synthetic.codes(secret)[idx]


def _top(rarity: np.ndarray, share: float) -> np.ndarray:
    """Flags of the ``share`` largest values (at least one), ties broken by position."""
    k = max(1, round(share * len(rarity)))
    flags = np.zeros(len(rarity), dtype=bool)
    flags[np.argsort(-rarity, kind="stable")[:k]] = True
    return flags


def _wilson(hits: int, n: int, z: float) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def _auc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    if len(pos) == 0 or len(neg) == 0:
        return None
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    return float(roc_auc_score(y, np.r_[pos, neg]))
