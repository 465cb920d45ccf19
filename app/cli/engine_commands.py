"""Engine commands: ``pwsim schema infer``, ``pwsim schema json-schema``, ``pwsim plan``, ``pwsim synth``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from app.engine.errors import EngineError


def _one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn engine errors into one clear line on stderr and exit status 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (EngineError, OSError) as exc:
            click.echo(f"pwsim: error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def _load_schema(path: str):
    from app.engine.schema import TableSchema

    return TableSchema.from_json(Path(path).read_bytes())


@click.group("schema")
def schema_group() -> None:
    """Propose and publish column metadata."""


@schema_group.command("infer")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="Write the schema here instead of stdout.")
@click.option("--name", help="Dataset name to record in the schema.")
@_one_line_errors
def infer_command(file: str, out: str | None, name: str | None) -> None:
    """Propose a schema for FILE: types, domains, PII and sensitivity classes.

    The proposed domains are read off the data and are NOT private: declare them public after
    review (domain.public=true), or let `pwsim synth` pay for DP estimates.
    """
    from app.engine.infer import infer_schema

    schema = infer_schema(file, name=name)
    _emit(schema.to_json(), out)
    flagged = [f"{c.name} ({c.pii})" for c in schema.columns if c.pii]
    if flagged:
        click.echo(f"direct identifiers detected: {', '.join(flagged)}", err=True)


@schema_group.command("json-schema")
def json_schema_command() -> None:
    """Print the published JSON Schema of the schema document."""
    from app.engine.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@click.command("plan")
@click.option("--schema", "schema_path", required=True, type=click.Path(dir_okay=False), help="Schema JSON.")
@click.option("--epsilon", type=float, required=True, help="Privacy budget epsilon (> 0).")
@click.option("--delta", type=float, default=1e-9, show_default=True, help="Privacy budget delta, in (0, 1).")
@click.option("--rows-estimate", type=int, help="Expected rows, to show the noise per expected cell count.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@_one_line_errors
def plan_command(schema_path: str, epsilon: float, delta: float, rows_estimate: int | None, as_json: bool) -> None:
    """Preview the budget allocation from the schema alone: no data is read, nothing is spent."""
    from app.engine.allocation import PWSIMConfig, make_plan, private_domains

    schema = _load_schema(schema_path)
    private, key_delta = private_domains(schema, delta)
    config = PWSIMConfig()
    plan = make_plan(schema, epsilon=epsilon, delta=delta, config=config, paid_domains=len(private), key_delta=key_delta)
    doc = plan.to_dict(rows_estimate=rows_estimate)
    below = plan.star_below_rows(config)
    star = None
    if below is not None:
        star = make_plan(
            schema,
            epsilon=epsilon,
            delta=delta,
            config=config,
            paid_domains=len(private),
            key_delta=key_delta,
            structure="target-star",
        )
        star_doc = star.to_dict(rows_estimate=rows_estimate)
        doc["small_table_rule"] = {
            "rule": (
                "the fit uses the target-star plan when the tree plan's joint groups per column at the noisy row"
                f" count are <= star_max_groups ({config.star_max_groups}), i.e. below about {below:.0f} estimated rows"
            ),
            "star_max_groups": config.star_max_groups,
            "below_rows": below,
            "applies_at_rows_estimate": rows_estimate < below if rows_estimate else None,
            "target_star": {k: star_doc[k] for k in ("structure", "phases", "forced")},
        }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"epsilon={epsilon:g} delta={delta:g} -> rho={plan.rho:.6g} (zCDP, CKS20 conversion)")
    click.echo("phases: " + ", ".join(f"{k} {v:.4g}" for k, v in plan.phases.items() if v > 0))
    click.echo(f"\n{'column':<24}{'status':<13}{'sens':>6}{'util':>6}{'weight':>8}{'cells':>7}")
    for c in plan.columns:
        click.echo(f"{c.name:<24}{c.status:<13}{c.sensitivity:>6.2f}{c.utility:>6.2f}{c.weight:>8.3f}{c.cells:>7}")
    click.echo(f"\n{'phase':<9}{'measurement':<40}{'rho':>11}{'sigma':>10}{'rel.err/cell':>14}")
    for m in doc["one_way"] + doc["forced"]:
        rel = m.get("relative_error_per_cell")
        click.echo(
            f"{m['phase']:<9}{' x '.join(m['clique'])[:39]:<40}{m['rho']:>11.3e}{m['sigma']:>10.2f}"
            f"{(f'{rel:.3f}' if rel is not None else '-'):>14}"
        )
    sel, tree = doc["selection"], doc["tree"]
    if tree:
        click.echo(
            f"select   {sel['steps']} tree edges by the exponential mechanism, epsilon {sel['epsilon_per_step']:.4g}"
            f" each, among {len(sel['candidates'])} candidate pairs"
        )
        click.echo(f"tree     {tree['slots']} pairs, sigma {tree['sigma_at_mean_weight']:.2f} at the mean pair weight")
    if star is not None:
        sigmas = [m.sigma for m in star.forced]
        at = f"; at --rows-estimate {rows_estimate} it applies" if rows_estimate and rows_estimate < below else ""
        click.echo(
            f"\nstructure: tree; below about {below:,.0f} estimated rows (the tree plan's joint groups per column"
            f" <= star_max_groups {config.star_max_groups}) the fit uses the target-star plan instead{at}:"
        )
        click.echo(
            "  target-star phases: "
            + ", ".join(f"{k} {v:.4g}" for k, v in star.phases.items() if v > 0)
            + f"; no tree; target pairs sigma {min(sigmas):.2f}-{max(sigmas):.2f}"
        )
    if private:
        click.echo(
            f"domain   {', '.join(private)}: read off the data, so estimated with DP (rho {plan.phases['domain']:.4g}"
            f"{f', delta {key_delta:g}' if key_delta else ''}) unless declared public"
        )
    for note in plan.notes:
        click.echo(f"note: {note}")


@click.command("synth")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False), help="CSV or Parquet file.")
@click.option("--schema", "schema_path", type=click.Path(dir_okay=False), help="Schema JSON (inferred if omitted).")
@click.option("--epsilon", type=float, help="Privacy budget epsilon (> 0); required for pwsim.")
@click.option("--delta", type=float, default=1e-9, show_default=True)
@click.option("--rows", type=int, help="Rows to generate (default: a DP estimate of the input's rows).")
@click.option("--seed", type=int, help="Same input, schema, parameters and seed give identical output.")
@click.option("--engine", type=click.Choice(["pwsim", "gaussian_copula", "ctgan", "tvae"]), default="pwsim", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output .csv or .parquet.")
@click.option("--summary-json", type=click.Path(dir_okay=False), help="Write the run summary here.")
@click.option(
    "--trust-inferred-domain",
    is_flag=True,
    help="Without --schema: use domains read off the data as public (voids the DP guarantee for them).",
)
@click.option(
    "--condition",
    "conditions",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Fix a column's value in every row (repeatable), e.g. income=>50K.",
)
@_one_line_errors
def synth_command(
    input_path: str,
    schema_path: str | None,
    epsilon: float | None,
    delta: float,
    rows: int | None,
    seed: int | None,
    engine: str,
    out: str,
    summary_json: str | None,
    trust_inferred_domain: bool,
    conditions: tuple[str, ...],
) -> None:
    """Fit an engine on --input and write a synthetic table to --out."""
    from tqdm import tqdm

    from app.engine.accountant import validate_epsilon_delta
    from app.engine.api import synthesize
    from app.engine.infer import infer_schema

    if engine == "pwsim":
        if epsilon is None:
            raise EngineError("--epsilon is required for the pwsim engine")
        validate_epsilon_delta(epsilon, delta)
    if rows is not None and rows <= 0:
        raise EngineError("--rows must be a positive integer")
    if Path(out).suffix.lower() not in (".csv", ".parquet"):
        raise EngineError("--out must end in .csv or .parquet")
    fixed = dict(_parse_condition(c) for c in conditions)
    schema = _load_schema(schema_path) if schema_path else infer_schema(input_path)
    with tqdm(total=100, desc="pwsim", unit="%", file=sys.stderr, leave=False, disable=not sys.stderr.isatty()) as bar:

        def progress(fraction: float, stage: str) -> None:
            bar.set_postfix_str(stage)
            bar.update(max(int(fraction * 100) - bar.n, 0))

        result = synthesize(
            input_path,
            schema,
            epsilon=epsilon,
            delta=delta,
            rows=rows,
            seed=seed,
            engine=engine,
            trust_inferred_domain=trust_inferred_domain,
            conditions=fixed or None,
            progress=progress,
            out=out,
        )
    summary = result.summary()
    if summary_json:
        Path(summary_json).write_text(json.dumps(summary, indent=2))
    _print_summary(summary, out)


def _parse_condition(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise EngineError(f"--condition must look like COLUMN=VALUE, got {text!r}")
    return name, value


def _print_summary(summary: dict[str, Any], out: str) -> None:
    err = sys.stderr
    click.echo(f"wrote {summary['rows']} rows to {out} with {summary['engine']} ({summary['engine_version']})", file=err)
    if summary["dp"]:
        click.echo(f"privacy: epsilon={summary['epsilon']:g} delta={summary['delta']:g} rho spent={summary['rho']:.6g}", file=err)
        for phase in summary["phases"]:
            click.echo(f"  {phase['name']:<8} rho={phase['rho']:.4g} ({phase['releases']} noisy releases)", file=err)
    t = summary["timings"]
    click.echo(f"time: fit {t['fit_seconds']:.2f}s, sample {t['sample_seconds']:.2f}s", file=err)
    for w in summary["warnings"]:
        click.echo(f"warning: {w}", file=err)


def _emit(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text + "\n")
    else:
        click.echo(text)


def register(group: click.Group) -> None:
    """Attach the engine commands to the top-level group."""
    group.add_command(schema_group)
    group.add_command(plan_command)
    group.add_command(synth_command)
