"""Engine bench: PWSIM against SDV GaussianCopula and SmartNoise MST on Adult, one markdown table.

    .venv/bin/python bench/engine.py [--methods pwsim,gaussian_copula,mst] [--out bench/RESULTS.md]

Adult is split 80/20, stratified on ``income``, with the seed (0). Every method is fitted on the
80 % and samples as many rows, each in its own subprocess so that its peak RSS is its own
(``os.wait4`` rusage of that child). Fit+sample seconds are timed inside the child around the
fit+sample call only: interpreter start-up, library imports and reading the CSV are not counted.
SmartNoise MST runs under a separate interpreter (``--mst-python``, default
``/tmp/snvenv/bin/python``) because it pins ``mbi<2``; see bench/README.md for that venv.

The metrics (bench/metrics.py) are computed in this process on the synthetic CSV each child
writes: SDMetrics QualityReport against the training split, TSTR/TRTR ROC AUC of a
HistGradientBoostingClassifier on the holdout, exact copies of training rows, and the median
distance to the closest training record. A "real holdout" row gives the reference values.

This file is also the child's entry point (``--worker``); its top-level imports are standard
library only, so the SmartNoise interpreter can run it without this project's dependencies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "adult.csv"
DEFAULT_SCHEMA = REPO / "bench" / "adult_schema.json"
DEFAULT_MST_PYTHON = Path("/tmp/snvenv/bin/python")
TARGET, POSITIVE = "income", ">50K"
DELTA = 1e-9
ALL_METHODS = ("pwsim", "gaussian_copula", "ctgan", "tvae", "mst")
DEFAULT_METHODS = "pwsim,gaussian_copula,mst"
MST_EPSILON, MST_PREPROCESSOR_EPSILON = 1.0, 0.1
SCHEMA_TYPE_TO_SDTYPE = {
    "numerical": "numerical",
    "integer": "numerical",
    "categorical": "categorical",
    "boolean": "boolean",
    "datetime": "datetime",
}


def read_csv(path: Path) -> Any:
    """Read a CSV as written by this bench: only empty cells are missing (Adult's '?' is a value)."""
    import pandas as pd

    return pd.read_csv(path, keep_default_na=False, na_values=[""])


# --------------------------------------------------------------------------------------------
# Child side: fit one method, write its synthetic CSV and a small JSON result.
# --------------------------------------------------------------------------------------------


def run_worker(args: argparse.Namespace) -> int:
    """Fit+sample one method; write ``--synthetic`` and ``--result`` (seconds or error)."""
    result: dict[str, Any] = {"method": args.worker, "epsilon": args.epsilon}
    try:
        sdtypes = json.loads(Path(args.sdtypes).read_text())
        train = read_csv(Path(args.train))
        fit_sample = {"pwsim": _worker_pwsim, "mst": _worker_mst}.get(args.worker, _worker_sdv)
        synthetic, seconds, extra = fit_sample(args, train, sdtypes)
        synthetic.to_csv(args.synthetic, index=False)
        result.update(seconds=seconds, rows=len(synthetic), **extra)
        code = 0
    except BaseException as exc:
        result["error"] = f"{type(exc).__name__}: {exc}".strip()
        traceback.print_exc()
        code = 1
    Path(args.result).write_text(json.dumps(result, indent=2, default=str))
    return code


def _worker_sdv(args: argparse.Namespace, train: Any, sdtypes: dict[str, str]) -> tuple[Any, float, dict]:
    sys.path.insert(0, str(REPO))
    import sdv.single_table  # noqa: F401  (imported before the clock starts)

    from app.engine import sdv_engines

    frame = train[list(sdtypes)]
    start = time.perf_counter()
    synthetic = sdv_engines.fit_sample(args.worker, frame, metadata=sdtypes, rows=len(train), seed=args.seed, epochs=args.epochs)
    seconds = time.perf_counter() - start
    return synthetic, seconds, {"versions": {"sdv": _version("sdv")}}


def _worker_pwsim(args: argparse.Namespace, train: Any, sdtypes: dict[str, str]) -> tuple[Any, float, dict]:
    sys.path.insert(0, str(REPO))
    from app.engine.api import synthesize  # imported before the clock starts, as for the other methods

    schema, trust = _pwsim_schema(Path(args.schema), train)
    start = time.perf_counter()
    res = synthesize(
        train,
        schema,
        epsilon=args.epsilon,
        delta=DELTA,
        rows=len(train),
        seed=args.seed,
        trust_inferred_domain=trust,
    )
    seconds = time.perf_counter() - start
    extra = {"engine_version": res.engine_version, "rho": res.rho, "schema_trusted_inferred": trust}
    return res.data, seconds, extra


def _pwsim_schema(path: Path, train: Any) -> tuple[Any, bool]:
    """The declared public schema, else an inferred one trusted as public (temporary stand-in)."""
    from app.engine.schema import TableSchema

    if path.exists():
        return TableSchema.from_json(path.read_text(encoding="utf-8")), False
    from app.engine.infer import infer_schema

    return infer_schema(train), True


def _worker_mst(args: argparse.Namespace, train: Any, sdtypes: dict[str, str]) -> tuple[Any, float, dict]:
    import mbi  # noqa: F401  (jax and mbi imported before the clock starts)
    import numpy as np
    from snsynth import Synthesizer

    continuous = [c for c, t in sdtypes.items() if t == "numerical"]
    categorical = [c for c, t in sdtypes.items() if t != "numerical"]
    frame = train[list(sdtypes)]
    np.random.seed(args.seed)  # mbi samples from numpy's global generator; OpenDP noise is unseeded
    start = time.perf_counter()
    synth = Synthesizer.create("mst", epsilon=args.epsilon, delta=DELTA)
    synthetic = synth.fit_sample(
        frame,
        categorical_columns=categorical,
        continuous_columns=continuous,
        preprocessor_eps=MST_PREPROCESSOR_EPSILON,
    )
    seconds = time.perf_counter() - start
    versions = {name: _version(name) for name in ("smartnoise-synth", "mbi", "jax")}
    return synthetic, seconds, {"versions": versions}


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------------------------
# Parent side: split, run each method in a child, score, print the table.
# --------------------------------------------------------------------------------------------


def column_sdtypes(schema_path: Path, train: Any) -> tuple[dict[str, str], str]:
    """SDMetrics/SDV types of the modeled columns, from the schema; says where they came from."""
    sys.path.insert(0, str(REPO))
    from app.engine.schema import TableSchema

    if schema_path.exists():
        schema = TableSchema.from_json(schema_path.read_text(encoding="utf-8"))
        source = f"declared schema `{schema_path.relative_to(REPO) if schema_path.is_relative_to(REPO) else schema_path}`"
    else:
        try:
            from app.engine.infer import infer_schema

            schema = infer_schema(train)
            source = "schema inferred by `app.engine.infer.infer_schema` (no declared schema yet)"
        except Exception as exc:
            import pandas as pd

            types = {c: "numerical" if pd.api.types.is_numeric_dtype(train[c]) else "categorical" for c in train.columns}
            return (
                types,
                f"pandas dtypes (no declared schema; infer_schema unavailable: {type(exc).__name__})",
            )
    types = {
        c.name: SCHEMA_TYPE_TO_SDTYPE[str(c.type)] for c in schema.columns if c.modeled and str(c.type) in SCHEMA_TYPE_TO_SDTYPE
    }
    return types, source


def expand_methods(methods: str, pwsim_epsilons: list[float]) -> list[tuple[str, float | None]]:
    """``"pwsim,gaussian_copula,mst"`` -> [(method, epsilon), ...]; pwsim once per epsilon."""
    runs: list[tuple[str, float | None]] = []
    for name in (m.strip() for m in methods.split(",") if m.strip()):
        if name not in ALL_METHODS:
            raise SystemExit(f"unknown method {name!r}; expected some of {', '.join(ALL_METHODS)}")
        if name == "pwsim":
            runs.extend(("pwsim", eps) for eps in pwsim_epsilons)
        elif name == "mst":
            runs.append(("mst", MST_EPSILON))
        else:
            runs.append((name, None))
    return runs


def run_child(cmd: list[str], *, log: Path, timeout: float, env: dict[str, str] | None = None) -> tuple[int, float, float]:
    """Run ``cmd``; return (exit code, peak RSS MiB of that child, wall seconds)."""
    import subprocess

    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.send_signal(signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return proc.returncode, usage.ru_maxrss / 1024.0, time.perf_counter() - start


def score(train: Any, holdout: Any, synthetic: Any, sdtypes: dict[str, str], seed: int) -> dict[str, Any]:
    from bench import metrics

    cols = list(sdtypes)
    synthetic = synthetic[cols]
    quality = metrics.quality_report(train[cols], synthetic, sdtypes)
    auc = metrics.tstr_auc(train[cols], synthetic, holdout[cols], sdtypes, target=TARGET, positive=POSITIVE, seed=seed)
    return {
        **quality,
        "tstr": auc["tstr"],
        "trtr": auc["trtr"],
        "loss_pct": auc["loss_pct"],
        "copies_pct": 100.0 * metrics.exact_copy_rate(synthetic, train[cols], sdtypes),
        "dcr": metrics.median_dcr(synthetic, train[cols], sdtypes),
    }


def _fmt(value: Any, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _label(method: str, eps: float | None) -> str:
    names = {
        "pwsim": "PWSIM",
        "gaussian_copula": "SDV GaussianCopula",
        "ctgan": "SDV CTGAN",
        "tvae": "SDV TVAE",
        "mst": "SmartNoise MST",
    }
    return names[method] + (f", ε = {eps:g}" if eps is not None else " (no DP)")


COLUMNS = (
    "method",
    "fit+sample s",
    "peak RSS MiB",
    "quality",
    "column shapes",
    "pair trends",
    "TSTR AUC",
    "AUC loss %",
    "exact copies %",
    "median DCR",
)


def table_row(label: str, r: dict[str, Any]) -> str:
    if "error" in r:
        cells = [label, f"n/a (error: {r['error']})"] + ["n/a"] * (len(COLUMNS) - 2)
    else:
        cells = [
            label,
            _fmt(r.get("seconds"), 1),
            _fmt(r.get("rss"), 0),
            _fmt(r["overall"], 3),
            _fmt(r["column_shapes"], 3),
            _fmt(r["column_pair_trends"], 3),
            _fmt(r["tstr"], 3),
            _fmt(r["loss_pct"], 1),
            _fmt(r["copies_pct"], 2),
            _fmt(r["dcr"], 3),
        ]
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=DEFAULT_METHODS, help=f"comma list of {', '.join(ALL_METHODS)}")
    parser.add_argument("--pwsim-epsilons", default="0.3,1,3", help="PWSIM rows, one per epsilon")
    parser.add_argument("--out", type=Path, help="also write the table, command and date here (e.g. bench/RESULTS.md)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="CTGAN/TVAE epochs (SDV default 300)")
    parser.add_argument("--mst-python", type=Path, default=DEFAULT_MST_PYTHON, help="interpreter of the SmartNoise venv")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per method")
    parser.add_argument("--workdir", type=Path, help="keep split, synthetic CSVs and logs here (default: a temp dir)")
    # child-side options
    parser.add_argument("--worker", choices=ALL_METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--epsilon", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--train", help=argparse.SUPPRESS)
    parser.add_argument("--sdtypes", help=argparse.SUPPRESS)
    parser.add_argument("--synthetic", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)
    return run_bench(args, argv)


def run_bench(args: argparse.Namespace, argv: list[str]) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(REPO))
    runs = expand_methods(args.methods, [float(e) for e in args.pwsim_epsilons.split(",") if e.strip()])
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return _run_bench(args, argv, runs, args.workdir)
    with tempfile.TemporaryDirectory(prefix="pwsim-bench-") as tmp:
        return _run_bench(args, argv, runs, Path(tmp))


def _run_bench(args: argparse.Namespace, argv: list[str], runs: list[tuple[str, float | None]], workdir: Path) -> int:
    from sklearn.model_selection import train_test_split

    started = dt.datetime.now(dt.UTC)
    load_at_start = os.getloadavg()[0]

    data = read_csv(args.data)
    train, holdout = train_test_split(data, test_size=0.2, stratify=data[TARGET], random_state=args.seed)
    train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)
    train_csv = workdir / "train.csv"
    train.to_csv(train_csv, index=False)
    sdtypes, sdtypes_source = column_sdtypes(args.schema, train)
    sdtypes_json = workdir / "sdtypes.json"
    sdtypes_json.write_text(json.dumps(sdtypes, indent=2))
    _log(f"Adult: {len(train)} train / {len(holdout)} holdout rows; types from {sdtypes_source}; work dir {workdir}")

    notes: list[str] = []
    rows: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    for method, eps in runs:
        label = _label(method, eps)
        tag = method if eps is None else f"{method}-eps{eps:g}"
        python = sys.executable
        if method == "mst":
            if not args.mst_python.exists():
                reason = (
                    f"SmartNoise MST skipped: no SmartNoise interpreter at `{args.mst_python}` (see bench/README.md for its venv)"
                )
                notes.append(reason)
                rows.append("| " + " | ".join([label, "skipped (see notes)"] + ["n/a"] * (len(COLUMNS) - 2)) + " |")
                _log(reason)
                continue
            python = str(args.mst_python)
        synthetic_csv, result_json, log = (workdir / f"{tag}{ext}" for ext in (".csv", ".json", ".log"))
        cmd = [python, str(Path(__file__).resolve()), "--worker", method, "--train", str(train_csv)]
        cmd += [
            "--sdtypes",
            str(sdtypes_json),
            "--synthetic",
            str(synthetic_csv),
            "--result",
            str(result_json),
        ]
        cmd += ["--seed", str(args.seed), "--schema", str(args.schema)]
        if eps is not None:
            cmd += ["--epsilon", str(eps)]
        if args.epochs is not None:
            cmd += ["--epochs", str(args.epochs)]
        _log(f"{label}: running ({shlex.join(cmd[:4])} ...)")
        code, rss, wall = run_child(cmd, log=log, timeout=args.timeout)
        if result_json.exists():
            r = json.loads(result_json.read_text())
        else:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            r = {"error": f"exit {code} after {wall:.0f} s" + (f": {tail[0]}" if tail else "")}
        r["rss"] = rss
        if "error" not in r:
            _log(f"{label}: fit+sample {r['seconds']:.1f} s, peak RSS {rss:.0f} MiB; scoring")
            r.update(score(train, holdout, read_csv(synthetic_csv), sdtypes, args.seed))
        else:
            _log(f"{label}: {r['error']} (log: {log})")
        results[tag] = r
        rows.append(table_row(label, r))

    _log("scoring the real holdout (reference row)")
    ref = score(train, holdout, holdout, sdtypes, args.seed)
    ref_cells = [
        "Real holdout (reference)",
        "—",
        "—",
        _fmt(ref["overall"], 3),
        _fmt(ref["column_shapes"], 3),
        _fmt(ref["column_pair_trends"], 3),
        f"{_fmt(ref['trtr'], 3)} (TRTR)",
        "0 (reference)",
        _fmt(ref["copies_pct"], 2),
        _fmt(ref["dcr"], 3),
    ]
    rows.append("| " + " | ".join(ref_cells) + " |")

    table = "\n".join(
        [
            "| " + " | ".join(COLUMNS) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|",
            *rows,
        ]
    )
    notes = _notes(sdtypes_source, results, notes)
    print(table)
    print()
    for i, note in enumerate(notes, 1):
        print(f"{i}. {note}")
    if args.out:
        command = "python bench/engine.py " + shlex.join(argv)
        args.out.write_text(
            _report(table, notes, command, started, len(train), len(holdout), args.seed, load_at_start),
            encoding="utf-8",
        )
        _log(f"wrote {args.out}")
    return 0


def _notes(sdtypes_source: str, results: dict[str, dict[str, Any]], extra: list[str]) -> list[str]:
    notes = [
        f"Column types (SDV and SDMetrics metadata, MST continuous/categorical split) from the {sdtypes_source}.",
        (
            "fit+sample s: wall time of the fit+sample call inside the method's own subprocess (imports and "
            "CSV reading excluded); peak RSS: `ru_maxrss` of that subprocess (`os.wait4`), so it includes "
            "the interpreter, the libraries and the data."
        ),
        (
            f"quality / column shapes / pair trends: SDMetrics {_version('sdmetrics')} QualityReport, synthetic "
            "vs the 80 % training split, with its default thresholds: Column Pair Trends averages only the "
            "pairs whose real correlation exceeds 0.5 or real association 0.3. The reference row scores the "
            "real 20 % holdout the same way."
        ),
        (
            "TSTR AUC: ROC AUC on the 20 % holdout of `HistGradientBoostingClassifier(random_state=seed)` "
            f"for `{TARGET} == {POSITIVE}` trained on the synthetic rows; AUC loss % = (TRTR − TSTR) / TRTR "
            "× 100, TRTR being the same model trained on the real 80 % (reference row)."
        ),
        (
            "exact copies %: share of rows equal in every modeled column to some training row; median DCR: "
            "median Euclidean distance to the closest training row on standardised numeric + one-hot "
            "categorical features (train statistics). The reference row gives the holdout's own values."
        ),
    ]
    for tag, r in results.items():
        if tag.startswith("pwsim") and r.get("schema_trusted_inferred"):
            notes.append(
                f"{tag}: no declared `bench/adult_schema.json`; ran on an inferred schema with "
                "`trust_inferred_domain=True` (domains not paid for: a temporary stand-in, not a DP claim)."
            )
    for tag in ("gaussian_copula", "ctgan", "tvae"):
        if tag in results and "error" not in results[tag]:
            notes.append(
                f"{tag}: SDV {results[tag].get('versions', {}).get('sdv', '?')} defaults through "
                "`app.engine.sdv_engines.fit_sample`, seeded; no privacy guarantee."
            )
    for tag, r in results.items():
        if not tag.startswith("mst"):
            continue
        ver = r.get("versions", {})
        notes.append(
            f"SmartNoise MST (smartnoise-synth {ver.get('smartnoise-synth', '?')}, mbi {ver.get('mbi', '?')}, "
            f"jax {ver.get('jax', '?')}) ran in its own venv: ε = {MST_EPSILON:g} in total, of which "
            f"{MST_PREPROCESSOR_EPSILON:g} is spent on DP bounds of the continuous columns (its default 10 "
            "equal-width bins; the DP bounds vary between runs and can clip heavy-tailed columns such as "
            "capital-gain), δ = 1e-9. Its OpenDP noise is not seedable, so its row varies between runs."
        )
    return notes + extra


def _report(
    table: str,
    notes: list[str],
    command: str,
    started: dt.datetime,
    n_train: int,
    n_hold: int,
    seed: int,
    load_at_start: float,
) -> str:
    lines = [
        "# Engine bench: Adult",
        "",
        (
            f"Adult (`../shared/data/adult.csv`), 80/20 split stratified on `{TARGET}` with seed {seed}: "
            f"{n_train} training rows, {n_hold} holdout rows. Every method fits on the training rows and "
            "samples as many. Generated by `bench/engine.py` (see bench/README.md)."
        ),
        "",
        f"- Command: `{command}`",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        (
            f"- Machine: {os.cpu_count()} CPU cores, Python {platform.python_version()}, load average "
            f"{load_at_start:.2f} at start (other jobs on the machine slow every timing)"
        ),
        "",
        table,
        "",
        *(f"{i}. {note}" for i, note in enumerate(notes, 1)),
        "",
    ]
    return "\n".join(lines)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
