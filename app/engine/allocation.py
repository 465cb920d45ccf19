"""The PWSIM weighting: how a privacy budget is split across measurements, from public inputs only.

Each modeled column gets a weight ``w = u * (1 - s) ** gamma`` from its utility weight ``u`` and
sensitivity score ``s``; a pair gets ``sqrt(w_a * w_b)``. A measurement's share of its phase's
zCDP budget is proportional to its squared weight, so its Gaussian noise is
``sigma_c = k / sqrt(2 * rho_c)`` (``k`` = most rows per person) and the phase costs exactly its
rho however the weights are set (the stacked-vector argument of MST's weighted measure).
Columns at or above the suppression threshold are never measured; above the generalisation
threshold they get coarser joint bins and are not modeled jointly with quasi-identifiers.

Everything here depends on the schema and the budget only, so :func:`make_plan` is the whole
allocation preview: it touches no data and spends nothing. The one data-dependent choice, the
model structure (:attr:`Plan.structure`), is a public rule on the already-released noisy row count
(:meth:`Plan.joint_groups`, :meth:`Plan.star_below_rows`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

from app.engine.accountant import (
    exponential_mechanism_epsilon,
    gaussian_sigma,
    rho_from_epsilon_delta,
    validate_epsilon_delta,
)
from app.engine.discretize import build_codec
from app.engine.errors import BudgetError
from app.engine.schema import ColumnSchema, ColumnType, Sensitivity, TableSchema

MODELED_STATUSES = ("modeled", "generalized", "isolated")
STRUCTURES = ("tree", "target-star")


@dataclass(frozen=True)
class PWSIMConfig:
    """Tunable, public parameters of the PWSIM mechanism.

    ``three_way`` measures a tree edge as a (target, column, parent) triple when the budget leaves
    ``cells_per_sigma`` noise standard deviations of rows per cell, instead of fitting that clique by
    maximum entropy from 2-way marginals. Only a measured triple captures an interaction no pair
    shows (e.g. a target that is the XOR of two columns); on Adult it cost 0.3-0.5 points of TSTR
    AUC at epsilon 0.3-3 (4 seeds), so it is off by default.

    ``star_max_groups`` is the small-table rule. With a target, when the tree plan would give
    at most this many coarse joint groups per column (:meth:`Plan.joint_groups` at the noisy row
    count), the fit uses the *target-star* plan instead: no feature tree, the selection and tree
    budget added to the target pairs, every feature modeled given the target only. Small tables
    cannot afford the tree: the noise of the target pairs, amplified through noisy tree parents,
    cost Adult at epsilon 1 on 1,600 rows 9.5 % of the real model's ROC AUC (true loss on 10,000
    independent rows, 48 seeds; bench/VALIDATION.md) against 4.7 % with the star, which drops the
    feature-feature dependencies instead. With the default 5, at epsilon 1 on Adult's schema that
    is below about 3,800 rows; full Adult (k = 10-32 at epsilon 0.3-3) keeps the tree. 0 disables
    the rule.
    """

    one_way_share: float = 0.25
    select_share: float = 0.10
    joint_share: float = 0.65
    domain_share: float = 0.10
    gamma: float = 1.0
    suppress_threshold: float = 0.9
    generalize_threshold: float = 0.5
    isolate_threshold: float = 0.5
    max_groups: int = 32
    min_groups: int = 2
    cells_per_sigma: float = 3.0
    ipf_iterations: int = 50
    three_way: bool = False
    star_max_groups: int = 5

    def __post_init__(self) -> None:
        shares = (self.one_way_share, self.select_share, self.joint_share)
        if min(shares) < 0 or not math.isclose(sum(shares), 1.0, rel_tol=1e-9):
            raise BudgetError("one_way_share + select_share + joint_share must be 1, each >= 0")
        if not 0 <= self.domain_share < 1:
            raise BudgetError("domain_share must be in [0, 1)")
        if self.star_max_groups < 0:
            raise BudgetError("star_max_groups must be >= 0 (0 disables the target-star rule)")


@dataclass(frozen=True)
class ColumnAllocation:
    """How one column is treated and weighted."""

    name: str
    status: str  # modeled | generalized | isolated | suppressed | dropped | faked
    sensitivity: float
    utility: float
    weight: float
    cells: int
    group_cap: int
    quasi_identifier: bool


@dataclass(frozen=True)
class Measurement:
    """One Gaussian measurement of a marginal (for 2-way ones, ``cells`` is the most joint groups)."""

    phase: str
    clique: tuple[str, ...]
    weight: float
    rho: float
    sigma: float
    cells: int | None = None


@dataclass(frozen=True)
class Plan:
    """The full allocation for one schema and budget.

    ``structure`` is ``tree`` (target pairs plus a privately selected spanning tree over the other
    columns) or ``target-star`` (target pairs only, which also get the selection and tree budget).
    """

    epsilon: float
    delta: float
    rho: float
    phases: dict[str, float]
    columns: tuple[ColumnAllocation, ...]
    one_way: tuple[Measurement, ...]
    forced: tuple[Measurement, ...]
    candidates: tuple[tuple[str, str], ...]
    excluded_pairs: tuple[tuple[str, str], ...]
    tree_slots: int
    select_epsilon_per_step: float
    rows_per_person: int
    anchor: str | None
    key_delta: float = 0.0
    notes: tuple[str, ...] = field(default=())
    structure: str = "tree"

    @property
    def modeled(self) -> list[ColumnAllocation]:
        return [c for c in self.columns if c.status in MODELED_STATUSES]

    @property
    def tree_sigma(self) -> float | None:
        """Noise of a tree edge of mean candidate weight (None without a tree)."""
        return _sigma(self.rows_per_person, self.phases["tree"] / self.tree_slots) if self.tree_slots else None

    @property
    def star_eligible(self) -> bool:
        """Whether the target-star plan is an alternative: a tree plan with target pairs and a tree."""
        return self.structure == "tree" and bool(self.forced) and self.tree_slots > 0

    @property
    def joint_sigma(self) -> float:
        """Reference noise of the 2-way measurements: the median of the target pairs' and the mean
        tree edge's sigma (1 without 2-way measurements)."""
        sigmas = [m.sigma for m in self.forced] + ([self.tree_sigma] if self.tree_slots else [])
        return float(statistics.median(sigmas)) if sigmas else 1.0

    def joint_groups(self, rows: float, config: PWSIMConfig) -> int:
        """Coarse joint groups per column (before per-column caps) for ``rows`` (noisy) rows: a
        2-way cell of ``k x k`` groups holds ``cells_per_sigma`` reference noise sigmas of rows."""
        k = int(math.sqrt(max(rows, 1.0) / (config.cells_per_sigma * self.joint_sigma)))
        return max(k, config.min_groups)

    def star_below_rows(self, config: PWSIMConfig) -> float | None:
        """Estimated row count below which the fit replaces this plan by the target-star plan
        (where :meth:`joint_groups` <= ``star_max_groups``); None when it never does."""
        if not self.star_eligible or config.star_max_groups < config.min_groups:
            return None
        return (config.star_max_groups + 1) ** 2 * config.cells_per_sigma * self.joint_sigma

    def pair_weight(self, a: str, b: str) -> float:
        """Public weight of the pair (a, b)."""
        w = {c.name: c.weight for c in self.columns}
        return math.sqrt(w[a] * w[b])

    def tree_measurements(self, edges: list[tuple[str, str]]) -> list[Measurement]:
        """Split the tree budget over the selected edges by squared pair weight."""
        if not edges:
            return []
        weights = [self.pair_weight(a, b) for a, b in edges]
        total = sum(x * x for x in weights)
        rho_tree = self.phases["tree"]
        return [
            Measurement("tree", e, w, rho_tree * w * w / total, _sigma(self.rows_per_person, rho_tree * w * w / total))
            for e, w in zip(edges, weights)
        ]

    def to_dict(self, rows_estimate: int | None = None) -> dict[str, Any]:
        """JSON-ready plan; with ``rows_estimate`` each measurement also gets the expected count
        per cell and the noise-to-count ratio."""

        def meas(m: Measurement) -> dict[str, Any]:
            d = asdict(m)
            d["clique"] = list(m.clique)
            d["expected_abs_error_per_cell"] = m.sigma * math.sqrt(2 / math.pi)
            if rows_estimate and m.cells:
                per_cell = rows_estimate / m.cells
                d["expected_count_per_cell"] = per_cell
                d["relative_error_per_cell"] = m.sigma / per_cell
            return d

        tree_slots = self.tree_slots
        avg_tree = None
        if tree_slots:
            mean_w2 = sum(self.pair_weight(a, b) ** 2 for a, b in self.candidates) / len(self.candidates)
            avg_tree = {
                "slots": tree_slots,
                "rho_each_at_mean_weight": self.phases["tree"] / tree_slots,
                "sigma_at_mean_weight": self.tree_sigma,
                "mean_pair_weight": math.sqrt(mean_w2),
            }
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "accounting": "zCDP, Gaussian mechanism, add/remove-one-row neighbours; (epsilon, delta) by CKS20",
            "key_delta": self.key_delta,
            "rows_per_person": self.rows_per_person,
            "anchor": self.anchor,
            "structure": self.structure,
            "phases": self.phases,
            "columns": [asdict(c) for c in self.columns],
            "one_way": [meas(m) for m in self.one_way],
            "forced": [meas(m) for m in self.forced],
            "selection": {
                "steps": tree_slots,
                "epsilon_per_step": self.select_epsilon_per_step,
                "candidates": [list(p) for p in self.candidates],
            },
            "tree": avg_tree,
            "excluded_pairs": [list(p) for p in self.excluded_pairs],
            "notes": list(self.notes),
        }


def _max_joint_cells(a: ColumnAllocation, b: ColumnAllocation) -> int:
    """Upper bound on the cells of a 2-way measurement (joint groups are capped per column)."""
    return min(a.cells, a.group_cap) * min(b.cells, b.group_cap)


def _sigma(k: int, rho: float) -> float:
    """Noise of a measurement with ``rho`` of budget (infinite when it gets none)."""
    return gaussian_sigma(k, rho) if rho > 0 else math.inf


def column_allocations(schema: TableSchema, config: PWSIMConfig) -> list[ColumnAllocation]:
    """Status and weight of every column, in schema order."""
    out = []
    for col in schema.columns:
        qi = col.sensitivity == Sensitivity.QUASI_IDENTIFIER
        if not col.modeled:
            status = "faked" if col.identifier_handling == "fake" and col.type != ColumnType.TEXT else "dropped"
            out.append(ColumnAllocation(col.name, status, col.score, col.utility, 0.0, 0, 0, qi))
            continue
        s = col.score
        cells = build_codec(col).size if col.domain is not None else 0
        if s >= config.suppress_threshold:
            status = "suppressed"
        elif s >= config.isolate_threshold:
            status = "isolated"
        elif s >= config.generalize_threshold:
            status = "generalized"
        else:
            status = "modeled"
        weight = 0.0 if status == "suppressed" else col.utility * (1.0 - s) ** config.gamma
        cap = config.max_groups if status == "modeled" else max(config.min_groups, config.max_groups // 2)
        out.append(ColumnAllocation(col.name, status, s, col.utility, weight, cells, cap, qi))
    return out


def make_plan(
    schema: TableSchema,
    *,
    epsilon: float,
    delta: float,
    config: PWSIMConfig | None = None,
    paid_domains: int = 0,
    key_delta: float = 0.0,
    structure: str = "tree",
) -> Plan:
    """Compute the allocation for ``schema`` at (epsilon, delta) without touching data.

    Args:
        schema: the public column metadata.
        epsilon, delta: the job's budget.
        config: mechanism parameters.
        paid_domains: how many columns need a DP domain estimate (takes ``domain_share``).
        key_delta: part of ``delta`` set aside for thresholded category discovery; the rest
            converts the zCDP budget to (epsilon, delta).
        structure: ``tree``, or ``target-star``: no tree, its selection and tree budget go to the
            target pairs (the 1-way and domain budgets are the tree plan's, to the bit). Needs a
            target with a tree to drop (:attr:`Plan.star_eligible` of the tree plan).

    Raises:
        BudgetError: invalid epsilon/delta.
        ValueError: unknown structure, or target-star without an eligible tree plan.
    """
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    config = config or PWSIMConfig()
    validate_epsilon_delta(epsilon, delta)
    rho = rho_from_epsilon_delta(epsilon, delta - key_delta)
    k = schema.max_rows_per_person
    cols = column_allocations(schema, config)
    by_name = {c.name: c for c in cols}
    modeled = [c for c in cols if c.status in MODELED_STATUSES]
    notes: list[str] = []

    rho_domain = rho * config.domain_share if paid_domains else 0.0
    rest = rho - rho_domain
    anchor = schema.target if schema.target in {c.name for c in modeled} else None

    def allowed(a: ColumnAllocation, b: ColumnAllocation) -> bool:
        return not ((a.status == "isolated" and b.quasi_identifier) or (b.status == "isolated" and a.quasi_identifier))

    excluded = tuple((a.name, b.name) for a, b in combinations(modeled, 2) if not allowed(a, b))
    forced_pairs = []
    if anchor is not None:
        forced_pairs = [(anchor, c.name) for c in modeled if c.name != anchor and allowed(by_name[anchor], c)]
    features = [c for c in modeled if c.name != anchor]
    candidates = tuple((a.name, b.name) for a, b in combinations(features, 2) if allowed(a, b))
    tree_slots = min(max(len(features) - 1, 0), len(candidates))
    if len(modeled) < 2:
        tree_slots = 0

    one_share, sel_share, joint_share = config.one_way_share, config.select_share, config.joint_share
    if tree_slots == 0:
        sel_share = 0.0
    if tree_slots == 0 and not forced_pairs:
        one_share, joint_share = 1.0, 0.0
    total_share = one_share + sel_share + joint_share
    rho_one = rest * one_share / total_share
    rho_sel = rest * sel_share / total_share
    rho_joint = rest * joint_share / total_share

    w2_forced = [math.sqrt(by_name[a].weight * by_name[b].weight) ** 2 for a, b in forced_pairs]
    mean_w2_tree = sum(by_name[a].weight * by_name[b].weight for a, b in candidates) / len(candidates) if candidates else 0.0
    w2_tree_total = tree_slots * mean_w2_tree
    denom = sum(w2_forced) + w2_tree_total
    rho_forced = rho_joint * sum(w2_forced) / denom if denom > 0 else 0.0
    rho_tree = rho_joint - rho_forced
    if structure == "target-star":  # no tree: the selection and tree budget go to the target pairs
        if not (forced_pairs and tree_slots):
            raise ValueError("the target-star plan needs a target and a tree to drop")
        tree_slots = 0
        rho_forced, rho_sel, rho_tree = rho_forced + rho_sel + rho_tree, 0.0, 0.0

    w_one = [c.weight for c in modeled]
    total_w2 = sum(w * w for w in w_one)
    one_way = (
        tuple(
            Measurement(
                "one_way",
                (c.name,),
                c.weight,
                rho_one * c.weight**2 / total_w2,
                _sigma(k, rho_one * c.weight**2 / total_w2),
                c.cells,
            )
            for c in modeled
        )
        if total_w2 > 0
        else ()
    )
    forced = tuple(
        Measurement(
            "forced",
            p,
            math.sqrt(w2),
            rho_forced * w2 / sum(w2_forced),
            _sigma(k, rho_forced * w2 / sum(w2_forced)),
            _max_joint_cells(by_name[p[0]], by_name[p[1]]),
        )
        for p, w2 in zip(forced_pairs, w2_forced)
    )
    phases = {"domain": rho_domain, "one_way": rho_one, "forced": rho_forced, "select": rho_sel, "tree": rho_tree}
    for c in cols:
        if c.status == "suppressed":
            notes.append(
                f"{c.name}: sensitivity {c.sensitivity:g} >= {config.suppress_threshold:g}, never measured;"
                " sampled uniformly from its public domain"
            )
        elif c.status == "isolated":
            notes.append(f"{c.name}: sensitivity {c.sensitivity:g}: coarser joint bins, never modeled with quasi-identifiers")
        elif c.status == "generalized":
            notes.append(f"{c.name}: sensitivity {c.sensitivity:g}: coarser joint bins")
        elif c.status in ("faked", "dropped"):
            notes.append(f"{c.name}: direct identifier or free text, never modeled ({c.status})")
    return Plan(
        epsilon=epsilon,
        delta=delta,
        rho=rho,
        phases=phases,
        columns=tuple(cols),
        one_way=one_way,
        forced=forced,
        candidates=candidates,
        excluded_pairs=excluded,
        tree_slots=tree_slots,
        select_epsilon_per_step=exponential_mechanism_epsilon(rho_sel / tree_slots) if tree_slots and rho_sel > 0 else 0.0,
        rows_per_person=k,
        anchor=anchor,
        key_delta=key_delta,
        notes=tuple(notes),
        structure=structure,
    )


def private_domains(schema: TableSchema, delta: float, trust_inferred: bool = False) -> tuple[list[str], float]:
    """Columns whose domains must be paid for, and the part of ``delta`` their discovery needs
    (half of it when categories must be discovered, else nothing)."""
    names = [c.name for c in schema.columns if needs_domain(c, trust_inferred)]
    categorical = any(schema.column(n).type == ColumnType.CATEGORICAL for n in names)
    return names, (delta / 2 if categorical else 0.0)


def needs_domain(col: ColumnSchema, trust_inferred: bool) -> bool:
    """Whether a modeled column's domain must be estimated with DP before use."""
    if not col.modeled:
        return False
    if col.domain is None:
        return True
    return not (col.domain.public or trust_inferred)
