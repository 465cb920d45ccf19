"""The catalogue of metric families a policy can gate on, and how each is computed.

A gate names a metric as ``family.value`` (e.g. ``utility.tstr_degradation``). Each family is
computed at most once per evaluation, only if a gate needs it, from a shared
:class:`MetricContext` that decodes the frames once and caches the work several families share
(the TRTR/TSTR models, the distance encoder, the attack targets). Policy ``params`` reach the
family function as keyword arguments.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.validation import adversarial, attacks, causal, columns, fairness, hybrid, joint, privacy, utility
from app.validation.encoding import DistanceEncoder, FrameView
from app.validation.metadata import Metadata

# family -> the values it reports (the gateable metrics), in report order
CATALOGUE: dict[str, tuple[str, ...]] = {
    "columns": (
        "ks_max",
        "ks_mean",
        "wasserstein_max",
        "tvd_max",
        "tvd_mean",
        "missing_rate_diff_max",
        "out_of_domain_share_max",
    ),
    "joint": (
        "correlation_diff_max",
        "correlation_diff_mean",
        "cramers_v_diff_max",
        "cramers_v_diff_mean",
        "contingency_tvd_max",
        "contingency_tvd_mean",
        "three_way_tvd_mean",
        "three_way_tvd_max",
    ),
    "utility": (
        "tstr_degradation",
        "trtr_auc",
        "tstr_auc",
        "trtr_accuracy",
        "tstr_accuracy",
        "auc_degradation",
        "accuracy_degradation",
        "trtr_r2",
        "tstr_r2",
        "trtr_mae",
        "tstr_mae",
        "r2_degradation",
        "mae_degradation",
        "tstr_degradation_low",
        "tstr_degradation_high",
        "auc_degradation_low",
        "auc_degradation_high",
        "accuracy_degradation_low",
        "accuracy_degradation_high",
        "r2_degradation_low",
        "r2_degradation_high",
        "mae_degradation_low",
        "mae_degradation_high",
    ),
    "fairness": ("max_group_utility_gap", "dp_difference_shift", "eo_difference_shift"),
    "causal": ("sign_agreement", "ci_overlap", "relative_difference"),
    "adversarial": ("auc",),
    "exact_copies": ("share", "holdout_share", "excess"),
    "dcr": (
        "synthetic_median",
        "holdout_median",
        "median_ratio",
        "closer_to_train_share",
        "near_copy_excess",
        "closer_to_train_share_low",
        "closer_to_train_share_high",
    ),
    "membership": (
        "auc",
        "auc_rare",
        "tpr_at_low_fpr",
        "advantage_low_fpr",
        "auc_low",
        "auc_high",
        "auc_rare_low",
        "auc_rare_high",
        "advantage_low_fpr_low",
        "advantage_low_fpr_high",
    ),
    "singling_out": ("risk", "risk_low", "risk_high"),
    "linkability": ("risk", "risk_low", "risk_high"),
    "attribute_inference": ("risk", "risk_low", "risk_high"),
    "hybrid": ("recall_lift", "auc_change", "recall_real", "recall_blend"),
    "release": ("dp", "epsilon"),
}

# params shared by several families, not passed to any one of them
SHARED_PARAMS = ("models", "attacks")

# The re-identification families compare what the synthetic data reveals about training rows with
# what it reveals about fresh holdout rows. On a holdout this small their estimates are noise (a
# 1 % distance quantile of 12 rows, a handful of rare targets), so they report "not measurable"
# instead: their gates then skip or fail by the gate's on_missing rule.
MIN_ATTACK_HOLDOUT_ROWS = 50
ATTACK_FAMILIES = frozenset({"dcr", "membership", "singling_out", "linkability", "attribute_inference"})


def metric_names() -> list[str]:
    """Every gateable metric, ``family.value``."""
    return [f"{fam}.{key}" for fam, keys in CATALOGUE.items() for key in keys]


@dataclass
class MetricContext:
    """Everything one evaluation's metric families read, decoded once and shared."""

    train: FrameView
    holdout: FrameView
    synthetic: FrameView
    metadata: Metadata
    seed: int
    params: Mapping[str, Mapping[str, Any]]
    release: Mapping[str, Any] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    def seed_for(self, name: str) -> int:
        """A seed of its own per family, stable whichever other families run."""
        return (self.seed * 1_000_003 + zlib.crc32(name.encode())) % (2**31)

    def family_params(self, name: str) -> dict[str, Any]:
        """The policy's keyword arguments for family ``name``."""
        return dict(self.params.get(name, {}))

    def shared(self, key: str, build: Callable[[], Any]) -> Any:
        """Build ``key`` once; its own time (not that of shared work it triggers) is booked
        under ``shared:<key>``."""
        if key not in self._cache:
            before = set(self.timings)
            start = time.perf_counter()
            self._cache[key] = build()
            nested = sum(v for k, v in self.timings.items() if k not in before)
            self.timings[f"shared:{key}"] = time.perf_counter() - start - nested
        return self._cache[key]

    def has_shared(self, key: str) -> bool:
        """Whether ``key`` was already built (reusing it then costs nothing)."""
        return key in self._cache

    def utility_run(self) -> utility.UtilityRun:
        kw = {"iterations": self.params.get("models", {}).get("iterations", 100)}
        return self.shared(
            "models",
            lambda: utility.run_models(
                self.train,
                self.synthetic,
                holdout=self.holdout,
                metadata=self.metadata,
                seed=self.seed_for("models"),
                **kw,
            ),
        )

    def encoder(self) -> DistanceEncoder:
        return self.shared("distance_encoder", lambda: DistanceEncoder(self.metadata, self.metadata.names).fit(self.train))

    def attack_setup(self) -> attacks.AttackSetup:
        kw = dict(self.params.get("attacks", {}))
        return self.shared(
            "attack_targets",
            lambda: attacks.attack_setup(
                self.train,
                self.synthetic,
                holdout=self.holdout,
                metadata=self.metadata,
                seed=self.seed_for("attacks"),
                encoder=self.encoder(),
                **kw,
            ),
        )


