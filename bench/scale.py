"""Scale bench: `pwsim synth` on growing files, wall time and peak RSS per run.

Builds CSV files of 0.5M to 5M rows x 15 columns by resampling the public Adult data (in a
temporary folder, never in the repository), then runs the real command line on each in its own
process and prints a markdown table. Usage:

    python bench/scale.py [--rows 500000 1000000 2500000 5000000] [--out bench/SCALE.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT.parent / "shared" / "data" / "adult.csv"
SCHEMA = ROOT / "bench" / "adult_schema.json"


def make_file(rows: int, path: Path) -> None:
    """Write ``rows`` rows resampled (with replacement, seed 0) from Adult, in 500k-row chunks."""
    base = pd.read_csv(ADULT, keep_default_na=False)
    rng = np.random.default_rng(0)
    done, first = 0, True
    with path.open("w") as fh:
        while done < rows:
            n = min(500_000, rows - done)
            base.iloc[rng.integers(0, len(base), n)].to_csv(fh, index=False, header=first, lineterminator="\n")
            done, first = done + n, False


def run(input_path: Path, out_path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `pwsim synth` process."""
    cmd = [
        "/usr/bin/time",
        "-f",
        "%e %M",
        sys.executable,
        "-m",
        "app.cli",
        "synth",
        "--input",
        str(input_path),
        "--schema",
        str(SCHEMA),
        "--epsilon",
        "1",
        "--seed",
        "0",
        "--out",
        str(out_path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"pwsim synth failed: {proc.stderr.strip()}")
    wall, rss_kb = proc.stderr.strip().splitlines()[-1].split()
    return float(wall), float(rss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[500_000, 1_000_000, 2_500_000, 5_000_000])
    parser.add_argument("--out", type=Path, help="Also write the table (and the command) to this file.")
    args = parser.parse_args()
    lines = [
        "| input rows | output rows | file MiB | wall s | s per million rows | peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            src, dst = Path(tmp) / f"in_{rows}.csv", Path(tmp) / f"out_{rows}.csv"
            make_file(rows, src)
            wall, rss = run(src, dst)
            out_rows = sum(1 for _ in dst.open()) - 1
            lines.append(
                f"| {rows:,} | {out_rows:,} | {src.stat().st_size / 2**20:,.0f} | {wall:.1f} |"
                f" {wall / rows * 1e6:.1f} | {rss:,.0f} |"
            )
            print(lines[-1], flush=True)
            src.unlink()
            dst.unlink()
    table = "\n".join(lines)
    print(table)
    if args.out:
        cmd = f"python bench/scale.py --rows {' '.join(map(str, args.rows))} --out {args.out}"
        args.out.write_text(
            f"# Scale bench\n\n`{cmd}` on {datetime.date.today()} ({os.cpu_count()} cores):"
            f" `pwsim synth --epsilon 1` on Adult resampled to N rows x 15 columns,"
            f" writing as many rows.\n\n{table}\n"
        )


if __name__ == "__main__":
    main()
