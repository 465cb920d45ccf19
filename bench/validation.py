"""Validation bench: the full gate suite on Adult, timed per metric family (budget: 30 s).

    .venv/bin/python bench/validation.py [--synthetic product|noisy-bootstrap] [--threads 2]
                                         [--out bench/VALIDATION.md] [--report /tmp/validation.html]

Adult (``../shared/data/adult.csv``) is split 80/20, stratified on ``income``, seed 0: 39,073
training and 9,769 holdout rows. The engine is built concurrently, so the synthetic input is a
stand-in of the training split's size:

* ``product`` (default): every column drawn independently from its training marginal, a
  product-of-marginals model. It knows nothing about any one person (privacy gates pass) and
  nothing about any relationship (utility, joint and causal gates fail).
* ``noisy-bootstrap``: training rows resampled with replacement, numbers scaled by
  1 + N(0, 0.05) and 10 % of the category cells redrawn from their marginal. Faithful but leaky
  (privacy gates fail).

The policy is ``production-substitute`` (every gate blocking) plus the ``hybrid-split`` gates, so
every metric family runs. Metadata is the engine's declared schema (``bench/adult_schema.json``)
with the analysis roles added: target income (positive ">50K"), treatment education-num > 12
(a degree), outcome income, confounders age, sex, race, native-country.

``--false-rejections 2000,8000`` (default; ``none`` skips it) then measures how often honest DP
output is rejected: PWSIM at epsilon = 1 on the first N rows of Adult (20 % holdout, as a job
splits them), ``--fr-seeds`` seeds per size, judged by the privacy gates of ``dev-only`` (the
service default) as shipped (confidence bounds) and by the same gates on point estimates (what
``dev-only`` did before the gates had a ``basis``).

The timed span is ``evaluate()`` alone: reading the CSV, the split and making the synthetic set
are reported but not counted. ``--threads`` caps BLAS/OpenMP threads (threadpoolctl, default 1):
on this shared 2-core machine, with other work running, two OpenMP threads made gradient boosting
an order of magnitude slower (the whole suite took 79 s with 2 threads against 16 s with 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.validation import Metadata, builtin_policy, evaluate, holdout_split, render_html  # noqa: E402 - after sys.path

DATA = REPO.parent / "shared" / "data" / "adult.csv"
SCHEMA = REPO / "bench" / "adult_schema.json"
BUDGET_S = 30.0
ROLES = {
    "positive_label": ">50K",
    "treatment": "education-num",
    "treated_value": 12,
    "outcome": "income",
    "confounders": ["age", "sex", "race", "native-country"],
}
POLICY = {
    "name": "bench-full",
    "version": 1,
    "description": "production-substitute plus the hybrid-split gates: every metric family runs",
    "extends": "production-substitute",
    "gates": [
        {"metric": "hybrid.recall_lift", "comparison": ">=", "threshold": 0.02},
        {"metric": "hybrid.auc_change", "comparison": ">=", "threshold": -0.01},
    ],
}


def product_sample(train: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each column drawn independently from its training marginal."""
    return pd.DataFrame({c: rng.choice(train[c].to_numpy(), len(train)) for c in train.columns})


def noisy_bootstrap(train: pd.DataFrame, meta: Metadata, rng: np.random.Generator) -> pd.DataFrame:
    """Rows resampled with replacement; numbers jittered 5 %, 10 % of category cells redrawn."""
    out = train.iloc[rng.integers(0, len(train), len(train))].reset_index(drop=True)
    for col in meta.columns:
        x = out[col.name].to_numpy()
        if col.numeric:
            y = np.clip(x * (1 + rng.normal(0, 0.05, len(x))), col.lower, col.upper)
            out[col.name] = np.round(y).astype(x.dtype) if col.type == "integer" else y
        else:
            redraw = rng.random(len(x)) < 0.1
            out.loc[redraw, col.name] = rng.choice(train[col.name].to_numpy(), redraw.sum())
    return out


def timing_table(timings: dict[str, float]) -> str:
    total = timings["total"]
    lines = ["| metric family | seconds | share |", "|---|---:|---:|"]
    order = [k for k in timings if k != "total"]
    for key in order:
        lines.append(f"| {key} | {timings[key]:.2f} | {timings[key] / total:.0%} |")
    overhead = total - sum(timings[k] for k in order)
    lines.append(f"| (metadata, decoding, gates) | {overhead:.2f} | {overhead / total:.0%} |")
    lines.append(f"| **total evaluate()** | **{total:.2f}** | 100% |")
    return "\n".join(lines)


def gate_table(verdict: dict) -> str:
    lines = ["| gate | value | rule | status |", "|---|---:|---|---|"]
    for g in verdict["gates"]:
        value = "–" if g["value"] is None else f"{g['value']:.4g}"
        rule = f"{g['comparison']} {g['threshold']:g}"
        if g.get("basis") == "ci_bound":
            bound = "lower" if g["comparison"] in ("<", "<=") else "upper"
            estimate = "–" if g["estimate"] is None else f"{g['estimate']:.4g}"
            rule = f"{bound} bound {rule} (estimate {estimate})"
        lines.append(f"| {g['id']} | {value} | {rule} | {g['status']} |")
    return "\n".join(lines)


