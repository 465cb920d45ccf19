"""Gate evaluation: metrics + policy -> verdict. The one entry point is :func:`evaluate`."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from app.validation.encoding import FrameView
from app.validation.errors import MetadataError
from app.validation.metadata import Metadata
from app.validation.policy import Gate, Policy, Resolver, load_policy
from app.validation.suite import MetricContext, compute

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"


@dataclass(frozen=True)
class GateResult:
    """One gate applied: the metric's value, the rule, and the outcome.

    ``status`` is ``pass``, ``fail`` or ``skipped`` (metric not applicable, e.g. no treatment
    declared, and the gate says ``on_missing: skip``); a metric that raised always fails its
    gates. ``passed`` is None when skipped. ``value`` is what was compared with the threshold:
    the point estimate, or with ``basis == "ci_bound"`` the confidence bound nearest to passing;
    ``estimate`` and ``interval`` then give the point estimate and the whole interval.
    """

    id: str
    metric: str
    value: float | None
    comparison: str
    threshold: float
    blocking: bool
    status: str
    description: str = ""
    reason: str = ""
    basis: str = "estimate"
    estimate: float | None = None
    interval: tuple[float | None, float | None] | None = None

    @property
    def passed(self) -> bool | None:
        return None if self.status == SKIPPED else self.status == PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "value": _clean(self.value),
            "comparison": self.comparison,
            "threshold": self.threshold,
            "blocking": self.blocking,
            "status": self.status,
            "passed": self.passed,
            "description": self.description,
            "reason": self.reason,
            "basis": self.basis,
            "estimate": _clean(self.estimate),
            "interval": _clean(self.interval),
        }


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`evaluate`: release or reject, and why.

    ``passed`` is True when no blocking gate failed. ``failed_gates`` names the failed
    blocking gates, ``advisory_failures`` the failed advisory ones. ``metrics`` holds every
    computed family (``{"values", "details"}``), ``timings`` seconds per family (shared work
    under ``shared:<name>``, and ``total``).
    """

    passed: bool
    policy: Mapping[str, Any]
    gates: tuple[GateResult, ...]
    metrics: Mapping[str, Any]
    timings: Mapping[str, float]
    rows: Mapping[str, int]
    metadata: Mapping[str, Any]
    business: Mapping[str, Any] | None = None
    seed: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def decision(self) -> str:
        return "release" if self.passed else "reject"

    @property
    def message(self) -> str:
        """One line for people: the decision and the gates behind it."""
        if self.passed:
            extra = f"; advisory gates failed: {', '.join(self.advisory_failures)}" if self.advisory_failures else ""
            return f"released: all blocking gates of {self.policy['name']}@{self.policy['version']} passed{extra}"
        return f"rejected by {self.policy['name']}@{self.policy['version']}: failed {', '.join(self.failed_gates)}"

    @property
    def failed_gates(self) -> list[str]:
        return [g.id for g in self.gates if g.status == FAIL and g.blocking]

    @property
    def advisory_failures(self) -> list[str]:
        return [g.id for g in self.gates if g.status == FAIL and not g.blocking]

    @property
    def skipped_gates(self) -> list[str]:
        return [g.id for g in self.gates if g.status == SKIPPED]

    def gate(self, gate_id: str) -> GateResult:
        """The result of gate ``gate_id``; KeyError if the policy has no such gate."""
        for g in self.gates:
            if g.id == gate_id:
                return g
        raise KeyError(gate_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no NaN or infinity: those become None)."""
        return _clean(
            {
                "format_version": 1,
                "passed": self.passed,
                "decision": self.decision,
                "message": self.message,
                "failed_gates": self.failed_gates,
                "advisory_failures": self.advisory_failures,
                "skipped_gates": self.skipped_gates,
                "policy": dict(self.policy),
                "gates": [g.to_dict() for g in self.gates],
                "business": dict(self.business) if self.business else None,
                "metrics": dict(self.metrics),
                "timings": dict(self.timings),
                "rows": dict(self.rows),
                "metadata": dict(self.metadata),
                "seed": self.seed,
                "warnings": list(self.warnings),
            }
        )


def evaluate(
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    metadata: Any,
    policy: Policy | Mapping[str, Any] | str = "default",
    seed: int = 0,
    release: Mapping[str, Any] | None = None,
    resolver: Resolver | None = None,
) -> Verdict:
    """Compute the metrics a policy needs and apply its gates.

    Args:
        real_train: the real rows the generator was fitted on.
        real_holdout: real rows it never saw (the yardstick for utility and privacy).
        synthetic: the candidate release.
        metadata: column types, domains and roles: a :class:`Metadata`, its plain mapping, an
            engine schema document or ``TableSchema``-like object (see ``metadata.py``).
            Undeclared domains are read off ``real_train`` and listed in the verdict.
        policy: a :class:`Policy`, a policy document, or a built-in name (``"default"``).
        seed: fixes every sampled row, bootstrap draw and model.
        release: facts about the release for ``release.*`` gates and the report, e.g. the
            engine summary (``{"dp": True, "epsilon": 1.0, "engine": "pwsim", "allocation": ...}``).
        resolver: looks up non-built-in base policies (see :func:`load_policy`).

    Returns:
        A :class:`Verdict`; ``verdict.to_dict()`` is JSON-ready.

    Raises:
        MetadataError: metadata unreadable, or a column missing from one of the frames.
        PolicyError: the policy is invalid.
    """
    started = time.perf_counter()
    pol = load_policy(policy, resolver=resolver)
    meta = Metadata.from_any(metadata)
    if not meta.columns:
        raise MetadataError("metadata declares no columns to validate")
    for label, frame in (("holdout", real_holdout), ("synthetic", synthetic)):
        missing = [n for n in meta.names if n not in frame.columns]
        if missing:
            raise MetadataError(f"{label} data lacks columns: {', '.join(missing)}")
    meta = meta.complete(real_train)
    ctx = MetricContext(
        train=FrameView(real_train.reset_index(drop=True), meta),
        holdout=FrameView(real_holdout.reset_index(drop=True), meta),
        synthetic=FrameView(synthetic.reset_index(drop=True), meta),
        metadata=meta,
        seed=seed,
        params=pol.params,
        release=release,
    )
    metrics: dict[str, Any] = {}
    warnings: list[str] = []
    families = pol.families + (["release"] if release is not None and "release" not in pol.families else [])
    for family in families:
        try:
            metrics[family] = compute(ctx, family)
        except (ValueError, KeyError, np.linalg.LinAlgError) as exc:
            # a metric that cannot be computed on this data is missing, not a crash:
            # its gates then skip or fail by their on_missing rule
            metrics[family] = {"values": {}, "details": {"error": f"{type(exc).__name__}: {exc}"}}
            warnings.append(f"{family}: {exc}")
    results = tuple(_apply(g, metrics) for g in pol.gates)
    if meta.inferred:
        warnings.append("domains read off the training data (not declared): " + ", ".join(meta.inferred))
    timings = {k: round(v, 4) for k, v in ctx.timings.items()}
    timings["total"] = round(time.perf_counter() - started, 4)
    return Verdict(
        passed=not any(r.status == FAIL and r.blocking for r in results),
        policy=pol.summary(),
        gates=results,
        metrics=metrics,
        timings=timings,
        rows={"train": len(real_train), "holdout": len(real_holdout), "synthetic": len(synthetic)},
        metadata=meta.to_dict(),
        business=_business(pol, metrics),
        seed=seed,
        warnings=tuple(warnings),
    )


def _value(metrics: Mapping[str, Any], metric: str) -> float | None:
    family, key = metric.split(".", 1)
    value = metrics.get(family, {}).get("values", {}).get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _apply(gate: Gate, metrics: Mapping[str, Any]) -> GateResult:
    estimate = _value(metrics, gate.metric)
    value = _value(metrics, gate.compared_metric)
    interval = None
    if gate.basis != "estimate":
        interval = (_value(metrics, gate.metric + "_low"), _value(metrics, gate.metric + "_high"))
    common = {
        "id": gate.id,
        "metric": gate.metric,
        "value": value,
        "comparison": gate.comparison,
        "threshold": gate.threshold,
        "blocking": gate.blocking,
        "description": gate.description,
        "basis": gate.basis,
        "estimate": estimate,
        "interval": interval,
    }
    if value is None:
        details = metrics.get(gate.family, {}).get("details", {})
        if "error" in details:  # a metric that crashed never lets a release through
            return GateResult(status=FAIL, reason=details["error"], **common)
        if estimate is not None:  # an estimate without its interval (e.g. no resamples) cannot be judged
            return GateResult(status=FAIL, reason=f"{gate.compared_metric} not computed", **common)
        reason = details.get("reason") or "metric not applicable"
        return GateResult(status=FAIL if gate.on_missing == "fail" else SKIPPED, reason=reason, **common)
    return GateResult(status=PASS if gate.passes(value) else FAIL, **common)


def _business(pol: Policy, metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    spec = pol.business
    if not spec:
        return None
    base, cur = _value(metrics, spec["baseline"]), _value(metrics, spec["metric"])
    out = dict(spec)
    if base is None or cur is None:
        return {**out, "points_lost": None, "value_lost": None}
    points = (base - cur) / spec.get("point", 0.01)
    return {**out, "points_lost": points, "value_lost": points * spec["value_per_point"]}


def _clean(obj: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj
