"""PWSIM: privacy-weighted select-measure-generate synthesis with a zCDP accountant.

Fit, in order, every noisy step charged to the accountant:

1. *one_way*: every modeled column's fine 1-way marginal, Gaussian noise weighted by
   utility and sensitivity (see :mod:`app.engine.allocation`).
2. Post-processing: a noisy row count, non-negative fine marginals, and coarse joint groups
   (runs of bins of equal estimated mass; rare categories pooled) sized so that a 2-way cell
   holds a few noise standard deviations of rows. With a target, a table too small for the
   tree plan's groups (``PWSIMConfig.star_max_groups``) switches to the *target-star* plan:
   steps 4-5 are skipped and their budget goes to the target pairs.
3. *forced*: the 2-way marginals of the target with every other column (public metadata
   forces these edges, so choosing them costs nothing).
4. *select*: a spanning tree over the other columns, edge by edge with the exponential
   mechanism, scoring a pair by its weighted L1 distance from the current model (sensitivity 1).
5. *tree*: the selected pairs' 2-way marginals.
6. Post-processing: pooled 1-way margins, consistent 2-way tables, and maximum-entropy 3-way
   cliques (target, column, tree parent) by IPF — a tree-augmented model sampled ancestrally.

Sampling draws coarse groups from the model, a fine cell within each group from the fine 1-way
estimate, and a value within the cell (see :mod:`app.engine.discretize`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from app.engine.accountant import Accountant
from app.engine.allocation import Measurement, Plan, PWSIMConfig, make_plan, private_domains
from app.engine.discretize import build_codec, coarse_groups
from app.engine.domain_estimation import estimate_domains
from app.engine.errors import DataError, EngineError
from app.engine.estimation import consistent_pair, ipf, pool, project_simplex
from app.engine.identifiers import fake_values
from app.engine.marginals import MarginalCounts, count_cliques
from app.engine.schema import TableSchema

ChunkSource = Callable[[], Iterable[pd.DataFrame]]
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Node:
    """One column of the sampling order: its coarse conditional table given earlier columns."""

    index: int
    given: tuple[int, ...]
    cum: np.ndarray  # (prod(given groups), groups) cumulative probabilities, last column 1


class PWSIMSynthesizer:
    """Differentially private tabular synthesizer with public, weighted budget allocation.

    Follows scikit-learn conventions: ``__init__`` only stores parameters; :meth:`fit` returns
    ``self``; learned state ends in ``_``.
    """

    def __init__(self, config: PWSIMConfig | None = None) -> None:
        self.config = config

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (the config as a dict)."""
        return {"config": asdict(self.config or PWSIMConfig())}

    # -- fit ------------------------------------------------------------------------------------

    def fit(
        self,
        chunks: ChunkSource,
        schema: TableSchema,
        *,
        epsilon: float,
        delta: float,
        rng: np.random.Generator,
        progress: Progress | None = None,
        trust_inferred_domain: bool = False,
    ) -> PWSIMSynthesizer:
        """Measure ``chunks()`` under (epsilon, delta)-DP and build the sampling model.

        Args:
            chunks: called once; yields the raw rows as DataFrames.
            schema: column metadata whose modeled columns all have public domains.
            epsilon, delta: the budget; the whole of it is spent.
            rng: the only source of randomness.
            progress: optional ``(fraction, stage)`` callback.
            trust_inferred_domain: treat domains read off the data as public.

        Modeled columns without a public domain (none declared, or inferred from the data and
        not trusted) get a DP estimate first, paid from the ``domain`` share of the budget.
        """
        cfg = self.config or PWSIMConfig()
        report = progress or (lambda f, s: None)
        self.rng_ = rng
        self.warnings_: list[str] = []
        private, key_delta = private_domains(schema, delta, trust_inferred_domain)
        if trust_inferred_domain and any(c.domain and not c.domain.public for c in schema.columns if c.modeled):
            self.warnings_.append("inferred domains were trusted as public: the DP guarantee excludes them")

        def plan_for(schema: TableSchema, structure: str = "tree") -> Plan:
            return make_plan(
                schema,
                epsilon=epsilon,
                delta=delta,
                config=cfg,
                paid_domains=len(private),
                key_delta=key_delta,
                structure=structure,
            )

        plan = plan_for(schema)
        self.accountant_ = Accountant(plan.rho)
        if private:
            report(0.01, "domain")
            found = estimate_domains(
                chunks, schema, private, accountant=self.accountant_, rho=plan.phases["domain"], delta=key_delta, rng=rng
            )
            schema = found.schema
            plan = plan_for(schema)
            self.warnings_.append(f"domains of {', '.join(private)} were estimated with DP and charged to the budget")
        self.schema_ = schema
        modeled = [schema.column(c.name) for c in plan.modeled]
        self.codecs_ = [build_codec(c) for c in modeled]
        self.suppressed_ = [build_codec(schema.column(c.name)) for c in plan.columns if c.status == "suppressed"]
        names = [c.name for c in self.codecs_]
        idx = {n: i for i, n in enumerate(names)}

        report(0.02, "read")
        counts = MarginalCounts.count(self.codecs_, chunks())
        if counts.rows == 0:
            raise DataError("the input has no rows")

        # 1. one-way marginals (fine cells)
        report(0.5, "measure")
        noisy_one, sigma_one = [], []
        for m in plan.one_way:
            i = idx[m.clique[0]]
            noisy_one.append(self._measure(counts.one[i], m))
            sigma_one.append(m.sigma)
        n_hat = self._estimate_rows(noisy_one, sigma_one)
        fine = [project_simplex(y, n_hat) for y in noisy_one]

        # 2. structure (public rule on the noisy row count: a table too small for the tree's joint
        # groups drops the tree and gives its budget to the target pairs) and coarse groups
        tree_groups = plan.joint_groups(n_hat, cfg)
        star = plan.star_eligible and tree_groups <= cfg.star_max_groups
        if star:
            plan = plan_for(schema, "target-star")
        self.plan_ = plan
        self.structure_ = {
            "structure": plan.structure,
            "rows_estimate": n_hat,
            "tree_joint_groups": tree_groups,
            "star_max_groups": cfg.star_max_groups,
            "reason": _structure_reason(plan, star, tree_groups, cfg.star_max_groups),
        }
        k = plan.joint_groups(n_hat, cfg)
        caps = {c.name: c.group_cap for c in plan.modeled}
        self.groups_ = []
        for i, codec in enumerate(self.codecs_):
            self.groups_.append(coarse_groups(codec, fine[i], min(k, caps[codec.name]), cfg.cells_per_sigma * sigma_one[i]))
        sizes = [int(g.max()) + 1 for g in self.groups_]

        def coarse_pair(i: int, j: int) -> np.ndarray:
            table = counts.pair(i, j).astype(float)
            return _aggregate(_aggregate(table, self.groups_[i], 0), self.groups_[j], 1)

        # 3. forced pairs (target with every column it may be modeled with)
        measured: dict[tuple[int, int], tuple[np.ndarray, float]] = {}
        for m in plan.forced:
            i, j = idx[m.clique[0]], idx[m.clique[1]]
            measured[(i, j)] = (self._measure(coarse_pair(i, j), m), m.sigma)
        one_coarse = [_aggregate(f, g, 0) for f, g in zip(fine, self.groups_)]
        one_var = [s * s * c.size / k for s, c, k in zip(sigma_one, self.codecs_, sizes)]

        # 4. private selection of a spanning tree over the features
        report(0.6, "select")
        anchor = idx[plan.anchor] if plan.anchor is not None else None
        margins = self._pooled_margins(one_coarse, one_var, measured, n_hat)
        tables = self._consistent_tables(measured, margins, n_hat)
        edges = self._select_tree(plan, idx, coarse_pair, margins, tables, anchor, n_hat, rng)

        # 5. measure the tree: an edge becomes a (target, column, column) triple where the budget leaves
        # a few noise standard deviations of rows per cell (a public function of noisy quantities)
        tree_ms = plan.tree_measurements([(names[a], names[b]) for a, b in edges])
        triples = {}
        if anchor is not None and cfg.three_way:
            for (a, b), m in zip(edges, tree_ms):
                cells = sizes[anchor] * sizes[a] * sizes[b]
                if (anchor, a) in measured and (anchor, b) in measured and n_hat / cells >= cfg.cells_per_sigma * m.sigma:
                    triples[(a, b)] = replace(m, clique=(names[anchor], names[a], names[b]), cells=cells)
        counts3 = count_cliques(self.codecs_, chunks(), [(anchor, a, b) for a, b in triples], self.groups_)
        for i, ((a, b), m) in enumerate(zip(edges, tree_ms)):
            if (a, b) in triples:
                tree_ms[i] = triples[(a, b)]
                measured[(anchor, a, b)] = (self._measure(counts3[(anchor, a, b)], tree_ms[i]), m.sigma)
            else:
                measured[(a, b)] = (self._measure(coarse_pair(a, b), m), m.sigma)

        # 6. consistent model, sampling order
        report(0.75, "estimate")
        margins = self._pooled_margins(one_coarse, one_var, measured, n_hat)
        tables = self._consistent_tables(measured, margins, n_hat)
        cliques = self._consistent_triples(measured, tables, n_hat)
        self.nodes_ = self._build_nodes(edges, anchor, margins, tables, cliques, sizes, cfg)
        self.fine_ = [
            _within_group(project_simplex(f, 1.0) if f.sum() > 0 else np.ones_like(f), g) for f, g in zip(fine, self.groups_)
        ]
        self.rows_estimate_ = n_hat
        self.edges_ = [(names[a], names[b]) for a, b in edges]
        self.measurements_ = list(plan.one_way) + list(plan.forced) + tree_ms
        self.sizes_ = sizes
        report(0.8, "estimate")
        return self

    def _measure(self, counts: np.ndarray, m: Measurement) -> np.ndarray:
        self.accountant_.spend(m.phase, m.rho, clique=list(m.clique), sigma=m.sigma)
        return counts + self.rng_.normal(0.0, m.sigma, size=counts.shape)

    @staticmethod
    def _estimate_rows(noisy: list[np.ndarray], sigmas: list[float]) -> float:
        totals = [np.array([y.sum()]) for y in noisy]
        variances = [s * s * y.size for s, y in zip(sigmas, noisy)]
        est, _ = pool(totals, variances)
        return max(float(est[0]), 1.0)

    def _pooled_margins(self, one_coarse, one_var, measured, n_hat) -> list[np.ndarray]:
        """Every column's coarse 1-way margin, pooling its 1-way and all 2-way measurements."""
        margins = []
        for i in range(len(self.codecs_)):
            ests, vars_ = [one_coarse[i]], [one_var[i]]
            for clique, (y, sigma) in measured.items():
                if i in clique:
                    axis = clique.index(i)
                    others = tuple(a for a in range(y.ndim) if a != axis)
                    ests.append(y.sum(axis=others))
                    vars_.append(sigma * sigma * y.size / y.shape[axis])
            est, _ = pool(ests, vars_)
            margins.append(project_simplex(est, n_hat))
        return margins

    def _consistent_tables(self, measured, margins, n_hat) -> dict[tuple[int, int], np.ndarray]:
        cfg = self.config or PWSIMConfig()
        out = {}
        for clique, (y, _) in measured.items():
            if len(clique) != 2:
                continue
            a, b = clique
            floor = 1e-3 * n_hat / y.size
            out[(a, b)] = consistent_pair(y, margins[a], margins[b], floor, cfg.ipf_iterations)
        return out

    def _consistent_triples(self, measured, tables, n_hat) -> dict[tuple[int, int], np.ndarray]:
        """Measured (anchor, a, b) tables made non-negative and fitted to their anchor pairs."""
        cfg = self.config or PWSIMConfig()
        out = {}
        for clique, (y, _) in measured.items():
            if len(clique) != 3:
                continue
            anchor, a, b = clique
            start = project_simplex(y, n_hat) + 1e-3 * n_hat / y.size
            fits = [((0, 1), tables[(anchor, a)]), ((0, 2), tables[(anchor, b)])]
            out[(a, b)] = ipf(start, fits, cfg.ipf_iterations)
        return out

    def _select_tree(self, plan: Plan, idx, coarse_pair, margins, tables, anchor, n_hat, rng) -> list[tuple[int, int]]:
        """Kruskal's algorithm with each edge picked by the exponential mechanism."""
        if plan.tree_slots == 0:
            return []
        weights = {(idx[a], idx[b]): plan.pair_weight(a, b) for a, b in plan.candidates}
        top = max(weights.values()) or 1.0
        eps = plan.select_epsilon_per_step
        rho_step = plan.phases["select"] / plan.tree_slots
        scores = {}
        for (a, b), w in weights.items():
            model = self._independent_given_anchor(a, b, anchor, margins, tables, n_hat)
            scores[(a, b)] = (w / top) * float(np.abs(coarse_pair(a, b) - model).sum())
        component = list(range(len(self.codecs_)))

        def root(x: int) -> int:
            while component[x] != x:
                x = component[x]
            return x

        edges = []
        for _ in range(plan.tree_slots):
            options = [e for e in scores if root(e[0]) != root(e[1])]
            if not options:
                break
            q = np.array([scores[e] for e in options])
            # exponential mechanism via Gumbel-max; weights are scaled to at most 1, so a person's
            # k rows move a score by at most k
            self.accountant_.spend("select", rho_step, epsilon=eps, candidates=len(options))
            pick = options[int(np.argmax(eps * q / (2.0 * plan.rows_per_person) + rng.gumbel(size=q.size)))]
            edges.append(pick)
            component[root(pick[0])] = root(pick[1])
        return edges

    @staticmethod
    def _independent_given_anchor(a, b, anchor, margins, tables, n_hat) -> np.ndarray:
        """Expected (a, b) table if a and b were independent given the anchor."""
        ta = tables.get((anchor, a)) if anchor is not None else None
        tb = tables.get((anchor, b)) if anchor is not None else None
        if ta is None or tb is None:
            return np.outer(margins[a], margins[b]) / max(n_hat, 1e-12)
        pa = np.maximum(margins[anchor], 1e-12)
        return np.einsum("ta,tb->ab", ta / pa[:, None], tb)

    def _build_nodes(self, edges, anchor, margins, tables, cliques, sizes, cfg) -> list[Node]:
        """Sampling order (anchor, then a BFS of the tree) with each column's conditional table."""
        d = len(self.codecs_)
        neighbours: dict[int, list[int]] = {i: [] for i in range(d)}
        for a, b in edges:
            neighbours[a].append(b)
            neighbours[b].append(a)

        def pair_table(a: int, b: int) -> np.ndarray | None:
            if (a, b) in tables:
                return tables[(a, b)]
            if (b, a) in tables:
                return tables[(b, a)].T
            return None

        nodes: list[Node] = []
        seen: set[int] = set()
        if anchor is not None:
            nodes.append(Node(anchor, (), _cumulative(margins[anchor][None, :])))
            seen.add(anchor)
        for start in range(d):
            if start in seen:
                continue
            order, parent = [start], {start: None}
            seen.add(start)
            for x in order:
                for y in sorted(neighbours[x]):
                    if y not in seen:
                        seen.add(y)
                        parent[y] = x
                        order.append(y)
            for x in order:
                p = parent[x]
                with_anchor = pair_table(anchor, x) if anchor is not None else None
                if p is None:
                    if with_anchor is not None:
                        nodes.append(Node(x, (anchor,), _cumulative(with_anchor)))
                    else:
                        nodes.append(Node(x, (), _cumulative(margins[x][None, :])))
                    continue
                if (p, x) in cliques or (x, p) in cliques:
                    clique = cliques[(p, x)] if (p, x) in cliques else cliques[(x, p)].transpose(0, 2, 1)
                    nodes.append(Node(x, (anchor, p), _cumulative(clique.reshape(-1, sizes[x]))))
                    continue
                edge = pair_table(p, x)
                anchor_p = pair_table(anchor, p) if anchor is not None else None
                if with_anchor is None and anchor_p is None:
                    nodes.append(Node(x, (p,), _cumulative(edge)))
                    continue
                # maximum-entropy (anchor, parent, x) table with the three measured pairs
                shape = (sizes[anchor], sizes[p], sizes[x])
                fits = [((1, 2), edge)]
                if anchor_p is not None:
                    fits.append(((0, 1), anchor_p))
                if with_anchor is not None:
                    fits.append(((0, 2), with_anchor))
                clique = ipf(np.full(shape, edge.sum() / np.prod(shape)), fits, cfg.ipf_iterations)
                nodes.append(Node(x, (anchor, p), _cumulative(clique.reshape(-1, sizes[x]))))
        return nodes

    # -- sample ---------------------------------------------------------------------------------

    def sample(self, rows: int, rng: np.random.Generator, conditions: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """``rows`` synthetic rows in schema order (optionally with columns fixed to values)."""
        parts = list(self.sample_chunks(rows, rng, conditions=conditions))
        return pd.concat(parts, ignore_index=True) if parts else self._empty()

    def sample_chunks(
        self, rows: int, rng: np.random.Generator, *, chunk_rows: int = 250_000, conditions: Mapping[str, Any] | None = None
    ) -> Iterator[pd.DataFrame]:
        """Yield ``rows`` synthetic rows in chunks of at most ``chunk_rows``."""
        fixed = self._condition_codes(conditions or {})
        done = 0
        while done < rows:
            n = min(chunk_rows, rows - done)
            yield self._sample_chunk(n, rng, fixed)
            done += n

    def _condition_codes(self, conditions: Mapping[str, Any]) -> dict[int, int]:
        """Fine cell per conditioned column (index into codecs_)."""
        by_name = {c.name: i for i, c in enumerate(self.codecs_)}
        fixed = {}
        for name, value in conditions.items():
            if name not in by_name:
                raise EngineError(f"cannot condition on {name!r}: not a modeled column")
            codec = self.codecs_[by_name[name]]
            fixed[by_name[name]] = int(codec.encode(pd.Series([value]))[0])
        return fixed

    def _sample_chunk(self, n: int, rng: np.random.Generator, fixed: dict[int, int]) -> pd.DataFrame:
        out_coarse = np.empty((len(self.codecs_), n), dtype=np.int64)
        filled = 0
        for _ in range(1000):  # rejection rounds for conditions below the root
            batch = self._sample_coarse(max(n - filled, 1) if not fixed else max(2 * (n - filled), 64), rng, fixed)
            ok = np.ones(batch.shape[1], dtype=bool)
            for i, cell in fixed.items():
                ok &= batch[i] == self.groups_[i][cell]
            take = batch[:, ok][:, : n - filled]
            out_coarse[:, filled : filled + take.shape[1]] = take
            filled += take.shape[1]
            if filled >= n:
                break
        else:
            raise EngineError("the requested condition is too rare under the model to sample")
        columns: dict[str, pd.Series] = {}
        for i, codec in enumerate(self.codecs_):
            cells = fixed.get(i)
            fine = np.full(n, cells) if cells is not None else _draw(self.fine_[i], out_coarse[i], rng)
            columns[codec.name] = codec.decode(fine, rng)
        for codec in self.suppressed_:
            columns[codec.name] = codec.decode(rng.integers(0, len(codec.value_cells()), size=n), rng)
        for c in self.plan_.columns:
            if c.status == "faked":
                col = self.schema_.column(c.name)
                columns[c.name] = pd.Series(fake_values(col.pii, n, rng), name=c.name, dtype=object)
        order = [c.name for c in self.plan_.columns if c.status != "dropped"]
        return pd.DataFrame({name: columns[name].reset_index(drop=True) for name in order})

    def _sample_coarse(self, n: int, rng: np.random.Generator, fixed: dict[int, int]) -> np.ndarray:
        codes = np.zeros((len(self.codecs_), n), dtype=np.int64)
        for node in self.nodes_:
            if node.index in fixed and not node.given:
                codes[node.index] = self.groups_[node.index][fixed[node.index]]
                continue
            row = np.zeros(n, dtype=np.int64)
            for g in node.given:
                row = row * self.sizes_[g] + codes[g]
            codes[node.index] = _draw(node.cum, row, rng)
        return codes

    def _empty(self) -> pd.DataFrame:
        return pd.DataFrame({c.name: pd.Series(dtype=object) for c in self.plan_.columns if c.status != "dropped"})

    # -- reporting ------------------------------------------------------------------------------

    def allocation(self) -> dict[str, Any]:
        """Per column and per measurement: weight, rho share, sigma, cells (JSON-ready)."""
        plan = self.plan_
        out = plan.to_dict(rows_estimate=None)
        groups = {c.name: int(g.max()) + 1 for c, g in zip(self.codecs_, self.groups_)}
        codecs = {c.name: c for c in self.codecs_}
        for col in out["columns"]:
            col["joint_groups"] = groups.get(col["name"])
            codec = codecs.get(col["name"])
            if codec is not None:
                col["bins"] = list(codec.labels)
        out["measurements"] = [
            {
                "phase": m.phase,
                "clique": list(m.clique),
                "weight": m.weight,
                "rho": m.rho,
                "sigma": m.sigma,
                "cells": (
                    self.codecs_[[c.name for c in self.codecs_].index(m.clique[0])].size
                    if len(m.clique) == 1
                    else int(np.prod([groups[c] for c in m.clique]))
                ),
            }
            for m in self.measurements_
        ]
        out["selected_edges"] = [list(e) for e in self.edges_]
        out["structure_choice"] = dict(self.structure_)
        return out


def _structure_reason(plan: Plan, star: bool, tree_groups: int, threshold: int) -> str:
    """Why the fit used ``plan.structure``, in one sentence."""
    if star:
        return (
            f"the tree plan would give {tree_groups} joint groups per column at the estimated row count"
            f" (<= star_max_groups {threshold}): target pairs only, with the tree's budget"
        )
    if not plan.star_eligible:
        return "no target pairs and tree to trade: the target-star rule does not apply"
    if threshold == 0:
        return "the target-star rule is disabled (star_max_groups 0)"
    return f"{tree_groups} joint groups per column at the estimated row count (> star_max_groups {threshold})"


def _aggregate(table: np.ndarray, groups: np.ndarray, axis: int) -> np.ndarray:
    """Sum cells of ``axis`` into their groups."""
    size = int(groups.max()) + 1
    moved = np.moveaxis(table, axis, 0)
    out = np.zeros((size, *moved.shape[1:]))
    np.add.at(out, groups, moved)
    return np.moveaxis(out, 0, axis)


def _cumulative(table: np.ndarray) -> np.ndarray:
    """Row-normalised cumulative probabilities; an all-zero row becomes uniform."""
    t = np.maximum(np.asarray(table, dtype=float), 0.0)
    sums = t.sum(axis=1, keepdims=True)
    t = np.where(sums > 0, t / np.where(sums > 0, sums, 1.0), 1.0 / t.shape[1])
    cum = np.cumsum(t, axis=1)
    cum[:, -1] = 1.0
    return cum


def _within_group(fine: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cumulative distribution of fine cells within each group: shape (groups, cells)."""
    size = int(groups.max()) + 1
    table = np.zeros((size, fine.size))
    table[groups, np.arange(fine.size)] = fine
    empty = table.sum(axis=1) == 0
    table[empty] = (groups[None, :] == np.nonzero(empty)[0][:, None]).astype(float)
    return _cumulative(table)


def _draw(cum: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per element of ``rows`` from the cumulative table row it names."""
    k = cum.shape[1]
    flat = (cum + np.arange(cum.shape[0])[:, None]).ravel()
    u = rng.random(rows.size)
    pos = np.searchsorted(flat, rows + u, side="right")
    return np.clip(pos - rows * k, 0, k - 1)