PRIVACY = ("exact_copies", "dcr", "membership", "singling_out", "linkability", "attribute_inference")
RISKS = ("singling_out", "linkability", "attribute_inference")


def privacy_policies() -> dict[str, dict]:
    """dev-only's privacy gates as shipped, and the same gates on point estimates with 95 % risk intervals."""
    base = builtin_policy("dev-only")
    params = {k: dict(v) for k, v in base.params.items()}
    gates = [g.to_dict() for g in base.gates if g.family in PRIVACY]
    point = [{k: v for k, v in g.items() if k != "basis"} for g in gates]
    return {
        "bounds": {"name": "dev-only-privacy", "version": 1, "params": params, "gates": gates},
        "estimates": {
            "name": "dev-only-privacy-point",
            "version": 1,
            "params": {**params, **{r: {"level": 0.95} for r in RISKS}},
            "gates": point,
        },
    }


def swap_in_training_rows(release: pd.DataFrame, train: pd.DataFrame, meta: Metadata, seed: int, perturbed: bool) -> pd.DataFrame:
    """The release with 5 % of its rows replaced by training rows, verbatim or numbers scaled by 1 + N(0, 0.02)."""
    rng = np.random.default_rng(seed)
    k = round(0.05 * len(release))
    leaked = train.iloc[rng.choice(len(train), k, replace=False)].copy()
    if perturbed:
        for col in meta.columns:
            if col.numeric:
                x = np.clip(leaked[col.name].to_numpy(float) * (1 + rng.normal(0, 0.02, k)), col.lower, col.upper)
                leaked[col.name] = np.round(x).astype(train[col.name].dtype) if col.type == "integer" else x
    return pd.concat([release.iloc[k:], leaked], ignore_index=True)


def false_rejections(data: pd.DataFrame, sizes: list[int], seeds: int, threads: int) -> str:
    """Markdown: how many honest PWSIM releases (epsilon 1) each judging of dev-only's privacy gates rejects,
    and how many of the same releases with 5 % of their rows swapped for training rows (first 6 seeds)."""
    from app.engine.api import synthesize
    from app.engine.schema import TableSchema

    schema = TableSchema.from_json(SCHEMA.read_text())
    meta = Metadata.from_any(schema)
    policies = privacy_policies()
    lines = [
        "## False rejections: honest DP releases judged by the default privacy gates",
        "",
        f"PWSIM at epsilon = 1 on the first N rows of Adult, 20 % holdout (`holdout_split`, seed = s), "
        f"{len(policies['bounds']['gates'])} privacy gates of `dev-only` (the service default), seeds 0-{seeds - 1}. "
        "*bounds*: the gates as shipped (statistical gates compare the confidence bound nearest to passing; "
        "95 % bootstrap for membership, 99 % for singling-out, linkability and attribute inference); "
        "*estimates*: the same gates and thresholds on point estimates with 95 % risk intervals (dev-only before "
        "`basis`). A rejection here is a false rejection: the release is differentially private.",
        "",
        "| rows | release | judged on | rejected | failed gates (releases) | seconds per evaluate() |",
        "|---:|---|---|---:|---|---:|",
    ]
    variants = {"DP": None, "DP + 5 % verbatim": False, "DP + 5 % perturbed": True}
    for n in sizes:
        part = data.iloc[:n].reset_index(drop=True)
        counts = {(v, k): Counter() for v in variants for k in policies}
        rejected = dict.fromkeys(counts, 0)
        seconds = dict.fromkeys(counts, 0.0)
        runs = dict.fromkeys(variants, 0)
        for seed in range(seeds):
            split = holdout_split(part, seed=seed)
            train, holdout = split.train.reset_index(drop=True), split.holdout.reset_index(drop=True)
            release = synthesize(train, schema, epsilon=1.0, rows=len(train), seed=seed).data
            for variant, perturbed in variants.items():
                if perturbed is not None and seed >= 6:
                    continue
                runs[variant] += 1
                candidate = release if perturbed is None else swap_in_training_rows(release, train, meta, seed, perturbed)
                for key, policy in policies.items():
                    with threadpool_limits(limits=threads):
                        verdict = evaluate(train, holdout, candidate, metadata=meta, policy=policy, seed=seed)
                    seconds[variant, key] += verdict.timings["total"]
                    rejected[variant, key] += not verdict.passed
                    counts[variant, key].update(verdict.failed_gates)
        for variant, key in counts:
            failed = ", ".join(f"{g} ({c})" for g, c in counts[variant, key].most_common()) or "–"
            m = runs[variant]
            lines.append(
                f"| {n:,} | {variant} | {key} | {rejected[variant, key]} of {m} | {failed} | {seconds[variant, key] / m:.1f} |"
            )
    lines += [
        "",
        "On the DP rows a rejection is a false rejection; on the leaky rows (5 % of the release swapped for",
        "training rows, verbatim or with numbers scaled by 1 + N(0, 0.02)) a pass would be a missed leak.",
        "",
        "`tests/unit/validation/test_false_rejections.py` asserts at most 1 of 12 rejected per size (bounds);",
        "`test_privacy.py` (leaks in a product-of-marginals sample) and `test_false_rejections.py` (the leaky DP",
        "releases above, 2,000 rows) that the same gates still reject 5 % leaks.",
        "",
    ]
    return "\n".join(lines)