def _columns(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    return columns.column_metrics(ctx.train, ctx.synthetic, metadata=ctx.metadata, **kw)


def _joint(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    return joint.joint_metrics(ctx.train, ctx.synthetic, metadata=ctx.metadata, **kw)


def _utility(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    if ctx.metadata.target is None:
        return _absent("utility", "no target declared")
    # params: level and bootstrap of the degradation intervals (the models are shared, seeded apart)
    kw.setdefault("seed", ctx.seed_for("utility"))
    return utility.ml_utility(ctx.train, ctx.synthetic, holdout=ctx.holdout, metadata=ctx.metadata, run=ctx.utility_run(), **kw)


def _fairness(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    if ctx.metadata.target is None or not (kw.get("subgroups") or ctx.metadata.subgroups):
        return _absent("fairness", "needs a target and subgroup columns")
    return fairness.subgroup_fairness(
        ctx.train, ctx.synthetic, holdout=ctx.holdout, metadata=ctx.metadata, run=ctx.utility_run(), **kw
    )


def _causal(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    # the real side is the holdout: an estimate the generator never saw
    return causal.causal_preservation(ctx.holdout, ctx.synthetic, metadata=ctx.metadata, seed=ctx.seed_for("causal"), **kw)


def _adversarial(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    return adversarial.adversarial_auc(ctx.train, ctx.synthetic, metadata=ctx.metadata, seed=ctx.seed_for("adversarial"), **kw)


def _exact_copies(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    return privacy.exact_copies(ctx.train, ctx.synthetic, holdout=ctx.holdout, metadata=ctx.metadata, **kw)


def _dcr(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    return privacy.distance_to_closest_record(
        ctx.train,
        ctx.synthetic,
        holdout=ctx.holdout,
        metadata=ctx.metadata,
        seed=ctx.seed_for("dcr"),
        encoder=ctx.encoder(),
        **kw,
    )


def _membership(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    return attacks.membership_inference(ctx.attack_setup(), **kw)


def _singling_out(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    return attacks.singling_out(ctx.attack_setup(), **kw)


def _linkability(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    return attacks.linkability(ctx.attack_setup(), **kw)


def _attribute_inference(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    return attacks.attribute_inference(ctx.attack_setup(), **kw)


def _hybrid(ctx: MetricContext, **kw: Any) -> dict[str, Any]:
    kw.setdefault("iterations", ctx.params.get("models", {}).get("iterations", 100))
    target = ctx.metadata.target
    if ctx.has_shared("models") and target is not None and not ctx.metadata.column(target).numeric:
        kw.setdefault("real_proba", ctx.utility_run().real_pred)  # the TRTR model is model A
    return hybrid.rare_class_recall_lift(
        ctx.train,
        ctx.synthetic,
        holdout=ctx.holdout,
        metadata=ctx.metadata,
        seed=ctx.seed_for("hybrid"),
        **kw,
    )


def _release(ctx: MetricContext, **_: Any) -> dict[str, Any]:
    """Facts about the release itself, passed in by the caller (e.g. the engine's summary)."""
    info = dict(ctx.release or {})
    dp = info.get("dp")
    values = {"dp": None if dp is None else float(bool(dp)), "epsilon": info.get("epsilon")}
    keep = ("engine", "engine_version", "epsilon", "delta", "rho", "dp", "allocation")
    return {"values": values, "details": {k: info[k] for k in keep if k in info}}


FAMILIES: dict[str, Callable[..., dict[str, Any]]] = {
    "columns": _columns,
    "joint": _joint,
    "utility": _utility,
    "fairness": _fairness,
    "causal": _causal,
    "adversarial": _adversarial,
    "exact_copies": _exact_copies,
    "dcr": _dcr,
    "membership": _membership,
    "singling_out": _singling_out,
    "linkability": _linkability,
    "attribute_inference": _attribute_inference,
    "hybrid": _hybrid,
    "release": _release,
}


def compute(ctx: MetricContext, family: str) -> dict[str, Any]:
    """Run one family with its policy params; book its own wall time in ``ctx.timings``.

    Shared work a family triggers (models, encoder, attack targets) is booked separately under
    ``shared:<name>``, so a family's time does not depend on which family ran first.
    """
    if family in ATTACK_FAMILIES and len(ctx.holdout) < MIN_ATTACK_HOLDOUT_ROWS:
        return _absent(family, f"needs at least {MIN_ATTACK_HOLDOUT_ROWS} holdout rows to measure, got {len(ctx.holdout)}")
    before = set(ctx.timings)
    start = time.perf_counter()
    out = FAMILIES[family](ctx, **ctx.family_params(family))
    elapsed = time.perf_counter() - start
    ctx.timings[family] = elapsed - sum(v for k, v in ctx.timings.items() if k not in before)
    return out


def _absent(family: str, reason: str) -> dict[str, Any]:
    return {"values": dict.fromkeys(CATALOGUE[family]), "details": {"reason": reason}}