def run(kind: str, train: pd.DataFrame, holdout: pd.DataFrame, meta: Metadata, args: argparse.Namespace) -> tuple[str, float]:
    """Evaluate one synthetic stand-in; its markdown section and the evaluate() seconds."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    synthetic = product_sample(train, rng) if kind == "product" else noisy_bootstrap(train, meta, rng)
    make_s = time.perf_counter() - t0
    release = {"engine": f"{kind} (bench stand-in)", "dp": False}
    load = os.getloadavg()[0]
    with threadpool_limits(limits=args.threads):
        verdict = evaluate(train, holdout, synthetic, metadata=meta, policy=POLICY, seed=args.seed, release=release)
    doc = verdict.to_dict()
    total = doc["timings"]["total"]
    if args.report:
        path = args.report.with_name(f"{args.report.stem}-{kind}{args.report.suffix}")
        path.write_text(render_html(verdict), encoding="utf-8")
    section = "\n".join(
        [
            (
                f"## Synthetic input `{kind}`: evaluate() {total:.1f} s, {'within' if total <= BUDGET_S else 'OVER'} "
                f"the {BUDGET_S:.0f} s budget"
            ),
            "",
            f"{len(synthetic):,} rows (made in {make_s:.1f} s, not counted); 1-minute load average at start {load:.2f}.",
            "`shared:*` rows are work several families reuse (the TRTR/TSTR models, the distance encoder, the",
            "attack targets), booked once.",
            "",
            timing_table(doc["timings"]),
            "",
            f"Verdict: **{doc['decision']}**. {doc['message']}",
            "",
            gate_table(doc),
            "",
        ]
    )
    return section, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--synthetic",
        default="product,noisy-bootstrap",
        help="comma-separated stand-ins: product, noisy-bootstrap (default both)",
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the markdown here as well")
    parser.add_argument("--report", type=Path, help="write HTML reports here (one per input, suffixed)")
    parser.add_argument(
        "--false-rejections",
        default="2000,8000",
        help="Adult slice sizes for the false-rejection table, comma-separated, or 'none' (default 2000,8000)",
    )
    parser.add_argument("--fr-seeds", type=int, default=12, help="seeds per slice size (default 12)")
    args = parser.parse_args(argv)
    sizes = [] if args.false_rejections == "none" else [int(x) for x in args.false_rejections.split(",") if x.strip()]
    kinds = [k.strip() for k in args.synthetic.split(",") if k.strip()]
    unknown = sorted(set(kinds) - {"product", "noisy-bootstrap"})
    if unknown:
        parser.error(f"unknown --synthetic: {', '.join(unknown)}")

    t0 = time.perf_counter()
    data = pd.read_csv(DATA, keep_default_na=False)
    train, holdout = train_test_split(data, test_size=0.2, stratify=data["income"], random_state=args.seed)
    meta = Metadata.from_any(json.loads(SCHEMA.read_text()), **ROLES)
    prep_s = time.perf_counter() - t0
    sections, totals = [], []
    for kind in kinds:
        section, total = run(kind, train, holdout, meta, args)
        sections.append(section)
        totals.append(total)
    if sizes:
        sections.append(false_rejections(data, sizes, args.fr_seeds, args.threads))

    command = ".venv/bin/python bench/validation.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    text = "\n".join(
        [
            "# Validation bench: the full gate suite on Adult",
            "",
            f"Command: `{command.strip()}`  ",
            (
                f"Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; machine: {os.cpu_count()} CPUs "
                f"(shared with other work), Python {platform.python_version()}, {args.threads} BLAS/OpenMP thread(s).  "
            ),
            (
                f"Data: Adult 80/20 split stratified on income (seed {args.seed}): {len(train):,} train, "
                f"{len(holdout):,} holdout rows (reading and splitting took {prep_s:.1f} s, not counted).  "
            ),
            (
                f"Policy: `{POLICY['name']}@{POLICY['version']}` = production-substitute plus the hybrid-split gates, "
                f"every metric family; metadata: `bench/adult_schema.json` plus roles {json.dumps(ROLES)}."
            ),
            "",
            f"**Slowest evaluate(): {max(totals):.1f} s (budget {BUDGET_S:.0f} s).**",
            "",
            "One BLAS/OpenMP thread is the default because this 2-core machine is shared: with other work",
            "running, `--threads 2` took the same suite to 79 s (oversubscribed OpenMP threads in gradient",
            "boosting). Callers running evaluate() next to other jobs should cap threads the same way.",
            "",
            *sections,
        ]
    )
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0 if max(totals) <= BUDGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
